# CAL (Gu et al., CVPR 2022) on VC-Clothes: the baseline of DLCR.
# Shared settings (model, schedule, optimisers): ./_base_/cal.py.
#   python tools/train.py configs/cal/vc_clothes_cal.py
_base_ = ['./_base_/cal.py']
dataset_type = 'VCClothes'
data_root = 'data/vc_clothes'
protocol = 'vc_clothes'
mode = 'all'
dataset_args = dict(mode='${mode}')
