# AGW (Ye et al., TPAMI 2021), the DiVE baseline: the model of
# configs/_base_/models/agw_two_stream.py (two-stream ResNet-50, non-local
# blocks, GeM, BNNeck; CE + WRT) and the authors' train transform at 288x144
# (pad 10, random crop, flip, random erasing 0.5), with the VI schedule's
# steps at 20 and 50 over 81 epochs (../vi_schedule.py).
_base_ = ['../../../_base_/models/agw_two_stream.py']
img_size = (288, 144)  # (height, width)
vi_train_pipeline = [
    dict(type='LoadReIDImage'),
    dict(type='ReIDResize', size='${img_size}'),
    dict(type='ReIDPad', padding='${pad}'),
    dict(type='ReIDRandomCrop', size='${img_size}'),
    dict(type='ReIDRandomFlip', prob=0.5),
    dict(type='ReIDRandomErasing', prob=0.5),
    dict(type='PackReIDInputs'),
]
vi_milestones = [20, 50]
vi_max_epochs = 81
