"""AOST Table 3 on the toy world: random subset vs attribute optimisation
(no transfer) vs AOST, at equal size, plus the full set, on two targets.

    python -m plugins.aost.toy_ablation [--seeds 0 1 2]
        [--work-dir work_dirs/aost_toy_ablation]

The toy world (built under ``<work-dir>/data`` when missing):

* **source**: a toy FineGPR (``plan_finegpr``), every identity rendered in
  the full product of 4 viewpoints (c01/c10/c19/c28 = 90/180/270/0 deg) x 4
  weathers (sunny, overcast, foggy, snowlight) x 4 lights (morning, noon,
  dusk, night): 64 images per identity, one background per identity;
* **targets**: a toy Market-1501 whose cameras all film in fog at dusk or
  noon, and a toy MSMT17 filmed in light snow at night or in the morning
  (:data:`TARGET_LOOKS`). The toy world's default cameras are daytime and
  mostly sunny or cloudy, so neither target looks like the source on
  average, and the right subset of the source is findable.

Per target, Stage I and II run once (their products are shared by the seeds,
``aost_root`` = ``<work-dir>/<target>``): distances from the same Gram code
as the paper configs (:class:`~plugins.aost.distances.StyleContentDistance`,
``w_l`` = 0.2, alpha 0.9, beta 1) on a **random-weight** VGG-19
(torchvision's initialisation; no ImageNet weights can be downloaded here),
XGBoost, PSO over 4 viewpoints x 1 weather x 2 lights (8 of the 64 images
per identity, 1/8 of the set), and a small SPGAN. Then for every seed an IDE
(ResNet-18 from scratch, softmax, 32x16, Adam) is trained on

* ``FineGPR+Random`` -- a random subset of the selected size
  (``configs/aost/finegpr_market_ide_random.py``);
* ``FineGPR+AO (w/o transfer)`` -- the selected subset as rendered
  (``..._ao.py``);
* ``FineGPR+AOST`` -- the selected subset translated by the SPGAN
  (``finegpr_market_ide.py``);
* ``FineGPR (full)`` -- every source image (``finegpr_full_ide.py``; one
  model per seed, tested on both targets);

all with the same epochs, and tested on the target's query / gallery. The
table gives R1 and mAP (%), mean +- sample std (ddof=1) over the seeds, and
the re-ID training time (CPU seconds of the train stage, one thread). The
configs run through the stage machinery in this process
(:func:`reidkit.stages.inprocess.run_config_stages`).
"""
from __future__ import annotations

import argparse
import logging
import os
import os.path as osp
import sys
import time
from typing import Dict, List, Sequence

import numpy as np

from reidkit.stages.inprocess import cpu_seconds, mean_std, run_config_stages

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))

#: the source's rendered grid (FineGPR codes)
SOURCE_GRID = dict(viewpoints=[1, 10, 19, 28], weathers=[1, 3, 4, 7],
                   illuminations=[2, 3, 5, 6])
#: the searched product set: 4 x 1 x 2 = 8 images per identity
SEARCH_SIZES = dict(viewpoint=4, weather=1, illumination=2)
#: per target: the weathers and lights its cameras film in (FineGPR codes,
#: ``WEATHERS[code - 1]`` / ``ILLUMINATIONS[code - 1]``), a layout
#: (toy-world kind), the translator's target images and the test dataset
TARGET_LOOKS = {
    'market': dict(kind='market1501', weathers=[4], illuminations=[5, 3],
                   dataset='Market1501', pattern='bounding_box_train/*.jpg'),
    'msmt17': dict(kind='msmt17', weathers=[7], illuminations=[6, 2],
                   dataset='MSMT17', pattern='train/*/*.jpg'),
}
#: table rows: (name, config, target-specific)
VARIANTS = [
    ('FineGPR+Random', 'configs/aost/finegpr_market_ide_random.py', False),
    ('FineGPR+AO (w/o transfer)', 'configs/aost/finegpr_market_ide_ao.py', True),
    ('FineGPR+AOST', 'configs/aost/finegpr_market_ide.py', True),
    ('FineGPR (full)', 'configs/aost/finegpr_full_ide.py', False),
]
#: identity cues stronger than the toy default (as in the DLCR ablation) so a
#: ResNet-18 trained from scratch for a few epochs learns some of them
KNOBS = dict(identity_spread=3.0, lookalike_frac=0.0)


def target_plan(kind: str, rng, num_ids: int, size, knobs, weathers: Sequence[int],
                illuminations: Sequence[int]):
    """A toy benchmark plan whose cameras film only in ``weathers`` and
    ``illuminations`` (FineGPR codes; each camera draws one of each)."""
    from synthgen.toyworld.layouts import LAYOUTS
    plan = LAYOUTS[kind][0](rng, num_ids, size, knobs)
    n = len(plan.cams['weather'])
    plan.cams['weather'] = rng.choice(np.asarray(weathers) - 1, n)
    plan.cams['illum'] = rng.choice(np.asarray(illuminations) - 1, n)
    return plan


def build_world(root: str, source_ids: int = 16, target_ids: int = 40,
                size=(32, 16), seed: int = 0) -> Dict[str, str]:
    """Write the toy source and targets under ``root`` (kept when complete);
    returns their folders by name (``finegpr``, ``market``, ``msmt17``)."""
    from synthgen.toyworld.layouts import plan_finegpr
    from synthgen.toyworld.output import write_plan
    from synthgen.toyworld.world import Knobs
    knobs = Knobs(**KNOBS)
    out = {'finegpr': osp.join(root, 'finegpr')}
    todo = [('finegpr', lambda rng: plan_finegpr(rng, source_ids, size, knobs,
                                                 grid=SOURCE_GRID))]
    for name, look in TARGET_LOOKS.items():
        out[name] = osp.join(root, name)
        todo.append((name, lambda rng, look=look: target_plan(
            look['kind'], rng, target_ids, size, knobs, look['weathers'],
            look['illuminations'])))
    for i, (name, make) in enumerate(todo):
        done = osp.join(out[name], '.complete')
        if osp.isfile(done):
            continue
        write_plan(make(np.random.default_rng([seed, i])), out[name], workers=1)
        open(done, 'w').close()
    return out


def toy_options(world: Dict[str, str], target: str, epochs: int,
                translator_iters: int, seed: int) -> dict:
    """``--cfg-options`` that shrink the paper configs to the toy world and
    point them at ``target`` (``'both'``: test on every target)."""
    size = (32, 16)
    look = TARGET_LOOKS['market' if target == 'both' else target]
    tests = list(TARGET_LOOKS) if target == 'both' else [target]
    milestones = [max(1, round(epochs * 40 / 120)), max(2, round(epochs * 70 / 120))]
    return {
        'data_root': world['finegpr'],
        'target_type': look['dataset'], 'target_root': world[
            'market' if target == 'both' else target],
        'target_pattern': look['pattern'], 'market_root': world['market'],
        'vgg19_weights': None, 'img_size': size, 'max_target': 400,
        'search_sizes': dict(SEARCH_SIZES), 'pso.iters': 30,
        'pso.n_particles': 12,
        'translator.model.generator.ngf': 8,
        'translator.model.generator.n_blocks': 2,
        'translator.model.discriminator.ndf': 8,
        'translator.model.discriminator.n_layers': 2,
        'translator.model.siamese.ch': 8, 'translator.model.siamese.dim': 16,
        'translator.train_cfg.max_iters': translator_iters,
        'translator.train_dataloader.batch_size': 4,
        'translator.train_dataloader.num_workers': 0,
        'translator.default_hooks.logger.interval': 10 ** 6,
        'model.backbone.pretrained': None, 'model.channels_last': False,
        'model.backbone.model_name': 'resnet18', 'model.neck.in_channels': 512,
        'model.head.in_channels': 512,
        'train_cfg.max_epochs': epochs, 'train_cfg.val_interval': epochs,
        'param_scheduler': [dict(type='MultiStepLR', by_epoch=True,
                                 milestones=milestones, gamma=0.1)],
        'train_dataloader.batch_size': 32, 'train_dataloader.num_workers': 0,
        'train_dataloader.persistent_workers': False,
        'test_dataloader.num_workers': 0,
        'test_dataloader.persistent_workers': False,
        'test_dataloader.batch_size': 64,
        'dg_targets': dict(_delete_=True, **{
            t: dict(test_dataloader=dict(dataset=dict(
                type=TARGET_LOOKS[t]['dataset'], data_root=world[t])))
            for t in tests}),
        'default_hooks.logger.interval': 10 ** 6,
        'randomness.seed': seed, 'randomness.deterministic': False,
        'log_level': 'WARNING',
    }


def format_table(rows: Dict[str, Dict[str, List[dict]]], seeds) -> str:
    """The README's table: per target and variant R1, mAP (%) and re-ID
    training CPU seconds, mean +- sample std (ddof=1) over the seeds."""
    lines = [f'Toy FineGPR -> toy targets (Table 3 directions); mean +- sample '
             f'std over seeds {list(seeds)}; train = re-ID training, CPU s', '',
             '| target | training set | images | R1 (%) | mAP (%) | train (CPU s) |',
             '|---|---|---|---|---|---|']
    for target, variants in rows.items():
        for name, runs in variants.items():
            if not runs:
                continue
            lines.append(
                f'| {target} | {name} | {runs[0]["images"]} | '
                f'{mean_std([r["R1"] for r in runs])} | '
                f'{mean_std([r["mAP"] for r in runs])} | '
                f'{mean_std([r["train_cpu"] for r in runs], 0)} |')
    return '\n'.join(lines)


def _count(path: str) -> int:
    with open(path, encoding='utf-8') as f:
        return sum(1 for line in f if line.strip())


def main(argv=None) -> Dict[str, Dict[str, List[dict]]]:
    ap = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    ap.add_argument('--seeds', type=int, nargs='+', default=[0, 1, 2])
    ap.add_argument('--work-dir', default='work_dirs/aost_toy_ablation')
    ap.add_argument('--source-ids', type=int, default=16)
    ap.add_argument('--target-ids', type=int, default=40)
    ap.add_argument('--epochs', type=int, default=6)
    ap.add_argument('--translator-iters', type=int, default=200)
    ap.add_argument('--threads', type=int, default=1,
                    help='torch threads (default 1: on a shared 2-core '
                         'machine more threads cost CPU time, not wall time)')
    args = ap.parse_args(argv)
    sys.path.insert(0, ROOT)
    import torch
    torch.set_num_threads(args.threads)
    logging.getLogger('py.warnings').setLevel(logging.ERROR)
    start, cpu0 = time.time(), cpu_seconds()
    world = build_world(osp.join(args.work_dir, 'data'), args.source_ids,
                        args.target_ids)
    print(f'toy world ready: {time.time() - start:.0f} s', flush=True)
    rows = {t: {name: [] for name, _, _ in VARIANTS} for t in TARGET_LOOKS}
    for seed in args.seeds:
        for name, config, specific in VARIANTS:
            for target in (TARGET_LOOKS if specific else ['both']):
                t0 = time.time()
                opts = toy_options(world, target, args.epochs,
                                   args.translator_iters, seed)
                shared = osp.join(args.work_dir, 'market' if target == 'both'
                                  else target)
                opts['aost_root'] = osp.abspath(shared)
                stem = osp.splitext(osp.basename(config))[0]
                wd = osp.join(args.work_dir, f'{stem}_{target}_seed{seed}')
                metrics, times = run_config_stages(osp.join(ROOT, config), opts,
                                                   wd)
                images = _images(config, shared, world)
                for t in (TARGET_LOOKS if target == 'both' else [target]):
                    rows[t][name].append(dict(
                        R1=metrics[f'{t}/R1'], mAP=metrics[f'{t}/mAP'],
                        train_cpu=times.get('train', {}).get('cpu', float('nan')),
                        images=images))
                print(f'[seed {seed}] {name} ({target}): '
                      f'{time.time() - t0:.0f} s, stages '
                      + ', '.join(f'{k} {v["cpu"]:.0f}' for k, v in times.items())
                      + f' CPU s (total CPU {cpu_seconds() - cpu0:.0f} s)',
                      flush=True)
    print(format_table(rows, args.seeds))
    print(f'total {time.time() - start:.0f} s wall, {cpu_seconds() - cpu0:.0f} s '
          'CPU (user + sys, this process and its children)')
    return rows


def _images(config: str, shared: str, world: Dict[str, str]) -> int:
    """Training images of a variant (the image list, or the whole source)."""
    if config.endswith('_random.py'):
        return _count(osp.join(shared, 'aost', 'random.txt'))
    if config.endswith('full_ide.py'):
        return sum(len(fs) for _, _, fs in os.walk(
            osp.join(world['finegpr'], 'FineGPR')))
    return _count(osp.join(shared, 'aost', 'selected.txt'))


if __name__ == '__main__':
    main()
