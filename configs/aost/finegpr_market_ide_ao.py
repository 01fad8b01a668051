# Table 3 "FineGPR+AO (w/o transfer)": the attribute-optimised subset trained
# as rendered (paper on Market-1501: R1 45.5 / mAP 23.8).
_base_ = ['./finegpr_market_ide.py']

train_dataloader = dict(dataset=dict(
    _delete_=True, type='FineGPR', data_root='${data_root}',
    image_list='${aost_root}/aost/selected.txt', pipeline='${train_pipeline}'))
stages = _base_.aost_stages + _base_.reid_stages
