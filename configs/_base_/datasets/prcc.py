# PRCC: clothes-changing; query = cameras B (same clothes) + C (changed), gallery = A.
# The metric reports sc/* and cc/* from the query camera against all of camera A (CAL's
# numbers); single_shot=True scores CAL's 10 single-shot galleries instead. Sizes follow CAL.
# Override the location with --cfg-options (or reidkit.datasets.set_data_root).
dataset_type = 'PRCC'
data_root = 'data/prcc'
img_size = (384, 192)  # (height, width)

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
        pipeline=test_pipeline))
test_dataloader = val_dataloader

val_evaluator = dict(type='ReIDMetric', protocol='prcc', single_shot=False)
test_evaluator = val_evaluator
