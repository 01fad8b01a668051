# CAJ (Ye et al., "Channel Augmentation for Visible-Infrared
# Re-Identification", TPAMI 2023), as the copy of the authors' code in
# BorgDiven/DiVE Re-ID_model/CAJ (train_ext.py --method adp --augc 1
# --rande 0.5 --alpha 1 --gamma 1 --square 1): AGW's network, every batch
# [visible; infrared; channel-exchanged visible] (joint learning), CE + the
# adaptive weighted triplet (ADP, squared difference) over all rows.
# Transforms (the authors' data_loader.py): every image pad 10 + random crop
# + flip + channel-level random erasing 0.5; visible images add a second
# view (own erasing, then R, G or B copied to all channels; ours shares the
# crop and flip of the first view); infrared images get R / G / B / grey
# (ChannelAdapGray(0.5)). Schedule: the VI schedule (steps 20, 50; 81
# epochs).
_base_ = ['../../../_base_/models/agw_two_stream.py']
model = dict(
    data_preprocessor=dict(_delete_=True, type='JointViewDataPreprocessor'),
    head=dict(losses=[
        dict(type='CrossEntropyLoss', loss_weight=1.0),
        dict(type='AdaptiveWeightedTripletLoss', alpha=1.0, gamma=1.0,
             square=True, loss_weight=1.0)]))
img_size = (288, 144)  # (height, width)
vi_train_pipeline = [
    dict(type='LoadReIDImage'),
    dict(type='ReIDResize', size='${img_size}'),
    dict(type='ReIDPad', padding='${pad}'),
    dict(type='ReIDRandomCrop', size='${img_size}'),
    dict(type='ReIDRandomFlip', prob=0.5),
    dict(type='ReIDJointChannelView', modality=0, transforms=[
        dict(type='ReIDRandomErasing', prob=0.5),
        dict(type='ReIDChannelExchange', probs=(1 / 3, 1 / 3, 1 / 3, 0, 0))]),
    dict(type='ReIDRandomErasing', prob=0.5),
    dict(type='ReIDChannelExchange', modality=1,
         probs=(0.25, 0.25, 0.25, 0.125, 0.125)),
    dict(type='PackReIDInputs',
         meta_keys=('pid', 'camid', 'clothes_id', 'modality', 'domain',
                    'split', 'track_id', 'sample_idx', 'img_path',
                    'joint_view')),
]
vi_milestones = [20, 50]
vi_max_epochs = 81
