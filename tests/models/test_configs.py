"""Every model config under configs/_base_/models trains for a few
iterations on its toy dataset (mmengine Runner) and gives features of the
documented size. Heavy backbones (Swin-V2-B, ResNeXt-101) train as their
small variants through config overrides; their full definitions are built
on the meta device to check the documented dimensions without computing."""
import copy
import os.path as osp

import pytest
import torch
from mmengine.config import Config
from mmengine.runner import Runner

from reidkit.models import fill_num_classes, uncollate
from reidkit.registry import MODELS

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
CFG_DIR = osp.join(ROOT, 'configs', '_base_', 'models')

# config -> (toy layout, dataset type, input size, documented feature dim)
CASES = {
    'ide_r50': ('finegpr', 'FineGPR', (64, 32), 2048),
    'bot_r50': ('market1501', 'Market1501', (64, 32), 2048),
    'densenet121': ('veri776', 'VeRi776', (64, 32), 1024),
    'swinv2_b_aux': ('veri776', 'VeRi776', (64, 64), 1024),
    'strong_vehicle_ibn_x101': ('cityflow_v2', 'CityFlowV2', (64, 32), 2048),
    'cal_r50': ('prcc', 'PRCC', (64, 32), 4096),
    'agw_two_stream': ('sysu_mm01', 'SYSUMM01', (64, 32), 2048),
}


def _no_pretrained(cfg):
    if isinstance(cfg, dict):
        if 'pretrained' in cfg:
            cfg['pretrained'] = None
        for v in cfg.values():
            _no_pretrained(v)
    elif isinstance(cfg, list):
        for v in cfg:
            _no_pretrained(v)
    return cfg


def _load(name):
    cfg = Config.fromfile(osp.join(CFG_DIR, f'{name}.py'))
    model = _no_pretrained(cfg.model.to_dict())
    return cfg, model


def _small(name, model):
    """Small variants of the heavy backbones, as --cfg-options would."""
    if name == 'swinv2_b_aux':
        # the same timm Swin-V2 code, narrowed: 32-d embedding, one block
        # per stage (stage 3: 128-d, final: 256-d)
        model['backbone'].update(model_name='swinv2_tiny_window8_256',
                                 img_size=(64, 64), drop_path_rate=0.0,
                                 embed_dim=32, depths=(1, 1, 1, 1),
                                 num_heads=(1, 2, 4, 8))
        model['neck']['in_channels'] = model['head']['in_channels'] = 256
        aux = model['aux_heads'][0]
        aux['neck']['in_channels'] = aux['head']['in_channels'] = 128
        return 256
    if name == 'strong_vehicle_ibn_x101':
        model['backbone']['backbone']['depth'] = 50  # ResNeXt-50 32x4d IBN-a
        model['head'].update(feat_channels=256, num_groups=4)
        return 256
    return None


@pytest.fixture(scope='module')
def toy_root(tmp_path_factory):
    from synthgen.toyworld import make_dataset
    root = tmp_path_factory.mktemp('toy')
    for kind in sorted({c[0] for c in CASES.values()}):
        make_dataset(kind, str(root / kind), num_ids=8, size=(32, 32),
                     workers=1)
    return root


def _loader(dtype, root, split, size, batch_size=8, shuffle=True,
            drop_last=True):
    pipeline = [dict(type='LoadReIDImage'), dict(type='ReIDResize', size=size),
                dict(type='PackReIDInputs')]
    return dict(batch_size=batch_size, num_workers=0, drop_last=drop_last,
                sampler=dict(type='DefaultSampler', shuffle=shuffle),
                collate_fn=dict(type='pseudo_collate'),
                dataset=dict(type=dtype, data_root=str(root), split=split,
                             pipeline=pipeline))


@pytest.mark.parametrize('name', list(CASES))
def test_config_trains_on_toy_data(name, toy_root, tmp_path):
    kind, dtype, size, dim = CASES[name]
    cfg, model = _load(name)
    small_dim = _small(name, model)
    if name == 'cal_r50':  # run the clothes / adversarial steps right away
        model['clothes_classifier']['start_epoch'] = 0
        model['clothes_classifier']['adv_loss']['start_epoch'] = 0
    train_loader = _loader(dtype, toy_root / kind, 'train', size)
    from reidkit.registry import DATASETS
    ds_cfg = copy.deepcopy(train_loader['dataset'])
    fill_num_classes(model, DATASETS.build(ds_cfg).metainfo)
    optim = cfg.get('cal_optim_wrapper', dict(
        type='OptimWrapper', optimizer=dict(type='Adam', lr=3.5e-4,
                                            weight_decay=5e-4)))
    hooks = [dict(type='EpochToModelHook')]
    if 'malw_hook' in cfg:
        hooks.append(dict(cfg.malw_hook, interval=1))
    runner = Runner(
        model=model, work_dir=str(tmp_path), train_dataloader=train_loader,
        train_cfg=dict(type='IterBasedTrainLoop', max_iters=2),
        optim_wrapper=optim, custom_hooks=hooks, default_scope='reidkit',
        default_hooks=dict(checkpoint=None,
                           logger=dict(type='LoggerHook', interval=1)),
        randomness=dict(seed=0), log_level='WARNING')
    before = {k: v.clone() for k, v in runner.model.state_dict().items()}
    runner.train()
    after = runner.model.state_dict()
    changed = [k for k in before if not torch.equal(before[k], after[k])]
    assert any('backbone' in k for k in changed)
    hub = runner.message_hub
    assert 'train/loss' in hub.log_scalars
    if name == 'cal_r50':
        assert 'train/loss_cal' in hub.log_scalars
        assert 'train/loss_clothes' in hub.log_scalars
        assert any(k.startswith('clothes_classifier') for k in changed)
    if name == 'swinv2_b_aux':
        assert 'train/loss_aux_circle' in hub.log_scalars
    if 'malw_hook' in cfg:
        assert 'train/weight_loss_ce' in hub.log_scalars

    # predict on the test split: one feature of the documented size each
    model_ = runner.model.eval()
    query = 'query' if kind not in ('finegpr',) else 'train'
    loader = runner.build_dataloader(_loader(dtype, toy_root / kind, query,
                                             size, batch_size=4,
                                             shuffle=False, drop_last=False))
    batch = next(iter(loader))
    out = model_.val_step(batch)
    expect = small_dim or dim
    n = len(batch['inputs'])
    assert len(out) == n > 0
    for o, s in zip(out, uncollate(batch['data_samples'], n)):
        assert o['feat'].shape == (expect,) and o['feat'].device.type == 'cpu'
        assert o['pid'] == s['pid'] and o['camid'] == s['camid']


@pytest.mark.parametrize('name', ['swinv2_b_aux', 'strong_vehicle_ibn_x101'])
def test_full_configs_documented_dims_on_meta_device(name):
    _, model = _load(name)
    fill_num_classes(model, dict(num_pids=10))
    dim = CASES[name][3]
    with torch.device('meta'):
        net = MODELS.build(model).eval()
        x = torch.empty(2, 3, 256, 256)
        assert net(x, mode='tensor').shape == (2, dim)
        feats = net.backbone(x)
    if name == 'swinv2_b_aux':
        assert [f.shape[1] for f in feats] == [512, 1024]
        assert net.aux_heads[0].head.in_channels == 512
    else:
        assert feats[-1].shape[1] == 2048
        assert len(net.backbone.backbone.layer3) == 23  # ResNeXt-101
        assert net.backbone.backbone.layer1[0].conv2.groups == 32
        assert len(net.head.group_fcs) == 32


def test_every_config_is_covered():
    import glob
    names = {osp.basename(p)[:-3] for p in glob.glob(osp.join(CFG_DIR,
                                                              '*.py'))}
    assert names == set(CASES)


def test_model_bases_compose_with_runtime_and_schedules(tmp_path):
    """A paper config stacks a model base with default_runtime and a
    schedule; no key may be defined twice among bases."""
    base = osp.join(ROOT, 'configs', '_base_')
    cal = tmp_path / 'cal.py'
    cal.write_text(
        f"_base_ = ['{CFG_DIR}/cal_r50.py', '{base}/schedules/cal_60e.py',\n"
        f"          '{base}/default_runtime.py']\n"
        'optim_wrapper = _base_.cal_optim_wrapper\n')
    cfg = Config.fromfile(str(cal))
    assert cfg.optim_wrapper.constructor == 'ReIDOptimWrapperConstructor'
    assert 'optimizer' not in cfg.optim_wrapper  # replaced, not merged
    _, model = _load('cal_r50')
    fill_num_classes(model, dict(num_pids=4, num_clothes=8))
    model['backbone']['model_name'] = 'resnet18'
    model['neck']['in_channels'] = 512
    model['head']['in_channels'] = 1024
    model['clothes_classifier']['in_channels'] = 1024
    from mmengine.optim import OptimWrapperDict, build_optim_wrapper
    wrappers = build_optim_wrapper(MODELS.build(model),
                                   copy.deepcopy(cfg.optim_wrapper))
    assert isinstance(wrappers, OptimWrapperDict)
    assert set(wrappers.keys()) == {'model', 'clothes_classifier'}

    sv = tmp_path / 'sv.py'
    sv.write_text(
        f"_base_ = ['{CFG_DIR}/strong_vehicle_ibn_x101.py',\n"
        f"          '{base}/default_runtime.py']\n"
        'custom_hooks = [dict(type="EpochToModelHook"), _base_.malw_hook]\n')
    cfg = Config.fromfile(str(sv))
    assert cfg.custom_hooks[1]['type'] == 'MALWHook'
    assert cfg.custom_hooks[1]['interval'] == 500
    for name in CASES:
        Config.fromfile(osp.join(CFG_DIR, f'{name}.py'))
