"""The toy ablation's pieces: targets filmed in their own weather and light,
the paper configs pointed at the toy world (per variant), the table."""
import os.path as osp

import numpy as np
import pytest

from plugins.aost import toy_ablation as ta
from reidkit.utils.config import load_config

ROOT = ta.ROOT


def test_target_cameras_film_only_their_look():
    from synthgen.toyworld.world import Knobs
    plain = ta.target_plan('msmt17', np.random.default_rng(0), 8, (32, 16),
                           Knobs(), weathers=[7], illuminations=[6, 2])
    plan = ta.target_plan('msmt17', np.random.default_rng(0), 8, (32, 16),
                          Knobs(), weathers=[7], illuminations=[6, 2],
                          cast=(1.1, 0.8, 1.2))
    # every camera's own cast times the target's
    np.testing.assert_allclose(plan.cams['cast'], plain.cams['cast']
                               * np.float32([1.1, 0.8, 1.2]), rtol=1e-6)
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
    assert ao.model.backbone == dict(type='SmallConvNet',
                                     channels=list(ta.TOY_CHANNELS))
    assert ao.model.head.in_channels == ta.TOY_CHANNELS[-1]
    assert ao.param_scheduler[0].milestones == [2, 4]  # 40/120 and 70/120 of 6
    aost = _load('configs/aost/finegpr_market_ide.py', world, 'msmt17', sh)
    assert aost.train_dataloader.dataset.type == 'SyntheticDataset'
    assert aost.train_dataloader.dataset.data_root == sh + '/translated'
    tr = aost.stages[4].config
    assert tr.train_dataloader.dataset.target_pattern == 'train/*/*.jpg'
    assert tr.train_dataloader.dataset.target_root == '/toy/msmt17'
    assert tr.train_cfg.max_iters == 7 and tr.model.contrastive_weight == 2.0
    assert tr.model.generator.residual is True
    assert tr.model.identity_weight == ta.TOY_GAN['identity_weight']
    assert tr.train_dataloader.batch_size == ta.TOY_GAN['batch_size']
    assert {k: tr.optim_wrapper[k].optimizer.lr for k in tr.optim_wrapper
            if k != 'constructor'} == dict.fromkeys(
                ('model', 'discriminator', 'siamese'), ta.TOY_GAN['lr'])
    assert tr.param_scheduler[0].begin == 3 and tr.param_scheduler[0].end == 7
    # the CycleGAN ablation's config has no Siamese optimiser to set
    opts = ta.toy_options(world, 'msmt17', 6, 7, 3, cyclegan=True)
    cyc = load_config(osp.join(ROOT, 'configs/aost/finegpr_market_cyclegan_ide.py'),
                      opts, work_dir='wd/c').stages[4].config
    assert sorted(cyc.optim_wrapper) == ['constructor', 'discriminator', 'model']
    assert cyc.model.contrastive_weight == 0
    assert cyc.optim_wrapper.model.optimizer.lr == ta.TOY_GAN['lr']
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
    # the upper reference: the same IDE on the target's own training split
    opts = ta.toy_options(world, 'msmt17', epochs=6, translator_iters=7, seed=3)
    opts.update(ta.reference_options(world, 'msmt17'))
    ref = load_config(osp.join(ROOT, 'configs/aost/finegpr_full_ide.py'), opts,
                      work_dir='wd/ref')
    ds = ref.train_dataloader.dataset
    assert (ds.type, ds.data_root, ds.split) == ('MSMT17', '/toy/msmt17', 'train')
    assert ds.pipeline == ref.train_pipeline
    assert list(ref.stages[-1].targets) == ['msmt17']


def _market_split(root, pids_q, cams_q, pids_g, cams_g):
    from PIL import Image
    import os
    for folder, pids, cams in (('query', pids_q, cams_q),
                               ('bounding_box_test', pids_g, cams_g),
                               ('bounding_box_train', [9], [1])):
        os.makedirs(osp.join(root, folder))
        for i, (p, c) in enumerate(zip(pids, cams)):
            Image.new('RGB', (4, 8)).save(osp.join(
                root, folder, f'{p:04d}_c{c}s1_{i:06d}_00.jpg'))


def test_chance_level_is_the_protocol_on_random_features(tmp_path):
    root = str(tmp_path / 'm')
    _market_split(root, [1, 2], [1, 1], [1, 1, 2, 3, 3], [1, 2, 2, 1, 2])
    got = ta.chance_level(root, 'Market1501', seeds=[0, 1], dim=4)
    # slow obvious version: the same features, ranked by hand, the Market
    # rule (same pid and camera as the query = junk)
    qp, qc = np.array([1, 2]), np.array([1, 1])
    gp, gc = np.array([1, 1, 2, 3, 3]), np.array([1, 2, 2, 1, 2])
    for seed, res in zip([0, 1], got):
        rng = np.random.default_rng(seed)
        q, g = rng.standard_normal((2, 4)), rng.standard_normal((5, 4))
        aps, r1 = [], []
        for i in range(2):
            order = np.argsort(((q[i] - g) ** 2).sum(1), kind='stable')
            order = [j for j in order if not (gp[j] == qp[i] and gc[j] == qc[i])]
            hits = np.array([gp[j] == qp[i] for j in order], float)
            prec = np.cumsum(hits) / np.arange(1, len(hits) + 1)
            aps.append((prec * hits).sum() / hits.sum())
            r1.append(hits[0])
        assert res['mAP'] == pytest.approx(100 * np.mean(aps))
        assert res['R1'] == pytest.approx(100 * np.mean(r1))


def test_table_is_mean_and_sample_std_per_target():
    runs = [dict(R1=10.0, mAP=20.0, train_cpu=30.0, images=96),
            dict(R1=14.0, mAP=22.0, train_cpu=34.0, images=96)]
    table = ta.format_table({'market': {'FineGPR+AOST': runs,
                                        'FineGPR (full)': []}}, [0, 1])
    # sample std (ddof=1) of (10, 14) is 2.83; of (20, 22) and (30, 34): 1.41, 2.83
    assert '| market | FineGPR+AOST | 96 | 12.0 +- 2.8 | 21.0 +- 1.4 | 32 +- 3 |' \
        in table
    assert 'full' not in table
    # the chance row trains nothing: no image count, no training time
    chance = ta.format_table({'market': {ta.CHANCE: [
        dict(R1=1.0, mAP=5.0, train_cpu=0.0, images=0)] * 2}}, [0, 1])
    assert '| market | chance (random features) | - | 1.0 +- 0.0 | 5.0 +- 0.0 | - |' \
        in chance


def test_translator_report_table():
    text = ta.format_report({'market': dict(
        style_source=2.5e-4, style_translated=1.2e-4, set_style_source=6e-5,
        set_style_translated=8e-6, set_style_floor=4e-7, colour_source=0.196,
        colour_translated=0.071, colour_floor=0.011, content_own=1e-7,
        content_other=1.4e-6)})
    assert ('| market | 0.00025 -> 0.00012 | 6e-05 -> 8e-06 (4e-07) '
            '| 0.196 -> 0.071 (0.011) | 1e-07 / 1.4e-06 |') in text
