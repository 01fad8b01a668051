# CAJ on SYSU-MM01 all-search (IR queries, RGB gallery, 10 trials), without
# DiVE data (Table 2's baseline rows). The dataset facts: ./_base_/sysu.py;
# the model, its transform and schedule: ./_base_/models/caj.py.
#   python tools/train.py configs/dive/sysu_caj.py
_base_ = ['./_base_/sysu.py', './_base_/models/caj.py']
