# Vehicle-Diff on VeRi-776 with DenseNet-121 (one of the paper's three
# baselines; no Vehicle-Diff row in Table II), real + synthetic mixed ("D").
_base_ = ['../_base_/models/densenet121.py', '../_base_/datasets/veri776.py',
          '../_base_/schedules/adam_120e.py', '../_base_/default_runtime.py',
          './_base_/vehicle_diff.py']

train_dataloader = dict(sampler='${vd_sampler_mixed}',
                        dataset='${vd_dataset_real_synthetic}')
