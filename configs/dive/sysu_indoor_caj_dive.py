# CAJ + DiVE: ./sysu_indoor_caj.py trained on V* + I* (./_base_/dive_sysu.py).
_base_ = ['./sysu_indoor_caj.py', './_base_/dive_sysu.py']
train_dataloader = dict(dataset='${dive_train_dataset}')
