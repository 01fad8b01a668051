# DEEN on LLCM infrared -> visible, without DiVE data.
_base_ = ['./llcm_deen.py']
direction = 'i2v'
