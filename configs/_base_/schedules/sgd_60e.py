# Classic IDE softmax schedule (Zheng et al.'s ID-discriminative embedding
# baselines): SGD momentum 0.9, lr 0.01 for the backbone and 10x for the new
# classifier, x0.1 at epoch 40, 60 epochs. NOT the FineGPR/AOST schedule (Adam
# 3.5e-4, x0.1 at 40/70, 120 epochs): that is configs/aost/_base_/ide_schedule.py.
optim_wrapper = dict(
    type='OptimWrapper',
    optimizer=dict(type='SGD', lr=0.01, momentum=0.9, weight_decay=5e-4,
                   nesterov=True),
    paramwise_cfg=dict(custom_keys={'head': dict(lr_mult=10.0)}))
param_scheduler = [
    dict(type='MultiStepLR', by_epoch=True, milestones=[40], gamma=0.1),
]
train_cfg = dict(type='EpochBasedTrainLoop', max_epochs=60, val_interval=20)
val_cfg = dict(type='ValLoop')
test_cfg = dict(type='TestLoop')
