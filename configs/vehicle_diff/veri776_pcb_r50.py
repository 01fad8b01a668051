# Vehicle-Diff on VeRi-776 with PCB (ResNet-50, 6 stripes, last stride 1),
# real + synthetic mixed ("D", Table II: 94.40 R1 / 75.45 mAP).
_base_ = ['./models/pcb_r50.py', '../_base_/datasets/veri776.py',
          '../_base_/schedules/adam_120e.py', '../_base_/default_runtime.py',
          './_base_/vehicle_diff.py']

train_dataloader = dict(sampler='${vd_sampler_mixed}',
                        dataset='${vd_dataset_real_synthetic}')
