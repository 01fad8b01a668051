# DEEN + DiVE: ./llcm_i2v_deen.py trained on V* + I* (./_base_/dive_llcm.py).
_base_ = ['./llcm_i2v_deen.py', './_base_/dive_llcm.py']
train_dataloader = dict(dataset='${dive_train_dataset}')
