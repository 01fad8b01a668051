"""Vehicle-Diff's ablation directions in the toy world, over several seeds.

    python -m plugins.vehicle_diff.toy_ablation [--seeds 0 1 2]
        [--data-root data/toy/veri776_ablation] [--work-dir work_dirs/vd_toy_ablation]

Builds a toy VeRi-776 (``--ids`` vehicles at 64x64, when ``--data-root`` is
missing) and a toy prompt library (``--library-ids`` identities of the toy
vocabulary, the paper's template), then for every seed runs
``configs/vehicle_diff/toy_veri776.py`` through the stage machinery in this
process (finetune -> generate -> fid -> train -> test) once per row:

* Table V (synthetic only): neither (the un-fine-tuned style, no filters),
  + fine-tuning (the style of a seeded 1 % of the target), + filtering (the
  detection crop and the colour check on top): R1, mAP, FID;
* Table II's mixing rows (the issue's "Table VI directions"): real only,
  real + synthetic mixed at random ("D"), real + synthetic in balanced
  batches ("B"), with the fine-tuned, filtered synthetic set.

The generator is the toy stand-in of plugins/vehicle_diff/toy.py: it draws
what the prompt says and fails as diffusion models do (``--failures``);
the filters are synthgen's ``DetectionCropFilter`` (mask backend) and
``CLIPAttributeFilter`` (the toy colour judge in place of CLIP). Every seed
changes the 1 % draw, the generated images and the training. Scores are
mean +- sample std (ddof=1) over the seeds. Torch runs one thread per
process; ``--jobs N`` (default 2) runs the rows in N worker processes (a
seed's synthetic-only rows in one, since they make the generated set its D /
B rows read, which start after them; every other row in its own).
"""
from __future__ import annotations

import argparse
import collections
import json
import logging
import os
import os.path as osp
import sys
import time
from typing import Dict, List, Optional

from reidkit.stages.inprocess import (cpu_seconds, mean_std, parallel_map,
                                      run_config_stages)

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
CONFIG = osp.join(ROOT, 'configs', 'vehicle_diff', 'toy_veri776.py')

_SYNTHETIC = {'train_dataloader.sampler': '${vd_sampler_identity}',
              'train_dataloader.dataset': '${vd_dataset_synthetic}'}
#: row -> (table, synthetic set or None, config options)
ROWS = collections.OrderedDict([
    ('neither', ('V', 'base_unfiltered',
                 dict(_SYNTHETIC, toy_style=None, vd_filters=[]))),
    ('+ fine-tuning', ('V', 'target_unfiltered',
                       dict(_SYNTHETIC, vd_filters=[]))),
    ('+ fine-tuning + filtering', ('V', 'target_filtered', dict(_SYNTHETIC))),
    ('real', ('VI', None, {
        'train_dataloader.sampler': '${vd_sampler_identity}',
        'train_dataloader.dataset': '${vd_dataset_real}'})),
    ('real + synthetic D', ('VI', 'target_filtered', {
        'train_dataloader.sampler': '${vd_sampler_mixed}'})),
    ('real + synthetic B', ('VI', 'target_filtered', {})),
])


def build_data(data_root: str, library: str, num_ids: int,
               library_ids: int) -> None:
    """The toy VeRi-776 and the toy prompt library, unless they exist."""
    from synthgen.toyworld.api import make_dataset

    from .library import toy_library, write_library
    make_dataset('veri776', data_root, num_ids=num_ids, seed=0, size=(64, 64),
                 workers=1)
    if not osp.isfile(library):
        write_library(toy_library(library_ids, seed=0), library)


def run_row(row: str, seed: int, data_root: str, library: str,
            work_dir: str, epochs: Optional[int] = None,
            images_per_identity: Optional[int] = None,
            failures: Optional[dict] = None,
            report_only: bool = False) -> Optional[Dict[str, float]]:
    """One row for one seed: test metrics plus ``fid``, ``ids``, ``images``.

    With ``report_only`` nothing runs: the row's results are read from its
    work dir, or None when its test has not finished.
    """
    _, synthetic, extra = ROWS[row]
    seed_dir = osp.abspath(osp.join(work_dir, f'seed{seed}'))
    data = osp.join(seed_dir, 'data')
    options = {'data_root': data_root, 'library': library,
               'randomness.seed': seed, 'randomness.deterministic': False,
               'log_level': 'WARNING', 'stages.0.seed': seed,
               'generation_pipeline.seed': seed,
               'style_file': osp.join(data, 'style.json')}
    if epochs:
        options['epochs'] = int(epochs)
    if images_per_identity:
        options['images_per_identity'] = int(images_per_identity)
    if failures is not None:
        options['generator.failures'] = dict(failures)
    only = None
    if synthetic:
        options['synthetic_dir'] = osp.join(data, synthetic)
        options['fid_file'] = osp.join(data, f'{synthetic}_fid.json')
    else:
        only = ['train', 'test']
    options.update(extra)
    tag = row.replace(' + ', '_').replace('+ ', '').replace(' ', '_')
    if report_only:
        path = osp.join(seed_dir, tag, 'metrics_test.json')
        if not osp.isfile(path):
            return None
        with open(path, encoding='utf-8') as f:
            metrics = json.load(f)
    else:
        metrics = dict(run_config_stages(CONFIG, options,
                                         osp.join(seed_dir, tag),
                                         stages=only)[0])
    if synthetic:
        with open(options['fid_file'], encoding='utf-8') as f:
            metrics['fid'] = json.load(f)['fid']
        metrics.update(synthetic_counts(options['synthetic_dir']))
    return metrics


def synthetic_counts(out_dir: str) -> Dict[str, object]:
    """Identities and images kept in a generated set, and the failures among them."""
    import glob

    from reidkit.datasets.synthetic import read_manifest
    lines = [e for m in sorted(glob.glob(osp.join(out_dir, 'manifest*.jsonl')))
             for e in read_manifest(m)]
    kinds = collections.Counter((e.get('generator_meta') or {}).get(
        'failure', 'none') for e in lines)
    return dict(ids=len({e['pid'] for e in lines}), images=len(lines),
                failures=dict(kinds))


def _name(row: str, runs: list, seeds) -> str:
    """The row's name; ``(n seeds)`` when fewer seeds than asked finished."""
    n = len(runs)
    return row if n >= len(list(seeds)) else f'{row} ({n} of {len(list(seeds))} seeds)'


def format_tables(per_row: Dict[str, List[Dict[str, float]]], seeds) -> str:
    """The two tables: mean +- sample std over the seeds."""
    out = [f'Toy VeRi-776, IDE ResNet-18 from random weights; mean +- sample '
           f'std over seeds {list(seeds)}', '',
           'Table V directions (synthetic only)', '',
           '| components | #IDs | #imgs | R1 (%) | mAP (%) | FID (random CNN) |',
           '|---|---|---|---|---|---|']
    for row, (table, _, _) in ROWS.items():
        runs = per_row.get(row) or []
        if table != 'V' or not runs:
            continue
        out.append(f'| {_name(row, runs, seeds)} | {mean_std([r["ids"] for r in runs], 0)} | '
                   f'{mean_std([r["images"] for r in runs], 0)} | '
                   f'{mean_std([r["R1"] for r in runs])} | '
                   f'{mean_std([r["mAP"] for r in runs])} | '
                   f'{mean_std([r["fid"] for r in runs], 2)} |')
    out += ['', 'Real / real + synthetic ("D" random mixing, "B" balanced '
            'batches; Table II\'s mixing rows)', '',
            '| training data | R1 (%) | mAP (%) |', '|---|---|---|']
    for row, (table, _, _) in ROWS.items():
        runs = per_row.get(row) or []
        if table != 'VI' or not runs:
            continue
        out.append(f'| {_name(row, runs, seeds)} | {mean_std([r["R1"] for r in runs])} | '
                   f'{mean_std([r["mAP"] for r in runs])} |')
    kept = collections.Counter()
    for row in ('+ fine-tuning', '+ fine-tuning + filtering'):
        for r in per_row.get(row) or []:
            kept[row] += 0
            for kind, n in (r.get('failures') or {}).items():
                kept[(row, kind)] += n
    lines = []
    for row in ('+ fine-tuning', '+ fine-tuning + filtering'):
        if row in kept:
            parts = ', '.join(f'{k} {kept[(row, k)]}' for k in
                              ('none', 'wrong_color', 'partial', 'empty'))
            lines.append(f'  {row}: {parts}')
    if lines:
        out += ['', 'generated images kept, by what the generator drew '
                '(all seeds):'] + lines
    return '\n'.join(out)


#: rows that read the generated set a seed's Table V rows make
_AFTER_GENERATION = ('real + synthetic D', 'real + synthetic B')


def parallel_tasks(seeds, rows) -> List[tuple]:
    """``(seed, rows, after)`` units of work for ``--jobs``: a seed's
    synthetic-only rows in one unit (they write the generated sets), every
    other row alone; a D / B row's ``after`` is the index of its seed's
    first unit (:func:`~reidkit.stages.inprocess.parallel_map` starts it
    once that one has finished), else None."""
    tasks = []
    for seed in seeds:
        first = [r for r in rows if ROWS[r][0] == 'V']
        writer = len(tasks) if first else None
        if first:
            tasks.append((seed, first, None))
        for r in rows:
            if ROWS[r][0] != 'V':
                waits = writer if r in _AFTER_GENERATION else None
                tasks.append((seed, [r], waits))
    return tasks


def _run_task(task) -> None:
    """A worker of :func:`run_parallel`: run the ``(seed, rows, args,
    library)`` rows and print their lines."""
    seed, rows, args, library = task
    import torch
    torch.set_num_threads(args.threads)
    logging.getLogger('py.warnings').setLevel(logging.ERROR)
    for row in rows:
        t0, c0 = time.time(), cpu_seconds()
        m = run_row(row, seed, osp.abspath(args.data_root),
                    osp.abspath(library), args.work_dir, args.epochs,
                    args.images_per_identity)
        print(f'[seed {seed}] {row}: R1 {m["R1"]:.1f} mAP {m["mAP"]:.1f}'
              + (f' FID {m["fid"]:.2f}' if 'fid' in m else '')
              + f' ({time.time() - t0:.0f} s, {cpu_seconds() - c0:.0f} CPU s)',
              flush=True)


def run_parallel(args, library: str, jobs: int) -> None:
    """Run the rows in ``jobs`` worker processes (one torch thread each),
    a D / B row after its seed's synthetic-only rows."""
    tasks = parallel_tasks(args.seeds, args.rows or list(ROWS))
    units = [(seed, rows, args, library) for seed, rows, _ in tasks]
    for _ in parallel_map(_run_task, units, jobs=jobs,
                          after=[a for _, _, a in tasks]):
        pass


def main(argv=None) -> Dict[str, List[dict]]:
    ap = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    ap.add_argument('--data-root', default='data/toy/veri776_ablation')
    ap.add_argument('--library', default=None,
                    help='toy prompt library (default: <work-dir>/library.csv,'
                         ' built when missing)')
    ap.add_argument('--work-dir', default='work_dirs/vd_toy_ablation')
    ap.add_argument('--seeds', type=int, nargs='+', default=[0, 1, 2])
    ap.add_argument('--ids', type=int, default=60,
                    help='vehicles of a newly built toy VeRi-776')
    ap.add_argument('--library-ids', type=int, default=60,
                    help='identities of a newly built toy library')
    ap.add_argument('--images-per-identity', type=int, default=None)
    ap.add_argument('--epochs', type=int, default=None,
                    help="override the config's epochs (smoke runs)")
    ap.add_argument('--rows', nargs='+', default=None, choices=list(ROWS),
                    help='rows to run (default: all)')
    ap.add_argument('--threads', type=int, default=1)
    ap.add_argument('--jobs', type=int, default=2,
                    help='processes the rows run in (default 2: the two '
                         'cores; 1: all in this process)')
    ap.add_argument('--report-only', action='store_true',
                    help='run nothing: print the tables of the rows whose '
                         'test has finished in --work-dir')
    args = ap.parse_args(argv)
    os.environ.setdefault('HF_HUB_OFFLINE', '1')
    sys.path.insert(0, ROOT)
    import torch
    torch.set_num_threads(args.threads)
    logging.getLogger('py.warnings').setLevel(logging.ERROR)
    start = time.time()
    library = args.library or osp.join(args.work_dir, 'library.csv')
    report_only = args.report_only
    if not report_only:
        build_data(args.data_root, library, args.ids, args.library_ids)
        tasks = len(parallel_tasks(args.seeds, args.rows or list(ROWS)))
        if args.jobs > 1 and tasks > 1:
            run_parallel(args, library, args.jobs)
            report_only = True   # the children ran every row: read them
    per_row: Dict[str, List[dict]] = {r: [] for r in ROWS}
    for seed in args.seeds:
        for row in args.rows or ROWS:
            t0 = time.time()
            m = run_row(row, seed, osp.abspath(args.data_root),
                        osp.abspath(library), args.work_dir, args.epochs,
                        args.images_per_identity,
                        report_only=report_only)
            if m is None:
                print(f'[seed {seed}] {row}: not finished')
                continue
            per_row[row].append(m)
            if report_only and not args.report_only:
                continue   # the child printed the row's line
            print(f'[seed {seed}] {row}: R1 {m["R1"]:.1f} mAP {m["mAP"]:.1f}'
                  + (f' FID {m["fid"]:.2f}' if 'fid' in m else '')
                  + f' ({time.time() - t0:.0f} s, CPU so far '
                  f'{cpu_seconds():.0f} s)', flush=True)
    print(format_tables(per_row, args.seeds))
    print(f'total {time.time() - start:.0f} s wall, {cpu_seconds():.0f} s CPU '
          '(user + sys, this process and its children)')
    return per_row


if __name__ == '__main__':
    main()
