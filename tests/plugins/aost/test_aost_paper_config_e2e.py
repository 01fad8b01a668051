"""``tools/train.py configs/aost/finegpr_market_ide.py`` end to end on toy data.

Every stage of the paper path runs for real (VGG-19 distances -> XGBoost ->
PSO -> selection -> SPGAN trained through mmengine -> translation -> IDE
ResNet-50 -> one model tested on two targets): only locations and sizes are
swapped (toy FineGPR / Market-1501 / MSMT17, random-weight VGG, a tiny
SPGAN, 32x16 images) through ``--cfg-options`` and a two-line child config
naming the toy targets (the toy world has no DukeMTMC / CUHK03 layout).
"""
import json
import os
import os.path as osp
import subprocess
import sys

import numpy as np

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__)))))
CONFIG = osp.join(ROOT, 'configs/aost/finegpr_market_ide.py')
GRID = dict(viewpoints=[1, 10, 19, 28], weathers=[1, 4], illuminations=[3, 6])


def make_toy(root):
    from synthgen.toyworld import make_dataset
    from synthgen.toyworld.layouts import plan_finegpr
    from synthgen.toyworld.output import write_plan
    from synthgen.toyworld.world import Knobs
    plan = plan_finegpr(np.random.default_rng(0), 8, (32, 16), Knobs(), grid=GRID)
    write_plan(plan, osp.join(root, 'finegpr'), workers=1)
    for kind in ('market1501', 'msmt17'):
        make_dataset(kind, osp.join(root, kind), num_ids=8, seed=0, size='32x16',
                     workers=1)


def options(root):
    size = '(32,16)'
    opts = [
        f'data_root={root}/finegpr', f'target_root={root}/market1501',
        f'market_root={root}/market1501', 'vgg19_weights=None',
        f'img_size={size}', 'max_target=20',
        'search_sizes.viewpoint=2', 'search_sizes.weather=1',
        'search_sizes.illumination=1', 'pso.iters=5', 'pso.n_particles=6',
        'translator.model.generator.ngf=4', 'translator.model.generator.n_blocks=1',
        'translator.model.discriminator.ndf=4',
        'translator.model.discriminator.n_layers=2',
        'translator.model.siamese.ch=4', 'translator.model.siamese.dim=8',
        'translator.train_cfg.max_iters=2',
        'translator.train_dataloader.batch_size=2',
        'translator.train_dataloader.num_workers=0',
        # ResNet-18 instead of -50 (the same IDE model, 4x cheaper to build
        # and step on a loaded 2-core machine)
        'model.backbone.pretrained=None', 'model.channels_last=False',
        'model.backbone.model_name=resnet18', 'model.neck.in_channels=512',
        'model.head.in_channels=512',
        'train_cfg.max_epochs=1', 'train_dataloader.batch_size=8',
        'train_dataloader.num_workers=0', 'train_dataloader.persistent_workers=False',
        'test_dataloader.num_workers=0', 'test_dataloader.persistent_workers=False',
        'test_dataloader.batch_size=32',
    ]
    return opts


def test_paper_config_runs_every_stage_on_toy_data(tmp_path):
    make_toy(str(tmp_path))
    child = tmp_path / 'toy_targets.py'
    child.write_text(
        f"_base_ = [{CONFIG!r}]\n"
        "dg_targets = dict(_delete_=True,\n"
        "    market=dict(test_dataloader=dict(dataset=dict(type='Market1501',\n"
        "                data_root='${market_root}'))),\n"
        f"    msmt17=dict(test_dataloader=dict(dataset=dict(type='MSMT17',\n"
        f"                data_root={str(tmp_path / 'msmt17')!r}))))\n")
    work = str(tmp_path / 'work')
    env = dict(os.environ, PYTHONUNBUFFERED='1', OMP_NUM_THREADS='1')
    cmd = [sys.executable, 'tools/train.py', str(child), '--work-dir', work,
           '--cfg-options', *options(str(tmp_path))]
    out = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True,
                         timeout=900)
    log = out.stdout + out.stderr
    assert out.returncode == 0, log[-6000:]
    aost = osp.join(work, 'aost')
    # distances: one image per (viewpoint, weather, light, background) setting
    rows = [json.loads(x) for x in open(osp.join(aost, 'distances.jsonl'))]
    settings = {tuple(r['attributes'][k] for k in
                      ('viewpoint', 'weather', 'illumination', 'background'))
                for r in rows}
    assert len(rows) == len(settings) == 16 * len({r['attributes']['background']
                                                   for r in rows})
    for r in rows:
        assert abs(r['total'] - (0.9 * r['style'] + r['content'])) < 1e-6 * r['total']
    sel = json.load(open(osp.join(aost, 'selection.json')))
    assert len(sel['viewpoint']) == 2 and len(sel['weather']) == 1
    assert set(sel['viewpoint']) <= {90, 180, 270, 0}
    selected = open(osp.join(aost, 'selected.txt')).read().split()
    control = open(osp.join(aost, 'random.txt')).read().split()
    assert len(selected) == len(control) == 8 * 2      # 8 ids x 2 x 1 x 1
    assert set(selected) != set(control)
    # the translator was trained and every selected image translated
    assert osp.isfile(osp.join(work, 'train_translator', 'adapters',
                               'generator_s2t.pth'))
    from reidkit.datasets.synthetic import SyntheticDataset
    tr = SyntheticDataset(osp.join(work, 'translated'))
    assert len(tr) == 16 and tr.metainfo['num_pids'] == 8
    # one model, both targets, one table
    metrics = json.load(open(osp.join(work, 'metrics_test.json')))
    for target in ('market', 'msmt17'):
        assert 0 <= metrics[f'{target}/mAP'] <= 100, sorted(metrics)
        assert 0 <= metrics[f'{target}/R1'] <= 100
    assert 'one model, every target' in log
    assert 'report.log' not in os.listdir(ROOT)
    # a second run skips every complete stage
    again = subprocess.run(cmd + ['--dry-run'], cwd=ROOT, env=env,
                           capture_output=True, text=True, timeout=600)
    assert again.returncode == 0, again.stderr[-3000:]
    assert again.stdout.count('skip') >= 8, again.stdout[-3000:]
