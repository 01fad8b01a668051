# DEEN on LLCM visible -> infrared (10 trials), without DiVE data (Table 2's
# baseline rows). The dataset facts: ./_base_/llcm.py; the model, its
# transform and schedule: ./_base_/models/deen.py.
#   python tools/train.py configs/dive/llcm_deen.py
_base_ = ['./_base_/llcm.py', './_base_/models/deen.py']
deen_erase_area = (0.02, 0.4)  # DEEN's LLCM transform (SYSU: (0.2, 0.8))
