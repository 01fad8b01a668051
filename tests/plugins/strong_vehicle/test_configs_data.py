"""The recipe configs resolve to the paper's / authors' settings; the camera
model's relabelled dataset; stage argument errors."""
import os
import os.path as osp

import pytest

import plugins.strong_vehicle  # noqa: F401  (registers)
from plugins.strong_vehicle.stages import PostProcessStage, tracks_of
from reidkit.registry import DATASETS
from reidkit.stages.base import StageConfigError
from reidkit.utils.config import load_config

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.dirname(osp.abspath(
    __file__)))))


@pytest.mark.parametrize('name,dataset', [('cityflow_v2_x101', 'CityFlowV2'),
                                          ('veri776_x101', 'VeRi776')])
def test_recipe_configs(name, dataset):
    cfg = load_config(osp.join(ROOT, 'configs', 'strong_vehicle',
                               f'{name}.py'))
    train = cfg.train_dataloader
    assert train.dataset.type == dataset
    assert train.batch_size == 128 and train.sampler.num_instances == 8
    assert cfg.test_dataloader.dataset.pipeline[1]['size'] == (320, 320)
    types = [t['type'] for t in train.dataset.pipeline]
    for t in ('ReIDRandomFlip', 'ReIDRandomCrop', 'ReIDColorJitter',
              'ReIDRandomErasing', 'ReIDAugMix', 'ReIDRandomPatch',
              'ReIDRandomBlur'):
        assert t in types
    probs = {t['type']: t.get('prob') for t in train.dataset.pipeline}
    assert probs['ReIDAugMix'] == probs['ReIDRandomPatch'] == \
        probs['ReIDRandomBlur'] == probs['ReIDColorJitter'] == 0.25
    assert cfg.optim_wrapper.optimizer == dict(type='Adam', lr=3.5e-4,
                                               weight_decay=1e-6)
    warm, cos = cfg.param_scheduler
    assert (warm['type'], warm['end'], warm['by_epoch']) == ('LinearLR', 500,
                                                             False)
    assert cos['type'] == 'CosineAnnealingLR' and cfg.train_cfg.max_epochs \
        == 12
    hooks = {h['type']: h for h in cfg.custom_hooks}
    assert hooks['FreezeBackboneHook']['epochs'] == 1
    assert (hooks['MALWHook']['interval'], hooks['MALWHook']['variant']) == \
        (500, 'authors')
    model = cfg.model
    assert model.backbone.mix == 'halves' and model.backbone.alpha == 0.1
    assert model.backbone.after == ('layer1', 'layer2')
    assert model.neck.learnable is False and model.neck.p == 3.0
    supcon = [x for x in model.head.losses if x['type'] == 'SupConLoss'][0]
    assert supcon['normalize'] is False and supcon['temperature'] == 0.07
    assert cfg.circle_classifier['scale'] == 64


SV_STAGES = ['check', 'train', 'test', 'feats_x101', 'train_r50', 'feats_r50',
             'train_r101', 'feats_r101', 'train_camera', 'feats_camera',
             'train_orientation', 'feats_orientation', 'postprocess']


def _plan(cfg):
    from reidkit.stages import StageRunner, build_stages
    return StageRunner(build_stages(cfg), cfg.work_dir).plan()


@pytest.mark.parametrize('name', ['cityflow_v2_x101', 'veri776_x101',
                                  'toy_cityflow_v2'])
def test_every_dataset_config_plans_the_whole_pipeline(name, tmp_path):
    """One stage list (_base_/pipeline.py) in every config: a dry-run plan
    lists every stage (nothing written), with the models and files each
    one uses."""
    work = tmp_path / 'w'
    cfg = load_config(osp.join(ROOT, 'configs', 'strong_vehicle',
                               f'{name}.py'),
                      {'data_root': str(tmp_path / 'data')},
                      work_dir=str(work))
    plans = _plan(cfg)
    assert [p.stage.name for p in plans] == SV_STAGES
    assert all(p.action == 'run' for p in plans)
    by = {p.stage.name: p for p in plans}
    assert by['feats_r50'].depends == ['train_r50']
    assert set(by['postprocess'].depends) == {
        'feats_x101', 'feats_r50', 'feats_r101', 'feats_camera',
        'feats_orientation'}
    assert not work.exists() or not os.listdir(work)
    st = {s['name']: s for s in cfg.stages}
    post = st['postprocess']
    assert post['features'] == {k: f'{work}/features/{k}.npz'
                                for k in ('x101', 'r50', 'r101')}
    assert post['aux'] == {k: f'{work}/features/{k}.npz'
                           for k in ('orientation', 'camera')}
    assert post['weights'] == dict(orientation=0.1, camera=0.1)
    real = name != 'toy_cityflow_v2'
    assert (post['k1'], post['k2'], post['lambda_value']) == (
        (50, 15, 0.5) if real else (20, 6, 0.3))
    ori = st['train_orientation']['overrides']['train_dataloader']['dataset']
    assert ori['label_key'] == 'orientation_class'
    assert ori['dataset'] == dict(type='VehicleX', data_root=(
        'data/vehiclex' if real else 'data/toy/vehiclex'))
    cam = st['train_camera']['overrides']['train_dataloader']['dataset']
    assert cam['label_key'] == 'camid'
    assert cam['dataset']['data_root'] == str(tmp_path / 'data')
    assert cam['dataset']['type'] == cfg.train_dataloader.dataset.type
    backbones = {n: (st[n]['overrides']['model']['backbone']['backbone']
                     if n != 'train' else cfg.model.backbone.backbone)
                 for n in ('train', 'train_r50', 'train_r101',
                           'train_camera')}
    if real:
        assert {n: (b['depth'], b.get('groups', 1), b['pretrained'])
                for n, b in backbones.items()} == {
            'train': (101, 32, 'checkpoints/resnext101_ibn_a-6ace051d.pth'),
            'train_r50': (50, 1, 'checkpoints/resnet50_ibn_a-d9d0bb7b.pth'),
            'train_r101': (101, 1,
                           'checkpoints/resnet101_ibn_a-59ea0ac6.pth'),
            'train_camera': (101, 32,
                             'checkpoints/resnext101_ibn_a-6ace051d.pth')}
    else:
        assert {n: b['model_name'] for n, b in backbones.items()} == {
            'train': 'resnet18', 'train_r50': 'resnet10t',
            'train_r101': 'resnet14t', 'train_camera': 'resnet10t'}
    veri = name == 'veri776_x101'
    assert post['use_tracks'] is not veri
    assert post['protocol'] == ('market' if veri else 'cityflow')


def test_relabel_as_identity_uses_cameras(tmp_path):
    from synthgen.toyworld import make_dataset
    root = str(tmp_path / 'cf')
    make_dataset('cityflow_v2', root, num_ids=12, seed=0, size='32x32')
    plain = DATASETS.build(dict(type='CityFlowV2', data_root=root))
    ds = DATASETS.build(dict(type='RelabelAsIdentity', label_key='camid',
                             dataset=dict(type='CityFlowV2', data_root=root)))
    cams = sorted({plain[i]['camid'] for i in range(len(plain))})
    assert ds.metainfo['num_pids'] == len(cams) and len(ds) == len(plain)
    for i in range(len(ds)):
        assert ds[i]['pid'] == cams.index(plain[i]['camid'])
        assert ds[i]['orig_pid'] == plain[i]['pid']
    with pytest.raises(KeyError, match='orientation'):
        DATASETS.build(dict(type='RelabelAsIdentity', label_key='orientation',
                            dataset=dict(type='CityFlowV2', data_root=root)))


def test_orientation_classes_as_identities(tmp_path):
    from synthgen.toyworld import make_dataset
    root = str(tmp_path / 'vx')
    make_dataset('vehiclex', root, num_ids=6, seed=0, size='16x16')
    plain = DATASETS.build(dict(type='VehicleX', data_root=root))
    ds = DATASETS.build(dict(type='RelabelAsIdentity',
                             label_key='orientation_class',
                             dataset=dict(type='VehicleX', data_root=root)))
    # yaw 0 / 45 / 90 / 180 / 270 / 315 -> classes 0, 4, 9, 18, 27, 31
    classes = sorted({plain.get_data_info(i)['orientation_class']
                      for i in range(len(plain))})
    assert set(classes) <= {0, 4, 9, 18, 27, 31} and len(classes) >= 4
    assert ds.metainfo['num_pids'] == len(classes)
    for i in range(len(ds)):
        assert ds.get_data_info(i)['pid'] == classes.index(
            plain.get_data_info(i)['orientation_class'])


def test_post_process_stage_arguments_checked():
    with pytest.raises(StageConfigError, match='features'):
        PostProcessStage(name='p', cfg={}, work_dir='/tmp', features={},
                         out_file='wd/x.json')
    with pytest.raises(StageConfigError, match='no aux file'):
        PostProcessStage(name='p', cfg={}, work_dir='/tmp',
                         features=dict(a='a.npz'), out_file='wd/x.json',
                         weights=dict(orientation=0.1))
    assert tracks_of([3, -1, 3, 0, 0]) == [[0, 2], [3, 4]]


def test_recipe_on_real_plus_vehicle_diff_data(tmp_path):
    """The cross-paper config: the strong vehicle model and schedule, trained
    on CityFlowV2 + Vehicle-Diff's generated vehicles after Vehicle-Diff's
    caption / finetune / generate / fid stages; a dry run plans every stage
    and writes nothing."""
    from reidkit.stages import StageRunner, build_stages
    work = tmp_path / 'w'
    cfg = load_config(osp.join(ROOT, 'configs', 'strong_vehicle',
                               'cityflow_v2_x101_vehicle_diff.py'),
                      {'data_root': str(tmp_path / 'cf')}, work_dir=str(work))
    recipe = load_config(osp.join(ROOT, 'configs', 'strong_vehicle',
                                  'cityflow_v2_x101.py'))
    for key in ('model', 'optim_wrapper', 'param_scheduler', 'train_cfg',
                'custom_hooks', 'train_pipeline'):
        assert cfg[key] == recipe[key], key
    train = cfg.train_dataloader
    assert train.sampler == recipe.train_dataloader.sampler
    assert train.dataset.type == 'ReIDConcatDataset'
    real, synthetic = train.dataset.datasets
    assert real == dict(type='CityFlowV2', data_root=str(tmp_path / 'cf'),
                        split='train')
    assert synthetic == dict(type='SyntheticDataset', pid_mode='new',
                             data_root=f'{work}/synthetic')
    assert cfg.generation_pipeline.writer.out_dir == f'{work}/synthetic'
    from reidkit.stages.runner import splice_stage_lists
    caption = {s['name']: s for s in splice_stage_lists(cfg.stages)}[
        'caption']
    assert caption['num_images'] == 527
    plans = StageRunner(build_stages(cfg), cfg.work_dir).plan()
    names = [p.stage.name for p in plans]
    assert names[:5] == ['check', 'caption', 'finetune', 'generate', 'fid']
    assert names[5:] == SV_STAGES[1:]
    assert all(p.action == 'run' for p in plans)
    by = {p.stage.name: p for p in plans}
    for stage in ('train', 'train_r50', 'train_r101'):   # real + generated
        assert 'generate' in by[stage].depends, stage
    # the camera model learns the real cameras only; the orientation model
    # VehicleX: neither waits for the generated images
    assert 'generate' not in by['train_camera'].depends
    assert 'generate' not in by['train_orientation'].depends
    assert not work.exists() or not os.listdir(work)


def test_real_plus_vehiclex_config_trains_every_backbone_on_the_union(
        tmp_path):
    """cityflow_v2_x101_vehiclex.py: the whole stage list; the re-ID models'
    train set is CityFlowV2 train + VehicleX in one label space, built here
    on toy data (ids of the two sets never share a label)."""
    from synthgen.toyworld import make_dataset
    real, synth = tmp_path / 'cityflow', tmp_path / 'vehiclex'
    make_dataset('cityflow_v2', str(real), num_ids=6, seed=0)
    make_dataset('vehiclex', str(synth), num_ids=6, seed=0)
    cfg = load_config(osp.join(ROOT, 'configs', 'strong_vehicle',
                               'cityflow_v2_x101_vehiclex.py'),
                      {'data_root': str(real), 'vehiclex_root': str(synth)},
                      work_dir=str(tmp_path / 'w'))
    assert [p.stage.name for p in _plan(cfg)] == SV_STAGES
    ds_cfg = cfg.train_dataloader.dataset
    assert ds_cfg.type == 'ReIDConcatDataset'
    ds = DATASETS.build(dict(ds_cfg, pipeline=[]))
    parts = [DATASETS.build(dict(d, pipeline=[]))
             for d in cfg.train_dataloader.dataset.datasets]
    assert [type(p).__name__ for p in parts] == ['CityFlowV2', 'VehicleX']
    n_real, n_syn = (len({p.get_data_info(i)['pid'] for i in range(len(p))})
                     for p in parts)
    assert n_real > 0 and n_syn > 0
    labels = [ds.get_data_info(i)['pid'] for i in range(len(ds))]
    assert len(ds) == len(parts[0]) + len(parts[1])
    assert sorted(set(labels)) == list(range(n_real + n_syn))
    real_labels = set(labels[:len(parts[0])])
    assert real_labels == set(range(n_real))
    # the aux models keep their own data
    st = {s['name']: s for s in cfg.stages}
    cam = st['train_camera']['overrides']['train_dataloader']['dataset']
    assert cam['dataset']['type'] == 'CityFlowV2'
