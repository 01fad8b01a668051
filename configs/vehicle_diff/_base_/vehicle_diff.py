# Vehicle-Diff (paper 000): the pipeline every experiment config shares.
#   caption   : a seeded 1 % of the target's training images (VeRi-776: 378,
#               CityFlowV2: 527), BLIP-2 captions -> {relpath: caption}
#   finetune  : LoRA on the SDXL UNet decoder (../finetune_lora_sdxl.py:
#               text encoders frozen, MSE, Adam 1e-4, poly, 100 / 20 epochs)
#   generate  : one identity per library row, "a {color} {year} {brand}
#               {model} {body_style} driving down the road.", ~30 seeded
#               images each (1024 x 1024, guidance 8, 50 steps), then the
#               detection crop (car/truck, conf >= 0.65, sides > 250 px, one
#               box) and the CLIP colour check ("a {color} vehicle")
#   fid       : FID of the generated images vs the target's training images
#               (Inception-v3 pool features, Table IV: 44.84 VeRi-776,
#               54.84 CityFlowV2)
#   train     : the config's model on real + synthetic (or synthetic only)
#   test      : the target's query/gallery
# A concrete config inherits a model, a dataset, a schedule, the runtime and
# this file, and sets `train_dataloader` from `vd_train_*` below (keys two
# bases share are not allowed by mmengine). Strings '${name}' are resolved
# after merging, so `data_root`, `dataset_type` and `work_dir` of the concrete
# config (or --cfg-options) reach every stage.
# Weights (local folders/files; nothing is downloaded): see the paths below.
custom_imports = dict(imports=['plugins.vehicle_diff'],
                      allow_failed_imports=False)

# ------------------------------------------------------------ weights / data
library = 'data/vehicle_diff/library.csv'  # plugins.vehicle_diff.build_library
sdxl_path = 'checkpoints/stable-diffusion-xl-base-1.0'
blip2_path = 'checkpoints/blip2-opt-2.7b'
clip_model, clip_weights = 'ViT-L-14', 'checkpoints/clip_vit_l14_openai.bin'
# mmdet detector (`make detection`): the paper's YOLOv5x6 is not in mmdet;
# RTMDet-x (COCO) is its closest mmdet counterpart
det_backend = 'mmdet'
det_model = 'rtmdet_x_8xb32-300e_coco'
det_weights = 'checkpoints/rtmdet_x_8xb32-300e_coco_20220715_230555-cc79b9ae.pth'
# FID's Inception-v3 (torch-fidelity's file, synthgen.metrics.fid.INCEPTION_WEIGHTS_URL)
fid_inception_weights = 'checkpoints/weights-inception-2015-12-05-6726825d.pth'
# the target the generator is fine-tuned on (the re-ID target by default)
target_dataset_type = '${dataset_type}'
target_data_root = '${data_root}'
target_num_images = None      # None: round(1 % of the training images)
captions_file = '${work_dir}/target_captions.json'
adapters_dir = '${work_dir}/finetune/adapters'
synthetic_dir = '${work_dir}/synthetic'
fid_file = '${work_dir}/fid.json'
fid_max_images = None         # None: every image of both sets
images_per_identity = 30      # 149,472 images / 4,896 identities after filtering

# ------------------------------------------------------------ the components
captioner = dict(type='VLMCaptioner',
                 pretrained_model_name_or_path='${blip2_path}',
                 model_type='blip2', question='', max_new_tokens=30,
                 batch_size=16, dtype='fp16')
generator = dict(type='DiffusersText2Image',
                 pretrained_model_name_or_path='${sdxl_path}',
                 pipeline_type='sdxl', height=1024, width=1024,
                 guidance_scale=8.0, num_inference_steps=50,
                 batch_size=4, dtype='fp16',
                 lora=dict(target=dict(path='${adapters_dir}/default')),
                 default_adapter='target')
detection_filter = dict(type='DetectionCropFilter', backend='${det_backend}',
                        model='${det_model}', weights='${det_weights}',
                        classes=['car', 'truck'], score_thr=0.65,
                        min_side=250, reference_size=1024, select='score',
                        name='detection')
color_filter = dict(type='CLIPAttributeFilter',
                    vocabulary=dict(color=['black', 'white', 'gray', 'silver',
                                           'red', 'blue', 'yellow', 'green',
                                           'brown', 'orange', 'golden']),
                    templates='a {value} vehicle', model_name='${clip_model}',
                    pretrained='${clip_weights}', name='clip_color')
generation_pipeline = dict(
    source=dict(type='PromptLibrarySource', library='${library}'),
    prompt_builder=dict(
        type='AttributeTemplatePrompt',
        template='a {color} {year} {brand} {model} {body_style} driving '
                 'down the road.'),
    generator='${generator}',
    filters=['${detection_filter}', '${color_filter}'],
    writer=dict(out_dir='${synthetic_dir}', img_format='jpg', quality=95),
    num_variants='${images_per_identity}', seed=0, batch_size=4)

stages = [
    dict(name='caption', type='TargetCaptionStage',
         dataset=dict(type='${target_dataset_type}',
                      data_root='${target_data_root}', split='train'),
         captioner='${captioner}', out_file='${captions_file}',
         fraction=0.01, seed=0, num_images='${target_num_images}'),
    dict(name='finetune', type='FinetuneStage',
         config_file='configs/vehicle_diff/finetune_lora_sdxl.py',
         work_dir='${work_dir}/finetune',
         overrides=dict(
             model=dict(pretrained_model_name_or_path='${sdxl_path}'),
             train_dataloader=dict(dataset=dict(
                 data_root='${target_data_root}',
                 ann_file='${captions_file}')))),
    dict(name='generate', type='GenerateStage',
         pipeline='${generation_pipeline}'),
    dict(name='fid', type='FIDStage',
         dataset=dict(type='${target_dataset_type}',
                      data_root='${target_data_root}', split='train'),
         generated_dir='${synthetic_dir}', out_file='${fid_file}',
         features='inception', inception_weights='${fid_inception_weights}',
         max_images='${fid_max_images}'),
    dict(name='train', type='TrainStage'),
    dict(name='test', type='TestStage'),
]

# ------------------------------------------------------------ re-ID data
real_train = dict(type='${dataset_type}', data_root='${data_root}',
                  split='train')
synthetic_train = dict(type='SyntheticDataset', data_root='${synthetic_dir}',
                       pid_mode='new')
vd_dataset_real_synthetic = dict(type='ReIDConcatDataset',
                                 pipeline='${train_pipeline}',
                                 datasets=['${real_train}',
                                           '${synthetic_train}'])
vd_dataset_synthetic = dict(type='ReIDConcatDataset',
                            pipeline='${train_pipeline}',
                            datasets=['${synthetic_train}'])
# B: every batch = 32 real + 32 synthetic images (P x K = 8 x 4 each)
vd_sampler_balanced = dict(type='BalancedDomainSampler', batch_size=64,
                           num_instances=4, real_ratio=0.5)
# D: real and synthetic mixed at random (P x K over the union)
vd_sampler_mixed = dict(type='RandomDomainMixSampler', batch_size=64,
                        num_instances=4)
# S (synthetic only): P x K
vd_sampler_identity = dict(type='IdentitySampler', batch_size=64,
                           num_instances=4)
