# Quickstart: bag-of-tricks re-ID (BNNeck, CE-LS + batch-hard triplet, P x K
# batches) with a ResNet-18 from random weights, on the toy Market-1501 that
# `make quickstart` renders into data/toy/market1501 (120 ids). Measured
# results (train + test time, mAP, CPU) are in ./README.md.
# A real Market-1501 run is the same config with
#   --cfg-options data_root=data/market1501 (and a pretrained backbone).
_base_ = [
    '../_base_/datasets/market1501.py', '../_base_/models/bot_r50.py',
    '../_base_/schedules/adam_120e.py', '../_base_/default_runtime.py'
]
data_root = 'data/toy/market1501'
img_size = (128, 64)

model = dict(
    # at toy image sizes channels_last gains nothing on a CPU (measured:
    # benchmarks/train_throughput.md); the default layout keeps the numbers
    # in the README reproducible
    channels_last=False,
    backbone=dict(model_name='resnet18', pretrained=None),
    neck=dict(in_channels=512),
    head=dict(in_channels=512))

pad = 6  # ReIDPad before the random crop
train_dataloader = dict(
    batch_size=32,
    num_workers=2,
    persistent_workers=True,
    sampler=dict(_delete_=True, type='IdentitySampler', batch_size=32,
                 num_instances=4))
val_dataloader = dict(batch_size=128, num_workers=2)
test_dataloader = val_dataloader

# from random weights a higher Adam rate than the ImageNet-pretrained 3.5e-4
# converges within the short schedule (the schedules tried and their toy
# Market mAPs: ./README.md)
optim_wrapper = dict(optimizer=dict(lr=3e-3))
param_scheduler = [
    dict(type='LinearLR', start_factor=0.1, by_epoch=True, begin=0, end=2,
         convert_to_iter_based=True),
    dict(type='MultiStepLR', by_epoch=True, milestones=[19], gamma=0.1),
]
train_cfg = dict(max_epochs=24, val_interval=12)
default_hooks = dict(logger=dict(interval=10))
