# FineGPR + AOST with Market-1501 as the target (Tables 2-3, last row):
#   python tools/train.py configs/aost/finegpr_market_ide.py
# FineGPR under data/finegpr, the targets under data/ (see ./_base_/aost.py);
# VGG-19 weights in checkpoints/. Anchors (paper, tested on Market-1501):
# AOST R1 56.3 / mAP 29.2.
_base_ = ['./_base_/aost.py']

target_type = 'Market1501'
target_root = 'data/market1501'
target_pattern = 'bounding_box_train/*.jpg'
