# Strong vehicle baseline (paper 004): the whole pipeline as named stages,
# the one home of the stage list that every dataset config uses
# (cityflow_v2_x101.py, veri776_x101.py, cityflow_v2_x101_vehicle_diff.py,
# toy_cityflow_v2.py) with `stages = '${sv_stages}'`:
#   check              every data folder and weights file below is there
#                      (else one message naming each and what belongs there)
#   train, test        ResNeXt101-IBN-a, the recipe (./recipe.py); the test
#                      is the single model with the config's evaluator
#   feats_x101         its flip-tested, L2-normalised query/gallery features
#   train_r50 / feats_r50, train_r101 / feats_r101
#                      the ensemble's other backbones (ResNet50-IBN-a,
#                      ResNet101-IBN-a, as the authors' ensemble script;
#                      the paper lists ResNet152: r101_backbone is the slot)
#   train_camera / feats_camera
#                      camera ids as identities (the authors' ReCamID)
#   train_orientation / feats_orientation
#                      orientation classes (angle // 10, 36) of VehicleX
#   postprocess        on the saved features: baseline -> k-reciprocal on
#                      the full (Q+G)^2 matrix (k1 50, k2 15, lambda 0.5)
#                      -> with 0.1 D_o + 0.1 D_c subtracted inside it ->
#                      tracklet averaging + rank list grouped by track (only
#                      with use_tracks) -> ensemble (mean of the three
#                      backbones' re-ranked distances); work_dir/
#                      postprocess.json, one metrics row per step
# Every path and model is a top-level variable (late references), so a
# dataset config sets only its facts and --cfg-options can swap any of them.
_base_ = ['./recipe.py']

# ------------------------------------------------------- weights and data
# IBN-Net ImageNet weights, v1.0 release of github.com/XingangPan/IBN-Net
# (download them yourself; nothing is fetched)
x101_weights = 'checkpoints/resnext101_ibn_a-6ace051d.pth'
r50_weights = 'checkpoints/resnet50_ibn_a-d9d0bb7b.pth'
r101_weights = 'checkpoints/resnet101_ibn_a-59ea0ac6.pth'
# VehicleX / AI City 2020 simulation data (train_label.xml with orientation;
# reidkit/datasets/vehiclex.py), for the orientation model
vehiclex_root = 'data/vehiclex'
use_tracks = True  # the gallery's tracks in the post-processing chain
rerank = dict(k1=50, k2=15, lambda_value=0.5)  # the authors' test script
backbone_channels = 2048

# ------------------------------------------------------- the models
x101_backbone = dict(type='ResNetIBN', depth=101, groups=32,
                     width_per_group=4, ibn=('a', 'a', 'a', None),
                     last_stride=1, pretrained='${x101_weights}')
r50_backbone = dict(type='ResNetIBN', depth=50, ibn=('a', 'a', 'a', None),
                    last_stride=1, pretrained='${r50_weights}')
r101_backbone = dict(type='ResNetIBN', depth=101, ibn=('a', 'a', 'a', None),
                     last_stride=1, pretrained='${r101_weights}')
model = dict(
    backbone=dict(backbone=dict(_delete_=True, _merge_='${x101_backbone}')),
    neck=dict(in_channels='${backbone_channels}'),
    head=dict(in_channels='${backbone_channels}'))


def _backbone(name):
    return dict(model=dict(backbone=dict(backbone=dict(
        _delete_=True, _merge_='${%s_backbone}' % name))))


# the camera and orientation models: ResNeXt101-IBN-a (`aux_backbone`)
# with the circle classifier + label-smoothed CE + triplet (the authors'
# shipped config), MALW on CE / triplet
aux_backbone = '${x101_backbone}'
aux_model = dict(backbone=dict(backbone=dict(
    _delete_=True, _merge_='${aux_backbone}')), head=dict(
    _delete_=True, type='BNNeckHead', in_channels='${backbone_channels}',
    num_classes=None, metric_feat='post_bn', classifier='${circle_classifier}',
    losses=[dict(type='CrossEntropyLoss', label_smoothing=0.1),
            dict(type='TripletLoss', margin=0.3)]))
aux_hooks = [dict(type='EpochToModelHook'),
             dict(type='MALWHook', id_losses=['loss_ce'],
                  metric_losses=['loss_triplet'],
                  interval='${malw_hook.interval}',
                  momentum='${malw_hook.momentum}',
                  variant='${malw_hook.variant}'),
             dict(type='FreezeBackboneHook', epochs=1)]
camera_data = dict(dataset=dict(
    _delete_=True, type='RelabelAsIdentity', label_key='camid',
    dataset=dict(_merge_='${dataset_args}', type='${dataset_type}',
                 data_root='${data_root}', split='train'),
    pipeline='${train_pipeline}'))
orientation_data = dict(dataset=dict(
    _delete_=True, type='RelabelAsIdentity', label_key='orientation_class',
    dataset=dict(type='VehicleX', data_root='${vehiclex_root}'),
    pipeline='${train_pipeline}'))


def _aux(data):
    return dict(model='${aux_model}', train_dataloader='${%s}' % data,
                custom_hooks='${aux_hooks}')


def _features(name, train):
    return dict(name=f'feats_{name}', type='SaveFeaturesStage',
                train_stage=train, out_file='${work_dir}/features/%s.npz' % name)


# ------------------------------------------------------- the stages
def _release(file, backbone):
    return (f'{file} of the IBN-Net v1.0 release (github.com/XingangPan/'
            f'IBN-Net/releases), the ImageNet weights of {backbone}')


sv_check_stage = dict(name='check', type='CheckInputsStage', notes=[
    ('${x101_weights}', _release('resnext101_ibn_a-6ace051d.pth',
                                 'ResNeXt101-IBN-a')),
    ('${r50_weights}', _release('resnet50_ibn_a-d9d0bb7b.pth',
                                'ResNet50-IBN-a')),
    ('${r101_weights}', _release('resnet101_ibn_a-59ea0ac6.pth',
                                 'ResNet101-IBN-a')),
    ('${vehiclex_root}', 'the VehicleX / AI City 2020 simulation data '
     '(image_train/, train_label.xml with orientation; '
     'reidkit/datasets/vehiclex.py), for the orientation model')])
# the single model (the Vehicle-Diff config takes these two from its own
# base, which names them the same)
sv_single_stages = [dict(name='train', type='TrainStage'),
                    dict(name='test', type='TestStage')]
sv_ensemble_stages = [
    _features('x101', 'train'),
    dict(name='train_r50', type='TrainStage', work_dir='${work_dir}/r50',
         overrides=_backbone('r50')),
    _features('r50', 'train_r50'),
    dict(name='train_r101', type='TrainStage', work_dir='${work_dir}/r101',
         overrides=_backbone('r101')),
    _features('r101', 'train_r101'),
    dict(name='train_camera', type='TrainStage',
         work_dir='${work_dir}/camera', overrides=_aux('camera_data')),
    _features('camera', 'train_camera'),
    dict(name='train_orientation', type='TrainStage',
         work_dir='${work_dir}/orientation',
         overrides=_aux('orientation_data')),
    _features('orientation', 'train_orientation'),
    dict(name='postprocess', type='PostProcessStage',
         features=dict(x101='${work_dir}/features/x101.npz',
                       r50='${work_dir}/features/r50.npz',
                       r101='${work_dir}/features/r101.npz'),
         aux=dict(orientation='${work_dir}/features/orientation.npz',
                  camera='${work_dir}/features/camera.npz'),
         weights=dict(orientation=0.1, camera=0.1), k1='${rerank.k1}',
         k2='${rerank.k2}', lambda_value='${rerank.lambda_value}',
         protocol='${protocol}', use_tracks='${use_tracks}',
         out_file='${work_dir}/postprocess.json'),
]
sv_stages = [sv_check_stage] + sv_single_stages + sv_ensemble_stages
