# DEEN + DiVE on LLCM visible -> infrared, scored as the LLCM authors' test
# script does (ZYK100/LLCM DEEN/test.py, test_mode [2, 1] "VIS to IR"): per
# trial the sampled infrared images are the queries against all visible
# images, the reverse of the benchmark definition that ./llcm_deen_dive.py
# (the default) scores. The published vis->IR numbers (DiVE Table 2: DEEN +
# DiVE 59.30 / 65.90 R1 / mAP) come from that script; training is the same.
#   python tools/test.py configs/dive/llcm_deen_dive_official.py CKPT
_base_ = ['./llcm_deen_dive.py']
llcm_official = True
