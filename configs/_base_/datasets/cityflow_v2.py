# CityFlowV2-ReID: offline split of the 440 training ids (360 train / 80 test, as the
# strong vehicle baseline); query = one image per (vehicle, camera) of the held-out ids.
# The dataloaders and evaluator: ./_reid_dataset.py, written with late
# references to the facts below (a child config or --cfg-options
# data_root=... changes them everywhere).
_base_ = ['./_reid_dataset.py']
dataset_type = 'CityFlowV2'
data_root = 'data/cityflow_v2'
img_size = (256, 256)  # (height, width)
protocol = 'cityflow'
split_seed = 0
dataset_args = dict(split_seed='${split_seed}')
