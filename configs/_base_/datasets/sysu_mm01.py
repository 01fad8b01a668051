# SYSU-MM01: query = IR test images; gallery = RGB images, one random per id per camera
# drawn by the metric (10 trials). `sysu_mode` 'all' or 'indoor'.
# Override the location with --cfg-options (or reidkit.datasets.set_data_root).
dataset_type = 'SYSUMM01'
data_root = 'data/sysu_mm01'
img_size = (288, 144)  # (height, width)
sysu_mode = 'all'

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
        mode=sysu_mode,
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
        mode=sysu_mode,
        pipeline=test_pipeline))
test_dataloader = val_dataloader

val_evaluator = dict(type='ReIDMetric', protocol='sysu_' + sysu_mode)
test_evaluator = val_evaluator
