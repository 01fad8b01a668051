"""configs/dive: every config loads; the VI schedule is the authors'
adjust_learning_rate; the CAJ / DEEN (+ DiVE data) configs train one step
on toy data with their real pipelines (image size shrunk)."""
import copy
import glob
import os.path as osp

import pytest
import torch
from mmengine.config import Config  # noqa: F401

from reidkit.utils.config import load_config
from mmengine.dataset import pseudo_collate
from mmengine.optim import build_optim_wrapper
from mmengine.registry import PARAM_SCHEDULERS
from torch import nn

from reidkit.registry import DATASETS, MODELS, SAMPLERS

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.dirname(
    osp.abspath(__file__)))))
CFG = osp.join(ROOT, 'configs', 'dive')


def _cfg(name):
    return load_config(osp.join(CFG, name))


def test_every_dive_config_loads_with_its_protocol():
    names = sorted(osp.basename(p) for p in glob.glob(osp.join(CFG, '*.py'))
                   if not osp.basename(p).startswith('toy_'))
    assert len(names) == 27
    for name in names:
        cfg = _cfg(name)
        if name.startswith('finetune'):
            assert cfg.model.lora.rank == 128
            assert cfg.optim_wrapper.optimizer.type == 'AdamW'
            assert cfg.optim_wrapper.optimizer.lr == 5e-5
            assert cfg.train_dataloader.dataset.size == (512, 256)
            continue
        protocol = ('sysu_indoor' if 'indoor' in name else 'sysu_all'
                    if name.startswith('sysu') else 'llcm_i2v'
                    if 'i2v' in name else 'llcm_v2i')
        assert cfg.test_evaluator.protocol == protocol, name
        if name.startswith('llcm'):
            assert cfg.test_dataloader.dataset.direction == protocol[5:]
            assert cfg.test_evaluator.official == name.endswith(
                '_official.py'), name
        else:
            assert cfg.test_dataloader.dataset.mode == protocol[5:]
        size = (384, 144) if 'deen' in name else (288, 144)
        for loader in ('train_dataloader', 'test_dataloader'):
            pipe = cfg[loader].dataset.pipeline
            assert tuple(pipe[1].size) == size, (name, loader)
        if 'deen' in name:
            area = (0.02, 0.4) if name.startswith('llcm') else (0.2, 0.8)
            erase = [t for t in cfg.train_dataloader.dataset.pipeline
                     if t.type == 'ReIDRandomErasing']
            assert tuple(erase[0].area) == area, name
        assert cfg.test_evaluator.dist_metric == 'cosine'
        sampler = cfg.train_dataloader.sampler
        assert (sampler.type, sampler.batch_size, sampler.num_instances) == \
            ('ModalityBalancedSampler', 128, 8)
        ds = cfg.train_dataloader.dataset
        if name.endswith('_dive.py'):
            ext = ds.datasets[1]
            assert ext.type == 'reidkit.DiVEExternalDataset'
            assert ext.min_images == 12 and ext.folder == 'gt_bbox'
            gen = cfg.dive_generation.pipeline
            cams = (3, 6) if name.startswith('sysu') else (1, 2, 4, 5, 6, 7,
                                                            8, 9)
            assert tuple(gen.source.cameras) == cams
            assert gen.num_variants == 18 * len(cams)
            assert gen.generator.scheduler == 'dpm++'
            assert gen.generator.guidance_scale == 7.5
            assert (gen.generator.height, gen.generator.width) == (512, 256)
        epochs = 151 if 'deen' in name else 81
        assert cfg.train_cfg.max_epochs == epochs


def test_data_root_reaches_every_dive_dataset():
    """--cfg-options data_root / dive_root / dive_images_per_camera reach
    the VI set of the tokens stage and of the concatenated training set, the
    generated images and the number of images per identity."""
    cfg = load_config(osp.join(CFG, 'llcm_caj_dive.py'),
                      {'data_root': '/d/llcm', 'dive_root': '/d/dive',
                       'market_root': '/d/market'})
    vi, ext = cfg.train_dataloader.dataset.datasets
    assert (vi.type, vi.data_root) == ('reidkit.LLCM', '/d/llcm')
    assert (ext.data_root, ext.synthetic_root, ext.camid) == (
        '/d/market', '/d/dive/ir', 10)
    tokens = cfg.stages[0]
    assert tokens.vi_dataset.data_root == '/d/llcm'
    assert tokens.external.data_root == '/d/market'
    assert tokens.out_dir == '/d/dive/vocabulary'
    assert cfg.test_dataloader.dataset.data_root == '/d/llcm'
    assert cfg.dive_generation.pipeline.writer.out_dir == '/d/dive/ir'
    assert cfg.train_dataloader.dataset.pipeline[1].size == (288, 144)


def _authors_lr(epoch, base, deen=False):
    """adjust_learning_rate of AGW/CAJ (DiVE copies) and DEEN train.py."""
    if epoch < 10:
        lr = base * (epoch + 1) / 10
    elif epoch < 20:
        lr = base
    elif epoch < (80 if deen else 50):
        lr = base * 0.1
    else:
        lr = base * 0.01
    return 0.1 * lr, lr   # backbone group, BNNeck + classifier


@pytest.mark.parametrize('name', ['sysu_agw.py', 'llcm_deen.py'])
def test_schedule_is_the_authors(name):
    cfg = _cfg(name)
    model = nn.ModuleDict(dict(backbone=nn.Linear(2, 2),
                               head=nn.Linear(2, 2)))
    optim = build_optim_wrapper(model, copy.deepcopy(cfg.optim_wrapper))
    scheds = [PARAM_SCHEDULERS.build(dict(s, optimizer=optim))
              for s in copy.deepcopy(cfg.param_scheduler)]
    groups = {id(p): g for g in optim.optimizer.param_groups
              for p in g['params']}
    bb = groups[id(model['backbone'].weight)]
    hd = groups[id(model['head'].weight)]
    for epoch in range(cfg.train_cfg.max_epochs):
        want = _authors_lr(epoch, 0.1, deen='deen' in name)
        assert (bb['lr'], hd['lr']) == pytest.approx(want), epoch
        for s in scheds:
            s.step()


def _shrink(pipeline, size=(64, 32)):
    out = []
    for t in copy.deepcopy(pipeline):
        if t['type'] in ('ReIDResize', 'ReIDRandomCrop'):
            t['size'] = size
        out.append(t)
    return out


def _one_step(cfg, dataset_cfg):
    ds = DATASETS.build(dataset_cfg)
    sampler = SAMPLERS.build(dict(type='ModalityBalancedSampler',
                                  batch_size=8, num_instances=4),
                             default_args=dict(dataset=ds, seed=0))
    idx = list(iter(sampler))[:8]
    batch = pseudo_collate([ds[i] for i in idx])
    mcfg = copy.deepcopy(cfg.model)
    mcfg.backbone.pretrained = None
    mcfg.head.num_classes = ds.metainfo['num_pids']
    model = MODELS.build(mcfg)
    optim = build_optim_wrapper(model, copy.deepcopy(cfg.optim_wrapper))
    logs = model.train_step(batch, optim)
    assert all(torch.isfinite(v) for v in logs.values())
    return logs, ds


def test_caj_config_trains_on_joint_views(toy_sysu):
    cfg = _cfg('sysu_caj.py')
    dcfg = copy.deepcopy(cfg.train_dataloader.dataset)
    dcfg.update(data_root=toy_sysu,
                pipeline=_shrink(dcfg.pipeline))
    logs, _ = _one_step(cfg, dcfg)
    assert {'loss_ce', 'loss_adp'} <= set(logs)


def test_deen_dive_config_trains_on_generated_ir(toy_sysu, toy_market,
                                                tmp_path):
    from test_dive_generation import _pipeline
    from plugins.dive import run_vocabulary
    cfg = _cfg('sysu_deen_dive.py')
    voc = run_vocabulary(
        dict(type='SYSUMM01', data_root=toy_sysu, split='train'),
        dict(type='DiVEExternalDataset', data_root=toy_market,
             folder='bounding_box_train', min_images=12, max_ids=2),
        str(tmp_path / 'voc'))
    _pipeline(voc, toy_market, str(tmp_path / 'ir')).run(
        rank=0, world_size=1, progress=False)
    dcfg = copy.deepcopy(cfg.train_dataloader.dataset)
    dcfg.pipeline = _shrink(dcfg.pipeline)
    dcfg.datasets[0].data_root = toy_sysu
    dcfg.datasets[1].update(data_root=toy_market, max_ids=2,
                            folder='bounding_box_train',
                            synthetic_root=str(tmp_path / 'ir'))
    logs, ds = _one_step(cfg, dcfg)
    assert {'loss_ce', 'loss_triplet', 'loss_cpm', 'loss_ort'} <= set(logs)
    n_vi = DATASETS.build(dict(type='SYSUMM01', data_root=toy_sysu,
                               split='train')).metainfo['num_pids']
    assert ds.metainfo['num_pids'] == n_vi + 2
