"""configs/_base_/datasets: every config builds on its fixture tree, and an
end-to-end load through the registry, the pipeline and a dataloader."""
from __future__ import annotations

import os
import os.path as osp

import numpy as np
import pytest
import torch
from mmengine.config import Config
from mmengine.registry import init_default_scope
from mmengine.runner import Runner
from PIL import Image

import reidkit.datasets  # noqa: F401
from reidkit.utils.config import load_config
from reidkit.registry import DATASETS

from reid_fixture_trees import BUILDERS

CFG_DIR = osp.join(osp.dirname(__file__), '..', '..', 'configs', '_base_',
                   'datasets')
CONFIG_TO_FIXTURE = dict(
    market1501='market', dukemtmc='duke', cuhk03np='cuhk03np',
    msmt17='msmt17', finegpr='finegpr', prcc='prcc', ltcc='ltcc',
    vc_clothes='vcclothes', ccvid='ccvid', last='last', sysu_mm01='sysu',
    llcm='llcm', veri776='veri', vehicleid='vehicleid',
    cityflow_v2='cityflow')
PROTOCOLS = {'market', 'cuhk03_sg', 'vehicleid', 'prcc', 'ltcc',
             'vc_clothes', 'ccvid', 'last', 'sysu_all', 'sysu_indoor',
             'llcm_v2i', 'llcm_i2v', 'cityflow'}


@pytest.fixture(autouse=True)
def scope():
    init_default_scope('reidkit')


def load_cfg(name, data_root=None):
    options = {'data_root': data_root} if data_root else None
    return load_config(osp.join(CFG_DIR, f'{name}.py'), options)


def test_one_config_per_benchmark():
    import glob
    names = {osp.splitext(osp.basename(p))[0]
             for p in glob.glob(osp.join(CFG_DIR, '*.py'))
             if not osp.basename(p).startswith('_')}
    assert names == set(CONFIG_TO_FIXTURE)


@pytest.mark.parametrize('name', sorted(CONFIG_TO_FIXTURE))
def test_config_builds_on_fixture(name, tmp_path):
    spec = BUILDERS[CONFIG_TO_FIXTURE[name]](str(tmp_path / name))
    assert load_cfg(name).data_root.startswith('data/')
    # the override reaches every dataloader (late ${data_root} references)
    cfg = load_cfg(name, spec.root)
    assert cfg.val_evaluator.type == 'ReIDMetric'
    assert cfg.val_evaluator.protocol in PROTOCOLS
    assert cfg.test_evaluator == cfg.val_evaluator
    train_cfg = cfg.train_dataloader.dataset
    train_cfg.update(spec.kwargs)
    train = DATASETS.build(train_cfg)
    assert len(train) == spec.counts['train'][3]
    test_cfg = cfg.test_dataloader.dataset
    if name == 'finegpr':  # evaluated on a real target
        market = BUILDERS['market'](str(tmp_path / 'target'))
        # the target's facts reach val and test (late references)
        cfg = load_config(osp.join(CFG_DIR, 'finegpr.py'),
                          {'data_root': spec.root, 'target_root': market.root})
        test_cfg = cfg.test_dataloader.dataset
        assert cfg.val_dataloader.dataset == test_cfg
        assert (test_cfg.type, test_cfg.data_root) == ('Market1501', market.root)
        assert 'attribute_filter' not in test_cfg
        expected = 6
    else:
        test_cfg.update(spec.kwargs)
        expected = spec.counts['query'][3] + spec.counts['gallery'][3]
    test = DATASETS.build(test_cfg)
    assert len(test) == expected
    assert test.metainfo['protocol'] == cfg.val_evaluator.protocol


def write_jpeg(path, seed):
    arr = np.random.RandomState(seed).randint(0, 256, (40, 20, 3), np.uint8)
    Image.fromarray(arr).save(path, 'JPEG')


def test_end_to_end_from_config_with_real_jpegs(tmp_path):
    spec = BUILDERS['market'](str(tmp_path / 'market'))
    for i, folder in enumerate(('bounding_box_train', 'query',
                                'bounding_box_test')):
        d = osp.join(spec.root, folder)
        for j, name in enumerate(sorted(os.listdir(d))):
            if name.endswith('.jpg'):
                write_jpeg(osp.join(d, name), 10 * i + j)
    cfg = load_cfg('market1501', spec.root)
    ds = DATASETS.build(cfg.train_dataloader.dataset)
    item = ds[0]
    assert item['inputs'].dtype == torch.uint8
    assert tuple(item['inputs'].shape) == (3, 256, 128)
    ds_ = item['data_samples']
    assert set(ds_) == {'pid', 'camid', 'clothes_id', 'modality', 'domain',
                        'split', 'track_id', 'sample_idx', 'img_path'}
    assert ds_['split'] == 'train' and ds_['sample_idx'] == 0
    assert ds_['pid'] == 0 and ds_['camid'] == 1

    loader_cfg = cfg.val_dataloader.copy()
    loader_cfg.update(batch_size=3, num_workers=0, persistent_workers=False)
    loader = Runner.build_dataloader(loader_cfg, seed=0)
    batches = list(loader)
    assert sum(len(b['inputs']) for b in batches) == 6
    first = batches[0]
    assert all(tuple(x.shape) == (3, 256, 128) for x in first['inputs'])
    # mmengine's pseudo_collate turns the list of sample dicts into a dict
    # of lists
    assert first['data_samples']['split'] == ['query', 'query', 'gallery']
    assert first['data_samples']['pid'] == [1, 5, 0]  # 0000 sorts first


def test_child_config_data_root_reaches_inherited_dataloaders(tmp_path):
    """A data_root set in a child config (not only --cfg-options) is used
    by the dataloaders the child inherits."""
    child = tmp_path / 'child.py'
    child.write_text(f"_base_ = ['{CFG_DIR}/market1501.py']\n"
                     "data_root = 'data/elsewhere'\nimg_size = (64, 32)\n")
    cfg = load_config(str(child))
    assert cfg.train_dataloader.dataset.data_root == 'data/elsewhere'
    assert cfg.test_dataloader.dataset.data_root == 'data/elsewhere'
    assert cfg.train_dataloader.dataset.pipeline[1]['size'] == (64, 32)
    cfg = load_config(str(child), {'data_root': 'elsewhere/m'})
    assert cfg.val_dataloader.dataset.data_root == 'elsewhere/m'
