# Toy DiVE baseline (plugins/dive/toy_ablation.py): bag-of-tricks ResNet-18
# from random weights (CE + batch-hard triplet, P x K batches) on the toy
# SYSU-MM01 at 64x32, all-search protocol (10 trials). Not a paper model:
# small enough for 3 seeds x 4 data settings on 2 CPU cores.
_base_ = [
    '../_base_/datasets/sysu_mm01.py', '../_base_/models/bot_r50.py',
    '../_base_/schedules/adam_120e.py', '../_base_/default_runtime.py'
]
custom_imports = dict(imports=['plugins.dive'], allow_failed_imports=False)
data_root = 'data/toy/sysu_mm01'
img_size = (64, 32)
model = dict(backbone=dict(model_name='resnet18', pretrained=None),
             neck=dict(in_channels=512), head=dict(in_channels=512))
train_pipeline = [
    dict(type='LoadReIDImage'),
    dict(type='ReIDResize', size=img_size),
    dict(type='ReIDRandomFlip', prob=0.5),
    dict(type='ReIDPad', padding=4),
    dict(type='ReIDRandomCrop', size=img_size),
    dict(type='PackReIDInputs'),
]
test_pipeline = [
    dict(type='LoadReIDImage'),
    dict(type='ReIDResize', size=img_size),
    dict(type='PackReIDInputs'),
]
train_dataloader = dict(
    batch_size=32, num_workers=0, persistent_workers=False,
    sampler=dict(_delete_=True, type='IdentitySampler', batch_size=32,
                 num_instances=4),
    dataset=dict(data_root=data_root, pipeline=train_pipeline))
val_dataloader = dict(
    batch_size=128, num_workers=0, persistent_workers=False,
    dataset=dict(data_root=data_root, pipeline=test_pipeline))
test_dataloader = val_dataloader
optim_wrapper = dict(optimizer=dict(lr=3e-3))
param_scheduler = [dict(type='MultiStepLR', by_epoch=True, milestones=[6],
                        gamma=0.1)]
train_cfg = dict(max_epochs=8, val_interval=100)
default_hooks = dict(logger=dict(interval=50),
                     checkpoint=dict(interval=100))
