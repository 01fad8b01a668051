# VeRi-776: 576 train / 200 test vehicles, 20 cameras; Market-style evaluation.
# The dataloaders and evaluator: ./_reid_dataset.py, written with late
# references to the facts below (a child config or --cfg-options
# data_root=... changes them everywhere).
_base_ = ['./_reid_dataset.py']
dataset_type = 'VeRi776'
data_root = 'data/veri776'
img_size = (256, 256)  # (height, width)
protocol = 'market'
