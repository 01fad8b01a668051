# DLCR (Siddiqui et al.) with CAL on LTCC: the paper's whole pipeline, set in
# ./_base_/dlcr_cal.py; this file names the dataset and its folders.
#   python tools/train.py configs/dlcr/ltcc_cal.py
# LTCC: general / same-clothes / clothes-changing scores; the paper reports
# cc/* (Table 2: CAL 39.5 / DLCR 41.3 top-1).
_base_ = ['./_base_/dlcr_cal.py']
dataset_type = 'LTCC'
data_root = 'data/ltcc'
protocol = 'ltcc'
dlcr_root = 'work_dirs/dlcr_data/ltcc'
work_dir = 'work_dirs/dlcr_ltcc_cal'  # not work_dirs/ltcc_cal: configs/cal/ltcc_cal.py has that
