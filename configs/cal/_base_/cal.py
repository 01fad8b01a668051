# CAL (Gu et al., CVPR 2022), the baseline of DLCR: what every CAL config
# shares. Authors' settings: ResNet-50 (last stride 1), max+avg pooling,
# 384x192, 32 images per batch (4 identities x 8), Adam 3.5e-4, steps at
# 20/40, 60 epochs, CAL loss from epoch 25; cosine retrieval.
# A per-dataset config inherits it and names its dataset, as in fast-reid:
#   _base_ = ['./_base_/cal.py']
#   dataset_type = 'PRCC'; data_root = 'data/prcc'; protocol = 'prcc'
# (the dataloaders refer to those facts late: ../../_base_/datasets/_reid_dataset.py).
_base_ = [
    '../../_base_/datasets/_reid_dataset.py', '../../_base_/models/cal_r50.py',
    '../../_base_/schedules/cal_60e.py', '../../_base_/default_runtime.py'
]
img_size = (384, 192)  # (height, width)

# CAL's two optimisers (identity model; clothes classifier), see the model base
optim_wrapper = {{_base_.cal_optim_wrapper}}
train_dataloader = dict(
    batch_size=32,
    sampler=dict(_delete_=True, type='IdentitySampler', batch_size=32,
                 num_instances=8))
val_evaluator = dict(dist_metric='cosine')
test_evaluator = val_evaluator
