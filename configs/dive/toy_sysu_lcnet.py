# Toy DiVE baseline (plugins/dive/toy_ablation.py): bag of tricks (CE +
# batch-hard triplet, P x K batches) on timm's LCNet-0.5 from random weights
# (256-d features; ~5x cheaper on a CPU than ResNet-18 with last stride 1,
# which cost ~200 s CPU per 8-epoch run) on the toy SYSU-MM01 at 64x32,
# all-search protocol (10 trials). Not a paper model: small enough for
# 3 seeds x 5 data settings on 2 CPU cores.
_base_ = [
    '../_base_/datasets/sysu_mm01.py', '../_base_/models/bot_r50.py',
    '../_base_/schedules/adam_120e.py', '../_base_/default_runtime.py'
]
custom_imports = dict(imports=['plugins.dive'], allow_failed_imports=False)
data_root = 'data/toy/sysu_mm01'
img_size = (64, 32)
pad = 4
model = dict(channels_last=False,
             backbone=dict(model_name='lcnet_050', pretrained=None,
                           last_stride=None),
             neck=dict(in_channels=256), head=dict(in_channels=256))
train_pipeline = [
    dict(type='LoadReIDImage'),
    dict(type='ReIDResize', size='${img_size}'),
    dict(type='ReIDRandomFlip', prob=0.5),
    dict(type='ReIDPad', padding='${pad}'),
    dict(type='ReIDRandomCrop', size='${img_size}'),
    dict(type='PackReIDInputs'),
]
train_dataloader = dict(
    batch_size=32, num_workers=0, persistent_workers=False,
    sampler=dict(_delete_=True, type='IdentitySampler', batch_size=32,
                 num_instances=4))
val_dataloader = dict(num_workers=0, persistent_workers=False)
test_dataloader = val_dataloader
optim_wrapper = dict(optimizer=dict(lr=3e-3))
param_scheduler = [dict(type='MultiStepLR', by_epoch=True, milestones=[6],
                        gamma=0.1)]
train_cfg = dict(max_epochs=8, val_interval=100)
default_hooks = dict(logger=dict(interval=50),
                     checkpoint=dict(interval=100))
