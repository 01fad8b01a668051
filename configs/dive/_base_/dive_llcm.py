# DiVE on LLCM: infrared cameras 1, 2, 4-9 (the official test code's NIR
# cameras); Market-1501 as camera 10.
_base_ = ['./dive_common.py']
dive_ir_cameras = (1, 2, 4, 5, 6, 7, 8, 9)
dive_external_camid = 10
dive_vi_train = dict(type='LLCM', data_root='data/llcm', split='train')
# 3. the infrared generation (GenerationPipeline; resumable): every external
#    identity x dive_images_per_camera images x each infrared camera
dive_generation = dict(pipeline=dict(
    source=dict(type='IdentityListSource',
                identities=_base_.dive_root
                + '/vocabulary/gen_identities.json',
                cameras=dive_ir_cameras, modality=1),
    prompt_builder=dict(type='DiVEPromptBuilder',
                        codes_file=_base_.dive_root
                        + '/vocabulary/codes.json'),
    generator=_base_.dive_generator,
    writer=dict(out_dir=_base_.dive_root + '/ir', img_format='jpg',
                quality=95),
    num_variants=_base_.dive_images_per_camera * len(dive_ir_cameras),
    seed=0, batch_size=18))
dive_external_cfg = dict(_base_.dive_external, camid=dive_external_camid)
stages = [dict(_base_.dive_stages[0], vi_dataset=dive_vi_train,
               external=dive_external_cfg)] + _base_.dive_stages[1:]
