# IDE ResNet-50 on Vehicle-Diff images only (Table II "S": 57.87 / 22.21;
# Tables V and VI use this setting).
_base_ = ['./veri776_ide_r50.py']

train_dataloader = dict(sampler='${vd_sampler_identity}',
                        dataset='${vd_dataset_synthetic}')
