# AGW on SYSU-MM01 indoor-search (cameras 1, 2 in the gallery), without
# DiVE data. Training is the all-search config's.
_base_ = ['./sysu_agw.py']
sysu_mode = 'indoor'
