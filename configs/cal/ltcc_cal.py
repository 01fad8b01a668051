# CAL (Gu et al., CVPR 2022) on LTCC: the baseline of DLCR.
# Shared settings (model, schedule, optimisers): ./_base_/cal.py.
#   python tools/train.py configs/cal/ltcc_cal.py
_base_ = ['./_base_/cal.py']
dataset_type = 'LTCC'
data_root = 'data/ltcc'
protocol = 'ltcc'
