# Vehicle-Diff on CityFlowV2 (Table III): generator fine-tuned on 527
# unlabeled CityFlowV2 training images, Swin-V2-B + aux, real + synthetic
# balanced ("B").
_base_ = ['../_base_/models/swinv2_b_aux.py',
          '../_base_/datasets/cityflow_v2.py',
          '../_base_/schedules/adam_120e.py', '../_base_/default_runtime.py',
          './_base_/vehicle_diff.py']

target_num_images = 527   # 1 % of CityFlowV2's 52,717 images, as the paper
train_dataloader = dict(sampler='${vd_sampler_balanced}',
                        dataset='${vd_dataset_real_synthetic}')
