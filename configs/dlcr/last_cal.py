# DLCR (Siddiqui et al.) with CAL on LaST: the paper's whole pipeline, set in
# ./_base_/dlcr_cal.py; this file names the dataset and its folders.
#   python tools/train.py configs/dlcr/last_cal.py
# LaST: every same-identity gallery image counts (no junk).
_base_ = ['./_base_/dlcr_cal.py']
dataset_type = 'LaST'
data_root = 'data/last'
protocol = 'last'
eval_set = 'test'
dataset_args = dict(eval_set='${eval_set}')
dlcr_root = 'work_dirs/dlcr_data/last'
work_dir = 'work_dirs/dlcr_last_cal'  # not work_dirs/last_cal: configs/cal/last_cal.py has that
