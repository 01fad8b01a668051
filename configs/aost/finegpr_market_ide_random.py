# Table 3 "FineGPR+Random": a random subset of the selected subset's size
# (paper on Market-1501: R1 39.9 / mAP 18.3). The distance/search stages run
# only to fix the size (the select stage writes both lists).
_base_ = ['./finegpr_market_ide.py']

train_dataloader = dict(dataset=dict(
    _delete_=True, type='FineGPR', data_root='${data_root}',
    image_list='${aost_root}/aost/random.txt', pipeline='${train_pipeline}'))
stages = _base_.aost_stages + _base_.reid_stages
