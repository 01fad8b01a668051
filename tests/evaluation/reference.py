"""Slow, obviously-correct references for the ranking protocols.

Each loops over queries, sorts the full row with a stable argsort and applies
the protocol's rule literally, following the public evaluation scripts
(torchreid ``eval_market1501``/``eval_cuhk03``, Simple-CCReID
``evaluate_with_clothes``, AGW ``eval_sysu``, LLCM ``eval_llcm``).
"""
import random

import numpy as np


def _pad(curve, max_rank):
    out = np.empty(max_rank)
    n = min(max_rank, len(curve))
    out[:n] = curve[:n]
    out[n:] = curve[-1] if len(curve) else 0
    return out


def ref_eval(dist, q_pids, g_pids, junk_fn, max_rank=50, dedup=False):
    """``junk_fn(q) -> bool mask over the gallery`` of items to drop."""
    cmcs, aps, inps = [], [], []
    for q in range(dist.shape[0]):
        order = np.argsort(dist[q], kind='stable')
        keep = ~junk_fn(q)[order]
        hits = (g_pids[order] == q_pids[q])[keep].astype(int)
        if dedup:
            labels = g_pids[order][keep]
            seen, uniq = set(), []
            for lab in labels:
                if lab not in seen:
                    seen.add(lab)
                    uniq.append(lab)
            dedup_cmc = (np.array(uniq) == q_pids[q]).astype(int).cumsum()
        if not hits.any():
            continue
        cum = hits.cumsum()
        last = np.nonzero(hits)[0].max()
        inps.append(cum[last] / (last + 1.0))
        ap = 0.0
        for i in range(len(hits)):
            if hits[i]:
                ap += cum[i] / (i + 1.0)
        aps.append(ap / hits.sum())
        curve = dedup_cmc if dedup else np.minimum(cum, 1)
        cmcs.append(_pad(curve.astype(float), max_rank))
    return np.mean(cmcs, 0), float(np.mean(aps)), float(np.mean(inps))


def market_junk(q_pids, g_pids, q_camids, g_camids):
    return lambda q: (g_pids == q_pids[q]) & (g_camids == q_camids[q])


def clothes_junk(q_pids, g_pids, q_camids, g_camids, q_clo, g_clo, mode):
    def fn(q):
        same_pid = g_pids == q_pids[q]
        junk = same_pid & (g_camids == q_camids[q])
        if mode == 'cc':
            junk = junk | (same_pid & (g_clo == q_clo[q]))
        else:
            junk = junk | (same_pid & (g_clo != q_clo[q]))
        return junk
    return fn


def ref_cuhk03_sg(dist, q_pids, g_pids, q_camids, g_camids, max_rank=50,
                  num_repeats=10, seed=0):
    """torchreid eval_cuhk03 with the sampling documented in reidkit."""
    rng = np.random.default_rng(seed)
    cmcs, aps = [], []
    for q in range(dist.shape[0]):
        junk = (g_pids == q_pids[q]) & (g_camids == q_camids[q])
        kept = [g for g in range(dist.shape[1]) if not junk[g]]
        kept_sorted = sorted(kept, key=lambda g: (dist[q, g], g))
        hits = np.array([g_pids[g] == q_pids[q] for g in kept_sorted], int)
        if not hits.any():
            continue
        groups = {}
        for g in kept:  # gallery-index order inside each pid
            groups.setdefault(g_pids[g], []).append(g)
        curve = np.zeros(max_rank)
        for _ in range(num_repeats):
            u = rng.random(len(groups))
            chosen = set()
            for n, pid in enumerate(sorted(groups)):
                members = groups[pid]
                chosen.add(members[int(np.floor(u[n] * len(members)))])
            sampled = [g for g in kept_sorted if g in chosen]
            cum = np.minimum(np.cumsum([g_pids[g] == q_pids[q] for g in sampled]), 1)
            curve += _pad(cum.astype(float), max_rank) / num_repeats
        cmcs.append(curve)
        cum = hits.cumsum()
        aps.append(sum(cum[i] / (i + 1.0) for i in range(len(hits)) if hits[i])
                   / hits.sum())
    return np.mean(cmcs, 0), float(np.mean(aps))


def ref_gallery_choice(g_pids, g_camids, cams, seed, g_paths=None):
    """AGW process_gallery_sysu: random.seed(trial); for id in sorted ids, for
    cam in cameras: random.choice(sorted(files))."""
    random.seed(seed)
    chosen = []
    for pid in sorted(set(g_pids.tolist())):
        for cam in sorted(set(g_camids.tolist())):
            if cams is not None and cam not in cams:
                continue
            members = [i for i in range(len(g_pids))
                       if g_pids[i] == pid and g_camids[i] == cam]
            if not members:
                continue
            if g_paths is not None:
                members = sorted(members, key=lambda i: g_paths[i])
            chosen.append(random.choice(members))
    return sorted(chosen)
