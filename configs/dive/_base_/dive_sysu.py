# DiVE on SYSU-MM01: infrared cameras 3 and 6; Market-1501 as camera 7 (the
# authors' cam7).
_base_ = ['./dive_common.py']
dive_ir_cameras = (3, 6)
dive_external_camid = 7
dive_vi_train = dict(type='SYSUMM01', data_root='data/sysu_mm01',
                     split='train')
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
