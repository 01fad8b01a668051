# VehicleID: `test_size` 800, 1600 or 2400; gallery = one random image per vehicle,
# redrawn 10 times by the metric from the whole test list.
# The dataloaders and evaluator: ./_reid_dataset.py, written with late
# references to the facts below (a child config or --cfg-options
# data_root=... changes them everywhere).
_base_ = ['./_reid_dataset.py']
dataset_type = 'VehicleID'
data_root = 'data/vehicleid'
img_size = (256, 256)  # (height, width)
protocol = 'vehicleid'
test_size = 800
dataset_args = dict(test_size='${test_size}')
