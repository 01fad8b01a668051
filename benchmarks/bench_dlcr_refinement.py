"""Throughput of DLCR's prediction refinement (Algorithm 1) on a PRCC-sized test set.

PRCC's clothes-changing test (Simple-CCReID's split) has 3,873 camera-C queries
against a gallery of 3,384 camera-A images of 71 identities; CAL's features are
4096-d. With l=6 query variants and m=5 retrievals, this times

* ``DLCRRefinementReranker`` (batched matrix products, batched top-m,
  scatter-add of identity scores; full ``(Q, G)`` distance output), and
* a naive per-query implementation of Algorithm 1 (numpy similarity of one
  query/variant at a time, ``argsort``, Python dict of identity scores), the
  shape of a direct transcription; it is timed on ``--naive-queries`` queries
  and reported per query,

in the same run, on random features (the cost does not depend on the
values), and prints queries per second and the ratio. The paper reports
642.6 images/s on an A100 (Table A6).

    python benchmarks/bench_dlcr_refinement.py [--dim 4096] [--threads 2]
"""
import argparse
import os.path as osp
import sys
import time

import numpy as np
import torch

sys.path.insert(0, osp.dirname(osp.dirname(osp.abspath(__file__))))

from plugins.dlcr.refinement import DLCRRefinementReranker  # noqa: E402

PAPER_A100_QPS = 642.6


def naive(q, g, g_pids, v, m):
    """Per-query Algorithm 1 (argsort over the gallery for every retrieval)."""
    gn = g / np.linalg.norm(g, axis=1, keepdims=True)
    out = []
    for i in range(len(q)):
        sims = gn @ (q[i] / np.linalg.norm(q[i]))
        top = np.argsort(-sims)[:m]
        mx = sims[top[0]]
        score = {}
        for j in top:
            score[g_pids[j]] = score.get(g_pids[j], 0.0) + sims[j] / mx
        for k in range(v.shape[1]):
            vs = gn @ (v[i, k] / np.linalg.norm(v[i, k]))
            tk = np.argsort(-vs)[:m]
            mk = vs[tk[0]]
            for j in tk:
                if g_pids[j] in score:
                    score[g_pids[j]] += vs[j] / mk
        out.append(score)
    return out


def main():
    ap = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    ap.add_argument('--queries', type=int, default=3873)
    ap.add_argument('--gallery', type=int, default=3384)
    ap.add_argument('--ids', type=int, default=71)
    ap.add_argument('--dim', type=int, default=4096)
    ap.add_argument('--l', type=int, default=6)
    ap.add_argument('--m', type=int, default=5)
    ap.add_argument('--naive-queries', type=int, default=300)
    ap.add_argument('--repeats', type=int, default=3)
    ap.add_argument('--threads', type=int, default=None)
    args = ap.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    rng = np.random.default_rng(0)
    q = rng.standard_normal((args.queries, args.dim), dtype=np.float32)
    g = rng.standard_normal((args.gallery, args.dim), dtype=np.float32)
    v = q[:, None] + rng.standard_normal(
        (args.queries, args.l, args.dim), dtype=np.float32)
    g_pids = rng.integers(0, args.ids, size=args.gallery)
    fast = {}
    for precision in ('fp32', 'bf16'):
        rr = DLCRRefinementReranker(m=args.m, precision=precision)
        rr(q[:64], g, g_pids=g_pids, query_variant_feats=v[:64])  # warm-up
        times = []
        for _ in range(args.repeats):
            t0 = time.perf_counter()
            dist = rr(q, g, g_pids=g_pids, query_variant_feats=v)
            times.append(time.perf_counter() - t0)
        fast[precision] = min(times)
        assert dist.shape == (args.queries, args.gallery)

    nq = min(args.naive_queries, args.queries)
    t0 = time.perf_counter()
    naive(q[:nq], g, g_pids, v[:nq], args.m)
    slow = (time.perf_counter() - t0) / nq * args.queries

    slow_qps = args.queries / slow
    print(f'PRCC-sized refinement: {args.queries} queries x {args.gallery} '
          f'gallery, {args.ids} ids, D={args.dim}, l={args.l}, m={args.m}, '
          f'{torch.get_num_threads()} threads')
    print(f'  naive per-query loop (fp32): {slow:8.3f} s {slow_qps:9.1f} q/s '
          f'(from {nq} queries)')
    for precision, sec in fast.items():
        qps = args.queries / sec
        print(f'  DLCRRefinementReranker {precision}: {sec:8.3f} s {qps:9.1f} '
              f'q/s  = {qps / slow_qps:6.1f} x naive, '
              f'{qps / PAPER_A100_QPS:5.2f} x paper A100 (best of '
              f'{args.repeats})')


if __name__ == '__main__':
    main()
