# AGW + DiVE: ./llcm_agw.py trained on V* + I* (./_base_/dive_llcm.py).
_base_ = ['./llcm_agw.py', './_base_/dive_llcm.py']
train_dataloader = dict(dataset='${dive_train_dataset}')
