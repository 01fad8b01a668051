# LTCC: 77 train / 75 test ids, 12 cameras; general, same- and changed-clothes scores.
# The dataloaders and evaluator: ./_reid_dataset.py, written with late
# references to the facts below (a child config or --cfg-options
# data_root=... changes them everywhere).
_base_ = ['./_reid_dataset.py']
dataset_type = 'LTCC'
data_root = 'data/ltcc'
img_size = (384, 192)  # (height, width)
protocol = 'ltcc'
