# CAJ on LLCM infrared -> visible, without DiVE data.
_base_ = ['./llcm_caj.py']
direction = 'i2v'
