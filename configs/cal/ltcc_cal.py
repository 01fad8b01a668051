# CAL (Gu et al., CVPR 2022) on LTCC: the baseline of DLCR.
# Shared settings (model, schedule, optimisers): ./_base_/cal.py.
#   python tools/train.py configs/cal/ltcc_cal.py
_base_ = ['../_base_/datasets/ltcc.py', './_base_/cal.py']
data_root = 'data/ltcc'

train_dataloader = dict(
    batch_size=32,
    sampler=dict(_delete_=True, type='IdentitySampler', batch_size=32,
                 num_instances=8),
    dataset=dict(data_root=data_root))
val_dataloader = dict(dataset=dict(data_root=data_root))
test_dataloader = val_dataloader
val_evaluator = dict(type='ReIDMetric', protocol='ltcc', dist_metric='cosine')
test_evaluator = val_evaluator
