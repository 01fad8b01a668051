# Across papers: the strong vehicle pipeline (paper 004, every stage of
# ./_base_/pipeline.py) trained on CityFlowV2 + the vehicles Vehicle-Diff
# generates (paper 000: 527 target images captioned, SDXL LoRA fine-tuned
# on them, ~30 images per library identity, detector + CLIP colour
# filters), as neither paper did:
#   python tools/train.py configs/strong_vehicle/cityflow_v2_x101_vehicle_diff.py --dry-run
#   python tools/train.py configs/strong_vehicle/cityflow_v2_x101_vehicle_diff.py
# Stages: check, then Vehicle-Diff's own (caption -> finetune -> generate -> fid ->
# train -> test: the ResNeXt101-IBN-a recipe on real + generated), then the
# strong vehicle ensemble stages (features, ResNet50 / ResNet101-IBN-a on
# the same data, camera model on the real cameras, orientation model on
# VehicleX, post-processing). The generated images are read from
# ${work_dir}/synthetic (SyntheticDataset manifest, new ids) and
# concatenated with the real train split in one label space. Batches: the
# recipe's P x K (16 x 8) over the union (Vehicle-Diff's balanced 32 + 32
# sampler is `vd_sampler_balanced`). Weights: ../vehicle_diff/_base_/
# vehicle_diff.py and ./_base_/pipeline.py.
_base_ = ['../_base_/datasets/cityflow_v2.py', './_base_/pipeline.py',
          '../vehicle_diff/_base_/vehicle_diff.py']
custom_imports = dict(imports=['plugins.strong_vehicle',
                               'plugins.vehicle_diff'],
                      allow_failed_imports=False)
img_size = (320, 320)
target_num_images = 527   # 1 % of CityFlowV2's 52,717 images (Vehicle-Diff)
train_pipeline = {{_base_.sv_train_pipeline}}
train_dataloader = dict(batch_size={{_base_.batch_size}},
                        sampler={{_base_.sv_sampler}},
                        dataset='${vd_dataset_real_synthetic}')
test_evaluator = dict(rerankers=[
    dict(type='OrientationCameraKReciprocal', weights={}, k1='${rerank.k1}',
         k2='${rerank.k2}', lambda_value='${rerank.lambda_value}')])
val_evaluator = test_evaluator
vd_stages = {{_base_.stages}}
stages = ['${sv_check_stage}', '${vd_stages}', '${sv_ensemble_stages}']
