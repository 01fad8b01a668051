"""Resident memory and CPU time of reidkit's k-reciprocal re-ranking, step
by step (the profile in benchmarks/README.md).

A thread samples ``VmRSS`` every 2 ms while ``KReciprocalReranker`` runs on
``bench_rerank.py``'s features; each sample is credited to the step running
then (neighbour pass, expansion sets, weights, Jaccard pairs before the
first block, Jaccard blocks + final combination). Printed: each step's peak
above the RSS after the features were made, its CPU seconds, and the
process's ``ru_maxrss`` above its value after the features (what
``bench_rerank.py`` reports). Linux only (``/proc/self/status``).

Run: ``.venv/bin/python benchmarks/profile_rerank_memory.py --size mid --memory-mb 32``
"""
import argparse
import os
import resource
import sys
import threading
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)
sys.path.insert(0, os.path.join(ROOT, 'benchmarks'))

from bench_eval import market_like  # noqa: E402
from bench_rerank import SIZES, maxrss_mb  # noqa: E402
from synthgen.utils.machine import cpu_model  # noqa: E402

import reidkit.evaluation.rerankers.k_reciprocal as K  # noqa: E402


def rss_mb():
    with open('/proc/self/status') as f:
        for line in f:
            if line.startswith('VmRSS'):
                return int(line.split()[1]) / 1024
    return float('nan')


def main():
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--size', default='mid', choices=sorted(SIZES))
    parser.add_argument('--memory-mb', type=float, default=32)
    args = parser.parse_args()
    num_q, num_g, num_ids, dim = SIZES[args.size]
    qf, gf, *_ = market_like(num_q=num_q, num_g=num_g, dim=dim,
                             num_ids=num_ids)
    base, base_max = rss_mb(), maxrss_mb()
    step = ['other']
    peaks, cpu = {}, {}
    done = threading.Event()

    def sample():
        while not done.is_set():
            peaks[step[0]] = max(peaks.get(step[0], 0.0), rss_mb())
            time.sleep(0.002)

    def timed(name):
        fn = getattr(K, name)

        def wrapper(*a, **kw):
            prev, step[0] = step[0], name
            t = time.process_time()
            try:
                return fn(*a, **kw)
            finally:
                cpu[name] = cpu.get(name, 0.0) + time.process_time() - t
                step[0] = prev
        setattr(K, name, wrapper)

    for name in ('knn_pass', 'expansion_sets', '_weights'):
        timed(name)
    blocks = K.jaccard_blocks

    def jaccard_blocks(*a, **kw):
        step[0] = 'jaccard pairs'
        for item in blocks(*a, **kw):
            step[0] = 'jaccard blocks + final'
            yield item
    K.jaccard_blocks = jaccard_blocks

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    t = time.process_time()
    K.KReciprocalReranker(k1=20, k2=6, lambda_value=0.3,
                          memory_mb=args.memory_mb)(qf, gf)
    total = time.process_time() - t
    done.set()
    sampler.join()
    print(f'{cpu_model()}; size {args.size} {SIZES[args.size]}; memory_mb '
          f'{args.memory_mb:g}; load {os.getloadavg()}')
    print(f'RSS after the features {base:.0f} MB (ru_maxrss {base_max:.0f} '
          f'MB); re-ranking peak ru_maxrss {maxrss_mb():.0f} MB '
          f'(+{maxrss_mb() - base_max:.0f}), CPU {total:.2f} s')
    for name, peak in peaks.items():
        extra = f', CPU {cpu[name]:.2f} s' if name in cpu else ''
        print(f'  {name:24s} peak RSS +{peak - base:5.0f} MB{extra}')


if __name__ == '__main__':
    main()
