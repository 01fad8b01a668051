# Market-1501: 751 train / 750 test ids, 6 cameras; pid 0 = distractor.
# The dataloaders and evaluator: ./_reid_dataset.py, written with late
# references to the facts below (a child config or --cfg-options
# data_root=... changes them everywhere).
_base_ = ['./_reid_dataset.py']
dataset_type = 'Market1501'
data_root = 'data/market1501'
img_size = (256, 128)  # (height, width)
protocol = 'market'
