# LLCM for the DiVE re-ID configs: the facts of
# ../../_base_/datasets/llcm.py on ./vi_reid.py. `direction` 'v2i'
# (visible queries, infrared gallery) or 'i2v'; 10 trials.
# `llcm_official=True` scores v2i as the LLCM authors' test script does
# (../llcm_deen_official.py); the default is the benchmark definition.
_base_ = ['./vi_reid.py']
dataset_type = 'LLCM'
data_root = 'data/llcm'
direction = 'v2i'
protocol = 'llcm_${direction}'
dataset_args = dict(direction='${direction}')
llcm_official = False
val_evaluator = dict(official='${llcm_official}')
test_evaluator = val_evaluator
