# Table 2-3 "FineGPR": all 2,028,600 images (paper on Market-1501: R1 50.5 /
# mAP 24.6; about 20 P100 GPU-days).
_base_ = ['./_base_/aost.py']

train_dataloader = dict(dataset=dict(
    _delete_=True, type='FineGPR', data_root='${data_root}',
    pipeline='${train_pipeline}'))
stages = _base_.reid_stages
