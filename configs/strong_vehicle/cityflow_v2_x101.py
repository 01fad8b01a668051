# Strong vehicle baseline on CityFlowV2-ReID (offline split 360 / 80 ids as
# the paper's Split-Train / Split-Test), every stage of the recipe
# (./_base_/pipeline.py): ResNeXt101-IBN-a (+ its single-model test),
# ResNet50-IBN-a and ResNet101-IBN-a for the ensemble, the camera model,
# the orientation model (VehicleX), saved features, then the
# post-processing chain (k-reciprocal with 0.1 D_o + 0.1 D_c inside on the
# full (Q+G)^2 matrix, k1 50 / k2 15 / lambda 0.5; tracklet averaging and
# rank lists grouped by track; ensemble) -> work_dir/postprocess.json.
#   python tools/train.py configs/strong_vehicle/cityflow_v2_x101.py
# Needs data/cityflow_v2 (official CityFlowV2-ReID layout), data/vehiclex
# and the IBN-Net weights in checkpoints/ (the `check` stage names what is
# missing). Paper (Table 4): 49.5 -> 53.7 -> 58.5 -> 61.3 mAP.
_base_ = ['../_base_/datasets/cityflow_v2.py', './_base_/pipeline.py']
custom_imports = dict(imports=['plugins.strong_vehicle'],
                      allow_failed_imports=False)
img_size = (320, 320)
train_pipeline = {{_base_.sv_train_pipeline}}
train_dataloader = dict(batch_size={{_base_.batch_size}},
                        sampler={{_base_.sv_sampler}})
# the single-model test: plain k-reciprocal (50, 15, 0.5) on (Q+G)^2
test_evaluator = dict(rerankers=[
    dict(type='OrientationCameraKReciprocal', weights={}, k1='${rerank.k1}',
         k2='${rerank.k2}', lambda_value='${rerank.lambda_value}')])
val_evaluator = test_evaluator
stages = '${sv_stages}'
