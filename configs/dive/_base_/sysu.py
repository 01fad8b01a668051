# SYSU-MM01 for the DiVE re-ID configs: the facts of
# ../../_base_/datasets/sysu_mm01.py (IR queries, RGB gallery, one random
# image per id per camera, 10 trials) on ./vi_reid.py. `sysu_mode` 'all'
# or 'indoor' (gallery cameras 1, 2; training is the same).
_base_ = ['./vi_reid.py']
dataset_type = 'SYSUMM01'
data_root = 'data/sysu_mm01'
sysu_mode = 'all'
protocol = 'sysu_${sysu_mode}'
dataset_args = dict(mode='${sysu_mode}')
