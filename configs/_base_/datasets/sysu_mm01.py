# SYSU-MM01: query = IR test images; gallery = RGB images, one random per id per camera
# drawn by the metric (10 trials). `sysu_mode` 'all' or 'indoor'.
# The dataloaders and evaluator: ./_reid_dataset.py, written with late
# references to the facts below (a child config or --cfg-options
# data_root=... changes them everywhere).
_base_ = ['./_reid_dataset.py']
dataset_type = 'SYSUMM01'
data_root = 'data/sysu_mm01'
img_size = (288, 144)  # (height, width)
protocol = 'sysu_${sysu_mode}'
sysu_mode = 'all'
dataset_args = dict(mode='${sysu_mode}')
