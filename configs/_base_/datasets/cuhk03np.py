# CUHK03-NP (new protocol), 767 / 700 ids; `subset` = 'detected' or 'labeled'.
# Zhong et al. evaluate it with Market-1501's code, hence protocol 'market'.
# The dataloaders and evaluator: ./_reid_dataset.py, written with late
# references to the facts below (a child config or --cfg-options
# data_root=... changes them everywhere).
_base_ = ['./_reid_dataset.py']
dataset_type = 'CUHK03NP'
data_root = 'data/cuhk03-np'
img_size = (256, 128)  # (height, width)
protocol = 'market'
subset = 'detected'
dataset_args = dict(subset='${subset}')
