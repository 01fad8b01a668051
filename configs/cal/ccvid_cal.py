# CAL (Gu et al., CVPR 2022) on CCVID: the baseline of DLCR.
# Shared settings (model, schedule, optimisers): ./_base_/cal.py.
#   python tools/train.py configs/cal/ccvid_cal.py
_base_ = ['./_base_/cal.py']
dataset_type = 'CCVID'
data_root = 'data/ccvid'
protocol = 'ccvid'
img_size = (256, 128)  # (height, width)
frame_step = 1
dataset_args = dict(frame_step='${frame_step}')
