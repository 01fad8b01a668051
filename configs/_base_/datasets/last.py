# LaST: 5,000 train ids; `eval_set` 'test' or 'val'. No camera labels (camid 0).
# The dataloaders and evaluator: ./_reid_dataset.py, written with late
# references to the facts below (a child config or --cfg-options
# data_root=... changes them everywhere).
_base_ = ['./_reid_dataset.py']
dataset_type = 'LaST'
data_root = 'data/last'
img_size = (384, 192)  # (height, width)
protocol = 'last'
eval_set = 'test'
dataset_args = dict(eval_set='${eval_set}')
