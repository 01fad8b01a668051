# CityFlowV2 -> VeRi-776 (Table III, bottom): the generator is fine-tuned on
# CityFlowV2 (no labels), the re-ID model is trained on those synthetic images
# only and tested on VeRi-776.
_base_ = ['../_base_/models/swinv2_b_aux.py', '../_base_/datasets/veri776.py',
          '../_base_/schedules/adam_120e.py', '../_base_/default_runtime.py',
          './_base_/vehicle_diff.py']

target_dataset_type = 'CityFlowV2'
target_data_root = 'data/cityflow_v2'
target_num_images = 527
train_dataloader = dict(sampler='${vd_sampler_identity}',
                        dataset='${vd_dataset_synthetic}')
