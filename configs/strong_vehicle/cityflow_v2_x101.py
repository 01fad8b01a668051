# Strong vehicle baseline, ResNeXt101-IBN-a on CityFlowV2-ReID (offline
# split 360 / 80 ids as the paper's Split-Train / Split-Test):
#   python tools/train.py configs/strong_vehicle/cityflow_v2_x101.py
# Expects data/cityflow_v2 (the official CityFlowV2-ReID layout, reidkit/datasets/cityflow.py) and the IBN-Net
# ImageNet weights in checkpoints/ (model base). Evaluation: CityFlow
# protocol, k-reciprocal (50, 15, 0.5) on the full (Q+G)^2 matrix.
_base_ = ['../_base_/datasets/cityflow_v2.py', './_base_/recipe.py']
custom_imports = dict(imports=['plugins.strong_vehicle'],
                      allow_failed_imports=False)
img_size = (320, 320)
train_pipeline = {{_base_.sv_train_pipeline}}
train_dataloader = dict(batch_size={{_base_.batch_size}},
                        sampler={{_base_.sv_sampler}})
val_evaluator = dict(rerankers=[
    dict(type='OrientationCameraKReciprocal', weights={})])
test_evaluator = val_evaluator
