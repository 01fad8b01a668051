# Toy DiVE baseline (plugins/dive/toy_ablation.py): bag of tricks (CE +
# batch-hard triplet, P x K batches) on reidkit's SmallConvNet (4 blocks of
# 3x3 conv + BN + ReLU, 16-32-64-128 channels, from random weights) on the
# toy SYSU-MM01 resized to 32x16, all-search protocol (10 trials). Not a
# paper model: small enough for 3 seeds x 5 data settings on 2 CPU cores.
# Why not timm's LCNet-0.5 at 64x32 (the earlier toy backbone): on the
# 200-identity toy SYSU it scored all-search mAP 7.9 against a random
# ranking's 8.1 and learnt no identity even within one modality (IR -> IR
# leave-one-out mAP 8.1); SmallConvNet 32-64-128-256 scored 14.8 at 32x16
# (10.1 at 64x32, 3x the CPU), 16-32-64-128 12.9 at half the CPU (seed 0,
# benchmarks/dive_toy_diagnosis.py --train, fewer steps than the table's
# runs; plugins/dive/README.md, "Toy diagnosis").
_base_ = [
    '../_base_/datasets/sysu_mm01.py', '../_base_/models/bot_r50.py',
    '../_base_/schedules/adam_120e.py', '../_base_/default_runtime.py'
]
custom_imports = dict(imports=['plugins.dive'], allow_failed_imports=False)
data_root = 'data/toy/sysu_mm01'
img_size = (32, 16)
pad = 2
model = dict(channels_last=False,
             backbone=dict(_delete_=True, type='SmallConvNet',
                           channels=(16, 32, 64, 128)),
             neck=dict(in_channels=128),
             head=dict(in_channels=128))
# the base train pipeline (resize, flip, pad, crop) without random erasing
train_pipeline = [t for t in _base_.train_pipeline
                  if t['type'] != 'ReIDRandomErasing']
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
