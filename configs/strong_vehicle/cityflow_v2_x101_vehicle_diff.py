# Across papers: the strong vehicle recipe (paper 004, ResNeXt101-IBN-a,
# MixStyle2, GeM, CE + SupCon with MALW, 320x320, 12 epochs) trained on
# CityFlowV2 + the vehicles Vehicle-Diff generates (paper 000: 527 target
# images captioned, SDXL LoRA fine-tuned on them, ~30 images per library
# identity, detector + CLIP colour filters), as neither paper did:
#   python tools/train.py configs/strong_vehicle/cityflow_v2_x101_vehicle_diff.py --dry-run
#   python tools/train.py configs/strong_vehicle/cityflow_v2_x101_vehicle_diff.py
# Stages (Vehicle-Diff's): caption -> finetune -> generate -> train -> test;
# the generated images are read from ${work_dir}/synthetic (SyntheticDataset
# manifest, new ids) and concatenated with the real train split in one label
# space. Batches: the recipe's P x K (16 x 8) over the union (Vehicle-Diff's
# balanced 32 + 32 sampler is `vd_sampler_balanced`). Weights as in
# ../vehicle_diff/_base_/vehicle_diff.py and the IBN-Net checkpoint of the
# recipe's model base.
_base_ = ['../_base_/datasets/cityflow_v2.py', './_base_/recipe.py',
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
val_evaluator = dict(rerankers=[
    dict(type='OrientationCameraKReciprocal', weights={})])
test_evaluator = val_evaluator
