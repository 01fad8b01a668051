# Strong vehicle baseline on its paper's training data: CityFlowV2-ReID's
# train split + the AI City synthetic vehicles (VehicleX, data/vehiclex,
# `train_label.xml`), one label space (VehicleX ids after the real ones).
# Every stage of ./cityflow_v2_x101.py; the three re-ID backbones train on the
# union, the camera model on the real cameras, the orientation model on
# VehicleX (as there).
#   python tools/train.py configs/strong_vehicle/cityflow_v2_x101_vehiclex.py
_base_ = ['./cityflow_v2_x101.py']
train_dataloader = dict(dataset=dict(
    _delete_=True, type='ReIDConcatDataset', pipeline='${train_pipeline}',
    datasets=[dict(type='${dataset_type}', data_root='${data_root}',
                   split='train'),
              dict(type='VehicleX', data_root='${vehiclex_root}')]))
