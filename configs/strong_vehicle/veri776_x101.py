# Strong vehicle baseline, ResNeXt101-IBN-a on VeRi-776 (paper anchor:
# 87.1 mAP / 97.0 R1, single model):
#   python tools/train.py configs/strong_vehicle/veri776_x101.py
_base_ = ['../_base_/datasets/veri776.py', './_base_/recipe.py']
data_root = 'data/veri776'
img_size = {{_base_.sv_img_size}}
train_dataloader = dict(
    batch_size={{_base_.batch_size}}, sampler={{_base_.sv_sampler}},
    dataset=dict(data_root=data_root, pipeline={{_base_.sv_train_pipeline}}))
val_dataloader = dict(
    dataset=dict(data_root=data_root, pipeline={{_base_.sv_test_pipeline}}))
test_dataloader = val_dataloader
val_evaluator = dict(type='ReIDMetric', protocol='market')
test_evaluator = val_evaluator
