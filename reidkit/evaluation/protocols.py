"""Ranking protocols of the re-ID benchmarks: CMC, mAP and mINP.

:func:`rank` is the single entry point. Every protocol reduces to the same core:
for each query, a *keep* mask over the gallery (what is not junk) and a *good*
mask (the true matches among the kept items). The core finds, for every good
item, its 0-based position in the query's ranked list of kept items; CMC, AP and
INP follow from those positions:

- CMC@k: fraction of valid queries whose first good item is at position < k;
- AP: mean over good items j (in rank order) of ``(j + 1) / (position_j + 1)``
  (the "sum of precisions at the hits / number of hits" form used by torchreid,
  fast-reid, Simple-CCReID and AGW);
- INP: ``num_good / (position_last + 1)`` (Ye et al., mINP).

A query with no good item is not valid and is left out of every average, as in
all reference implementations. Ties in distance are broken by gallery index
(the order a stable sort gives).

Positions are found without an argsort of whole rows: per block of queries,
the distances of the kept non-matching items are sorted as plain values (numpy's
SIMD sort, several times faster than an argsort), the few good items of each
query are sorted by (distance, index), and a batched binary search counts the
non-matches ranked above each good item. Equal distances are resolved exactly
by gallery index.

SYSU-MM01 and LLCM: the reference scripts (AGW ``eval_sysu``, LLCM
``eval_llcm``) compute mAP and mINP on the ranked gallery list but CMC on the
ranked list of *distinct identities* (each gallery identity counted once, at
its best-ranked image). This is replicated exactly: a query's first-hit rank
is the number of distinct identities among the kept items ranked above its
first match. Like the references, the CMC is divided by the number of
queries that have a match.

``cmc`` always has ``max_rank`` entries: where the gallery (or the list of
distinct identities) is shorter than ``max_rank``, the last value is repeated,
which is what the curve is by definition (the references truncate instead).
"""
from __future__ import annotations

import random
from typing import Dict, Optional, Sequence

import numpy as np
import torch

__all__ = ['rank', 'PROTOCOLS', 'SETTINGS', 'settings_of', 'sample_gallery',
           'per_query_ap']

#: every protocol name accepted by :func:`rank`
PROTOCOLS = ('market', 'cuhk03_sg', 'vehicleid', 'prcc', 'ltcc', 'vc_clothes',
             'ccvid', 'last', 'sysu_all', 'sysu_indoor', 'llcm_v2i', 'llcm_i2v',
             'cityflow')

#: protocols reported under several settings (``mode=`` of :func:`rank`);
#: the metric prefixes each setting's numbers with ``'<mode>/'``
SETTINGS = {
    'prcc': ('sc', 'cc'),
    'ltcc': ('general', 'sc', 'cc'),
    'vc_clothes': ('general', 'sc', 'cc'),
    'ccvid': ('general', 'sc', 'cc'),
}

SYSU_GALLERY_CAMS = {'sysu_all': (1, 2, 4, 5), 'sysu_indoor': (1, 2)}
VC_CLOTHES_CAMS = {'sc': (2, 3), 'cc': (3, 4)}
PRCC_QUERY_CAM = {'sc': 1, 'cc': 2}  # B -> A same clothes, C -> A changed
PRCC_GALLERY_CAM = 0

_BLOCK_ELEMENTS = 1 << 23  # queries per block * gallery size (about 8M)


def settings_of(protocol: str) -> Sequence[Optional[str]]:
    """The ``mode`` values a protocol is reported under (``(None,)`` if one)."""
    return SETTINGS.get(protocol, (None,))


# --------------------------------------------------------------------------
# input checking
# --------------------------------------------------------------------------
def _as_1d(x, name: str, length: int) -> np.ndarray:
    if isinstance(x, torch.Tensor):
        x = x.detach().cpu().numpy()
    x = np.asarray(x)
    if x.ndim != 1 or x.shape[0] != length:
        raise ValueError(f'{name} must be a 1-D array of length {length}, '
                         f'got shape {x.shape}')
    return x


def _as_dist(distmat) -> np.ndarray:
    if isinstance(distmat, torch.Tensor):
        distmat = distmat.detach().cpu().numpy()
    distmat = np.asarray(distmat)
    if distmat.ndim != 2:
        raise ValueError(f'distmat must have shape (num_query, num_gallery), '
                         f'got {distmat.shape}')
    if not np.issubdtype(distmat.dtype, np.floating):
        distmat = distmat.astype(np.float64)
    step = max(1, _BLOCK_ELEMENTS // max(distmat.shape[1], 1))
    for start in range(0, distmat.shape[0], step):  # bounded temporaries
        if np.isnan(distmat[start:start + step]).any():
            raise ValueError('distmat contains NaN')
    return distmat


def _need(meta: dict, key: str, length: int, protocol: str) -> np.ndarray:
    if meta.get(key) is None:
        raise KeyError(f'protocol {protocol!r} needs {key!r} (1-D array of '
                       f'length {length}) in rank(..., {key}=...)')
    return _as_1d(meta[key], key, length)


# --------------------------------------------------------------------------
# the core: positions of the good items among the kept items
# --------------------------------------------------------------------------
def _positive_positions(dist: np.ndarray, good: np.ndarray, keep: np.ndarray):
    """Positions of good items in each row's ranked list of kept items.

    Args:
        dist: ``(c, G)`` distances; good, keep: ``(c, G)`` bool, good <= keep.

    Returns:
        pos: ``(c, m)`` int64, row ``r`` holds the sorted positions of its
            ``npos[r]`` good items, -1 after; npos: ``(c,)``;
            first_val, first_idx: distance and gallery index of each row's
            first good item (inf / G where none).
    """
    c, num_g = dist.shape
    npos = good.sum(1)
    m = int(npos.max()) if c else 0
    if m == 0:
        return (np.full((c, 0), -1, np.int64), npos,
                np.full(c, np.inf), np.full(c, num_g))
    rows, cols = np.nonzero(good)  # row-major: cols ascending inside a row
    vals = dist[rows, cols]
    order = np.lexsort((cols, vals, rows))
    rows, cols, vals = rows[order], cols[order], vals[order]
    starts = np.zeros(c + 1, np.int64)
    np.cumsum(npos, out=starts[1:])
    slot = np.arange(rows.size) - starts[rows]
    pos_val = np.full((c, m), np.inf, dtype=dist.dtype)
    pos_idx = np.full((c, m), num_g, dtype=np.int64)
    pos_val[rows, slot] = vals
    pos_idx[rows, slot] = cols

    # for every good item, count the kept non-matches ranked above it: sort
    # each row's non-matching kept distances (SIMD sort of values, no argsort)
    # and binary-search the good items' distances in it
    neg = keep & ~good
    sorted_neg = np.sort(np.where(neg, dist, np.inf), axis=1)
    less = _batched_search(sorted_neg, pos_val, right=False)
    less_eq = _batched_search(sorted_neg, pos_val, right=True)
    neg_before = less
    tie_r, tie_j = np.nonzero((less_eq > less) & (pos_idx < num_g))
    if tie_r.size:  # equal distances: the smaller gallery index ranks first
        neg_before = less.copy()
        gidx = np.arange(num_g)
        for r, j in zip(tie_r, tie_j):
            neg_before[r, j] += np.count_nonzero(
                neg[r] & (dist[r] == pos_val[r, j]) & (gidx < pos_idx[r, j]))
    pos = neg_before + np.arange(m)[None]
    pos[np.arange(m)[None] >= npos[:, None]] = -1
    return pos, npos, pos_val[:, 0].astype(np.float64), pos_idx[:, 0]


def _batched_search(sorted_rows: np.ndarray, values: np.ndarray,
                    right: bool) -> np.ndarray:
    """Row-wise ``searchsorted``: for ``values[r, j]`` the number of entries of
    ``sorted_rows[r]`` that are ``<`` (or ``<=`` with ``right``) it."""
    c, n = sorted_rows.shape
    lo = np.zeros(values.shape, np.int64)
    hi = np.full(values.shape, n, np.int64)
    rows = np.arange(c)[:, None]
    while True:
        active = lo < hi
        if not active.any():
            return lo
        mid = (lo + hi) // 2
        v = sorted_rows[rows, np.minimum(mid, n - 1)]
        go_right = (v <= values) if right else (v < values)
        go_right &= active
        lo = np.where(go_right, mid + 1, lo)
        hi = np.where(active & ~go_right, mid, hi)


def _ap_inp(pos: np.ndarray, npos: np.ndarray):
    valid = npos > 0
    m = pos.shape[1]
    j = np.arange(1, m + 1, dtype=np.float64)[None]
    prec = np.where(pos >= 0, j / (np.maximum(pos, 0) + 1.0), 0.0)
    ap = prec.sum(1)[valid] / npos[valid]
    last = pos[valid, npos[valid] - 1]
    inp = npos[valid] / (last + 1.0)
    return ap, inp


class _Accumulator:
    """Collects per-query results and turns them into the returned dict."""

    def __init__(self, max_rank: int):
        self.max_rank = max_rank
        self.first = []   # position of the first hit (CMC), per valid query
        self.cmc_frac = []  # or a (n, max_rank) array of fractional curves
        self.ap = []
        self.inp = []

    def add(self, first_positions, ap, inp):
        self.first.append(np.asarray(first_positions, np.int64))
        self.ap.append(ap)
        self.inp.append(inp)

    def add_curves(self, curves, ap, inp):
        self.cmc_frac.append(curves)
        self.ap.append(ap)
        self.inp.append(inp)

    def result(self) -> Dict:
        ap = np.concatenate(self.ap) if self.ap else np.zeros(0)
        inp = np.concatenate(self.inp) if self.inp else np.zeros(0)
        num_valid = ap.size
        if num_valid == 0:
            raise ValueError('no query has a match in the gallery: every '
                             'query identity is missing from the gallery')
        cmc = np.zeros(self.max_rank, np.float64)
        if self.first:
            first = np.concatenate(self.first)
            hist = np.bincount(np.minimum(first, self.max_rank),
                               minlength=self.max_rank + 1)[:self.max_rank]
            cmc += np.cumsum(hist)
        if self.cmc_frac:
            cmc += np.concatenate(self.cmc_frac).sum(0)
        return dict(cmc=cmc / num_valid, mAP=float(ap.mean()),
                    mINP=float(inp.mean()), num_valid=int(num_valid))


def _blocks(num_q: int, num_g: int):
    step = max(1, _BLOCK_ELEMENTS // max(num_g, 1))
    for start in range(0, num_q, step):
        yield start, min(num_q, start + step)


def _evaluate(dist, q_pids, g_pids, keep_fn, max_rank, dedup_pid=False):
    """Standard CMC/mAP/mINP with ``keep_fn(start, stop) -> (c, G) bool``.

    ``dedup_pid``: CMC on the ranked list of distinct identities (SYSU-MM01 and
    LLCM reference code), i.e. the first hit's position counts the distinct
    identities among the kept items ranked above it.
    """
    acc = _Accumulator(max_rank)
    num_q, num_g = dist.shape
    if dedup_pid:
        _, g_codes = np.unique(g_pids, return_inverse=True)
        num_codes = int(g_codes.max()) + 1 if num_g else 0
    for start, stop in _blocks(num_q, num_g):
        d = dist[start:stop]
        keep = keep_fn(start, stop)
        good = (q_pids[start:stop, None] == g_pids[None]) & keep
        pos, npos, fval, fidx = _positive_positions(d, good, keep)
        valid = npos > 0
        if not valid.any():
            continue
        ap, inp = _ap_inp(pos, npos)
        if dedup_pid:
            gidx = np.arange(num_g)[None]
            above = keep & ((d < fval[:, None]) |
                            ((d == fval[:, None]) & (gidx < fidx[:, None])))
            r, cidx = np.nonzero(above)
            seen = np.zeros((d.shape[0], num_codes), bool)
            seen[r, g_codes[cidx]] = True
            first = seen.sum(1)[valid]
        else:
            first = pos[valid, 0]
        acc.add(first, ap, inp)
    return acc.result()


def per_query_ap(distmat, q_pids, g_pids, q_camids, g_camids) -> np.ndarray:
    """AP of every query under the Market rule (NaN for queries without a
    match); used to pick the best and worst queries for rank-list images."""
    dist = _as_dist(distmat)
    num_q, num_g = dist.shape
    q_pids = _as_1d(q_pids, 'q_pids', num_q)
    g_pids = _as_1d(g_pids, 'g_pids', num_g)
    q_camids = _as_1d(q_camids, 'q_camids', num_q)
    g_camids = _as_1d(g_camids, 'g_camids', num_g)
    keep_fn = _market_keep(q_pids, g_pids, q_camids, g_camids)
    out = np.full(num_q, np.nan)
    for start, stop in _blocks(num_q, num_g):
        keep = keep_fn(start, stop)
        good = (q_pids[start:stop, None] == g_pids[None]) & keep
        pos, npos, _, _ = _positive_positions(dist[start:stop], good, keep)
        ap, _ = _ap_inp(pos, npos)
        out[start:stop][npos > 0] = ap
    return out


def _market_keep(q_pids, g_pids, q_camids, g_camids):
    def keep_fn(start, stop):
        return ~((q_pids[start:stop, None] == g_pids[None]) &
                 (q_camids[start:stop, None] == g_camids[None]))
    return keep_fn


def _no_junk(num_g):
    def keep_fn(start, stop):
        return np.ones((stop - start, num_g), bool)
    return keep_fn


# --------------------------------------------------------------------------
# protocols
# --------------------------------------------------------------------------
def _rank_market(dist, q_pids, g_pids, q_camids, g_camids, max_rank, **_):
    return _evaluate(dist, q_pids, g_pids,
                     _market_keep(q_pids, g_pids, q_camids, g_camids), max_rank)


def _rank_clothes(dist, q_pids, g_pids, q_camids, g_camids, max_rank,
                  q_clothes, g_clothes, mode):
    """Simple-CCReID ``evaluate_with_clothes``.

    Junk: same pid and same camera; in ``'cc'`` mode also same pid and same
    clothes; in ``'sc'`` mode also same pid and *different* clothes (only
    same-clothes images of another camera count as matches).
    """
    def keep_fn(start, stop):
        same_pid = q_pids[start:stop, None] == g_pids[None]
        same_cam = q_camids[start:stop, None] == g_camids[None]
        same_clo = q_clothes[start:stop, None] == g_clothes[None]
        junk = same_pid & same_cam
        if mode == 'cc':
            junk |= same_pid & same_clo
        else:
            junk |= same_pid & ~same_clo
        return ~junk
    return _evaluate(dist, q_pids, g_pids, keep_fn, max_rank)


def _rank_cuhk03_sg(dist, q_pids, g_pids, q_camids, g_camids, max_rank,
                    num_repeats=10, seed=0, **_):
    """CUHK03 single-gallery-shot (torchreid ``eval_cuhk03``).

    Junk as Market. AP and INP on the full list of kept items; CMC averaged
    over ``num_repeats`` samplings that keep one random kept gallery image
    per identity. Sampling, per valid query in query order, per repeat: with
    ``rng = numpy.random.default_rng(seed)`` draw ``u = rng.random(n_ids)``
    for the kept identities in ascending pid order and take member
    ``floor(u * size)`` of each identity's kept images in gallery-index order.
    """
    rng = np.random.default_rng(seed)
    acc = _Accumulator(max_rank)
    keep_fn = _market_keep(q_pids, g_pids, q_camids, g_camids)
    num_g = dist.shape[1]
    for start, stop in _blocks(dist.shape[0], num_g):
        d = dist[start:stop]
        keep = keep_fn(start, stop)
        good = (q_pids[start:stop, None] == g_pids[None]) & keep
        pos, npos, _, _ = _positive_positions(d, good, keep)
        valid = npos > 0
        if not valid.any():
            continue
        ap, inp = _ap_inp(pos, npos)
        curves = np.zeros((int(valid.sum()), max_rank))
        for n, r in enumerate(np.nonzero(valid)[0]):
            kept = np.nonzero(keep[r])[0]            # gallery-index order
            ranked = np.lexsort((kept, d[r, kept]))  # stable distance order
            position = np.empty(kept.size, np.int64)
            position[ranked] = np.arange(kept.size)
            pids = g_pids[kept]
            by_pid = np.lexsort((kept, pids))
            uniq, first_of, size = np.unique(pids[by_pid], return_index=True,
                                             return_counts=True)
            own = np.searchsorted(uniq, q_pids[start + r])
            for _ in range(num_repeats):
                u = rng.random(uniq.size)
                chosen = by_pid[first_of + np.floor(u * size).astype(np.int64)]
                chosen_pos = position[chosen]
                rank_own = int((chosen_pos < chosen_pos[own]).sum())
                if rank_own < max_rank:
                    curves[n, rank_own:] += 1.0 / num_repeats
        acc.add_curves(curves, ap, inp)
    return acc.result()


def _group_choice(pids, camids, candidates, seed, paths=None):
    """One random candidate per (pid, camera), AGW/LLCM style.

    Groups are visited in ascending pid, then ascending camera; a group's
    members are ordered by path (when given) else by index; the choice is
    ``random.Random(seed).choice`` -- the same draws as the reference scripts'
    ``random.seed(trial); random.choice(sorted(files))``.
    """
    rnd = random.Random(seed)
    cand = np.asarray(candidates)
    if paths is not None:
        key = [str(paths[i]) for i in cand]
        order = sorted(range(cand.size), key=lambda n: (pids[cand[n]],
                                                        camids[cand[n]], key[n]))
    else:
        order = sorted(range(cand.size), key=lambda n: (pids[cand[n]],
                                                        camids[cand[n]], cand[n]))
    chosen = []
    n = 0
    while n < len(order):
        group = [cand[order[n]]]
        p, c = pids[group[0]], camids[group[0]]
        n += 1
        while n < len(order) and pids[cand[order[n]]] == p and \
                camids[cand[order[n]]] == c:
            group.append(cand[order[n]])
            n += 1
        chosen.append(rnd.choice(group))
    return np.asarray(sorted(chosen), np.int64)


def sample_gallery(protocol: str, g_pids, g_camids, seed: int, g_paths=None):
    """Gallery indices one trial of SYSU-MM01 / LLCM keeps.

    Args:
        protocol (str): ``'sysu_all'``, ``'sysu_indoor'``, ``'llcm_v2i'`` or
            ``'llcm_i2v'``.
        g_pids, g_camids: labels of every gallery candidate image.
        seed (int): trial number (the references use 0-9).
        g_paths (list[str], optional): image paths; with them the draws
            match the reference scripts exactly.

    Returns:
        ndarray: sorted indices into the gallery candidates.
    """
    g_pids = np.asarray(g_pids)
    g_camids = np.asarray(g_camids)
    cams = SYSU_GALLERY_CAMS.get(protocol)
    cand = (np.nonzero(np.isin(g_camids, cams))[0] if cams is not None
            else np.arange(g_pids.size))
    return _group_choice(g_pids, g_camids, cand, seed, g_paths)


def _rank_cross_modal(dist, q_pids, g_pids, q_camids, g_camids, max_rank,
                      protocol, seeds=tuple(range(10)), g_paths=None,
                      q_modalities=None, g_modalities=None, **_):
    """SYSU-MM01 (AGW ``eval_sysu``) and LLCM (``eval_llcm``), averaged over
    trials.

    Each trial keeps one random gallery image per identity and camera
    (:func:`sample_gallery`; SYSU all-search cameras 1,2,4,5, indoor 1,2).
    SYSU junk: for a camera-3 query every camera-2 gallery image. LLCM junk:
    same pid and same camera. mAP/mINP on the full ranked list; CMC, as the
    reference code does, on the ranked list of *distinct* identities.
    """
    if q_modalities is not None and g_modalities is not None:
        qm, gm = np.unique(q_modalities), np.unique(g_modalities)
        if np.intersect1d(qm, gm).size:
            raise ValueError(f'protocol {protocol!r} is cross-modal: query '
                             f'modalities {qm.tolist()} and gallery modalities '
                             f'{gm.tolist()} overlap')
    if isinstance(seeds, int):
        seeds = [seeds]
    seeds = list(seeds)
    if not seeds:
        raise ValueError('seeds must name at least one trial')
    results = []
    for seed in seeds:
        sel = sample_gallery(protocol, g_pids, g_camids, seed, g_paths)
        gp, gc = g_pids[sel], g_camids[sel]
        d = dist[:, sel]
        if protocol.startswith('sysu'):
            def keep_fn(start, stop, gc=gc):
                return ~((q_camids[start:stop, None] == 3) & (gc[None] == 2))
        else:
            keep_fn = _market_keep(q_pids, gp, q_camids, gc)
        results.append(_evaluate(d, q_pids, gp, keep_fn, max_rank,
                                 dedup_pid=True))
    out = _average(results)
    out['trials'] = results
    return out


def _average(results):
    return dict(cmc=np.mean([r['cmc'] for r in results], axis=0),
                mAP=float(np.mean([r['mAP'] for r in results])),
                mINP=float(np.mean([r['mINP'] for r in results])),
                num_valid=int(np.mean([r['num_valid'] for r in results])))


def _rank_vehicleid(dist, q_pids, g_pids, q_camids, g_camids, max_rank,
                    num_repeats=10, seed=0, **_):
    """VehicleID test lists (800 / 1600 / 2400): the distance matrix is the
    whole test list against itself. Each repeat keeps one random image per
    vehicle as gallery and the rest as queries (no junk: no cameras);
    results are averaged over ``num_repeats`` repeats. Draws: with
    ``rng = numpy.random.default_rng(seed)``, per repeat ``u = rng.random(n)``
    over vehicles in ascending id, member ``floor(u * size)`` in index order.
    """
    if dist.shape[0] != dist.shape[1] or not np.array_equal(q_pids, g_pids):
        raise ValueError('protocol "vehicleid" takes the whole test list '
                         'against itself: a square distmat with q_pids == g_pids')
    rng = np.random.default_rng(seed)
    order = np.lexsort((np.arange(g_pids.size), g_pids))
    uniq, first_of, size = np.unique(g_pids[order], return_index=True,
                                     return_counts=True)
    results = []
    for _ in range(num_repeats):
        u = rng.random(uniq.size)
        gal = np.sort(order[first_of + np.floor(u * size).astype(np.int64)])
        qry = np.setdiff1d(np.arange(g_pids.size), gal)
        sub = dist[np.ix_(qry, gal)]
        results.append(_evaluate(sub, q_pids[qry], g_pids[gal],
                                 _no_junk(gal.size), max_rank))
    out = _average(results)
    out['trials'] = results
    return out


def _subset(dist, q_pids, g_pids, q_camids, g_camids, qmask, gmask, meta):
    qi, gi = np.nonzero(qmask)[0], np.nonzero(gmask)[0]
    if qi.size == 0 or gi.size == 0:
        raise ValueError('this setting selects no query or no gallery image '
                         '(check camids)')
    sub_meta = {}
    for key in ('q_clothes', 'g_clothes'):
        if meta.get(key) is not None:
            sub_meta[key] = meta[key][qi if key[0] == 'q' else gi]
    return (dist[np.ix_(qi, gi)], q_pids[qi], g_pids[gi], q_camids[qi],
            g_camids[gi], sub_meta)


def rank(distmat, q_pids, g_pids, q_camids, g_camids, protocol: str = 'market',
         max_rank: int = 50, **meta) -> Dict:
    """Evaluate a query x gallery distance matrix under a benchmark protocol.

    Args:
        distmat (ndarray | Tensor): ``(Q, G)`` distances (smaller = closer).
        q_pids, g_pids, q_camids, g_camids: 1-D labels of length Q / G.
        protocol (str): one of :data:`PROTOCOLS`:

            - ``'market'``, ``'cityflow'`` (CityFlowV2 offline split of the
              training ids; the dataset makes the split): gallery images of
              the query's pid and camera are junk; distractors stay;
            - ``'last'``: no junk at all (every same-pid gallery image counts;
              LaST has no camera labels and the reference loaders give every
              image its own camera id);
            - ``'cuhk03_sg'``: single-gallery-shot CMC (``num_repeats``,
              ``seed``);
            - ``'vehicleid'``: square test-list matrix, one gallery image per
              vehicle, ``num_repeats`` repeats from ``seed``;
            - ``'prcc'`` (``mode`` 'sc': queries camera B=1, 'cc': camera C=2;
              gallery camera A=0), ``'ltcc'``/``'ccvid'`` (``mode`` 'general',
              'sc', 'cc'; needs ``q_clothes``/``g_clothes``), ``'vc_clothes'``
              (general: all; 'sc': cameras 2,3; 'cc': cameras 3,4);
            - ``'sysu_all'``, ``'sysu_indoor'``, ``'llcm_v2i'``, ``'llcm_i2v'``:
              ``seeds`` (default 0-9), optional ``g_paths``.
        max_rank (int): length of the returned CMC curve.
        **meta: protocol inputs named above (``mode``, ``q_clothes``,
            ``g_clothes``, ``seeds``, ``seed``, ``num_repeats``, ``g_paths``,
            ``q_modalities``, ``g_modalities``).

    Returns:
        dict: ``cmc`` (ndarray ``(max_rank,)``, fractions), ``mAP``, ``mINP``
        (fractions), ``num_valid``; trial protocols add ``trials``.

    Example:
        >>> d = np.array([[0.1, 0.5, 0.9]])
        >>> r = rank(d, [1], [1, 2, 1], [0], [1, 1, 0])  # gallery 2 is junk
        >>> float(r['cmc'][0]), r['mAP']
        (1.0, 1.0)
    """
    if protocol not in PROTOCOLS:
        raise ValueError(f'unknown protocol {protocol!r}; expected one of '
                         f'{PROTOCOLS}')
    if max_rank < 1:
        raise ValueError(f'max_rank must be >= 1, got {max_rank}')
    dist = _as_dist(distmat)
    num_q, num_g = dist.shape
    q_pids = _as_1d(q_pids, 'q_pids', num_q)
    g_pids = _as_1d(g_pids, 'g_pids', num_g)
    q_camids = _as_1d(q_camids, 'q_camids', num_q)
    g_camids = _as_1d(g_camids, 'g_camids', num_g)
    if num_q == 0 or num_g == 0:
        raise ValueError(f'empty query or gallery: distmat is {dist.shape}')
    for key, n in (('q_clothes', num_q), ('g_clothes', num_g),
                   ('q_modalities', num_q), ('g_modalities', num_g)):
        if meta.get(key) is not None:
            meta[key] = _as_1d(meta[key], key, n)
    mode = meta.pop('mode', None)
    if protocol in SETTINGS:
        allowed = SETTINGS[protocol]
        mode = mode if mode is not None else 'cc'
        if mode not in allowed:
            raise ValueError(f'protocol {protocol!r} has modes {allowed}, '
                             f'got mode={mode!r}')
    elif mode is not None:
        raise ValueError(f'protocol {protocol!r} takes no mode, got {mode!r}')

    args = (dist, q_pids, g_pids, q_camids, g_camids)
    if protocol in ('market', 'cityflow'):
        return _rank_market(*args, max_rank)
    if protocol == 'last':
        return _evaluate(dist, q_pids, g_pids, _no_junk(num_g), max_rank)
    if protocol == 'cuhk03_sg':
        return _rank_cuhk03_sg(*args, max_rank, **meta)
    if protocol == 'vehicleid':
        return _rank_vehicleid(*args, max_rank, **meta)
    if protocol in SYSU_GALLERY_CAMS or protocol.startswith('llcm'):
        return _rank_cross_modal(*args, max_rank, protocol=protocol, **meta)
    if protocol == 'prcc':
        sub = _subset(*args, q_camids == PRCC_QUERY_CAM[mode],
                      g_camids == PRCC_GALLERY_CAM, meta)
        return _rank_market(*sub[:5], max_rank)
    if protocol == 'vc_clothes':
        if mode == 'general':
            return _rank_market(*args, max_rank)
        cams = VC_CLOTHES_CAMS[mode]
        sub = _subset(*args, np.isin(q_camids, cams), np.isin(g_camids, cams),
                      meta)
        return _rank_market(*sub[:5], max_rank)
    # ltcc, ccvid
    if mode == 'general':
        return _rank_market(*args, max_rank)
    q_clothes = _need(meta, 'q_clothes', num_q, protocol)
    g_clothes = _need(meta, 'g_clothes', num_g, protocol)
    return _rank_clothes(*args, max_rank, q_clothes, g_clothes, mode)
