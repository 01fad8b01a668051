"""k-reciprocal re-ranking: reidkit vs torchreid ``re_ranking`` and fast-reid's
faiss Jaccard re-ranking, on the same features.

Every method runs in its own subprocess so that its peak resident memory
(``ru_maxrss``) is its own; the parent prints time, peak memory, the memory
above the process's baseline after the features were made, mAP/CMC and the
ratios against reidkit.

- ``reidkit``: ``KReciprocalReranker(k1=20, k2=6, lambda_value=0.3)`` on the
  features (distances included in the time), then ``rank``.
- ``torchreid``: ``compute_distance_matrix`` for q-g, q-q, g-g (Euclidean,
  square-rooted so that ``re_ranking``'s own squaring gives the squared
  Euclidean distances Zhong et al. use), then ``re_ranking``, then ``rank``.
- ``fastreid``: ``compute_jaccard_distance(search_option=3)`` (CPU faiss) on
  the concatenated L2-normalised features, mixed as fast-reid's evaluator
  does with its default cosine distance
  (``jaccard * (1 - lambda) + dist * lambda``). It is a different variant
  (k1 neighbours by faiss, softmax weights on raw distances), so only its
  time and memory are comparable, its mAP is shown for information.

Sizes: ``--size market`` (3,368 x 15,913, 2,048-d), ``--size msmt``
(11,659 x 82,161, 2,048-d; only reidkit: the peers need dense (Q+G)^2 arrays,
35 GB each in float32).

``--size mid`` is 2,000 x 8,000 with 256-d features. ``--fast-matmul off``
sets ``REIDKIT_FAST_MATMUL=0`` (reidkit's checked bf16-emulated float32
product refused, as on Intel AMX CPUs); ``--proposals`` chooses reidkit's
bf16-proposed neighbour pass (``auto``: where bf16 products are fast). The
header names the CPU model and the load; memory is reported as the peak RSS
of the re-ranking and as the peak above the interpreter's own baseline
(measured in each child after the features were made); the peak including
the ranking that follows (the same ``rank`` for every method) is shown
beside it.

Run: ``.venv/bin/python benchmarks/bench_rerank.py --size market``
"""
import argparse
import json
import os
import resource
import subprocess
import sys
import time

import numpy as np
import torch

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)
sys.path.insert(0, os.path.join(ROOT, 'benchmarks'))

from synthgen.utils.machine import cpu_model  # noqa: E402 (bench_dlcr_refinement imports it from here)

#: (queries, gallery, identities, feature dimension)
SIZES = dict(market=(3368, 15913, 751, 2048), msmt=(11659, 82161, 3060, 2048),
             mid=(2000, 8000, 500, 256), small=(500, 2500, 150, 2048))
#: where ``pip install --target`` put the peers (see benchmarks/README.md)
DEFAULT_PEERS = os.path.join(ROOT, '.bench_peers', 'site')


def maxrss_mb():
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def cpu_s():
    """User + system CPU seconds of this process (all threads): unlike wall
    time it hardly changes when other jobs share the cores."""
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


def run_one(method, size, peers, tools, memory_mb=32, save=None, noise=3.0,
            proposals='auto', device=None):
    from bench_eval import market_like
    from reidkit.evaluation import rank
    num_q, num_g, num_ids, dim = SIZES[size]
    qf, gf, qp, gp, qc, gc = market_like(num_q=num_q, num_g=num_g, dim=dim,
                                         num_ids=num_ids, noise=noise)
    base = maxrss_mb()
    stats = {}
    t = time.perf_counter()
    cpu0 = cpu_s()
    if method == 'reidkit':
        from reidkit.evaluation.rerankers import KReciprocalReranker
        rr = KReciprocalReranker(k1=20, k2=6, lambda_value=0.3,
                                 memory_mb=memory_mb, proposals=proposals,
                                 device=device)
        dist = rr(qf, gf)
        stats = rr.last_stats
    elif method == 'torchreid':
        sys.path.insert(0, peers)
        import importlib.util
        path = os.path.join(peers, 'torchreid/reid')
        mods = {}
        for name, rel in (('dist', 'metrics/distance.py'),
                          ('rerank', 'utils/rerank.py')):
            spec = importlib.util.spec_from_file_location(
                'tr_' + name, os.path.join(path, rel))
            mods[name] = importlib.util.module_from_spec(spec)
            spec.loader.exec_module(mods[name])
        cdm = mods['dist'].compute_distance_matrix

        def euclid(a, b):
            return cdm(a, b, 'euclidean').clamp_(min=0).sqrt_().numpy()
        dist = mods['rerank'].re_ranking(euclid(qf, gf), euclid(qf, qf),
                                         euclid(gf, gf), k1=20, k2=6,
                                         lambda_value=0.3)
    elif method == 'fastreid':
        from bench_eval import add_peer_paths
        add_peer_paths(peers, tools)
        from fastreid.utils.compute_dist import compute_jaccard_distance
        # fast-reid's default test metric is cosine on normalised features
        feats = torch.nn.functional.normalize(torch.cat([qf, gf]), dim=1)
        jac = compute_jaccard_distance(feats, k1=20, k2=6, search_option=3)
        from reidkit.evaluation import compute_distance
        dist = jac[:num_q, num_q:] * 0.7 + 0.3 * compute_distance(
            qf, gf, 'cosine')
    else:
        raise ValueError(method)
    elapsed = time.perf_counter() - t
    cpu = cpu_s() - cpu0
    peak = maxrss_mb()
    t = time.perf_counter()
    res = rank(dist, qp, gp, qc, gc, max_rank=50)
    rank_s = time.perf_counter() - t
    if save:
        os.makedirs(save, exist_ok=True)
        np.save(os.path.join(save, f'{method}_{size}.npy'),
                np.asarray(dist, np.float32))
    # peak_rss_mb: the re-ranking's peak (the ranking after it is the same
    # code for every method; its own peak is peak_with_rank_mb)
    return dict(method=method, size=size, rerank_s=elapsed, cpu_s=cpu,
                rank_s=rank_s, load_avg=os.getloadavg()[0],
                peak_rss_mb=peak, peak_with_rank_mb=maxrss_mb(),
                baseline_rss_mb=base, memory_mb=memory_mb,
                mAP=res['mAP'], mINP=res['mINP'], stats=stats,
                cmc=res['cmc'][:20].tolist())


def main():
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--size', default='market', choices=sorted(SIZES))
    parser.add_argument('--methods', default=None,
                        help='comma list (default: all that fit the size)')
    parser.add_argument('--peers', default=DEFAULT_PEERS)
    parser.add_argument('--tools', default=os.path.join(ROOT, '.bench_peers',
                                                        'tools'))
    parser.add_argument('--timeout', type=float, default=1800,
                        help='seconds per method before it is reported as '
                             'not finished')
    parser.add_argument('--memory-mb', type=float, default=32,
                        help="reidkit's working-set budget (32: no slower "
                             'than 256 on an AVX2 EPYC, see the README)')
    parser.add_argument('--save-dist', default=None,
                        help='folder for each method\'s (Q, G) result; the '
                             'parent then compares them entry by entry')
    parser.add_argument('--one', help=argparse.SUPPRESS)
    parser.add_argument('--noise', type=float, default=3.0,
                        help='feature noise around the identity centres '
                             '(3.0: mAP 0.73 before re-ranking; larger is '
                             'harder)')
    parser.add_argument('--json', help='also write the results here')
    parser.add_argument('--fast-matmul', default='allowed',
                        choices=['allowed', 'off'],
                        help="'off': REIDKIT_FAST_MATMUL=0 in the children")
    parser.add_argument('--proposals', default='auto',
                        choices=['auto', 'on', 'off'])
    parser.add_argument('--device', default=None,
                        help="reidkit's products on this torch device "
                             "(e.g. cuda); the peers run on the CPU")
    args = parser.parse_args()

    if args.one:  # child process
        result = run_one(args.one, args.size, args.peers, args.tools,
                         args.memory_mb, args.save_dist, args.noise,
                         args.proposals, args.device)
        print('RESULT ' + json.dumps(result))
        return

    methods = (args.methods.split(',') if args.methods else
               ['reidkit'] if args.size == 'msmt' else
               ['reidkit', 'torchreid', 'fastreid'])
    results = {}
    env = dict(os.environ)
    if args.fast_matmul == 'off':
        env['REIDKIT_FAST_MATMUL'] = '0'
    print(f'{cpu_model()}, {os.cpu_count()} CPUs, torch threads '
          f'{torch.get_num_threads()}; size {args.size} {SIZES[args.size]}; '
          f'fast float32 mode {args.fast_matmul}; proposals {args.proposals}; '
          f'load {os.getloadavg()}')
    for method in methods:
        cmd = [sys.executable, os.path.abspath(__file__), '--size', args.size,
               '--peers', args.peers, '--tools', args.tools, '--one', method,
               '--memory-mb', str(args.memory_mb), '--noise', str(args.noise),
               '--proposals', args.proposals]
        if args.device:
            cmd += ['--device', args.device]
        if args.save_dist:
            cmd += ['--save-dist', args.save_dist]
        t = time.perf_counter()
        try:
            proc = subprocess.run(cmd, capture_output=True, text=True,
                                  timeout=args.timeout, env=env)
        except subprocess.TimeoutExpired:
            print(f'{method:10s} did not finish in {args.timeout:.0f} s')
            results[method] = dict(error=f'timeout after {args.timeout:.0f} s')
            continue
        lines = [ln for ln in proc.stdout.splitlines() if ln.startswith('RESULT ')]
        if proc.returncode != 0 or not lines:
            tail = (proc.stderr or proc.stdout).strip().splitlines()[-3:]
            print(f'{method:10s} failed (exit {proc.returncode}, '
                  f'{time.perf_counter() - t:.0f} s): {" | ".join(tail)}')
            results[method] = dict(error=' | '.join(tail),
                                   returncode=proc.returncode)
            continue
        r = json.loads(lines[-1][7:])
        results[method] = r
        print(f'{method:10s} re-rank {r["rerank_s"]:8.1f} s '
              f'(CPU {r["cpu_s"]:8.1f} s, load {r["load_avg"]:.1f})  '
              f'peak RSS {r["peak_rss_mb"]:8.0f} MB '
              f'(+{r["peak_rss_mb"] - r["baseline_rss_mb"]:.0f} over features; '
              f'{r["peak_with_rank_mb"]:.0f} MB with the ranking)  '
              f'mAP {r["mAP"]:.6f}  R1 {r["cmc"][0]:.6f}  '
              f'rank {r["rank_s"]:.1f} s {r.get("stats") or ""}')
    ours = results.get('reidkit', {})
    if 'rerank_s' in ours:
        for name, r in results.items():
            if name == 'reidkit' or 'rerank_s' not in r:
                continue
            print(f'{name}: {r["rerank_s"] / ours["rerank_s"]:.1f}x the time '
                  f'({r["cpu_s"] / ours["cpu_s"]:.1f}x the CPU time), '
                  f'{r["peak_rss_mb"] / ours["peak_rss_mb"]:.1f}x the peak RSS '
                  f'(+{r["peak_rss_mb"] - r["baseline_rss_mb"]:.0f} MB vs '
                  f'+{ours["peak_rss_mb"] - ours["baseline_rss_mb"]:.0f} MB), '
                  f'|mAP diff| {abs(r["mAP"] - ours["mAP"]):.2e}, '
                  f'max |CMC diff| '
                  f'{np.abs(np.subtract(r["cmc"], ours["cmc"])).max():.2e}')
    if args.save_dist and 'rerank_s' in ours:
        mine = np.load(os.path.join(args.save_dist, f'reidkit_{args.size}.npy'))
        for name, r in results.items():
            path = os.path.join(args.save_dist, f'{name}_{args.size}.npy')
            if name == 'reidkit' or not os.path.exists(path):
                continue
            theirs = np.load(path)
            top = 10
            same_top = float(np.mean(np.all(
                np.argsort(theirs, 1, kind='stable')[:, :top]
                == np.argsort(mine, 1, kind='stable')[:, :top], 1)))
            r['dist_max_abs_diff'] = float(np.abs(theirs - mine).max())
            r['same_top10_rows'] = same_top
            print(f'{name}: max |final distance diff| '
                  f'{r["dist_max_abs_diff"]:.2e}, rows with the same top-{top} '
                  f'list {100 * same_top:.2f}%')
    print(f'load at the end {os.getloadavg()}')
    if args.json:
        results['_env'] = dict(cpu=cpu_model(), load_end=os.getloadavg(),
                               fast_matmul=args.fast_matmul,
                               proposals=args.proposals, size=args.size)
        with open(args.json, 'w') as f:
            json.dump(results, f, indent=1)


if __name__ == '__main__':
    main()
