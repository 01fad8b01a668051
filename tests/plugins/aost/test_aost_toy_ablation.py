"""The toy ablation's pieces: targets filmed in their own weather and light,
the paper configs pointed at the toy world (per variant), the table."""
import os.path as osp

import numpy as np

from plugins.aost import toy_ablation as ta
from reidkit.utils.config import load_config

ROOT = ta.ROOT


def test_target_cameras_film_only_their_look():
    from synthgen.toyworld.world import Knobs
    plan = ta.target_plan('msmt17', np.random.default_rng(0), 8, (32, 16),
                          Knobs(), weathers=[7], illuminations=[6, 2])
    # FineGPR codes -> toy indices: w07 = snowlight (6), l06 night (5), l02 morning (1)
    assert set(plan.cams['weather'].tolist()) == {6}
    assert set(plan.cams['illum'].tolist()) <= {5, 1}
    p = plan.params(np.arange(len(plan)))          # what the renderer reads
    assert set(p['weather'].tolist()) == {6}
    assert set(p['illum'].tolist()) == {5, 1}       # 15 cameras: both drawn
    # the source's lights are the grid's, not the target's alone
    assert set(ta.SOURCE_GRID['illuminations']) > {6, 2}


def _load(config, world, target, shared):
    opts = ta.toy_options(world, target, epochs=6, translator_iters=7, seed=3)
    opts['aost_root'] = shared
    return load_config(osp.join(ROOT, config), opts, work_dir='wd/run')


def test_every_variant_runs_on_the_toy_world_and_its_target():
    world = dict(finegpr='/toy/finegpr', market='/toy/market',
                 msmt17='/toy/msmt17')
    sh = '/shared/msmt17'
    ao = _load('configs/aost/finegpr_market_ide_ao.py', world, 'msmt17', sh)
    assert [s.name for s in ao.stages] == ['distances', 'regress', 'search',
                                           'select', 'train', 'test']
    assert ao.train_dataloader.dataset.image_list == sh + '/aost/selected.txt'
    assert ao.train_dataloader.dataset.data_root == '/toy/finegpr'
    assert ao.stages[0].target == dict(type='MSMT17', data_root='/toy/msmt17',
                                       split='train')
    assert ao.stages[0].out_file == sh + '/aost/distances.jsonl'
    assert ao.stages[2].sizes == dict(viewpoint=4, weather=1, illumination=2)
    assert list(ao.stages[-1].targets) == ['msmt17']
    assert ao.stages[-1].targets.msmt17.test_dataloader.dataset.data_root == \
        '/toy/msmt17'
    assert ao.stages[-2].work_dir == 'wd/run/reid'      # per run, not shared
    assert ao.distance.pretrained is None and ao.img_size == (32, 16)
    assert ao.train_cfg.max_epochs == 6 and ao.randomness.seed == 3
    assert ao.param_scheduler[0].milestones == [2, 4]  # 40/120 and 70/120 of 6
    aost = _load('configs/aost/finegpr_market_ide.py', world, 'msmt17', sh)
    assert aost.train_dataloader.dataset.type == 'SyntheticDataset'
    assert aost.train_dataloader.dataset.data_root == sh + '/translated'
    tr = aost.stages[4].config
    assert tr.train_dataloader.dataset.target_pattern == 'train/*/*.jpg'
    assert tr.train_dataloader.dataset.target_root == '/toy/msmt17'
    assert tr.train_cfg.max_iters == 7 and tr.model.contrastive_weight == 2.0
    assert aost.stages[5].pipeline.generator.checkpoint_dir == \
        sh + '/train_translator/adapters'
    # the target-independent rows: one model per seed, tested on both targets
    rnd = _load('configs/aost/finegpr_market_ide_random.py', world, 'both',
                '/shared/market')
    assert rnd.train_dataloader.dataset.image_list == \
        '/shared/market/aost/random.txt'
    assert list(rnd.stages[-1].targets) == ['market', 'msmt17']
    full = _load('configs/aost/finegpr_full_ide.py', world, 'both', '/s')
    assert [s.name for s in full.stages] == ['train', 'test']
    assert full.train_dataloader.dataset.type == 'FineGPR'
    assert full.train_dataloader.dataset.get('image_list') is None


def test_table_is_mean_and_sample_std_per_target():
    runs = [dict(R1=10.0, mAP=20.0, train_cpu=30.0, images=96),
            dict(R1=14.0, mAP=22.0, train_cpu=34.0, images=96)]
    table = ta.format_table({'market': {'FineGPR+AOST': runs,
                                        'FineGPR (full)': []}}, [0, 1])
    # sample std (ddof=1) of (10, 14) is 2.83; of (20, 22) and (30, 34): 1.41, 2.83
    assert '| market | FineGPR+AOST | 96 | 12.0 +- 2.8 | 21.0 +- 1.4 | 32 +- 3 |' \
        in table
    assert 'full' not in table
