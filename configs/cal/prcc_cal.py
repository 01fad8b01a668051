# CAL (Gu et al., CVPR 2022) on PRCC: the baseline of DLCR (Table 2, "CAL").
# Shared settings (model, schedule, optimisers): ./_base_/cal.py.
#   python tools/train.py configs/cal/prcc_cal.py
_base_ = ['./_base_/cal.py']
dataset_type = 'PRCC'
data_root = 'data/prcc'
protocol = 'prcc'
