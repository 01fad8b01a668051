# LLCM: `direction` 'v2i' (visible queries, infrared gallery) or 'i2v'; 10 trials in the metric.
# llcm_official=True scores v2i as the authors' script does (sampled infrared queries against
# all visible images; its published vis->IR numbers); the default is the benchmark definition.
# The dataloaders and evaluator: ./_reid_dataset.py, written with late
# references to the facts below (a child config or --cfg-options
# data_root=... changes them everywhere).
_base_ = ['./_reid_dataset.py']
dataset_type = 'LLCM'
data_root = 'data/llcm'
img_size = (288, 144)  # (height, width)
protocol = 'llcm_${direction}'
direction = 'v2i'
dataset_args = dict(direction='${direction}')
llcm_official = False
val_evaluator = dict(official='${llcm_official}')
test_evaluator = val_evaluator
