# DEEN on SYSU-MM01 indoor-search (cameras 1, 2 in the gallery), without
# DiVE data. Training is the all-search config's.
_base_ = ['./sysu_deen.py']
val_dataloader = dict(dataset=dict(mode='indoor'))
test_dataloader = dict(dataset=dict(mode='indoor'))
val_evaluator = dict(protocol='sysu_indoor')
test_evaluator = dict(protocol='sysu_indoor')
