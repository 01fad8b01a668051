# DEEN on LLCM visible -> infrared (10 trials), without DiVE data (Table 2's
# baseline rows).
#   python tools/train.py configs/dive/llcm_deen.py
_base_ = ['../_base_/datasets/llcm.py', './_base_/models/deen.py',
          './_base_/vi_schedule.py', '../_base_/default_runtime.py']
# DEEN's LLCM transform erases (0.02, 0.4) of the image (SYSU: (0.2, 0.8))
llcm_train_pipeline = [
    dict(t, area=(0.02, 0.4)) if t['type'] == 'ReIDRandomErasing' else t
    for t in _base_.vi_train_pipeline]
# 16 identities x (4 visible + 4 infrared) per batch
train_dataloader = dict(
    batch_size=128,
    sampler=dict(_delete_=True, type='ModalityBalancedSampler',
                 batch_size=128, num_instances=8),
    dataset=dict(pipeline=llcm_train_pipeline))
val_dataloader = dict(dataset=dict(pipeline=_base_.vi_test_pipeline))
test_dataloader = dict(dataset=dict(pipeline=_base_.vi_test_pipeline))
val_evaluator = dict(dist_metric='cosine')
test_evaluator = dict(dist_metric='cosine')
# DEEN's schedule: x0.01 from epoch 80, 151 epochs
param_scheduler = [
    dict(type='LinearLR', start_factor=0.1, end_factor=1.0, begin=0, end=10,
         by_epoch=True),
    dict(type='MultiStepLR', milestones=_base_.deen_milestones, gamma=0.1,
         begin=0, by_epoch=True),
]
train_cfg = dict(max_epochs=_base_.deen_max_epochs)
