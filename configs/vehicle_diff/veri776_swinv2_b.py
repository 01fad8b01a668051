# Vehicle-Diff on VeRi-776, Swin-V2-B + auxiliary classifier on stage 3, CE +
# circle loss on both heads, real + synthetic with balanced batches ("B",
# Table II's best row: 97.68 R1 / 83.79 mAP).
#   python -m plugins.vehicle_diff.build_library cars.csv data/vehicle_diff/library.csv
#   python tools/train.py configs/vehicle_diff/veri776_swinv2_b.py
# Stages: caption -> finetune -> generate -> fid -> train -> test (see
# ./_base_/vehicle_diff.py for the weights each one reads).
_base_ = ['../_base_/models/swinv2_b_aux.py', '../_base_/datasets/veri776.py',
          '../_base_/schedules/adam_120e.py', '../_base_/default_runtime.py',
          './_base_/vehicle_diff.py']

train_dataloader = dict(sampler='${vd_sampler_balanced}',
                        dataset='${vd_dataset_real_synthetic}')
