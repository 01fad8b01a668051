# DLCR (Siddiqui et al.) with CAL on VC-Clothes: the paper's whole pipeline,
# set in ./_base_/dlcr_cal.py; this file names the dataset and its folders.
#   python tools/train.py configs/dlcr/vc_clothes_cal.py
# VC-Clothes: the paper reports the clothes-changing setting (cameras 3 and 4,
# Table 2: CAL 85.8 / DLCR 87.1 top-1).
_base_ = ['./_base_/dlcr_cal.py']
dataset_type = 'VCClothes'
data_root = 'data/vc_clothes'
protocol = 'vc_clothes'
mode = 'all'
dataset_args = dict(mode='${mode}')
dlcr_root = 'work_dirs/dlcr_data/vc_clothes'
work_dir = 'work_dirs/dlcr_vc_clothes_cal'  # not work_dirs/vc_clothes_cal: configs/cal/vc_clothes_cal.py has that
