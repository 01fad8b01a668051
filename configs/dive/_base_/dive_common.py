# DiVE's data generation, shared by every `<dataset>_<model>_dive.py`: only
# new variable names (a leaf config combines them with its dataset and model
# bases). A dataset file (dive_sysu.py / dive_llcm.py) sets the VI set, its
# infrared cameras and the external camera id.
custom_imports = dict(imports=['plugins.dive'], allow_failed_imports=False)
dive_root = 'work_dirs/dive_data'         # vocabulary, LoRA, generated images
market_root = 'data/market1501'
sd15 = 'runwayml/stable-diffusion-v1-5'   # hub id or a local folder
# 1. vocabulary (plugins.dive.run_vocabulary): the authors' code by default
#    (one 4-character code word per camera incl. the external set, one
#    shared LoRA); the paper's text: code_length=8, lora='modality'.
dive_vocabulary = dict(granularity='camera', code_length=4, lora='shared',
                       seed=0, out_dir=dive_root + '/vocabulary')
# the external RGB identities (Market-1501 gt_bbox, >= 12 images: 1,011)
dive_external = dict(type='DiVEExternalDataset', data_root=market_root,
                     folder='gt_bbox', min_images=12)
# 2. fine-tuning: configs/dive/finetune_sd15_shared_lora.py (authors' code)
#    or finetune_sd15_modality_lora.py (paper) on the vocabulary's captions
# 3. infrared generation: 18 images per external identity per infrared
#    camera, DPM-Solver++ (25 steps in the paper; 50 in generate_t2i.py),
#    guidance 7.5, 512x256, "a {code} photo of a {token} person"
dive_num_inference_steps = 25
dive_images_per_camera = 18
dive_generator = dict(
    type='DiffusersText2Image', pretrained_model_name_or_path=sd15,
    scheduler='dpm++', num_inference_steps=dive_num_inference_steps,
    guidance_scale=7.5, height=512, width=256, batch_size=18, dtype='fp16',
    # one shared LoRA (authors' code); the paper's per-modality variant:
    # lora=dict(infrared=dive_root + '/finetune/adapters/infrared')
    lora=dict(default=dive_root + '/finetune/adapters/default'),
    textual_inversion=dive_root
    + '/finetune/adapters/learned_embeds.safetensors')
# The stages `tools/train.py <..._dive.py>` runs (complete ones are skipped,
# an interrupted one resumes, a changed one re-runs with its dependents):
# tokens -> finetune -> generate_ir -> train -> test. A dataset file fills
# the tokens stage's datasets and sets `stages` and `dive_generation`.
dive_finetune_config = 'configs/dive/finetune_sd15_shared_lora.py'
dive_stages = [
    dict(name='tokens', type='DiVEVocabularyStage',
         out_dir=dive_root + '/vocabulary',
         granularity=dive_vocabulary['granularity'],
         code_length=dive_vocabulary['code_length'],
         lora=dive_vocabulary['lora'], seed=dive_vocabulary['seed']),
    dict(name='finetune', type='FinetuneStage',
         config_file=dive_finetune_config, work_dir=dive_root + '/finetune',
         overrides=dict(
             model=dict(pretrained_model_name_or_path=sd15,
                        textual_inversion=dict(
                            tokens_file=dive_root
                            + '/vocabulary/tokens.json')),
             train_dataloader=dict(dataset=dict(
                 data_root=dive_root + '/vocabulary')))),
    # the LoRA / token paths of the generator are not discovered as inputs
    dict(name='generate_ir', type='GenerateStage',
         generation_key='dive_generation', depends_on=['tokens', 'finetune']),
    dict(name='train', type='TrainStage'),
    dict(name='test', type='TestStage'),
]
