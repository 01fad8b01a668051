# VC-Clothes: 256 / 256 ids, 4 cameras; `mode` 'all', 'sc' (cams 2, 3) or 'cc' (cams 3, 4).
# The dataloaders and evaluator: ./_reid_dataset.py, written with late
# references to the facts below (a child config or --cfg-options
# data_root=... changes them everywhere).
_base_ = ['./_reid_dataset.py']
dataset_type = 'VCClothes'
data_root = 'data/vc_clothes'
img_size = (384, 192)  # (height, width)
protocol = 'vc_clothes'
mode = 'all'
dataset_args = dict(mode='${mode}')
