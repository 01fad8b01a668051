"""Measure how hard the toy world is for the quickstart baseline.

Trains the quickstart model (bag-of-tricks ResNet-18 from random weights,
CE-LS + triplet, P x K batches) on three toy benchmarks and reports:

- toy Market-1501: mAP / R1 with the Market protocol (should be well above
  chance and well below 100 %);
- toy PRCC: same-clothes (B->A) vs clothes-changing (C->A) mAP (the clothes
  shortcut: CC should be clearly lower);
- toy SYSU-MM01: infrared->visible vs visible->visible mAP on the same test
  identities, both with the Market rule across cameras (cross-modal should be
  clearly harder), plus the official all-search protocol (10 trials).

Usage:
    python benchmarks/toy_difficulty.py [--epochs 24] [--ids 120] [--seeds 0]
        [--kinds market1501 ...] [--knob lookalike_frac=0.1 ...]
"""
import argparse
import os.path as osp
import sys
import tempfile
import textwrap
import time

import numpy as np
import torch

REPO = osp.dirname(osp.dirname(osp.abspath(__file__)))
sys.path.insert(0, REPO)
QUICKSTART = osp.join(REPO, 'configs', 'quickstart', 'toy_market_bot_r18.py')

DATASETS = {
    'market1501': ("Market1501", "dict(type='ReIDMetric', protocol='market')", ''),
    'prcc': ("PRCC", "dict(type='ReIDMetric', protocol='prcc')", ''),
    'sysu_mm01': ("SYSUMM01", "dict(type='ReIDMetric', protocol='sysu_all')",
                  "mode='all', "),
}


def write_config(tmp, kind, data_root, epochs):
    ds_type, evaluator, ds_args = DATASETS[kind]
    text = f'''
        _base_ = [{QUICKSTART!r}]
        data_root = {data_root!r}
        train_dataloader = dict(dataset=dict(type={ds_type!r}, data_root=data_root))
        val_dataloader = dict(dataset=dict(type={ds_type!r}, {ds_args}data_root=data_root))
        test_dataloader = val_dataloader
        val_evaluator = {evaluator}
        test_evaluator = val_evaluator
        train_cfg = dict(max_epochs={epochs}, val_interval=1000)
        param_scheduler = [
            dict(type='LinearLR', start_factor=0.1, by_epoch=True, begin=0,
                 end=2, convert_to_iter_based=True),
            dict(type='MultiStepLR', by_epoch=True,
                 milestones=[{max(1, int(epochs * 0.8))}], gamma=0.1),
        ]
    '''
    path = osp.join(tmp, f'{kind}.py')
    with open(path, 'w') as f:
        f.write(textwrap.dedent(text))
    return path


@torch.no_grad()
def extract(runner):
    """Features and labels of the test split with the trained model."""
    model = runner.model.module if hasattr(runner.model, 'module') else runner.model
    model.eval()
    feats, keys = [], {k: [] for k in ('pid', 'camid', 'modality', 'split')}
    for batch in runner.test_dataloader:
        for sample in model.test_step(batch):
            feats.append(sample['feat'])
            for k in keys:
                keys[k].append(sample[k])
    return torch.stack(feats), {k: np.asarray(v) for k, v in keys.items()}


def sysu_modal_gap(feats, meta):
    """IR->visible vs visible->visible mAP (Market rule) on the test ids."""
    from reidkit.evaluation import compute_distance, rank
    vis = meta['modality'] == 0
    ir = meta['modality'] == 1
    out = {}
    # visible query from cams 1,2 (indoor) vs visible gallery from 4,5 (outdoor)
    q = vis & np.isin(meta['camid'], [1, 2])
    g = vis & np.isin(meta['camid'], [4, 5])
    pairs = {'vis->vis': (q, g), 'ir->vis': (ir, g)}
    for name, (qm, gm) in pairs.items():
        dist = compute_distance(feats[qm], feats[gm], metric='euclidean')
        res = rank(np.asarray(dist), meta['pid'][qm], meta['pid'][gm],
                   meta['camid'][qm], meta['camid'][gm], protocol='market')
        out[name] = 100 * res['mAP']
    return out


def run(kind, args, tmp):
    from synthgen.toyworld import make_dataset
    from tools.train import main as train_main
    data_root = osp.join(args.data_dir, kind)
    knobs = dict(kv.split('=', 1) for kv in args.knob or [])
    make_dataset(kind, data_root, num_ids=args.ids, seed=0,
                 knobs={k: float(v) for k, v in knobs.items()})
    cfg = write_config(tmp, kind, data_root, args.epochs)
    results = []
    for seed in args.seeds:
        t0 = time.time()
        runner = train_main([cfg, '--work-dir', osp.join(tmp, f'{kind}_{seed}'),
                             '--no-test', '--cfg-options', f'randomness.seed={seed}'])
        metrics = runner.test()
        row = {k: float(v) for k, v in metrics.items() if 'mAP' in k or 'R1' in k}
        if kind == 'sysu_mm01':
            feats, meta = extract(runner)
            row.update({f'{k} mAP': v for k, v in sysu_modal_gap(feats, meta).items()})
        row['minutes'] = (time.time() - t0) / 60
        results.append(row)
    return results


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--kinds', nargs='+', default=list(DATASETS))
    parser.add_argument('--epochs', type=int, default=24)
    parser.add_argument('--ids', type=int, default=120)
    parser.add_argument('--seeds', type=int, nargs='+', default=[0])
    parser.add_argument('--knob', action='append', metavar='NAME=VALUE',
                        help='toy-world difficulty knob (synthgen.toyworld.Knobs)')
    parser.add_argument('--data-dir', default=osp.join(REPO, 'data', 'toy_difficulty'))
    args = parser.parse_args()
    summary = {}
    with tempfile.TemporaryDirectory() as tmp:
        for kind in args.kinds:
            summary[kind] = run(kind, args, tmp)
    print('\n=== toy difficulty (quickstart baseline, %d epochs, %d ids) ===' %
          (args.epochs, args.ids))
    for kind, rows in summary.items():
        keys = sorted({k for r in rows for k in r})
        for key in keys:
            vals = np.array([r[key] for r in rows if key in r])
            print(f'{kind:12s} {key:24s} {vals.mean():7.2f} '
                  f'(+- {vals.std():.2f}, n={len(vals)})')


if __name__ == '__main__':
    main()
