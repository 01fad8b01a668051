# CAL schedule (Gu et al. 2022, authors' code): Adam 3.5e-4, wd 5e-4,
# x0.1 at epochs 20 and 40, 60 epochs.
optim_wrapper = dict(
    type='OptimWrapper',
    optimizer=dict(type='Adam', lr=3.5e-4, weight_decay=5e-4))
param_scheduler = [
    dict(type='MultiStepLR', by_epoch=True, milestones=[20, 40], gamma=0.1),
]
train_cfg = dict(type='EpochBasedTrainLoop', max_epochs=60, val_interval=20)
val_cfg = dict(type='ValLoop')
test_cfg = dict(type='TestLoop')
