# CAL (Gu et al., CVPR 2022) on LaST: the baseline of DLCR.
# Authors' settings: ResNet-50 (last stride 1), max+avg pooling, 384x192,
# 32 images per batch (4 identities x 8), Adam 3.5e-4, steps at 20/40,
# 60 epochs, CAL loss from epoch 25; cosine retrieval.
#   python tools/train.py configs/cal/last_cal.py
_base_ = [
    '../_base_/datasets/last.py', '../_base_/models/cal_r50.py',
    '../_base_/schedules/cal_60e.py', '../_base_/default_runtime.py'
]
data_root = 'data/last'

train_dataloader = dict(
    batch_size=32,
    sampler=dict(_delete_=True, type='IdentitySampler', batch_size=32,
                 num_instances=8),
    dataset=dict(data_root=data_root))
val_dataloader = dict(dataset=dict(data_root=data_root))
test_dataloader = val_dataloader
val_evaluator = dict(type='ReIDMetric', protocol='last',
                     dist_metric='cosine')
test_evaluator = val_evaluator

# CAL's two optimisers (identity model; clothes classifier), see the model base
optim_wrapper = {{_base_.cal_optim_wrapper}}
