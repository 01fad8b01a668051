# Strong vehicle baseline, ResNeXt101-IBN-a on CityFlowV2-ReID (offline
# split 360 / 80 ids as the paper's Split-Train / Split-Test):
#   python tools/train.py configs/strong_vehicle/cityflow_v2_x101.py
# Expects data/cityflow_v2 (see /work/shared/datasets.md) and the IBN-Net
# ImageNet weights in checkpoints/ (model base). Evaluation: CityFlow
# protocol, k-reciprocal (50, 15, 0.5) on the full (Q+G)^2 matrix.
_base_ = ['../_base_/datasets/cityflow_v2.py', './_base_/recipe.py']
data_root = 'data/cityflow_v2'
img_size = {{_base_.sv_img_size}}
train_dataloader = dict(
    batch_size={{_base_.batch_size}}, sampler={{_base_.sv_sampler}},
    dataset=dict(data_root=data_root, pipeline={{_base_.sv_train_pipeline}}))
val_dataloader = dict(
    dataset=dict(data_root=data_root, pipeline={{_base_.sv_test_pipeline}}))
test_dataloader = val_dataloader
val_evaluator = dict(type='ReIDMetric', protocol='cityflow', rerankers=[
    dict(type='OrientationCameraKReciprocal', weights={})])
test_evaluator = val_evaluator
