"""DLCR ablation on the toy PRCC: CAL vs + generated data vs + progressive
pairing vs + refinement, over several seeds, printed as one table.

    python -m plugins.dlcr.toy_ablation [--data-root data/toy/prcc_ablation]
        [--seeds 0 1 2] [--work-dir work_dirs/dlcr_toy_ablation]

Builds the toy PRCC when ``--data-root`` is missing (``tools/make_toy_data.py
prcc ROOT --ids 100 --size 64x32`` with the knobs identity_spread=3.0,
lookalike_frac=0.7, camera_strength=0.5: 60 training and 32 test
identities, with identity cues stronger than the toy world's defaults so
that a ResNet-18 trained from scratch for 7 epochs can learn some of them),
then for every seed trains

* ``configs/cal/toy_prcc_cal.py`` -- the CAL baseline;
* ``configs/dlcr/toy_prcc_cal_gen.py`` -- + DLCR data (paired batches, all
  variants from epoch 0);
* ``configs/dlcr/toy_prcc_cal.py`` -- + progressive pairing; its test also
  gives + refinement (Algorithm 1 with l=6 query variants, m=5).

The generated data (K=10 per image) and the query variants are made once, in
``<work-dir>/data``, and shared by all runs. Scores are the clothes-changing
protocol of PRCC (query camera C vs gallery A), top-1 and mAP in percent,
mean and sample standard deviation (ddof=1) over the seeds; the baseline's same-clothes mAP
(query B vs gallery A) is printed for reference. Torch runs one thread
(``--threads``): on a shared or 2-core machine more threads spin and cost
CPU time without saving wall time.
"""
from __future__ import annotations

import argparse
import logging
import os
import os.path as osp
import subprocess
import sys
import time
from typing import Dict, List

import numpy as np

from reidkit.ablation import cpu_seconds, mean_std, run_config_stages

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
CONFIGS = [
    ('CAL baseline', 'configs/cal/toy_prcc_cal.py', ''),
    ('+ generated data', 'configs/dlcr/toy_prcc_cal_gen.py', ''),
    ('+ progressive pairing', 'configs/dlcr/toy_prcc_cal.py', 'plain/'),
    ('+ refinement', None, ''),  # the previous run's refined scores
]

def train_once(config: str, data_root: str, work_dir: str, seed: int,
               data_dir: str, epochs: int = None) -> Dict[str, float]:
    """Run one config's stages in this process; returns the test metrics.

    The generated data go to ``data_dir`` (the configs' ``dlcr_root``), so
    every run after the first finds them complete and skips generation.
    """
    options = {'data_root': data_root, 'dlcr_root': data_dir,
               'randomness.seed': seed, 'randomness.deterministic': False,
               'log_level': 'WARNING'}
    if epochs:
        options['train_cfg.max_epochs'] = int(epochs)
    return run_config_stages(osp.join(ROOT, config), options, work_dir)


def main(argv=None) -> List[dict]:
    ap = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    ap.add_argument('--data-root', default='data/toy/prcc_ablation')
    ap.add_argument('--seeds', type=int, nargs='+', default=[0, 1, 2])
    ap.add_argument('--work-dir', default='work_dirs/dlcr_toy_ablation')
    ap.add_argument('--ids', type=int, default=100,
                    help='identities of a newly built toy PRCC')
    ap.add_argument('--size', default='64x32',
                    help='HxW of a newly built toy PRCC')
    ap.add_argument('--knob', nargs='*',
                    default=['identity_spread=3.0', 'lookalike_frac=0.7',
                             'camera_strength=0.5'],
                    help='toy-world knobs of a newly built toy PRCC')
    ap.add_argument('--threads', type=int, default=1,
                    help='torch threads (default 1)')
    ap.add_argument('--epochs', type=int, default=None,
                    help='override the configs\' max_epochs (smoke runs)')
    ap.add_argument('--only', nargs='+', default=None,
                    help='config files to run (default: all three)')
    args = ap.parse_args(argv)
    os.environ.setdefault('HF_HUB_OFFLINE', '1')
    sys.path.insert(0, ROOT)
    import torch
    torch.set_num_threads(args.threads)
    start = time.time()
    if not osp.isdir(osp.join(args.data_root, 'rgb')):
        print(f'building the toy PRCC in {args.data_root}', flush=True)
        knobs = [a for k in args.knob for a in ('--knob', k)]
        subprocess.run([sys.executable, osp.join(ROOT, 'tools',
                                                 'make_toy_data.py'), 'prcc',
                        args.data_root, '--ids', str(args.ids), '--seed', '0',
                        '--size', args.size, '--workers', '1'] + knobs,
                       check=True)
    logging.getLogger('py.warnings').setLevel(logging.ERROR)
    data_dir = osp.abspath(osp.join(args.work_dir, 'data'))
    rows: Dict[str, List[tuple]] = {name: [] for name, _, _ in CONFIGS}
    same_clothes: List[float] = []
    for seed in args.seeds:
        last, last_config = None, None
        for name, config, prefix in CONFIGS:
            if config is None:  # the progressive-pairing run's refined scores
                m = last if last_config == CONFIGS[2][1] else None
            elif args.only and config not in args.only:
                continue
            else:
                t0 = time.time()
                stem = osp.splitext(osp.basename(config))[0]
                group = osp.basename(osp.dirname(config))  # cal / dlcr
                wd = osp.join(args.work_dir, f'{group}_{stem}_seed{seed}')
                m = train_once(config, args.data_root, wd, seed, data_dir,
                               args.epochs)
                last, last_config = m, config
                print(f'[seed {seed}] {config}: {time.time() - t0:.0f} s '
                      f'(CPU so far {cpu_seconds():.0f} s)', flush=True)
            if m is not None:
                rows[name].append((m[f'{prefix}cc/R1'],
                                   m[f'{prefix}cc/mAP']))
                if config == CONFIGS[0][1]:
                    same_clothes.append(m['sc/mAP'])
    table = format_table(rows, args.seeds, same_clothes)
    print(table)
    print(f'total {time.time() - start:.0f} s wall, {cpu_seconds():.0f} s '
          'CPU (user + sys, this process and its children)')
    return [dict(name=k, runs=v) for k, v in rows.items()]


def format_table(rows: Dict[str, List[tuple]], seeds,
                 same_clothes: List[float] = ()) -> str:
    """The README's table: mean +- sample std over seeds, clothes-changing."""
    lines = [f'Toy PRCC, clothes-changing protocol (query C vs gallery A); '
             f'mean +- sample std over seeds {list(seeds)}', '',
             '| method | top-1 (%) | mAP (%) |', '|---|---|---|']
    for name, vals in rows.items():
        if not vals:
            continue
        r1 = np.array([v[0] for v in vals])
        ap = np.array([v[1] for v in vals])
        lines.append(f'| {name} | {mean_std(r1)} | {mean_std(ap)} |')
    if len(same_clothes):
        sc = np.asarray(same_clothes)
        lines += ['', f'CAL baseline, same-clothes protocol (query B vs '
                  f'gallery A): mAP {mean_std(sc)}']
    return '\n'.join(lines)


if __name__ == '__main__':
    main()
