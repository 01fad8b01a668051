# LLCM: `direction` 'v2i' (visible queries, infrared gallery) or 'i2v'; 10 trials in the metric.
# llcm_official=True scores v2i as the authors' script does (sampled infrared queries against
# all visible images; its published vis->IR numbers); the default is the benchmark definition.
# Override the location with --cfg-options (or reidkit.datasets.set_data_root).
dataset_type = 'LLCM'
data_root = 'data/llcm'
img_size = (288, 144)  # (height, width)
direction = 'v2i'
llcm_official = False

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
        direction=direction,
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
        direction=direction,
        pipeline=test_pipeline))
test_dataloader = val_dataloader

val_evaluator = dict(type='ReIDMetric', protocol='llcm_' + direction,
                     official=llcm_official)
test_evaluator = val_evaluator
