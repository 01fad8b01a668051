# CAL (Gu et al., CVPR 2022) on PRCC: the baseline of DLCR (Table 2, "CAL").
# Shared settings (model, schedule, optimisers): ./_base_/cal.py.
#   python tools/train.py configs/cal/prcc_cal.py
_base_ = ['../_base_/datasets/prcc.py', './_base_/cal.py']
data_root = 'data/prcc'

train_dataloader = dict(
    batch_size=32,
    sampler=dict(_delete_=True, type='IdentitySampler', batch_size=32,
                 num_instances=8),
    dataset=dict(data_root=data_root))
val_dataloader = dict(dataset=dict(data_root=data_root))
test_dataloader = val_dataloader
val_evaluator = dict(type='ReIDMetric', protocol='prcc', dist_metric='cosine')
test_evaluator = val_evaluator
