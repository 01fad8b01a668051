"""DiVE's Table 3 directions and Fig. 5 in the toy world.

    python -m plugins.dive.toy_ablation [--root work_dirs/dive_toy]
        [--seeds 0 1 2] [--epochs 8] [--perturb 0.2] [--jobs 2]

Renders a toy SYSU-MM01 and a toy Market-1501 (``tools/make_toy_data.py``,
``--ids`` 200 each, 64x32, under ``<root>/ids<N>/``) when missing, writes
the DiVE vocabulary (per camera and per modality), and generates infrared
images of the external (toy Market) identities with
:class:`DiVEToyIRGenerator` -- the stand-in for the
fine-tuned SD-1.5: it renders each identity's annotated attributes in
infrared (one consistent person per identity), either in one generic
infrared look ("single view") or in the look of each infrared camera of the
toy SYSU-MM01, 3 and 6 (its own camera tables, "multi view"), replacing
each attribute of an identity with probability ``--perturb`` (imperfect
identity inversion). Then for every seed it trains ``configs/dive/
toy_sysu_smallconv.py`` (SmallConvNet from random weights, 32x16) on

* the toy SYSU-MM01 alone (baseline);
* + generated IR images, single view (IR only);
* + external RGB + generated IR, single view;
* + external RGB + generated IR, multi view;

and, for the last, with the first n external identities only (mAP vs
number of external identities, seed 0 ... all seeds). Scores: all-search
(IR queries, RGB gallery, 10 trials), rank-1 and mAP in percent, mean +-
sample standard deviation over the seeds. The runs are independent: ``--jobs``
worker processes (default 2) train them, one torch thread each.
"""
from __future__ import annotations

import argparse
import logging
import os
import os.path as osp
import subprocess
import sys
import time
from typing import Dict, List, Optional

import numpy as np

from reidkit.stages.inprocess import cpu_seconds, parallel_map, sample_std

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
CONFIG = 'configs/dive/toy_sysu_smallconv.py'
IR_CAMS = (3, 6)
SETTINGS = [
    ('baseline (toy SYSU-MM01)', None),
    ('+ IR, single view', dict(view='single', rgb=False)),
    ('+ RGB + IR, single view', dict(view='single', rgb=True)),
    ('+ RGB + IR, multi view', dict(view='camera', rgb=True)),
]


def make_toy(kind: str, out: str, ids: int) -> str:
    if not osp.isdir(out):
        subprocess.run([sys.executable, osp.join(ROOT, 'tools',
                                                 'make_toy_data.py'),
                        kind, out, '--ids', str(ids), '--seed', '0',
                        '--size', '64x32'], check=True, cwd=ROOT,
                       capture_output=True)
    return out


def external_cfg(market: str, min_images: int, **kw) -> dict:
    return dict(type='DiVEExternalDataset', data_root=market,
                folder='bounding_box_train', min_images=min_images, **kw)


def generate(sysu: str, market: str, root: str, view: str, perturb: float,
             per_camera: int, min_images: int) -> str:
    """Vocabulary + infrared images of every external identity (resumable)."""
    from synthgen.pipeline import GenerationPipeline

    from .pipeline import run_vocabulary
    granularity = 'camera' if view == 'camera' else 'modality'
    voc = run_vocabulary(dict(type='SYSUMM01', data_root=sysu,
                              split='train'),
                         external_cfg(market, min_images),
                         osp.join(root, f'vocabulary_{granularity}'),
                         granularity=granularity)
    out = osp.join(root, f'ir_{view}_p{perturb:g}')
    GenerationPipeline(
        source=dict(type='IdentityListSource',
                    identities=voc['gen_identities'], cameras=IR_CAMS,
                    modality=1),
        prompt_builder=dict(type='DiVEPromptBuilder',
                            codes_file=voc['codes']),
        generator=dict(type='DiVEToyIRGenerator', view=view,
                       perturb=perturb, size=(64, 32), target_root=sysu,
                       attributes_file=osp.join(market, '_toy_annotations',
                                                'attributes.jsonl')),
        writer=dict(out_dir=out), num_variants=per_camera * len(IR_CAMS),
        seed=0, batch_size=16).run(rank=0, world_size=1, progress=False)
    return out


def train_once(sysu: str, work_dir: str, seed: int, epochs: int,
               extra: Optional[dict]) -> Dict[str, float]:
    """Train and test the toy config; ``extra``: a DiVEExternalDataset
    config joined to the training set."""
    from mmengine.runner import Runner

    from reidkit.apis import fill_dataset_counts, load_config, setup_runtime
    cfg = load_config(osp.join(ROOT, CONFIG), {
        'data_root': sysu, 'randomness.seed': seed,
        'randomness.deterministic': False, 'log_level': 'WARNING',
        'train_cfg.max_epochs': int(epochs),
        'experiment_name': f'dive_toy_seed{seed}_{time.time_ns()}'},
        work_dir=work_dir)
    if extra is not None:
        ds = cfg.train_dataloader.dataset
        cfg.train_dataloader.dataset = dict(
            type='ReIDConcatDataset', pipeline=ds.pipeline,
            datasets=[dict(type='SYSUMM01', data_root=sysu, split='train'),
                      extra])
    setup_runtime(cfg, 'none')
    fill_dataset_counts(cfg)
    runner = Runner.from_cfg(cfg)
    runner.train()
    return runner.test()


def _score(metrics: dict):
    """(R1, mAP) in percent from ReIDMetric's keys (``R1``, ``mAP``)."""
    def pick(name):
        for k, v in metrics.items():
            if k.split('/')[-1] == name:
                return float(v)
        raise KeyError(f'no metric {name!r}: {sorted(metrics)}')
    r1, mean_ap = pick('R1'), pick('mAP')
    scale = 100.0 if max(r1, mean_ap) <= 1.0 else 1.0
    return r1 * scale, mean_ap * scale


def chance_level(sysu: str, draws: int = 20, seed: int = 0):
    """(R1, mAP) in percent of a random ranking under the all-search
    protocol on the toy SYSU-MM01 test set (mean of ``draws`` random
    distance matrices): what a model that learned nothing scores."""
    from reidkit.evaluation.protocols import build_protocol
    from reidkit.registry import DATASETS

    def labels(split):
        ds = DATASETS.build(dict(type='SYSUMM01', data_root=sysu, split=split))
        rows = [ds.get_data_info(i) for i in range(len(ds))]
        return {k: np.array([r[k] for r in rows])
                for k in ('pid', 'camid', 'modality', 'img_path')}
    query, gallery = labels('query'), labels('gallery')
    proto, rng = build_protocol('sysu_all'), np.random.default_rng(seed)
    res = [proto.evaluate(rng.random((len(query['pid']),
                                      len(gallery['pid']))), query, gallery)
           for _ in range(draws)]
    return (100 * float(np.mean([r['cmc'][0] for r in res])),
            100 * float(np.mean([r['mAP'] for r in res])))


def mean_std(values) -> str:
    """``mean +- sample std`` (ddof=1; 0 for one value)."""
    v = np.asarray(values, dtype=float)
    return f'{v.mean():5.1f} +- {sample_std(v):4.1f}'


def format_table(rows: Dict[str, List[tuple]], seeds) -> str:
    head = (f"{'training data':<32} {'R1 (%)':>13} {'mAP (%)':>13}"
            f"   seeds {list(seeds)}")
    lines = [head, '-' * len(head)]
    for name, scores in rows.items():
        lines.append(f'{name:<32} {mean_std([s[0] for s in scores]):>13} '
                     f'{mean_std([s[1] for s in scores]):>13}')
    return '\n'.join(lines)


def _train_job(job: dict) -> dict:
    """One training run of the table (a worker of :func:`parallel_map`):
    its (R1, mAP) and the CPU seconds it took in its process."""
    logging.getLogger('mmengine').setLevel(logging.WARNING)
    import plugins.dive  # noqa: F401
    from mmengine.registry import init_default_scope
    init_default_scope('reidkit')
    cpu = cpu_seconds()
    score = _score(train_once(job['sysu'], job['work'], job['seed'],
                              job['epochs'], job['extra']))
    return dict(score=score, cpu=cpu_seconds() - cpu)


def main(argv=None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    ap.add_argument('--root', default='work_dirs/dive_toy')
    ap.add_argument('--seeds', type=int, nargs='+', default=[0, 1, 2])
    ap.add_argument('--epochs', type=int, default=8)
    ap.add_argument('--ids', type=int, default=200,
                    help='identities of each toy dataset')
    ap.add_argument('--min-images', type=int, default=8)
    ap.add_argument('--per-camera', type=int, default=6,
                    help='generated images per identity per IR camera '
                         '(paper: 18)')
    ap.add_argument('--perturb', type=float, default=0.2)
    ap.add_argument('--sweep', type=int, nargs='*', default=[37],
                    help='numbers of external identities for the sweep '
                         '(plus all)')
    ap.add_argument('--jobs', type=int, default=2,
                    help='training runs in parallel (worker processes of '
                         'one thread each; 1: all in this process)')
    args = ap.parse_args(argv)
    import torch
    torch.set_num_threads(1)
    logging.getLogger('mmengine').setLevel(logging.WARNING)
    import plugins.dive  # noqa: F401
    from mmengine.registry import init_default_scope
    init_default_scope('reidkit')
    t0 = time.time()
    # one folder per world size: a toy of another --ids is another world
    root = osp.join(osp.abspath(args.root), f'ids{args.ids}')
    sysu = make_toy('sysu_mm01', osp.join(root, 'sysu_mm01'), args.ids)
    market = make_toy('market1501', osp.join(root, 'market1501'), args.ids)
    ir = {view: generate(sysu, market, root, view, args.perturb,
                         args.per_camera, args.min_images)
          for view in ('single', 'camera')}
    from reidkit.registry import DATASETS
    n_ext = DATASETS.build(external_cfg(market, args.min_images)
                           ).metainfo['num_pids']
    # (table, row name, external dataset config or None) per row
    rows_spec = [('table', name, None if setting is None else external_cfg(
        market, args.min_images, synthetic_root=ir[setting['view']],
        include_rgb=setting['rgb'])) for name, setting in SETTINGS]
    rows_spec += [('sweep', f'{n}', external_cfg(
        market, args.min_images, max_ids=n, synthetic_root=ir['camera']))
        for n in args.sweep if n < n_ext]
    jobs = [dict(table=t, name=name, seed=seed, sysu=sysu,
                 work=osp.join(root, 'runs'), epochs=args.epochs, extra=extra)
            for t, name, extra in rows_spec for seed in args.seeds]
    scores: Dict[tuple, tuple] = {}
    for i, out in parallel_map(_train_job, jobs, args.jobs):
        job = jobs[i]
        scores[(job['table'], job['name'], job['seed'])] = out['score']
        label = job['name'] + (' external ids' if job['table'] == 'sweep'
                               else '')
        print(f'[{time.time() - t0:6.0f}s wall] {label} seed {job["seed"]}:'
              f' R1 {out["score"][0]:.1f} mAP {out["score"][1]:.1f} '
              f'({out["cpu"]:.0f}s CPU)', flush=True)
    rows: Dict[str, List[tuple]] = {
        name: [scores[('table', name, s)] for s in args.seeds]
        for name, _ in SETTINGS}
    sweep: Dict[str, List[tuple]] = {'0 (baseline)': rows[SETTINGS[0][0]]}
    for t, name, _ in rows_spec:
        if t == 'sweep':
            sweep[name] = [scores[('sweep', name, s)] for s in args.seeds]
    sweep[f'{n_ext} (all)'] = rows[SETTINGS[-1][0]]
    print()
    print(f'Toy Table 3 (all-search; perturb={args.perturb}, '
          f'{args.per_camera} IR images per identity per camera, '
          f'{n_ext} external identities)')
    print(format_table(rows, args.seeds))
    r1, mean_ap = chance_level(sysu)
    print(f"{'random ranking (chance level)':<32} {r1:5.1f}{'':8} "
          f'{mean_ap:5.1f}')
    print()
    print('mAP vs number of external identities (RGB + IR, multi view)')
    print(format_table({f'{k} external ids': v for k, v in sweep.items()},
                       args.seeds))
    grid = save_grid(market, dict(single=ir['single'], camera=ir['camera']),
                     osp.join(root, 'toy_grid.png'))
    print(f'\ntotal {time.time() - t0:.0f} s wall, {cpu_seconds():.0f} s CPU '
          f'(user + sys, this process and its workers, --jobs '
          f'{args.jobs}); '
          f'generated IR grid: {grid}')
    return dict(table=rows, sweep=sweep)


def save_grid(market: str, ir_dirs: Dict[str, str], out_png: str,
              num_ids: int = 6, scale: int = 2) -> str:
    """PNG grid: per external identity, an RGB source image of the toy
    Market beside its generated IR images (one column per view / camera).

    Args:
        market (str): the toy Market root.
        ir_dirs (dict): column group name -> generated images folder.
        out_png (str): output file.
        num_ids (int): rows.
        scale (int): pixel upscaling (the toy images are 64x32).
    """
    import json
    from glob import glob

    from PIL import Image

    from reidkit.registry import DATASETS
    lines = {}
    for name, folder in ir_dirs.items():
        for f in sorted(glob(osp.join(folder, 'manifest*.jsonl'))):
            for ln in open(f):
                e = json.loads(ln)
                if e.get('kind') == 'unit_done':
                    continue
                lines.setdefault((name, e['pid'], e['camid']), osp.join(
                    folder, e['path']))
    ext = DATASETS.build(external_cfg(market, 1))
    first = {}
    for i in range(len(ext)):
        s = ext[i]
        first.setdefault(s['orig_pid'], s['img_path'])
    pids = [p for p in sorted(first)
            if all((n, p, c) in lines for n in ir_dirs for c in IR_CAMS)]
    pids = pids[:num_ids]
    cols = 1 + len(ir_dirs) * len(IR_CAMS)
    w, h = 32 * scale, 64 * scale
    grid = Image.new('RGB', (cols * (w + 4), len(pids) * (h + 4)), 'white')
    for r, p in enumerate(pids):
        paths = [first[p]] + [lines[(n, p, c)] for n in ir_dirs
                              for c in IR_CAMS]
        for c, path in enumerate(paths):
            img = Image.open(path).convert('RGB').resize((w, h),
                                                         Image.NEAREST)
            grid.paste(img, (c * (w + 4), r * (h + 4)))
    os.makedirs(osp.dirname(osp.abspath(out_png)), exist_ok=True)
    grid.save(out_png)
    return out_png


if __name__ == '__main__':
    main()
