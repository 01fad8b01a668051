"""AOST Table 3 on the toy world: random subset vs attribute optimisation
(no transfer) vs AOST, at equal size, plus the full set, on two targets,
between a chance row and an upper reference.

    python -m plugins.aost.toy_ablation [--seeds 0 1 2] [--jobs 2]
        [--work-dir work_dirs/aost_toy_ablation]

The toy world (built under ``<work-dir>/data`` when missing):

* **source**: a toy FineGPR (``plan_finegpr``), every identity rendered in
  the full product of 4 viewpoints (c01/c10/c19/c28 = 90/180/270/0 deg) x 4
  weathers (sunny, overcast, foggy, snowlight) x 4 lights (morning, noon,
  dusk, night): 64 images per identity, one background per identity;
* **targets** (80 identities each, half of them in the test split): a toy
  Market-1501 whose cameras all film in fog at dusk or noon through a
  green-yellow cast, and a toy MSMT17 filmed in light snow at night or in
  the morning through a magenta cast (:data:`TARGET_LOOKS`). The weather
  and light are FineGPR attributes the search can select; the cast is not
  (it stands for the camera style no synthetic attribute controls, which
  the translator is there for).

Per target, Stage I and II run once (their products are shared by the seeds,
``aost_root`` = ``<work-dir>/<target>``): distances from the same Gram code
as the paper configs (:class:`~plugins.aost.distances.StyleContentDistance`,
``w_l`` = 0.2, alpha 0.9, beta 1) on a **random-weight** VGG-19
(torchvision's initialisation; no ImageNet weights can be downloaded here),
XGBoost, PSO over 4 viewpoints x 1 weather x 2 lights (8 of the 64 images
per identity, 1/8 of the set), and a small SPGAN with identity-initialised
residual generators; the translator check
(:func:`~plugins.aost.distances.translation_distances`) is printed. Then for
every seed an IDE (softmax only, 32x16, Adam 3.5e-4, the paper's x0.1 steps
at 40/120 and 70/120 of the epochs, on a
:class:`~reidkit.models.backbones.SmallConvNet` from scratch: ResNet-18
learnt next to nothing at this size) is trained on

* ``FineGPR+Random`` -- a random subset of the selected size
  (``configs/aost/finegpr_market_ide_random.py``);
* ``FineGPR+AO (w/o transfer)`` -- the selected subset as rendered
  (``..._ao.py``);
* ``FineGPR+AOST`` -- the selected subset translated by the SPGAN
  (``finegpr_market_ide.py``);
* ``FineGPR (full)`` -- every source image (``finegpr_full_ide.py``; one
  model per seed, tested on both targets);
* the target's own training split (identities disjoint from its test
  split): the upper reference;

all with the same epochs, and tested on the target's query / gallery; the
chance row scores random Gaussian features with the same protocol. The
table gives R1 and mAP (%), mean +- sample std (ddof=1) over the seeds, and
the re-ID training time (CPU seconds of the train stage, one thread). The
configs run through the stage machinery
(:func:`reidkit.stages.inprocess.run_config_stages`), ``--jobs`` runs in
parallel processes; every run keeps its result in
``<its work dir>/toy_row.json``, so an interrupted ablation resumes.
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

from reidkit.stages.inprocess import (cpu_seconds, mean_std, parallel_map,
                                      run_config_stages)

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))

#: the source's rendered grid (FineGPR codes)
SOURCE_GRID = dict(viewpoints=[1, 10, 19, 28], weathers=[1, 3, 4, 7],
                   illuminations=[2, 3, 5, 6])
#: the searched product set: 4 x 1 x 2 = 8 images per identity
SEARCH_SIZES = dict(viewpoint=4, weather=1, illumination=2)
#: per target: the weathers and lights its cameras film in (FineGPR codes,
#: ``WEATHERS[code - 1]`` / ``ILLUMINATIONS[code - 1]``), the RGB colour cast
#: every one of its cameras adds (a style no FineGPR attribute controls: the
#: search cannot select it, only the translator can learn it), a layout
#: (toy-world kind), the translator's target images and the test dataset
TARGET_LOOKS = {
    'market': dict(kind='market1501', weathers=[4], illuminations=[5, 3],
                   cast=(0.8, 1.05, 0.7),
                   dataset='Market1501', pattern='bounding_box_train/*.jpg'),
    'msmt17': dict(kind='msmt17', weathers=[7], illuminations=[6, 2],
                   cast=(1.1, 0.8, 1.2),
                   dataset='MSMT17', pattern='train/*/*.jpg'),
}
CHANCE = 'chance (random features)'
REFERENCE = "target's own train split (reference)"
#: table rows: (name, config, target-specific); the last one trains the same
#: IDE on the target's own training split (:func:`reference_options`)
VARIANTS = [
    ('FineGPR+Random', 'configs/aost/finegpr_market_ide_random.py', False),
    ('FineGPR+AO (w/o transfer)', 'configs/aost/finegpr_market_ide_ao.py', True),
    ('FineGPR+AOST', 'configs/aost/finegpr_market_ide.py', True),
    ('FineGPR (full)', 'configs/aost/finegpr_full_ide.py', False),
    (REFERENCE, 'configs/aost/finegpr_full_ide.py', True),
]
#: the stages that make the Stage I / II products (run once per target)
SHARED_STAGES = ['distances', 'regress', 'search', 'select', 'train_translator',
                 'translate']
#: the toy IDE backbone's channels (:class:`SmallConvNet`)
TOY_CHANNELS = (32, 64, 128, 256)
#: the toy translator's training (SPGAN's paper values: identity weight 5,
#: lr 2e-4, batch 1, 100k+ iterations). At 300 iterations with the paper's
#: identity weight and lr the generator stayed the identity (style distance
#: to the toy Market 1.75e-4 -> 1.68e-4): the identity loss ``G(t) = t``
#: penalises exactly the global colour change a camera cast is
#: (``plugins/aost/README.md``, "Translator")
TOY_GAN = dict(identity_weight=0.5, lr=1e-3, batch_size=8)
#: identity cues stronger than the toy default (as in the DLCR ablation) so a
#: ResNet-18 trained from scratch for a few epochs learns some of them
KNOBS = dict(identity_spread=3.0, lookalike_frac=0.0)


def target_plan(kind: str, rng, num_ids: int, size, knobs, weathers: Sequence[int],
                illuminations: Sequence[int], cast: Sequence[float] = (1, 1, 1)):
    """A toy benchmark plan whose cameras film only in ``weathers`` and
    ``illuminations`` (FineGPR codes; each camera draws one of each) and
    multiply their own colour cast by ``cast`` (RGB)."""
    from synthgen.toyworld.layouts import LAYOUTS
    plan = LAYOUTS[kind][0](rng, num_ids, size, knobs)
    n = len(plan.cams['weather'])
    plan.cams['weather'] = rng.choice(np.asarray(weathers) - 1, n)
    plan.cams['illum'] = rng.choice(np.asarray(illuminations) - 1, n)
    plan.cams['cast'] = (plan.cams['cast'] * np.asarray(cast, np.float32)
                         ).astype(np.float32)
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
            look['illuminations'], look['cast'])))
    for i, (name, make) in enumerate(todo):
        done = osp.join(out[name], '.complete')
        if osp.isfile(done):
            continue
        write_plan(make(np.random.default_rng([seed, i])), out[name], workers=1)
        open(done, 'w').close()
    return out


def toy_options(world: Dict[str, str], target: str, epochs: int,
                translator_iters: int, seed: int, cyclegan: bool = False) -> dict:
    """``--cfg-options`` that shrink the paper configs to the toy world and
    point them at ``target`` (``'both'``: test on every target;
    ``cyclegan``: for the CycleGAN config, which has no Siamese optimiser).

    The IDE backbone is :class:`~reidkit.models.backbones.SmallConvNet`
    (ResNet-18 from scratch at 32x16 learns next to nothing, see the
    module's README); the translator's generators are identity-initialised
    residual ones (``residual=True``), trained with :data:`TOY_GAN` and a
    linear decay of the learning rate over the second half."""
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
        'translator.model.generator.residual': True,
        'translator.model.discriminator.ndf': 16,
        'translator.model.discriminator.n_layers': 2,
        'translator.model.siamese.ch': 8, 'translator.model.siamese.dim': 16,
        'translator.model.identity_weight': TOY_GAN['identity_weight'],
        'translator.train_cfg.max_iters': translator_iters,
        'translator.param_scheduler': [dict(
            type='LinearLR', start_factor=1.0, end_factor=0.01, by_epoch=False,
            begin=translator_iters // 2, end=translator_iters)],
        'translator.train_dataloader.batch_size': TOY_GAN['batch_size'],
        'translator.train_dataloader.num_workers': 0,
        'translator.default_hooks.logger.interval': 10 ** 6,
        'translator.log_level': 'WARNING',
        'model.backbone': dict(_delete_=True, type='SmallConvNet',
                               channels=list(TOY_CHANNELS)),
        'model.channels_last': False,
        'model.neck.in_channels': TOY_CHANNELS[-1],
        'model.head.in_channels': TOY_CHANNELS[-1],
        'train_cfg.max_epochs': epochs, 'train_cfg.val_interval': epochs,
        'param_scheduler': [dict(type='MultiStepLR', by_epoch=True,
                                 milestones=milestones, gamma=0.1)],
        'train_dataloader.batch_size': 8, 'train_dataloader.num_workers': 0,
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
        **{f'translator.optim_wrapper.{k}.optimizer.lr': TOY_GAN['lr']
           for k in ('model', 'discriminator')
           + (() if cyclegan else ('siamese', ))},
    }


def reference_options(world: Dict[str, str], target: str) -> dict:
    """Options that turn the full-set config into the upper reference: the
    same IDE trained on the target's own training split (its identities are
    disjoint from the test split's)."""
    look = TARGET_LOOKS[target]
    return {'train_dataloader.dataset': dict(
        _delete_=True, type=look['dataset'], data_root=world[target],
        split='train', pipeline='${train_pipeline}')}


def chance_level(root: str, dataset: str, seeds: Sequence[int],
                 dim: int = 128) -> List[dict]:
    """R1 / mAP (%) of random Gaussian features on the target's query /
    gallery split (its own protocol, the same ranking code as the test
    stage), one dict per seed: what a model that learnt nothing scores."""
    from reidkit.evaluation.protocols import build_protocol
    from reidkit.registry import DATASETS
    sides = {}
    for split in ('query', 'gallery'):
        ds = DATASETS.build(dict(type=dataset, data_root=root, split=split,
                                 check_images=False))
        sides[split] = {k: np.array([ds.get_data_info(i)[k]
                                     for i in range(len(ds))])
                        for k in ('pid', 'camid')}
    protocol = build_protocol(ds.metainfo.get('protocol', 'market'))
    out = []
    for seed in seeds:
        rng = np.random.default_rng(seed)
        q = rng.standard_normal((len(sides['query']['pid']), dim))
        g = rng.standard_normal((len(sides['gallery']['pid']), dim))
        dist = ((q[:, None] - g[None]) ** 2).sum(-1)
        r = protocol.evaluate(dist, sides['query'], sides['gallery'])
        out.append(dict(R1=100 * float(r['cmc'][0]), mAP=100 * float(r['mAP'])))
    return out


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
            trained = bool(runs[0]['images'])     # the chance row trains nothing
            lines.append(
                f'| {target} | {name} | {runs[0]["images"] if trained else "-"} | '
                f'{mean_std([r["R1"] for r in runs])} | '
                f'{mean_std([r["mAP"] for r in runs])} | '
                + (f'{mean_std([r["train_cpu"] for r in runs], 0)} |'
                   if trained else '- |'))
    return '\n'.join(lines)


def _count(path: str) -> int:
    with open(path, encoding='utf-8') as f:
        return sum(1 for line in f if line.strip())


def run_variant(job: dict) -> dict:
    """Train and test one (seed, variant, target) run; the result is kept in
    ``<work_dir>/toy_row.json`` and read back when it exists (resume)."""
    import json
    record = osp.join(job['work_dir'], 'toy_row.json')
    if osp.isfile(record):
        with open(record, encoding='utf-8') as f:
            return json.load(f)
    import torch
    torch.set_num_threads(job['threads'])
    logging.getLogger('py.warnings').setLevel(logging.ERROR)
    t0 = time.time()
    # Stage I / II ran once before (a fine-tuning stage re-runs in every new
    # work dir, so the shared translator would be re-trained per run)
    metrics, times = run_config_stages(osp.join(ROOT, job['config']),
                                       job['options'], job['work_dir'],
                                       stages=['train', 'test'])
    row = dict(metrics={t: dict(R1=metrics[f'{t}/R1'], mAP=metrics[f'{t}/mAP'])
                        for t in job['tests']},
               train_cpu=times.get('train', {}).get('cpu', float('nan')),
               wall=time.time() - t0,
               cpu=sum(v['cpu'] for v in times.values()))
    os.makedirs(job['work_dir'], exist_ok=True)
    with open(record + '.tmp', 'w', encoding='utf-8') as f:
        json.dump(row, f)
    os.replace(record + '.tmp', record)
    print(f"[seed {job['seed']}] {job['name']} ({job['target']}): "
          f"{row['wall']:.0f} s wall, {row['cpu']:.0f} CPU s", flush=True)
    return row


def translation_report(world: Dict[str, str], shared: str, target: str,
                       size=(32, 16)) -> Dict[str, float]:
    """Stage I's style / content distances (random-weight VGG-19, seeded) of
    the selected source images and of their translations to ``target``'s
    training images (:func:`~plugins.aost.distances.translation_distances`)."""
    import torch

    from reidkit.datasets.synthetic import SyntheticDataset
    from .distances import StyleContentDistance, translation_distances
    look = TARGET_LOOKS[target]
    trans = SyntheticDataset(osp.join(shared, 'translated'))
    pairs = sorted((trans.get_data_info(i)['provenance']['source'],
                    trans.get_data_info(i)['img_path']) for i in range(len(trans)))
    import glob
    tgt = sorted(glob.glob(osp.join(world[target], look['pattern'])))
    torch.manual_seed(0)
    dist = StyleContentDistance(None, size=size, batch_size=64)
    return translation_distances(dist, [p for p, _ in pairs],
                                 [t for _, t in pairs], tgt)


def main(argv=None) -> Dict[str, Dict[str, List[dict]]]:
    ap = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    ap.add_argument('--seeds', type=int, nargs='+', default=[0, 1, 2])
    ap.add_argument('--work-dir', default='work_dirs/aost_toy_ablation')
    ap.add_argument('--source-ids', type=int, default=16)
    ap.add_argument('--target-ids', type=int, default=80)
    ap.add_argument('--epochs', type=int, default=20)
    ap.add_argument('--translator-iters', type=int, default=300)
    ap.add_argument('--jobs', type=int, default=2,
                    help='re-ID runs trained in parallel (processes)')
    ap.add_argument('--threads', type=int, default=1,
                    help='torch threads per process (default 1: on a shared '
                         '2-core machine more threads cost CPU time, not wall '
                         'time)')
    args = ap.parse_args(argv)
    sys.path.insert(0, ROOT)
    import torch
    torch.set_num_threads(args.threads)
    logging.getLogger('py.warnings').setLevel(logging.ERROR)
    start, cpu0 = time.time(), cpu_seconds()
    world = build_world(osp.join(args.work_dir, 'data'), args.source_ids,
                        args.target_ids)
    print(f'toy world ready: {time.time() - start:.0f} s', flush=True)
    # Stage I / II once per target (shared by every seed and variant)
    report = {}
    for target in TARGET_LOOKS:
        t0, c0 = time.time(), cpu_seconds()
        shared = osp.abspath(osp.join(args.work_dir, target))
        opts = toy_options(world, target, args.epochs, args.translator_iters, 0)
        opts['aost_root'] = shared
        _, times = run_config_stages(osp.join(ROOT, VARIANTS[2][1]), opts,
                                     osp.join(args.work_dir, f'stage12_{target}'),
                                     stages=SHARED_STAGES)
        report[target] = translation_report(world, shared, target)
        print(f'Stage I/II for {target}: {time.time() - t0:.0f} s wall, '
              f'{cpu_seconds() - c0:.0f} CPU s ('
              + ', '.join(f'{k} {v["cpu"]:.0f}' for k, v in times.items()) + ')',
              flush=True)
    jobs = []
    for seed in args.seeds:
        for name, config, specific in VARIANTS:
            for target in (TARGET_LOOKS if specific else ['both']):
                shared = osp.abspath(osp.join(
                    args.work_dir, 'market' if target == 'both' else target))
                opts = toy_options(world, target, args.epochs,
                                   args.translator_iters, seed)
                opts['aost_root'] = shared
                stem = osp.splitext(osp.basename(config))[0]
                if name == REFERENCE:
                    opts.update(reference_options(world, target))
                    stem = 'reference'
                jobs.append(dict(
                    seed=seed, name=name, config=config, target=target,
                    options=opts, threads=args.threads,
                    tests=list(TARGET_LOOKS) if target == 'both' else [target],
                    work_dir=osp.join(args.work_dir, f'{stem}_{target}_seed{seed}'),
                    images=_images(config, shared, world, target
                                   if name == REFERENCE else None)))
    results = [None] * len(jobs)
    for i, res in parallel_map(run_variant, jobs, jobs=args.jobs):
        results[i] = res
    rows = {t: {CHANCE: [dict(r, train_cpu=0.0, images=0) for r in chance_level(
        world[t], TARGET_LOOKS[t]['dataset'], args.seeds)]}
        for t in TARGET_LOOKS}
    for t in rows:
        rows[t].update({name: [] for name, _, _ in VARIANTS})
    for job, res in zip(jobs, results):
        for t in job['tests']:
            rows[t][job['name']].append(dict(res['metrics'][t],
                                             train_cpu=res['train_cpu'],
                                             images=job['images']))
    print(format_table(rows, args.seeds))
    print(format_report(report))
    print(f'total {time.time() - start:.0f} s wall, {cpu_seconds() - cpu0:.0f} s '
          'CPU (user + sys, this process and its children)')
    return rows


def format_report(report: Dict[str, Dict[str, float]]) -> str:
    """The translator check: style distances to the target before
    (selected) and after translation, with the target's own half-to-half
    floor for the set measures, and the content kept
    (:func:`~plugins.aost.distances.translation_distances`)."""
    lines = ['', 'Translator check (selected subset -> translated; random-weight '
             'VGG-19; floor = one half of the target vs the other):',
             '| target | Gram per image (Stage I) | Gram of the set (floor) '
             '| colour mean/std (floor) | content: own source / another |',
             '|---|---|---|---|---|']
    for t, r in report.items():
        lines.append(
            f"| {t} | {r['style_source']:.3g} -> {r['style_translated']:.3g} "
            f"| {r['set_style_source']:.3g} -> {r['set_style_translated']:.3g} "
            f"({r['set_style_floor']:.2g}) "
            f"| {r['colour_source']:.3g} -> {r['colour_translated']:.3g} "
            f"({r['colour_floor']:.2g}) "
            f"| {r['content_own']:.3g} / {r['content_other']:.3g} |")
    return '\n'.join(lines)


def _images(config: str, shared: str, world: Dict[str, str],
            reference: str = None) -> int:
    """Training images of a variant (the image list, the whole source, or
    the ``reference`` target's training split)."""
    if reference:
        import glob
        look = TARGET_LOOKS[reference]
        return len(glob.glob(osp.join(world[reference], look['pattern'])))
    if config.endswith('_random.py'):
        return _count(osp.join(shared, 'aost', 'random.txt'))
    if config.endswith('full_ide.py'):
        return sum(len(fs) for _, _, fs in os.walk(
            osp.join(world['finegpr'], 'FineGPR')))
    return _count(osp.join(shared, 'aost', 'selected.txt'))


if __name__ == '__main__':
    main()
