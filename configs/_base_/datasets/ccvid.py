# CCVID (video): one sample per frame with its track_id; the 'ccvid' protocol pools the
# frame features per tracklet (mean) and ranks tracklets, CAL's video setting.
# `frame_step` thins the frames for training speed.
# Override the location with --cfg-options (or reidkit.datasets.set_data_root).
dataset_type = 'CCVID'
data_root = 'data/ccvid'
img_size = (256, 128)  # (height, width)
frame_step = 1

train_pipeline = [
    dict(type='LoadReIDImage'),
    dict(type='ReIDResize', size=img_size),
    dict(type='ReIDRandomFlip', prob=0.5),
    dict(type='ReIDPad', padding=10),
    dict(type='ReIDRandomCrop', size=img_size),
    dict(type='ReIDRandomErasing', prob=0.5, fill='mean'),
    dict(type='PackReIDInputs'),
]
test_pipeline = [
    dict(type='LoadReIDImage'),
    dict(type='ReIDResize', size=img_size),
    dict(type='PackReIDInputs'),
]

train_dataloader = dict(
    batch_size=64,
    num_workers=4,
    persistent_workers=True,
    drop_last=True,
    sampler=dict(type='DefaultSampler', shuffle=True),
    collate_fn=dict(type='pseudo_collate'),
    dataset=dict(
        type=dataset_type,
        data_root=data_root,
        split='train',
        frame_step=frame_step,
        pipeline=train_pipeline))
val_dataloader = dict(
    batch_size=128,
    num_workers=4,
    persistent_workers=True,
    drop_last=False,
    sampler=dict(type='DefaultSampler', shuffle=False),
    collate_fn=dict(type='pseudo_collate'),
    dataset=dict(
        type=dataset_type,
        data_root=data_root,
        split='test',
        frame_step=frame_step,
        pipeline=test_pipeline))
test_dataloader = val_dataloader

val_evaluator = dict(type='ReIDMetric', protocol='ccvid')
test_evaluator = val_evaluator
