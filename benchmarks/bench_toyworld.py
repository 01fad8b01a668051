#!/usr/bin/env python
"""Toy-world rendering speed (images/s) on this machine.

Measures, single-threaded unless stated:
- render only: persons and vehicles at 128x64 (and vehicles at 128x128), in
  batches of 32, against the named peer "the same renderer called one image
  at a time" (ratio = how much batching/vectorising buys);
- render + JPEG/PNG encode + write (one process, and the default forked workers);
- wall time to write a toy Market-1501 with 300 identities.

Wall time and process CPU time are both printed: on a shared machine the
CPU-time rate is the steadier number. Not part of the unit tests.

Usage: python benchmarks/bench_toyworld.py [--ids 300] [--repeat 1]
"""
import argparse
import os
import os.path as osp
import shutil
import sys
import tempfile
import time

import numpy as np

sys.path.insert(0, osp.dirname(osp.dirname(osp.abspath(__file__))))

from synthgen.toyworld import Knobs, make_dataset  # noqa: E402
from synthgen.toyworld import layouts, output  # noqa: E402


def cpu_seconds():
    """CPU time of this process and its finished children (forked workers)."""
    t = os.times()
    return t.user + t.system + t.children_user + t.children_system


def timed(fn):
    w, c = time.perf_counter(), cpu_seconds()
    fn()
    return time.perf_counter() - w, cpu_seconds() - c


def render_rate(plan, n, batch):
    idx = np.arange(min(n, len(plan)))

    def run():
        for s in range(0, len(idx), batch):
            plan.render(idx[s:s + batch])
    plan.render(idx[:batch])                      # warm caches (noise banks)
    wall, cpu = timed(run)
    return len(idx) / wall, len(idx) / cpu


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    ap.add_argument('--ids', type=int, default=300)
    ap.add_argument('--images', type=int, default=2048)
    args = ap.parse_args(argv)
    knobs = Knobs()
    rng = np.random.default_rng(0)
    pplan = layouts.plan_market1501(rng, args.ids, (128, 64), knobs)
    vplan = layouts.plan_veri776(rng, args.ids, (128, 64), knobs)
    vplan_sq = layouts.plan_veri776(rng, args.ids, (128, 128), knobs)
    print(f'{"what":56s} {"img/s wall":>11s} {"img/s cpu":>10s}')
    rows = []
    for name, plan, n in (('persons 128x64 render', pplan, args.images),
                          ('vehicles 128x64 render', vplan, args.images),
                          ('vehicles 128x128 render', vplan_sq, args.images // 2)):
        fast = render_rate(plan, n, output.CHUNK)
        slow = render_rate(plan, max(64, n // 16), 1)
        rows.append((name, fast, slow))
        print(f'{name + " (batch 32)":56s} {fast[0]:11.0f} {fast[1]:10.0f}')
        print(f'{name + " (peer: one at a time)":56s} {slow[0]:11.0f} {slow[1]:10.0f}'
              f'   batch/peer = {fast[1] / slow[1]:.1f}x (cpu)')
    tmp = tempfile.mkdtemp(prefix='bench_toy_')
    try:
        for name, plan in (('persons 128x64', pplan), ('vehicles 128x64', vplan)):
            for workers in (1, None):
                sub = layouts.Plan(plan.kind, (plan.H, plan.W))
                sub.__dict__.update(plan.__dict__)
                n = min(args.images, len(plan))
                sub.records = plan.records[:n]
                out = osp.join(tmp, f'{name}_{workers}')
                wall, cpu = timed(lambda: output.write_plan(sub, out, workers=workers))
                tag = 'default workers' if workers is None else '1 process'
                print(f'{name + " render+encode+write, " + tag:56s} {n / wall:11.0f} '
                      f'{n / cpu:10.0f}')
                shutil.rmtree(out)
        out = osp.join(tmp, 'market')
        t0 = time.perf_counter()
        s = make_dataset('market1501', out, num_ids=args.ids, seed=0)
        wall = time.perf_counter() - t0
        print(f'toy Market-1501, {args.ids} ids: {s["num_images"]} images written in '
              f'{wall:.2f}s wall ({s["num_images"] / wall:.0f} img/s)')
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == '__main__':
    main()
