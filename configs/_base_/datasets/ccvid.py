# CCVID (video): one sample per frame with its track_id; the 'ccvid' protocol pools the
# frame features per tracklet (mean) and ranks tracklets, CAL's video setting.
# `frame_step` thins the frames for training speed.
# The dataloaders and evaluator: ./_reid_dataset.py, written with late
# references to the facts below (a child config or --cfg-options
# data_root=... changes them everywhere).
_base_ = ['./_reid_dataset.py']
dataset_type = 'CCVID'
data_root = 'data/ccvid'
img_size = (256, 128)  # (height, width)
protocol = 'ccvid'
frame_step = 1
dataset_args = dict(frame_step='${frame_step}')
