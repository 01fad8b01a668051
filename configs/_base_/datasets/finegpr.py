# FineGPR: synthetic, attribute-coded training data (1,150 ids); it has no test split,
# so validation and test run on a real target benchmark (Market-1501 by default).
# `attribute_filter` picks an attribute subset (AOST), e.g. dict(weather=[1, 2]).
dataset_type = 'FineGPR'
data_root = 'data/finegpr'
attribute_filter = None
target_type = 'Market1501'
target_root = 'data/market1501'
target_protocol = 'market'
img_size = (256, 128)  # (height, width)

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
        attribute_filter=attribute_filter,
        pipeline=train_pipeline))
val_dataloader = dict(
    batch_size=128,
    num_workers=4,
    persistent_workers=True,
    drop_last=False,
    sampler=dict(type='DefaultSampler', shuffle=False),
    collate_fn=dict(type='pseudo_collate'),
    dataset=dict(
        type=target_type,
        data_root=target_root,
        split='test',
        pipeline=test_pipeline))
test_dataloader = val_dataloader

val_evaluator = dict(type='ReIDMetric', protocol=target_protocol)
test_evaluator = val_evaluator
