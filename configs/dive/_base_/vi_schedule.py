# The VI-ReID schedule of the AGW / CAJ / DEEN authors' train.py
# (adjust_learning_rate): SGD momentum 0.9, Nesterov, weight decay 5e-4; lr
# 0.1 for the BNNeck + classifier (the head) and 0.1x = 0.01 for everything
# else (backbone, non-local / MFA / DEE blocks); per-epoch warm-up
# lr * (epoch + 1) / 10 over epochs 0-9, then x0.1 from epoch 20 and x0.01
# from epoch 50; 81 epochs (epochs 0..80). DEEN's script (deen.py here)
# moves the second step to epoch 80 and trains 151 epochs (models/deen.py
# sets them). The model file (./models/<model>.py) sets vi_milestones
# ([20, 50]; DEEN [20, 80]) and vi_max_epochs (81; DEEN 151).
optim_wrapper = dict(
    type='OptimWrapper',
    optimizer=dict(type='SGD', lr=0.1, momentum=0.9, weight_decay=5e-4,
                   nesterov=True),
    paramwise_cfg=dict(custom_keys={'backbone': dict(lr_mult=0.1),
                                    'neck': dict(lr_mult=0.1)}))
# LinearLR (begin 0, end 10: mmengine interpolates over end - begin - 1 = 9
# steps): factors 0.1, 0.2, ..., 1.0 at epochs 0..9,
# the authors' (epoch + 1) / 10
param_scheduler = [
    dict(type='LinearLR', start_factor=0.1, end_factor=1.0, begin=0, end=10,
         by_epoch=True),
    dict(type='MultiStepLR', milestones='${vi_milestones}', gamma=0.1, begin=0,
         by_epoch=True),
]
train_cfg = dict(type='EpochBasedTrainLoop', max_epochs='${vi_max_epochs}',
                 val_interval=10)
val_cfg = dict(type='ValLoop')
test_cfg = dict(type='TestLoop')
