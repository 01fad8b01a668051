# FineGPR: synthetic, attribute-coded training data (1,150 ids); it has no test
# split, so validation and test run on a real target benchmark (Market-1501 by
# default). `attribute_filter` picks an attribute subset (AOST), e.g.
# dict(weather=[1, 2]).
# The dataloaders and evaluator: ./_reid_dataset.py, written with late
# references to the facts below (a child config or --cfg-options
# data_root=... changes them everywhere); val/test read the target's facts.
_base_ = ['./_reid_dataset.py']
dataset_type = 'FineGPR'
data_root = 'data/finegpr'
img_size = (256, 128)  # (height, width)
attribute_filter = None
dataset_args = dict(attribute_filter='${attribute_filter}')
target_type = 'Market1501'
target_root = 'data/market1501'
protocol = 'market'  # the target's
val_dataloader = dict(dataset=dict(
    _delete_=True, type='${target_type}', data_root='${target_root}',
    split='test', pipeline='${test_pipeline}'))
test_dataloader = val_dataloader
