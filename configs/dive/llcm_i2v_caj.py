# CAJ on LLCM infrared -> visible, without DiVE data.
_base_ = ['./llcm_caj.py']
val_dataloader = dict(dataset=dict(direction='i2v'))
test_dataloader = dict(dataset=dict(direction='i2v'))
val_evaluator = dict(protocol='llcm_i2v')
test_evaluator = dict(protocol='llcm_i2v')
