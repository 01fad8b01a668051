# DiVE's data generation and training set, shared by every
# `<dataset>_<model>_dive.py`: only new variable names (a leaf config
# combines them with its re-ID config). A dataset file (dive_sysu.py /
# dive_llcm.py) sets the infrared cameras (`dive_ir_cameras`), the
# external camera id (`dive_external_camid`) and `dive_num_variants`; the
# VI training set is the re-ID config's (`dataset_type`, `data_root`).
custom_imports = dict(imports=['plugins.dive'], allow_failed_imports=False)
dive_root = 'work_dirs/dive_data'         # vocabulary, LoRA, generated images
market_root = 'data/market1501'
sd15 = 'runwayml/stable-diffusion-v1-5'   # hub id or a local folder
# 1. vocabulary (plugins.dive.run_vocabulary): the authors' code by default
#    (one 4-character code word per camera incl. the external set, one
#    shared LoRA); the paper's text: code_length=8, lora='modality'.
dive_vocabulary = dict(granularity='camera', code_length=4, lora='shared',
                       seed=0, out_dir='${dive_root}/vocabulary')
# the external RGB identities (Market-1501 gt_bbox, >= 12 images: 1,011)
dive_external = dict(type='DiVEExternalDataset', data_root='${market_root}',
                     folder='gt_bbox', min_images=12)
dive_external_cfg = dict(_merge_='${dive_external}',
                         camid='${dive_external_camid}')
dive_vi_train = dict(type='${dataset_type}', data_root='${data_root}',
                     split='train')
# 2. fine-tuning: configs/dive/finetune_sd15_shared_lora.py (authors' code)
#    or finetune_sd15_modality_lora.py (paper) on the vocabulary's captions
# 3. infrared generation: 18 images per external identity per infrared
#    camera, DPM-Solver++ (25 steps in the paper; 50 in generate_t2i.py),
#    guidance 7.5, 512x256, "a {code} photo of a {token} person"
dive_num_inference_steps = 25
dive_images_per_camera = 18
dive_generator = dict(
    type='DiffusersText2Image', pretrained_model_name_or_path='${sd15}',
    scheduler='dpm++', num_inference_steps='${dive_num_inference_steps}',
    guidance_scale=7.5, height=512, width=256, batch_size=18, dtype='fp16',
    # one shared LoRA (authors' code); the paper's per-modality variant:
    # lora=dict(infrared='${dive_root}/finetune/adapters/infrared')
    lora=dict(default='${dive_root}/finetune/adapters/default'),
    textual_inversion='${dive_root}/finetune/adapters/'
    'learned_embeds.safetensors')
# the infrared generation (GenerationPipeline; resumable): every external
# identity x dive_images_per_camera images x each infrared camera
dive_generation = dict(pipeline=dict(
    source=dict(type='IdentityListSource',
                identities='${dive_root}/vocabulary/gen_identities.json',
                cameras='${dive_ir_cameras}', modality=1),
    prompt_builder=dict(type='DiVEPromptBuilder',
                        codes_file='${dive_root}/vocabulary/codes.json'),
    generator='${dive_generator}',
    writer=dict(out_dir='${dive_root}/ir', img_format='jpg', quality=95),
    num_variants='${dive_num_variants}', seed=0, batch_size=18))
# 4. training on V* = V + V_ext and I* = I + I_ext: the VI training set,
#    then the external identities (labels after the VI set's) with their
#    RGB images as one more visible camera and the generated IR images. The
#    'reidkit.' type prefixes keep the set buildable after the fine-tuning
#    stage, whose runner leaves mmengine's default scope at 'synthgen'.
dive_train_dataset = dict(
    type='reidkit.ReIDConcatDataset', pipeline='${train_pipeline}',
    datasets=[
        dict(_merge_='${dive_vi_train}', type='reidkit.${dataset_type}'),
        dict(_merge_='${dive_external_cfg}',
             type='reidkit.DiVEExternalDataset',
             synthetic_root='${dive_root}/ir'),
    ])
# The stages `tools/train.py <..._dive.py>` runs (complete ones are skipped,
# an interrupted one resumes, a changed one re-runs with its dependents):
# tokens -> finetune -> generate_ir -> train -> test.
dive_finetune_config = 'configs/dive/finetune_sd15_shared_lora.py'
stages = [
    dict(name='tokens', type='DiVEVocabularyStage',
         out_dir='${dive_root}/vocabulary',
         granularity='${dive_vocabulary.granularity}',
         code_length='${dive_vocabulary.code_length}',
         lora='${dive_vocabulary.lora}', seed='${dive_vocabulary.seed}',
         vi_dataset='${dive_vi_train}', external='${dive_external_cfg}'),
    dict(name='finetune', type='FinetuneStage',
         config_file='${dive_finetune_config}',
         work_dir='${dive_root}/finetune',
         overrides=dict(
             model=dict(pretrained_model_name_or_path='${sd15}',
                        textual_inversion=dict(
                            tokens_file='${dive_root}/vocabulary/'
                            'tokens.json')),
             train_dataloader=dict(dataset=dict(
                 data_root='${dive_root}/vocabulary')))),
    # the LoRA / token paths of the generator are not discovered as inputs
    dict(name='generate_ir', type='GenerateStage',
         generation_key='dive_generation', depends_on=['tokens', 'finetune']),
    dict(name='train', type='TrainStage'),
    dict(name='test', type='TestStage'),
]
