# CAJ on LLCM visible -> infrared (10 trials), without DiVE data (Table 2's
# baseline rows). The dataset facts: ./_base_/llcm.py; the model, its
# transform and schedule: ./_base_/models/caj.py.
#   python tools/train.py configs/dive/llcm_caj.py
_base_ = ['./_base_/llcm.py', './_base_/models/caj.py']
