# CAL (Gu et al., CVPR 2022) on VC-Clothes: the baseline of DLCR.
# Shared settings (model, schedule, optimisers): ./_base_/cal.py.
#   python tools/train.py configs/cal/vc_clothes_cal.py
_base_ = ['../_base_/datasets/vc_clothes.py', './_base_/cal.py']
data_root = 'data/vc_clothes'

train_dataloader = dict(
    batch_size=32,
    sampler=dict(_delete_=True, type='IdentitySampler', batch_size=32,
                 num_instances=8),
    dataset=dict(data_root=data_root))
val_dataloader = dict(dataset=dict(data_root=data_root))
test_dataloader = val_dataloader
val_evaluator = dict(type='ReIDMetric', protocol='vc_clothes',
                     dist_metric='cosine')
test_evaluator = val_evaluator
