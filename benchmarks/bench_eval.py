"""Market-1501-sized evaluation: reidkit vs torchreid and fast-reid, same inputs.

Synthetic features with Market-1501's shape (3,368 queries x 15,913 gallery,
2,048-d, 751 identities + distractors, 6 cameras) are evaluated by

- ``reidkit.evaluation.compute_distance`` + ``reidkit.evaluation.rank``;
- torchreid ``compute_distance_matrix`` + ``eval_market1501`` (Python; the
  PyPI package ships no Cython source, so its Cython path cannot be built);
- fast-reid ``evaluate_rank`` in Python and, where it builds, Cython.

All evaluators rank the *same* distance matrix, so their CMC/mAP/mINP must be
identical; the script prints the differences, every timing and the ratios.
Peers are imported from ``--peers`` (default ``.bench_peers/site`` in the
checkout, which ``make bench-peers`` fills; see README.md); a missing peer is
reported and skipped.

Run: ``.venv/bin/python benchmarks/bench_eval.py [--repeat 3] [--fastreid-python]``
"""
import argparse
import importlib.util
import json
import os
import sys
import time

import numpy as np
import torch

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from reidkit.evaluation import compute_distance, rank  # noqa: E402

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
# add_peer_paths stays importable from here (bench_rerank.py uses it)
from peers import add_peer_paths, peer_site  # noqa: E402,F401


def market_like(seed=0, num_q=3368, num_g=15913, dim=2048, num_ids=751,
                noise=3.0):
    """Clustered features with Market-1501's sizes and label structure."""
    rng = np.random.default_rng(seed)
    centers = rng.standard_normal((num_ids + 1, dim)).astype(np.float32)
    q_pids = rng.integers(1, num_ids + 1, num_q)
    g_pids = rng.integers(0, num_ids + 1, num_g)  # 0 = distractors
    q_cams = rng.integers(1, 7, num_q)
    g_cams = rng.integers(1, 7, num_g)
    qf = centers[q_pids] + noise * rng.standard_normal((num_q, dim), np.float32)
    gf = centers[g_pids] + noise * rng.standard_normal((num_g, dim), np.float32)
    return (torch.from_numpy(qf), torch.from_numpy(gf), q_pids, g_pids,
            q_cams, g_cams)


class _StableNumpy:
    """``numpy`` with ``argsort`` made stable: with it a peer breaks distance
    ties by gallery index, the rule reidkit documents."""

    def __getattr__(self, name):
        return getattr(np, name)

    @staticmethod
    def argsort(a, axis=-1, kind=None, order=None):
        return np.argsort(a, axis=axis, kind='stable', order=order)


def count_ties(dist, q_pids, g_pids, rows=200):
    """Queries (among the first ``rows``) with a match tied in distance to
    a non-match: the only place where unstable argsorts can disagree."""
    n = 0
    for q in range(min(rows, dist.shape[0])):
        match = g_pids == q_pids[q]
        n += bool(np.isin(dist[q, match], dist[q, ~match]).any())
    return n


def load_module(name, path):
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def timed(fn, repeat):
    best, out = float('inf'), None
    for _ in range(repeat):
        t = time.perf_counter()
        out = fn()
        best = min(best, time.perf_counter() - t)
    return best, out


def main():
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--peers', default=peer_site(),
                        help='folder holding torchreid and fastreid '
                             '(default: %(default)s, made by make bench-peers)')
    parser.add_argument('--tools', default=None,
                        help='another folder for tabulate/termcolor/yacs, if '
                             'they are not beside the peers')
    parser.add_argument('--subset', type=int, default=600,
                        help='queries for the stable-argsort exactness check')
    parser.add_argument('--repeat', type=int, default=3,
                        help='timings are the best of this many runs')
    parser.add_argument('--fastreid-python', action='store_true',
                        help="also time fast-reid's Python path (the same "
                             "loop as torchreid's, several minutes)")
    parser.add_argument('--json', help='also write the results here')
    args = parser.parse_args()

    qf, gf, qp, gp, qc, gc = market_like()
    print(f'torch threads: {torch.get_num_threads()}, '
          f'query {tuple(qf.shape)}, gallery {tuple(gf.shape)}')
    results = {}

    t_dist, dist = timed(lambda: compute_distance(qf, gf, 'sqeuclidean'),
                         args.repeat)
    t_rank, ours = timed(lambda: rank(dist, qp, gp, qc, gc, max_rank=50),
                         args.repeat)
    results['reidkit'] = dict(distance_s=t_dist, rank_s=t_rank,
                              total_s=t_dist + t_rank, mAP=ours['mAP'],
                              mINP=ours['mINP'], R1=float(ours['cmc'][0]))
    print(f'reidkit   distance {t_dist:7.3f} s  rank {t_rank:7.3f} s  '
          f'total {t_dist + t_rank:7.3f} s  mAP {ours["mAP"]:.6f}  '
          f'mINP {ours["mINP"]:.6f}  R1 {ours["cmc"][0]:.6f}')

    def compare(name, cmc, mAP, mINP=None):
        cmc = np.asarray(cmc, np.float64)[:50]
        diff = dict(cmc=float(np.abs(cmc - ours['cmc'][:cmc.size]).max()),
                    mAP=abs(float(mAP) - ours['mAP']))
        if mINP is not None:
            diff['mINP'] = abs(float(mINP) - ours['mINP'])
        return diff

    tr_path = os.path.join(args.peers, 'torchreid/reid/metrics')
    if os.path.isdir(tr_path):
        tr_rank = load_module('tr_rank', os.path.join(tr_path, 'rank.py'))
        tr_dist = load_module('tr_dist', os.path.join(tr_path, 'distance.py'))
        t_d, d_tr = timed(lambda: tr_dist.compute_distance_matrix(
            qf, gf, 'euclidean').numpy(), 1)
        same_dist = float(np.abs(d_tr - dist).max())
        t_r, (cmc, mAP) = timed(lambda: tr_rank.eval_market1501(
            dist, qp, gp, qc, gc, 50), 1)
        results['torchreid_py'] = dict(distance_s=t_d, rank_s=t_r,
                                       total_s=t_d + t_r,
                                       diff=compare('torchreid', cmc, mAP),
                                       dist_max_abs_diff=same_dist)
        print(f'torchreid distance {t_d:7.3f} s  eval_market1501 (python) '
              f'{t_r:7.3f} s  diff {results["torchreid_py"]["diff"]}  '
              f'(its distmat differs from ours by <= {same_dist:.2e})')
        print('torchreid Cython: not in the PyPI package (rank_cylib has no '
              '.pyx source), skipped')
        ties = count_ties(dist, qp, gp)
        print(f'  {ties} of the first 200 queries have a match tied in '
              f'distance with a non-match (float32 distances): unstable '
              f'argsort order there explains any difference above')
        # exactness: the same function with ties broken by index
        sub = slice(0, args.subset)
        tr_rank.np = _StableNumpy()
        cmc, mAP = tr_rank.eval_market1501(dist[sub], qp[sub], gp, qc[sub], gc, 50)
        tr_rank.np = np
        mine = rank(dist[sub], qp[sub], gp, qc[sub], gc, max_rank=50)
        exact = dict(cmc=float(np.abs(np.asarray(cmc, np.float64)
                                      - mine['cmc']).max()),
                     mAP=abs(float(mAP) - mine['mAP']))
        results['torchreid_py']['stable_subset_diff'] = exact
        print(f'  torchreid with stable argsort, first {args.subset} queries: '
              f'diff {exact} (CMC: torchreid casts the curve to float32)')
    else:
        print(f'torchreid not found under {args.peers}: skipped')

    fr_path = os.path.join(args.peers, 'fastreid/evaluation')
    if os.path.isdir(fr_path):
        add_peer_paths(args.peers, args.tools)
        try:
            from fastreid.evaluation import rank as fr_rank
        except Exception as e:  # noqa: BLE001 - report any import failure
            print(f'fast-reid import failed: {e!r}')
            fr_rank = None
        if fr_rank is not None:
            if args.fastreid_python:
                t_r, (cmc, aps, inps) = timed(lambda: fr_rank.evaluate_py(
                    dist, qp, gp, qc, gc, 50, False), 1)
                results['fastreid_py'] = dict(
                    rank_s=t_r, diff=compare('fastreid', cmc, np.mean(aps),
                                             np.mean(inps)))
                print(f'fast-reid evaluate_rank (python) {t_r:7.3f} s  '
                      f'diff {results["fastreid_py"]["diff"]}')
            if fr_rank.IS_CYTHON_AVAI:
                t_r, (cmc, aps, inps) = timed(lambda: fr_rank.evaluate_cy(
                    dist, qp, gp, qc, gc, 50, False), args.repeat)
                results['fastreid_cy'] = dict(
                    rank_s=t_r, diff=compare('fastreid', cmc, np.mean(aps),
                                             np.mean(inps)))
                print(f'fast-reid evaluate_rank (cython) {t_r:7.3f} s  '
                      f'diff {results["fastreid_cy"]["diff"]}')
            else:
                print('fast-reid Cython extension not built: skipped')
    else:
        print(f'fast-reid not found under {args.peers}: skipped')

    print('\nratios (peer time / reidkit time, metrics step only):')
    for name in ('torchreid_py', 'fastreid_py', 'fastreid_cy'):
        if name in results:
            ratio = results[name]['rank_s'] / t_rank
            results[name]['speedup'] = ratio
            print(f'  {name:14s} {ratio:7.1f}x')
    if 'torchreid_py' in results:
        ratio = results['torchreid_py']['total_s'] / (t_dist + t_rank)
        print(f'  torchreid distance+eval vs reidkit distance+rank: {ratio:.1f}x')
    if args.json:
        with open(args.json, 'w') as f:
            json.dump(results, f, indent=1)


if __name__ == '__main__':
    main()
