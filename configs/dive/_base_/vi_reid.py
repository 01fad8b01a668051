# What every DiVE re-ID config shares (AGW, CAJ, DEEN on SYSU-MM01 / LLCM):
# the benchmark shape of ../../_base_/datasets/_reid_dataset.py, the VI
# schedule, 16 identities x (4 visible + 4 infrared) per batch, cosine
# retrieval. The dataloaders refer late to facts set elsewhere:
#   ./sysu.py, ./llcm.py   dataset_type, data_root, protocol, dataset_args
#   ./models/<model>.py    model, img_size, vi_train_pipeline,
#                          vi_milestones, vi_max_epochs
# A leaf config is `_base_ = ['./_base_/<dataset>.py',
# './_base_/models/<model>.py']` (configs/dive/sysu_agw.py).
_base_ = ['../../_base_/datasets/_reid_dataset.py', './vi_schedule.py',
          '../../_base_/default_runtime.py']
train_pipeline = '${vi_train_pipeline}'
train_dataloader = dict(
    batch_size=128,
    sampler=dict(_delete_=True, type='ModalityBalancedSampler',
                 batch_size=128, num_instances=8))
val_evaluator = dict(dist_metric='cosine')
test_evaluator = val_evaluator
