# AGW (Ye et al., TPAMI 2021), the DiVE baseline: the model of
# configs/_base_/models/agw_two_stream.py (two-stream ResNet-50, non-local
# blocks, GeM, BNNeck; CE + WRT) and the authors' train transform at 288x144
# (pad 10, random crop, flip, random erasing 0.5).
_base_ = ['../../../_base_/models/agw_two_stream.py']
vi_img_size = (288, 144)
vi_train_pipeline = [
    dict(type='LoadReIDImage'),
    dict(type='ReIDResize', size=vi_img_size),
    dict(type='ReIDPad', padding=10),
    dict(type='ReIDRandomCrop', size=vi_img_size),
    dict(type='ReIDRandomFlip', prob=0.5),
    dict(type='ReIDRandomErasing', prob=0.5),
    dict(type='PackReIDInputs'),
]
vi_test_pipeline = [
    dict(type='LoadReIDImage'),
    dict(type='ReIDResize', size=vi_img_size),
    dict(type='PackReIDInputs'),
]
