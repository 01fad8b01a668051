# Ablation "+ generated data" on the toy PRCC: the same generated data and
# paired batches as configs/dlcr/toy_prcc_cal.py, but every variant of an
# image is in the pool from the first epoch (no progressive widening), and
# the test has no refinement.
_base_ = ['./toy_prcc_cal.py']

train_dataloader = dict(sampler=dict(progressive=False))
test_dataloader = dict(
    dataset=dict(_delete_=True, type='PRCC', data_root='data/toy/prcc',
                 split='test', pipeline={{_base_.test_pipeline}}))
test_evaluator = dict(_delete_=True, type='ReIDMetric', protocol='prcc',
                      dist_metric='cosine')
