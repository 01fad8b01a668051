# AGW on LLCM infrared -> visible, without DiVE data.
_base_ = ['./llcm_agw.py']
direction = 'i2v'
