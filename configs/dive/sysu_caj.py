# CAJ on SYSU-MM01 all-search (IR queries, RGB gallery, 10 trials), without
# DiVE data (Table 2's baseline rows).
#   python tools/train.py configs/dive/sysu_caj.py
_base_ = ['../_base_/datasets/sysu_mm01.py', './_base_/models/caj.py',
          './_base_/vi_schedule.py', '../_base_/default_runtime.py']
# 16 identities x (4 visible + 4 infrared) per batch
train_dataloader = dict(
    batch_size=128,
    sampler=dict(_delete_=True, type='ModalityBalancedSampler',
                 batch_size=128, num_instances=8),
    dataset=dict(pipeline=_base_.vi_train_pipeline))
val_dataloader = dict(dataset=dict(pipeline=_base_.vi_test_pipeline))
test_dataloader = dict(dataset=dict(pipeline=_base_.vi_test_pipeline))
val_evaluator = dict(dist_metric='cosine')
test_evaluator = dict(dist_metric='cosine')
