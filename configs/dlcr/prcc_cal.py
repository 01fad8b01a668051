# DLCR (Siddiqui et al.) with CAL on PRCC: the paper's whole pipeline, set in
# ./_base_/dlcr_cal.py; this file names the dataset and its folders.
#   python tools/train.py configs/dlcr/prcc_cal.py
# PRCC: query cameras B (same clothes) and C (changed), gallery A; cc/* is the
# clothes-changing protocol the paper reports (Table 2: CAL 55.2 / DLCR 66.5
# top-1).
_base_ = ['./_base_/dlcr_cal.py']
dataset_type = 'PRCC'
data_root = 'data/prcc'
protocol = 'prcc'
dlcr_root = 'work_dirs/dlcr_data/prcc'
work_dir = 'work_dirs/dlcr_prcc_cal'  # not work_dirs/prcc_cal: configs/cal/prcc_cal.py has that
