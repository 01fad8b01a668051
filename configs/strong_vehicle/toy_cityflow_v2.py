# The strong vehicle pipeline in the toy world, every stage with tiny
# random-weight models on a CPU: two backbones (timm ResNet-18 and
# ResNet-10t standing in for ResNeXt101-IBN-a / ResNet50-IBN-a), a camera
# model (camera ids as identities, circle classifier + triplet, as the
# authors' ReCamID), an orientation model (trained on the toy VehicleX's
# orientation labels, classes = angle / 10, as the paper trains it on
# VehicleX), saved features, then the post-processing chain.
#   python tools/make_toy_data.py cityflow_v2 data/toy/cityflow_v2 \
#       --ids 40 --size 64x64
#   python tools/make_toy_data.py vehiclex data/toy/vehiclex \
#       --ids 30 --size 64x64
#   python tools/train.py configs/strong_vehicle/toy_cityflow_v2.py
_base_ = ['../_base_/datasets/cityflow_v2.py', './_base_/recipe.py']
custom_imports = dict(imports=['plugins.strong_vehicle'],
                      allow_failed_imports=False)
data_root = 'data/toy/cityflow_v2'
synthetic_root = 'data/toy/vehiclex'
img_size = (64, 64)
epochs = 2

train_pipeline = [
    dict(type='LoadReIDImage'),
    dict(type='ReIDResize', size='${img_size}'),
    dict(type='ReIDRandomFlip', prob=0.5),
    dict(type='ReIDPad', padding=4),
    dict(type='ReIDRandomCrop', size='${img_size}'),
    dict(type='ReIDRandomPatch', prob=0.25, patch_max_area=0.16,
         min_pool=20),
    dict(type='ReIDColorJitter', brightness=0.2, contrast=0.15,
         saturation=0.0, hue=0.0, prob=0.25),
    dict(type='ReIDAugMix', prob=0.25),
    dict(type='ReIDRandomBlur', prob=0.25),
    dict(type='ReIDRandomErasing', prob=0.5, area=(0.02, 0.4), fill='mean'),
    dict(type='PackReIDInputs'),
]
batch_size = 32
train_dataloader = dict(
    batch_size=batch_size, num_workers=0, persistent_workers=False,
    sampler=dict(_delete_=True, type='IdentitySampler',
                 batch_size=batch_size, num_instances=4))
val_dataloader = dict(batch_size=64, num_workers=0, persistent_workers=False)
test_dataloader = val_dataloader

model = dict(
    backbone=dict(after=('model.layer1', 'model.layer2'), backbone=dict(
        _delete_=True, type='TimmBackbone', model_name='resnet18',
        pretrained=None)),
    neck=dict(in_channels=512),
    head=dict(in_channels=512, feat_channels=128, num_groups=4,
              gdn_channels=32))
malw_hook = dict(type='MALWHook', id_losses=['loss_ce'],
                 metric_losses=['loss_supcon'], interval=5, momentum=0.9,
                 variant='authors')
custom_hooks = [dict(type='EpochToModelHook'), malw_hook,
                dict(type='FreezeBackboneHook', epochs=1)]
optim_wrapper = dict(optimizer=dict(lr=1e-3))
param_scheduler = [
    dict(type='LinearLR', start_factor=0.1, by_epoch=False, begin=0, end=5),
    dict(type='CosineAnnealingLR', by_epoch=True, begin=0, end=epochs,
         T_max=epochs, eta_min=0.0, convert_to_iter_based=True),
]
train_cfg = dict(max_epochs=epochs, val_interval=100)
default_hooks = dict(logger=dict(interval=10),
                     checkpoint=dict(interval=100, save_last=True))

# the camera model: camera ids as identities; circle classifier + triplet
camera_model = dict(
    backbone=dict(backbone=dict(model_name='resnet10t')),
    head=dict(_delete_=True, type='BNNeckHead', in_channels=512,
              num_classes=None, metric_feat='post_bn',
              classifier={{_base_.circle_classifier}},
              losses=[dict(type='CrossEntropyLoss', label_smoothing=0.1),
                      dict(type='TripletLoss', margin=0.3)]))
camera_data = dict(
    dataset=dict(_delete_=True, type='RelabelAsIdentity', label_key='camid',
                 dataset=dict(type='CityFlowV2', data_root='${data_root}',
                              split='train'),
                 pipeline='${train_pipeline}'))
camera_hooks = [dict(type='EpochToModelHook'),
                dict(malw_hook, metric_losses=['loss_triplet']),
                dict(type='FreezeBackboneHook', epochs=1)]

# the orientation model: VehicleX orientation classes (angle / 10) as
# identities, the camera model's head and losses; 8 images a class (the toy
# world draws 6 yaws)
orientation_data = dict(
    sampler=dict(num_instances=8),
    dataset=dict(_delete_=True, type='RelabelAsIdentity',
                 label_key='orientation_class',
                 dataset=dict(type='VehicleX', data_root='${synthetic_root}'),
                 pipeline='${train_pipeline}'))

stages = [
    dict(name='train_r18', type='TrainStage', work_dir='${work_dir}/r18'),
    dict(name='feats_r18', type='SaveFeaturesStage', train_stage='train_r18',
         out_file='${work_dir}/r18/feats.npz'),
    dict(name='train_r10', type='TrainStage', work_dir='${work_dir}/r10',
         overrides=dict(model=dict(backbone=dict(backbone=dict(
             model_name='resnet10t'))))),
    dict(name='feats_r10', type='SaveFeaturesStage', train_stage='train_r10',
         out_file='${work_dir}/r10/feats.npz'),
    dict(name='train_camera', type='TrainStage',
         work_dir='${work_dir}/camera',
         overrides=dict(model=camera_model, train_dataloader=camera_data,
                        custom_hooks=camera_hooks)),
    dict(name='feats_camera', type='SaveFeaturesStage',
         train_stage='train_camera', out_file='${work_dir}/camera/feats.npz'),
    dict(name='train_orientation', type='TrainStage',
         work_dir='${work_dir}/orientation',
         overrides=dict(model=camera_model, train_dataloader=orientation_data,
                        custom_hooks=camera_hooks)),
    dict(name='feats_orientation', type='SaveFeaturesStage',
         train_stage='train_orientation',
         out_file='${work_dir}/orientation/feats.npz'),
    dict(name='postprocess', type='PostProcessStage',
         features=dict(r18='${work_dir}/r18/feats.npz',
                       r10='${work_dir}/r10/feats.npz'),
         aux=dict(orientation='${work_dir}/orientation/feats.npz',
                  camera='${work_dir}/camera/feats.npz'),
         k1=20, k2=6, lambda_value=0.3,
         out_file='${work_dir}/postprocess.json'),
]
