# DLCR (Siddiqui et al.) with CAL on CCVID: the paper's whole pipeline, set in
# ./_base_/dlcr_cal.py; this file names the dataset and its folders.
#   python tools/train.py configs/dlcr/ccvid_cal.py
# CCVID (video frames): the paper reports the clothes-changing setting
# (Table 2: CAL 81.7 / DLCR 88.0 top-1).
_base_ = ['./_base_/dlcr_cal.py']
dataset_type = 'CCVID'
data_root = 'data/ccvid'
protocol = 'ccvid'
img_size = (256, 128)  # (height, width)
frame_step = 1
dataset_args = dict(frame_step='${frame_step}')
dlcr_root = 'work_dirs/dlcr_data/ccvid'
work_dir = 'work_dirs/dlcr_ccvid_cal'  # not work_dirs/ccvid_cal: configs/cal/ccvid_cal.py has that
