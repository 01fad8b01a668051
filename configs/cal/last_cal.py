# CAL (Gu et al., CVPR 2022) on LaST: the baseline of DLCR.
# Shared settings (model, schedule, optimisers): ./_base_/cal.py.
#   python tools/train.py configs/cal/last_cal.py
_base_ = ['./_base_/cal.py']
dataset_type = 'LaST'
data_root = 'data/last'
protocol = 'last'
eval_set = 'test'
dataset_args = dict(eval_set='${eval_set}')
