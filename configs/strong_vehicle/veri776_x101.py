# Strong vehicle baseline, ResNeXt101-IBN-a on VeRi-776 (paper anchor:
# 87.1 mAP / 97.0 R1, single model, no post-processing):
#   python tools/train.py configs/strong_vehicle/veri776_x101.py
_base_ = ['../_base_/datasets/veri776.py', './_base_/recipe.py']
custom_imports = dict(imports=['plugins.strong_vehicle'],
                      allow_failed_imports=False)
img_size = (320, 320)
train_pipeline = {{_base_.sv_train_pipeline}}
train_dataloader = dict(batch_size={{_base_.batch_size}},
                        sampler={{_base_.sv_sampler}})
