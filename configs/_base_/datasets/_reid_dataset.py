# The shape every benchmark base shares: pipelines, dataloaders, evaluator.
# It is written with late references (`'${name}'`, resolved after all bases
# and --cfg-options are merged) to the facts a benchmark base sets:
#   dataset_type   the dataset class (reidkit.datasets)
#   data_root      its folder (official layout)
#   img_size       (height, width)
#   protocol       the evaluation protocol (reidkit.evaluation)
#   dataset_args   extra arguments of the dataset class, e.g. dict(mode='cc')
dataset_args = dict()
pad = 10  # pixels of padding before the random crop

train_pipeline = [
    dict(type='LoadReIDImage'),
    dict(type='ReIDResize', size='${img_size}'),
    dict(type='ReIDRandomFlip', prob=0.5),
    dict(type='ReIDPad', padding='${pad}'),
    dict(type='ReIDRandomCrop', size='${img_size}'),
    dict(type='ReIDRandomErasing', prob=0.5, fill='mean'),
    dict(type='PackReIDInputs'),
]
test_pipeline = [
    dict(type='LoadReIDImage'),
    dict(type='ReIDResize', size='${img_size}'),
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
        _merge_='${dataset_args}',
        type='${dataset_type}',
        data_root='${data_root}',
        split='train',
        pipeline='${train_pipeline}'))
val_dataloader = dict(
    batch_size=128,
    num_workers=4,
    persistent_workers=True,
    drop_last=False,
    sampler=dict(type='DefaultSampler', shuffle=False),
    collate_fn=dict(type='pseudo_collate'),
    dataset=dict(
        _merge_='${dataset_args}',
        type='${dataset_type}',
        data_root='${data_root}',
        split='test',
        pipeline='${test_pipeline}'))
test_dataloader = val_dataloader

val_evaluator = dict(type='ReIDMetric', protocol='${protocol}')
test_evaluator = val_evaluator
