# Ablation "+ generated data" on the toy PRCC: the same generated data and
# paired batches as configs/dlcr/toy_prcc_cal.py, but every variant of an
# image is in the pool from the first epoch (no progressive widening), and
# the test has no refinement (so no query variants are made).
_base_ = ['./toy_prcc_cal.py']

stages = [
    dict(name='generate', type='GenerateStage', generation_key='generation'),
    dict(name='train', type='TrainStage'),
    dict(name='test', type='TestStage'),
]
train_dataloader = dict(sampler=dict(progressive=False))
test_dataloader = dict(
    dataset=dict(_delete_=True, _merge_='${dataset_args}',
                 type='${dataset_type}', data_root='${data_root}',
                 split='test', pipeline='${test_pipeline}'))
test_evaluator = dict(_delete_=True, type='ReIDMetric', protocol='${protocol}',
                      dist_metric='cosine')
