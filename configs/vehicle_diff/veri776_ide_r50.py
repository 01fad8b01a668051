# Vehicle-Diff on VeRi-776 with the IDE ResNet-50 baseline (softmax CE),
# real + synthetic mixed at random ("D", Table II: 94.52 R1 / 71.50 mAP).
_base_ = ['../_base_/models/ide_r50.py', '../_base_/datasets/veri776.py',
          '../_base_/schedules/adam_120e.py', '../_base_/default_runtime.py',
          './_base_/vehicle_diff.py']

train_dataloader = dict(sampler='${vd_sampler_mixed}',
                        dataset='${vd_dataset_real_synthetic}')
