# CAL baseline on the toy PRCC (ResNet-18 from random weights, 64x32 images,
# 7 epochs; CAL from epoch 4, lr step at 6, the paper's 25 and 40 of 60
# scaled down), sized for a 2-core CPU (under a minute of one core on 100
# identities). The DLCR toy configs inherit it. The toy ablation's data:
#   python tools/make_toy_data.py prcc data/toy/prcc_ablation --ids 100 \
#       --size 64x32 --knob identity_spread=3.0 --knob lookalike_frac=0.7 \
#       --knob camera_strength=0.5
#   python tools/train.py configs/cal/toy_prcc_cal.py
_base_ = ['./prcc_cal.py']
data_root = 'data/toy/prcc'
img_size = (64, 32)

model = dict(
    # at toy image sizes channels_last gains nothing on a CPU (measured:
    # benchmarks/train_throughput.md); the default layout keeps the numbers
    # in the README reproducible
    channels_last=False,
    backbone=dict(model_name='resnet18', pretrained=None),
    neck=dict(in_channels=512),
    head=dict(in_channels=1024),
    clothes_classifier=dict(in_channels=1024, start_epoch=4,
                            adv_loss=dict(start_epoch=4)))
optim_wrapper = dict(model=dict(optimizer=dict(lr=1e-3)))

pad = 4  # ReIDPad before the random crop
train_dataloader = dict(
    batch_size=32,
    num_workers=0,
    persistent_workers=False,
    sampler=dict(type='IdentitySampler', batch_size=32, num_instances=4))
val_dataloader = dict(
    batch_size=128,
    num_workers=0,
    persistent_workers=False)
test_dataloader = val_dataloader

param_scheduler = [
    dict(type='MultiStepLR', by_epoch=True, milestones=[6], gamma=0.1),
]
train_cfg = dict(max_epochs=7, val_interval=100)
default_hooks = dict(logger=dict(interval=10),
                     checkpoint=dict(interval=100, save_last=True))
