# AGW + DiVE: ./sysu_agw.py trained on V* + I* (./_base_/dive_sysu.py).
_base_ = ['./sysu_agw.py', './_base_/dive_sysu.py']
train_dataloader = dict(dataset='${dive_train_dataset}')
