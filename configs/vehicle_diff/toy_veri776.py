# Vehicle-Diff in the toy world (the toy ablation's config): the paper path
# with the toy stand-ins of plugins/vehicle_diff/toy.py, sized for a CPU.
#   finetune : ToyStyleFinetuneStage -- the style (scene, light, weather,
#              viewpoint, framing) of a seeded 1 % of the target's training
#              images, the toy counterpart of the LoRA
#   generate : toy prompt library -> the paper's template -> ToyVehicleDiffusion
#              (fails now and then: wrong colour, partial vehicle, empty road)
#              -> DetectionCropFilter (mask backend: the rendered box) ->
#              CLIPAttributeFilter with the toy colour judge
#   fid      : FID of the generated vs the target's training images (random-
#              weight CNN features: no Inception weights here)
#   train    : IDE (ResNet-18 from random weights, softmax CE), 48 x 48,
#              real + synthetic with balanced batches ("B")
#   test     : the toy VeRi-776 query / gallery
#   python tools/make_toy_data.py veri776 data/toy/veri776 --ids 60 --size 64x64
#   python -m plugins.vehicle_diff.build_library --toy data/toy/vd_library.csv --num-ids 60
#   python tools/train.py configs/vehicle_diff/toy_veri776.py
# The ablation rows (python -m plugins.vehicle_diff.toy_ablation) change it
# with --cfg-options: toy_style=None (no fine-tuning), vd_filters=[] (no
# filtering), the sampler / dataset of the real-only, "D" and synthetic-only
# rows.
_base_ = ['./veri776_ide_r50.py']

data_root = 'data/toy/veri776'
library = 'data/toy/vd_library.csv'
img_size = (48, 48)
pad = 4
images_per_identity = 4
style_file = '${work_dir}/finetune/style.json'
toy_style = '${style_file}'     # None: the un-fine-tuned style
synthetic_dir = '${work_dir}/synthetic'
fid_file = '${work_dir}/fid.json'

generator = dict(_delete_=True, type='ToyVehicleDiffusion', size=(80, 80),
                 style='${toy_style}', seed=0)
# the paper's rule at 1024 px, scaled to the image: sides > 250/1024 of it
detection_filter = dict(_delete_=True, type='DetectionCropFilter',
                        backend='mask', model=dict(car=[10, 11, 12, 13]),
                        classes=['car', 'truck'], score_thr=0.65,
                        min_side=250, reference_size=1024, select='score',
                        name='detection')
# top-2: the toy colour judge is weaker than CLIP (see ToyColorCLIP)
color_filter = dict(_delete_=True, type='ToyCLIPColorFilter',
                    templates='a {value} vehicle', top_k=2,
                    name='clip_color')
vd_filters = ['${detection_filter}', '${color_filter}']
generation_pipeline = dict(filters='${vd_filters}', batch_size=24,
                           writer=dict(img_format='png'))

stages = [
    dict(name='finetune', type='ToyStyleFinetuneStage',
         dataset=dict(type='${dataset_type}', data_root='${data_root}',
                      split='train'),
         out_file='${style_file}', fraction=0.01, seed=0),
    dict(name='generate', type='GenerateStage',
         pipeline='${generation_pipeline}', progress=False),
    dict(name='fid', type='FIDStage',
         dataset=dict(type='${dataset_type}', data_root='${data_root}',
                      split='train'),
         generated_dir='${synthetic_dir}', out_file='${fid_file}',
         features='random_cnn', image_size='${img_size}'),
    dict(name='train', type='TrainStage'),
    dict(name='test', type='TestStage'),
]

model = dict(
    channels_last=False,
    backbone=dict(model_name='resnet18', pretrained=None),
    neck=dict(in_channels=512),
    head=dict(in_channels=512))
# fused Adam: the same update in one kernel (an eighth of a CPU step here)
optim_wrapper = dict(optimizer=dict(lr=1e-3, fused=True))
epochs = 4
param_scheduler = [
    dict(type='LinearLR', start_factor=0.1, by_epoch=False, begin=0, end=10),
    dict(type='MultiStepLR', by_epoch=True, milestones=[3], gamma=0.1),
]
train_cfg = dict(max_epochs='${epochs}', val_interval=100)
default_hooks = dict(logger=dict(interval=50),
                     checkpoint=dict(interval=100, save_last=True))
# the real-only row's data (no synthetic images)
vd_dataset_real = dict(type='ReIDConcatDataset', pipeline='${train_pipeline}',
                       datasets=['${real_train}'])
vd_sampler_balanced = dict(batch_size=32, num_instances=4)
vd_sampler_mixed = dict(batch_size=32, num_instances=4)
vd_sampler_identity = dict(batch_size=32, num_instances=4)
train_dataloader = dict(sampler='${vd_sampler_balanced}', batch_size=32,
                        num_workers=0, persistent_workers=False)
val_dataloader = dict(batch_size=128, num_workers=0, persistent_workers=False)
test_dataloader = val_dataloader
