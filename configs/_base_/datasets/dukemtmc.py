# DukeMTMC-reID: 702 train / 702 test ids (+408 distractors), 8 cameras.
# The dataloaders and evaluator: ./_reid_dataset.py, written with late
# references to the facts below (a child config or --cfg-options
# data_root=... changes them everywhere).
_base_ = ['./_reid_dataset.py']
dataset_type = 'DukeMTMC'
data_root = 'data/dukemtmc'
img_size = (256, 128)  # (height, width)
protocol = 'market'
