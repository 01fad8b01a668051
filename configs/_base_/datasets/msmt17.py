# MSMT17: 1,041 train ids (list_train + list_val) / 3,060 test ids, 15 cameras.
# The dataloaders and evaluator: ./_reid_dataset.py, written with late
# references to the facts below (a child config or --cfg-options
# data_root=... changes them everywhere).
_base_ = ['./_reid_dataset.py']
dataset_type = 'MSMT17'
data_root = 'data/msmt17'
img_size = (256, 128)  # (height, width)
protocol = 'market'
