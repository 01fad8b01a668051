"""Benchmark protocols: registered rules that split, pool and rank (CMC, mAP, mINP).

A protocol is a :class:`Protocol` subclass registered in
``reidkit.registry.PROTOCOLS`` under the name configs use
(``ReIDMetric(protocol='prcc')``). Its class attributes say which settings it
reports, how query and gallery are chosen (``split``, a query ``modality`` or
the whole set) and which per-sample labels it reads; :meth:`Protocol.score`
turns a distance matrix into numbers. A plugin adds a protocol by registering
its own subclass; nothing in reidkit needs editing. :func:`rank` is the
functional entry point (``rank(dist, q_pids, g_pids, q_camids, g_camids,
protocol='market')``).

Every protocol reduces to the same core: for each query, a *keep* mask over
the gallery (what is not junk) and a *good* mask (the true matches among the
kept items). The core finds, for every good item, its 0-based position in the
query's ranked list of kept items; CMC, AP and INP follow from those positions:

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

import difflib
import inspect
import random
from typing import Dict, Optional, Sequence, Tuple

import numpy as np
import torch

from ..registry import PROTOCOLS

__all__ = ['Protocol', 'build_protocol', 'rank', 'score_ranking',
           'settings_of', 'sample_gallery', 'pool_tracklets', 'per_query_ap',
           'PROTOCOLS', 'LABEL_KEYS']

#: per-sample labels a protocol may read (dicts of 1-D arrays with these keys)
LABEL_KEYS = ('pid', 'camid', 'clothes_id', 'modality', 'track_id', 'img_path')
# the names rank() gives them: q_pids, g_clothes, q_modalities, g_paths, ...
_ARG_NAMES = dict(pid='pids', camid='camids', clothes_id='clothes',
                  modality='modalities', track_id='tracks', img_path='paths')

_BLOCK_ELEMENTS = 1 << 23  # queries per block * gallery size (about 8M)


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


def score_ranking(distmat, q_pids, g_pids, keep=None, max_rank: int = 50,
                  distinct_ids: bool = False) -> Dict:
    """CMC / mAP / mINP of a distance matrix under a keep (non-junk) rule.

    The building block of every protocol, public for plugins' protocols.

    Args:
        distmat: ``(Q, G)`` distances (smaller = closer).
        q_pids, g_pids: identities.
        keep (callable, optional): ``keep(start, stop) -> (stop - start, G)``
            bool mask of the gallery items that count for queries
            ``start:stop``; ``None`` keeps everything.
        max_rank (int): CMC length.
        distinct_ids (bool): CMC on the ranked list of distinct identities
            (SYSU-MM01 / LLCM reference code).

    Returns:
        dict: ``cmc``, ``mAP``, ``mINP`` (fractions) and ``num_valid``.

    Example:
        >>> score_ranking(np.array([[0.2, 0.1]]), [1], [1, 2])['mAP']
        0.5
    """
    dist = _as_dist(distmat)
    q_pids = _as_1d(q_pids, 'q_pids', dist.shape[0])
    g_pids = _as_1d(g_pids, 'g_pids', dist.shape[1])
    return _evaluate(dist, q_pids, g_pids, keep or _no_junk(dist.shape[1]),
                     max_rank, dedup_pid=distinct_ids)


def _market(dist, query, gallery, max_rank):
    return _evaluate(dist, query['pid'], gallery['pid'],
                     _market_keep(query['pid'], gallery['pid'],
                                  query['camid'], gallery['camid']), max_rank)


def _take(labels: dict, idx) -> dict:
    return {k: v[idx] for k, v in labels.items()}


def _paths(labels: dict):
    """Image paths, when every sample has one (else None)."""
    paths = labels.get('img_path')
    if paths is None or not all(str(p) for p in paths):
        return None
    return [str(p) for p in paths]


def _average(results):
    out = dict(cmc=np.mean([r['cmc'] for r in results], axis=0),
               mAP=float(np.mean([r['mAP'] for r in results])),
               mINP=float(np.mean([r['mINP'] for r in results])),
               num_valid=int(np.mean([r['num_valid'] for r in results])))
    out['trials'] = results
    return out


def _group_choice(pids, camids, candidates, rnd: random.Random, paths=None):
    """One random candidate per group, as the reference scripts draw.

    Groups are (pid, camera), or pid alone when ``camids`` is None, visited
    in ascending order; a group's members are ordered by path when given,
    else by index; the pick is ``rnd.choice(members)`` -- the same draws as
    ``random.seed(s); random.choice(sorted(files))`` in AGW / LLCM / CAL.
    """
    groups: Dict[tuple, list] = {}
    for i in candidates:
        key = (pids[i],) if camids is None else (pids[i], camids[i])
        groups.setdefault(key, []).append(int(i))
    chosen = []
    for key in sorted(groups):
        members = groups[key]
        if paths is not None:
            members = sorted(members, key=lambda i: paths[i])
        chosen.append(rnd.choice(members))
    return np.asarray(sorted(chosen), np.int64)


def pool_tracklets(feats, labels: dict):
    """Mean feature per tracklet (``track_id``), with the tracklet's labels.

    Args:
        feats (Tensor | ndarray): ``(N, D)`` frame features.
        labels (dict): 1-D label arrays of length N, with ``track_id``.

    Returns:
        tuple: ``(T, D)`` float tensor of tracklet means in ascending
        ``track_id`` order, and the labels of each tracklet (those of its
        first frame; ``img_path`` its first frame's path).

    Memory is ``O(N D + T D)``: frames are summed into their tracklet's row
    (``index_add_``); no frame x frame matrix is formed.

    Example:
        >>> f, lab = pool_tracklets(torch.eye(3), dict(
        ...     track_id=np.array([5, 5, 2]), pid=np.array([1, 1, 0])))
        >>> f.tolist(), lab['pid'].tolist()
        ([[0.0, 0.0, 1.0], [0.5, 0.5, 0.0]], [0, 1])
    """
    feats = torch.as_tensor(feats)
    if not feats.is_floating_point():
        feats = feats.float()
    track = np.asarray(labels['track_id'])
    if (track < 0).any():
        raise ValueError(f'pooling per tracklet needs a track_id >= 0 for '
                         f'every sample; {int((track < 0).sum())} of '
                         f'{track.size} have none (the dataset sets it)')
    uniq, first, inverse = np.unique(track, return_index=True,
                                     return_inverse=True)
    inverse = inverse.reshape(-1)
    pooled = {k: np.asarray(v)[first] for k, v in labels.items()}
    for key in ('pid', 'camid', 'clothes_id', 'modality'):
        if key in labels:
            bad = np.nonzero(np.asarray(labels[key]) != pooled[key][inverse])[0]
            if bad.size:
                raise ValueError(
                    f'tracklet {track[bad[0]]} mixes {key} values '
                    f'{pooled[key][inverse[bad[0]]]} and '
                    f'{np.asarray(labels[key])[bad[0]]}: frames of one '
                    f'tracklet must share pid, camid and clothes')
    index = torch.from_numpy(inverse.astype(np.int64))
    sums = torch.zeros(uniq.size, feats.shape[1], dtype=feats.dtype)
    sums.index_add_(0, index, feats)
    counts = torch.bincount(index, minlength=uniq.size).to(feats.dtype)
    return sums / counts[:, None], pooled


# --------------------------------------------------------------------------
# the protocol classes
# --------------------------------------------------------------------------
class Protocol:
    """Base class of a registered evaluation protocol.

    A protocol says how a benchmark is scored: which samples are queries and
    which gallery (:meth:`split`), whether samples are pooled first
    (:meth:`aggregate`, e.g. frames into tracklets) and how a query x gallery
    distance matrix is ranked (:meth:`score`). Subclass it, set the class
    attributes, implement :meth:`score` and register the class in
    ``reidkit.registry.PROTOCOLS``; ``ReIDMetric(protocol='<name>', **opts)``
    then builds it with the options as constructor arguments.

    Class attributes:
        settings (tuple): the modes reported, each under a ``'<mode>/'``
            prefix by ReIDMetric; ``(None,)`` for one unprefixed setting.
        default_setting: the mode :func:`rank` scores when given none.
        query_modality (int, optional): queries are the samples of this
            ``modality`` and the gallery all others (``split`` is not read).
        whole_set (bool): every sample is query and gallery (VehicleID).
        needs (tuple): labels beyond ``pid``/``camid`` the protocol requires
            of every sample (``'clothes_id'``, ``'track_id'``, ...).

    Labels are dicts of 1-D numpy arrays keyed by :data:`LABEL_KEYS`
    (``pid`` and ``camid`` always present; ReIDMetric passes all of them).

    Example:
        >>> from reidkit.registry import PROTOCOLS
        >>> @PROTOCOLS.register_module(name='cross_camera')
        ... class CrossCamera(Protocol):
        ...     '''Every gallery image from the query's camera is junk.'''
        ...     def score(self, dist, query, gallery, mode, max_rank):
        ...         def keep(start, stop):
        ...             return (query['camid'][start:stop, None]
        ...                     != gallery['camid'][None])
        ...         return score_ranking(dist, query['pid'], gallery['pid'],
        ...                              keep, max_rank)
        >>> metric = ReIDMetric(protocol='cross_camera')
    """

    settings: Tuple[Optional[str], ...] = (None,)
    default_setting: Optional[str] = None
    query_modality: Optional[int] = None
    whole_set: bool = False
    needs: Tuple[str, ...] = ()
    #: set by :func:`build_protocol` to the registered name
    name: Optional[str] = None

    def split(self, labels: dict) -> Tuple[np.ndarray, np.ndarray]:
        """Query and gallery indices into the collected samples.

        ``labels`` also holds ``split`` (``'query'`` / ``'gallery'``).
        """
        num = len(labels['pid'])
        if self.whole_set:
            everything = np.arange(num)
            return everything, everything
        if self.query_modality is not None:
            is_query = np.asarray(labels['modality']) == self.query_modality
            if is_query.all() or not is_query.any():
                raise ValueError(
                    f'protocol {self.name!r} is cross-modal: queries are the '
                    f'samples of modality {self.query_modality}, the gallery '
                    f'all others, but the samples have modalities '
                    f'{np.unique(labels["modality"]).tolist()} (the dataset '
                    'must set "modality")')
            return np.nonzero(is_query)[0], np.nonzero(~is_query)[0]
        split = np.asarray(labels['split'])
        return np.nonzero(split == 'query')[0], np.nonzero(split == 'gallery')[0]

    def aggregate(self, feats, labels: dict):
        """Pool one side's samples before distances: identity by default."""
        return feats, labels

    def evaluate(self, distmat, query: dict, gallery: dict,
                 mode: Optional[str] = None, max_rank: int = 50) -> Dict:
        """Check the inputs and :meth:`score` one setting.

        Args:
            distmat: ``(Q, G)`` distances (smaller = closer).
            query, gallery (dict): label arrays of length Q / G.
            mode (str, optional): one of :attr:`settings`
                (default :attr:`default_setting`).
            max_rank (int): length of the CMC curve.

        Returns:
            dict: ``cmc`` (``(max_rank,)`` fractions), ``mAP``, ``mINP``,
            ``num_valid``; protocols with trials add ``trials``.
        """
        if max_rank < 1:
            raise ValueError(f'max_rank must be >= 1, got {max_rank}')
        dist = _as_dist(distmat)
        num_q, num_g = dist.shape
        query = {k: _as_1d(v, f'q_{_ARG_NAMES.get(k, k)}', num_q)
                 for k, v in query.items() if v is not None}
        gallery = {k: _as_1d(v, f'g_{_ARG_NAMES.get(k, k)}', num_g)
                   for k, v in gallery.items() if v is not None}
        for side in (query, gallery):
            for key in ('pid', 'camid'):
                if key not in side:
                    raise KeyError(f'protocol {self.name!r} needs {key!r} '
                                   'labels of query and gallery')
        if num_q == 0 or num_g == 0:
            raise ValueError(f'empty query or gallery: distmat is {dist.shape}')
        if self.settings == (None,):
            if mode is not None:
                raise ValueError(f'protocol {self.name!r} takes no mode, got '
                                 f'{mode!r}')
        else:
            mode = self.default_setting if mode is None else mode
            if mode not in self.settings:
                raise ValueError(f'protocol {self.name!r} has modes '
                                 f'{self.settings}, got mode={mode!r}')
        if self.query_modality is not None:
            self._check_direction(query, gallery)
        return self.score(dist, query, gallery, mode, max_rank)

    def score(self, dist: np.ndarray, query: dict, gallery: dict,
              mode: Optional[str], max_rank: int) -> Dict:
        """Rank ``dist`` (checked numpy array) for one setting ``mode``."""
        raise NotImplementedError(f'{type(self).__name__} must implement '
                                  'score()')

    def _need(self, labels: dict, key: str, side: str, mode=None):
        if key not in labels:
            raise KeyError(
                f'protocol {self.name!r}' + (f' (mode {mode!r})' if mode else '')
                + f' needs {key!r} labels: pass {side}_{_ARG_NAMES[key]}= to '
                f'rank(), or give every data sample a {key!r}')
        return labels[key]

    def _check_direction(self, query, gallery):
        q_mod, g_mod = query.get('modality'), gallery.get('modality')
        if q_mod is None or g_mod is None:
            return
        if (q_mod != self.query_modality).any() or \
                (g_mod == self.query_modality).any():
            raise ValueError(
                f'protocol {self.name!r} is cross-modal with queries of '
                f'modality {self.query_modality} only and a gallery of the '
                f'other modality; got query modalities '
                f'{np.unique(q_mod).tolist()} and gallery modalities '
                f'{np.unique(g_mod).tolist()}')

    def __repr__(self) -> str:
        opts = ', '.join(f'{k}={v!r}' for k, v in vars(self).items()
                         if k != 'name')
        return f'{type(self).__name__}({opts})'


def build_protocol(protocol, **options) -> Protocol:
    """A protocol object from a registered name, a config dict or an object.

    Args:
        protocol (str | dict | Protocol): ``'prcc'``,
            ``dict(type='prcc', single_shot=True)`` or a built protocol.
        **options: constructor arguments (merged over a dict's).

    Raises:
        UnknownTypeError: an unregistered name (the message lists the
            closest registered names).
        TypeError: an option the protocol does not take (names the valid
            ones).

    Example:
        >>> build_protocol('llcm_v2i', official=True).official
        True
    """
    if isinstance(protocol, Protocol):
        if options:
            raise TypeError(f'options {sorted(options)} given with an already '
                            f'built protocol {protocol!r}')
        if protocol.name is None:
            protocol.name = type(protocol).__name__
        return protocol
    if isinstance(protocol, dict):
        cfg = dict(protocol)
        name = cfg.pop('type', None)
        options = {**cfg, **options}
    else:
        name = protocol
    if not isinstance(name, str):
        raise TypeError(f'a protocol is named by a string, a dict with "type" '
                        f'or a Protocol object, got {protocol!r}')
    cls = PROTOCOLS.get(name)
    params = inspect.signature(cls).parameters
    if not any(p.kind is p.VAR_KEYWORD for p in params.values()):
        valid = [k for k, p in params.items()
                 if p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY)]
        for key in options:
            if key not in valid:
                close = difflib.get_close_matches(key, valid, n=1)
                hint = f' Did you mean {close[0]!r}?' if close else ''
                raise TypeError(f'protocol {name!r} has no option {key!r}; its '
                                f'options are {valid or "none"}.{hint}')
    obj = cls(**options)
    obj.name = name
    return obj


def settings_of(protocol) -> Sequence[Optional[str]]:
    """The modes a protocol is reported under (``(None,)`` if one)."""
    if isinstance(protocol, Protocol):
        return protocol.settings
    return PROTOCOLS.get(protocol).settings


def _seed_list(seeds) -> list:
    seeds = [seeds] if isinstance(seeds, int) else list(seeds)
    if not seeds:
        raise ValueError('seeds must name at least one trial')
    return seeds


@PROTOCOLS.register_module(name='market')
class MarketProtocol(Protocol):
    """Market-1501 rule (torchreid ``eval_market1501``), also DukeMTMC,
    MSMT17, CUHK03-NP and VeRi-776: gallery images of the query's pid *and*
    camera are junk; distractors stay. No options.

    Example:
        >>> ReIDMetric(protocol='market')
    """

    def score(self, dist, query, gallery, mode, max_rank):
        return _market(dist, query, gallery, max_rank)


@PROTOCOLS.register_module(name='cityflow')
class CityFlowProtocol(MarketProtocol):
    """CityFlowV2 offline split of the training ids (the dataset makes the
    split); junk as Market. No options."""


@PROTOCOLS.register_module(name='last')
class LaSTProtocol(Protocol):
    """LaST: no junk at all (every same-pid gallery image counts; LaST has no
    camera labels and the reference loaders give every image its own camera
    id). No options."""

    def score(self, dist, query, gallery, mode, max_rank):
        return _evaluate(dist, query['pid'], gallery['pid'],
                         _no_junk(dist.shape[1]), max_rank)


@PROTOCOLS.register_module(name='cuhk03_sg')
class CUHK03SingleShotProtocol(Protocol):
    """CUHK03 single-gallery-shot (torchreid ``eval_cuhk03``).

    Junk as Market. AP and INP on the full list of kept items; CMC averaged
    over ``num_repeats`` samplings that keep one random kept gallery image
    per identity. Sampling, per valid query in query order, per repeat: with
    ``rng = numpy.random.default_rng(seed)`` draw ``u = rng.random(n_ids)``
    for the kept identities in ascending pid order and take member
    ``floor(u * size)`` of each identity's kept images in gallery-index order.

    Args:
        num_repeats (int): samplings per query. Default 10.
        seed (int): seed of the draws. Default 0.
    """

    def __init__(self, num_repeats: int = 10, seed: int = 0):
        self.num_repeats = int(num_repeats)
        self.seed = seed

    def score(self, dist, query, gallery, mode, max_rank):
        q_pids, g_pids = query['pid'], gallery['pid']
        rng = np.random.default_rng(self.seed)
        acc = _Accumulator(max_rank)
        keep_fn = _market_keep(q_pids, g_pids, query['camid'], gallery['camid'])
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
                uniq, first_of, size = np.unique(
                    pids[by_pid], return_index=True, return_counts=True)
                own = np.searchsorted(uniq, q_pids[start + r])
                for _ in range(self.num_repeats):
                    u = rng.random(uniq.size)
                    chosen = by_pid[first_of +
                                    np.floor(u * size).astype(np.int64)]
                    chosen_pos = position[chosen]
                    rank_own = int((chosen_pos < chosen_pos[own]).sum())
                    if rank_own < max_rank:
                        curves[n, rank_own:] += 1.0 / self.num_repeats
            acc.add_curves(curves, ap, inp)
        return acc.result()


@PROTOCOLS.register_module(name='vehicleid')
class VehicleIDProtocol(Protocol):
    """VehicleID test lists (800 / 1600 / 2400): the whole test list against
    itself (``whole_set``; ``split`` is not read).

    Each repeat keeps one random image per vehicle as gallery and the rest
    as queries (no junk: no cameras); results are averaged over the repeats.
    Draws: with ``rng = numpy.random.default_rng(seed)``, per repeat
    ``u = rng.random(n)`` over vehicles in ascending id, member
    ``floor(u * size)`` in index order.

    Args:
        num_repeats (int): gallery draws averaged. Default 10.
        seed (int): seed of the draws. Default 0.
    """

    whole_set = True

    def __init__(self, num_repeats: int = 10, seed: int = 0):
        self.num_repeats = int(num_repeats)
        self.seed = seed

    def score(self, dist, query, gallery, mode, max_rank):
        pids = gallery['pid']
        if dist.shape[0] != dist.shape[1] or \
                not np.array_equal(query['pid'], pids):
            raise ValueError('protocol "vehicleid" takes the whole test list '
                             'against itself: a square distmat with '
                             'q_pids == g_pids')
        rng = np.random.default_rng(self.seed)
        order = np.lexsort((np.arange(pids.size), pids))
        uniq, first_of, size = np.unique(pids[order], return_index=True,
                                         return_counts=True)
        results = []
        for _ in range(self.num_repeats):
            u = rng.random(uniq.size)
            gal = np.sort(order[first_of + np.floor(u * size).astype(np.int64)])
            qry = np.setdiff1d(np.arange(pids.size), gal)
            results.append(_evaluate(dist[np.ix_(qry, gal)], pids[qry],
                                     pids[gal], _no_junk(gal.size), max_rank))
        return _average(results)


@PROTOCOLS.register_module(name='prcc')
class PRCCProtocol(Protocol):
    """PRCC: gallery camera A (camid 0); setting ``'sc'`` scores the camera-B
    queries (same clothes, camid 1), ``'cc'`` the camera-C ones (changed
    clothes, camid 2), each with the Market rule (CAL ``test_prcc``).

    By default the gallery is every camera-A image (multi-shot), the numbers
    CAL (Simple-CCReID) reports. ``single_shot=True`` scores instead
    ``num_trials`` single-shot galleries of one random camera-A image per
    identity and averages them: CAL's ``data/datasets/prcc.py`` draws them
    (``random.seed(3)`` once, then per trial and per identity
    ``random.choice`` of that identity's gallery images) but its test code
    never uses them. The draws here are the same, with identities in
    ascending pid order and an identity's images in path order (CAL's
    ``glob`` order is the file system's); both settings share the galleries.

    Args:
        single_shot (bool): score the single-shot galleries. Default False.
        num_trials (int): single-shot galleries averaged. Default 10.
        seed (int): seed of the single-shot draws. Default 3 (CAL's).

    Example:
        >>> ReIDMetric(protocol='prcc', single_shot=True)  # sc/*, cc/*
    """

    settings = ('sc', 'cc')
    default_setting = 'cc'
    query_cams = {'sc': 1, 'cc': 2}  # B -> A same clothes, C -> A changed
    gallery_cam = 0

    def __init__(self, single_shot: bool = False, num_trials: int = 10,
                 seed: int = 3):
        if num_trials < 1:
            raise ValueError(f'prcc: num_trials must be >= 1, got {num_trials}')
        self.single_shot = bool(single_shot)
        self.num_trials = int(num_trials)
        self.seed = seed

    def score(self, dist, query, gallery, mode, max_rank):
        qi = np.nonzero(query['camid'] == self.query_cams[mode])[0]
        gi = np.nonzero(gallery['camid'] == self.gallery_cam)[0]
        if qi.size == 0 or gi.size == 0:
            raise ValueError(
                f'prcc mode {mode!r}: {qi.size} queries of camid '
                f'{self.query_cams[mode]} and {gi.size} gallery images of '
                f'camid {self.gallery_cam} (check camids)')
        d, q, g = dist[np.ix_(qi, gi)], _take(query, qi), _take(gallery, gi)
        if not self.single_shot:
            return _market(d, q, g, max_rank)
        rnd = random.Random(self.seed)
        paths = _paths(g)
        results = []
        for _ in range(self.num_trials):
            sel = _group_choice(g['pid'], None, range(gi.size), rnd, paths)
            results.append(_market(d[:, sel], q, _take(g, sel), max_rank))
        return _average(results)


@PROTOCOLS.register_module(name='vc_clothes')
class VCClothesProtocol(Protocol):
    """VC-Clothes: ``'general'`` all cameras, ``'sc'`` cameras 2 and 3
    (same clothes), ``'cc'`` cameras 3 and 4 (changed), each with the Market
    rule on the chosen cameras' queries and gallery. No options."""

    settings = ('general', 'sc', 'cc')
    default_setting = 'cc'
    setting_cams = {'sc': (2, 3), 'cc': (3, 4)}

    def score(self, dist, query, gallery, mode, max_rank):
        if mode == 'general':
            return _market(dist, query, gallery, max_rank)
        cams = self.setting_cams[mode]
        qi = np.nonzero(np.isin(query['camid'], cams))[0]
        gi = np.nonzero(np.isin(gallery['camid'], cams))[0]
        if qi.size == 0 or gi.size == 0:
            raise ValueError(f'vc_clothes mode {mode!r} selects no query or '
                             f'no gallery image of cameras {cams} (check '
                             'camids)')
        return _market(dist[np.ix_(qi, gi)], _take(query, qi),
                       _take(gallery, gi), max_rank)


@PROTOCOLS.register_module(name='ltcc')
class ClothesChangingProtocol(Protocol):
    """LTCC (and the base of CCVID): Simple-CCReID ``evaluate`` /
    ``evaluate_with_clothes``.

    ``'general'``: Market rule. ``'cc'``: also junk are same-pid gallery
    images in the query's clothes; ``'sc'``: also junk are same-pid images
    in *other* clothes (only same-clothes images of another camera count).
    Needs ``clothes_id`` for ``'sc'``/``'cc'``. No options.
    """

    settings = ('general', 'sc', 'cc')
    default_setting = 'cc'
    needs = ('clothes_id',)

    def score(self, dist, query, gallery, mode, max_rank):
        if mode == 'general':
            return _market(dist, query, gallery, max_rank)
        q_pids, g_pids = query['pid'], gallery['pid']
        q_clo = self._need(query, 'clothes_id', 'q', mode)
        g_clo = self._need(gallery, 'clothes_id', 'g', mode)
        q_cam, g_cam = query['camid'], gallery['camid']

        def keep_fn(start, stop):
            same_pid = q_pids[start:stop, None] == g_pids[None]
            same_cam = q_cam[start:stop, None] == g_cam[None]
            same_clo = q_clo[start:stop, None] == g_clo[None]
            junk = same_pid & same_cam
            if mode == 'cc':
                junk |= same_pid & same_clo
            else:
                junk |= same_pid & ~same_clo
            return ~junk
        return _evaluate(dist, q_pids, g_pids, keep_fn, max_rank)


@PROTOCOLS.register_module(name='ccvid')
class CCVIDProtocol(ClothesChangingProtocol):
    """CCVID, scored as CAL's video setting (Simple-CCReID ``test``).

    The frames of a tracklet (``track_id``) are pooled into one feature, the
    mean (:func:`pool_tracklets`; CAL averages the features of a video's
    clips, each of which a C2D model averages over its frames), normalised
    by ReIDMetric's ``norm_feat`` after pooling as CAL normalises the mean.
    Tracklet queries are ranked against tracklet galleries with the
    LTCC/CAL rules (``'general'``, ``'sc'``, ``'cc'``); a tracklet's labels
    are those of its frames. Memory: the real release (about 1e5 query and
    1.3e5 gallery frames, 834 / 1,074 tracklets) needs the frame features
    plus a tracklet x tracklet distance, never a frame x frame matrix.
    :func:`rank` scores the matrix it is handed (pool first).

    Args:
        tracklets (bool): pool frames per tracklet. Default True;
            False scores every frame as its own query (not the benchmark).
    """

    needs = ('clothes_id', 'track_id')

    def __init__(self, tracklets: bool = True):
        self.tracklets = bool(tracklets)
        if not self.tracklets:
            self.needs = ('clothes_id',)

    def aggregate(self, feats, labels):
        if not self.tracklets:
            return feats, labels
        return pool_tracklets(feats, labels)


class CrossModalProtocol(Protocol):
    """Base of SYSU-MM01 and LLCM: queries of one modality, trials of a
    sampled gallery of the other.

    Each trial (seed) keeps one random gallery image per identity and
    camera (:func:`sample_gallery`; AGW/LLCM ``random.seed(trial)``, then
    ``random.choice`` over each (identity, camera)'s sorted files); results
    are averaged over the trials. mAP / mINP on the full ranked list; CMC,
    as the reference code does, on the ranked list of *distinct* identities.
    With image paths the draws equal the reference scripts'.

    Args:
        seeds (int | sequence): trial seeds. Default 0-9.
    """

    needs = ('modality',)
    #: cameras the gallery is drawn from (None: all)
    gallery_cams: Optional[Tuple[int, ...]] = None

    def __init__(self, seeds=tuple(range(10))):
        self.seeds = _seed_list(seeds)

    def sample(self, gallery: dict, seed: int) -> np.ndarray:
        """Sorted indices of the gallery images one trial keeps."""
        cams = gallery['camid']
        cand = (np.nonzero(np.isin(cams, self.gallery_cams))[0]
                if self.gallery_cams is not None else np.arange(cams.size))
        return _group_choice(gallery['pid'], cams, cand, random.Random(seed),
                             _paths(gallery))

    def keep(self, query, gallery):
        """The junk rule of one trial: Market (same pid and camera)."""
        return _market_keep(query['pid'], gallery['pid'], query['camid'],
                            gallery['camid'])

    def trial(self, dist, query, gallery, max_rank):
        return _evaluate(dist, query['pid'], gallery['pid'],
                         self.keep(query, gallery), max_rank, dedup_pid=True)

    def score(self, dist, query, gallery, mode, max_rank):
        results = []
        for seed in self.seeds:
            sel = self.sample(gallery, seed)
            results.append(self.trial(dist[:, sel], query,
                                      _take(gallery, sel), max_rank))
        return _average(results)


@PROTOCOLS.register_module(name='sysu_all')
class SYSUAllSearchProtocol(CrossModalProtocol):
    """SYSU-MM01 all-search (AGW ``eval_sysu``): infrared queries
    (``modality`` 1, cameras 3 and 6) against visible galleries drawn from
    cameras 1, 2, 4, 5; for a camera-3 query every camera-2 gallery image is
    junk. Args: see :class:`CrossModalProtocol` (``seeds``)."""

    query_modality = 1
    gallery_cams = (1, 2, 4, 5)

    def keep(self, query, gallery):
        q_cam, g_cam = query['camid'], gallery['camid']

        def keep_fn(start, stop):
            return ~((q_cam[start:stop, None] == 3) & (g_cam[None] == 2))
        return keep_fn


@PROTOCOLS.register_module(name='sysu_indoor')
class SYSUIndoorSearchProtocol(SYSUAllSearchProtocol):
    """SYSU-MM01 indoor-search: as all-search with the gallery drawn from
    the indoor cameras 1 and 2."""

    gallery_cams = (1, 2)


@PROTOCOLS.register_module(name='llcm_v2i')
class LLCMVisToIRProtocol(CrossModalProtocol):
    """LLCM visible -> infrared (``modality`` 0 queries).

    Default, the benchmark's definition (Zhang & Wang, CVPR 2023; what
    ``llcm_i2v`` and SYSU do): every visible image is a query, searched in
    each trial against one random infrared image per identity and camera;
    Market junk (same pid and camera), CMC on distinct identities
    (``eval_llcm``), 10 trials averaged.

    ``official=True`` reproduces the authors' script instead
    (ZYK100/LLCM ``DEEN/test.py`` and ``AGW/test.py`` with
    ``test_mode = [2, 1]``, "VIS to IR", where the published vis->IR numbers
    come from): per trial the *sampled infrared* images are the queries,
    searched against *all* visible images (``eval_llcm(-distmat.T, ...)``
    with gallery and query swapped), so the roles are the reverse of the
    definition. Draws are the script's (``random.seed(trial)``,
    ``random.choice`` per identity and camera over sorted files).

    Args:
        seeds (int | sequence): trial seeds. Default 0-9.
        official (bool): score as the authors' script. Default False.

    Example:
        >>> ReIDMetric(protocol='llcm_v2i', official=True)
    """

    query_modality = 0

    def __init__(self, seeds=tuple(range(10)), official: bool = False):
        super().__init__(seeds)
        self.official = bool(official)

    def score(self, dist, query, gallery, mode, max_rank):
        if not self.official or self.query_modality != 0:
            return super().score(dist, query, gallery, mode, max_rank)
        results = []
        for seed in self.seeds:
            sel = self.sample(gallery, seed)  # the infrared queries
            sampled = _take(gallery, sel)
            results.append(self.trial(dist[:, sel].T, sampled, query,
                                      max_rank))
        return _average(results)


@PROTOCOLS.register_module(name='llcm_i2v')
class LLCMIRToVisProtocol(LLCMVisToIRProtocol):
    """LLCM infrared -> visible (``modality`` 1 queries): every infrared
    image is a query, each trial's gallery one random visible image per
    identity and camera. The authors' script (``test_mode = [1, 2]``, "IR to
    VIS") does the same, so ``official=True`` changes nothing here.

    Args:
        seeds (int | sequence): trial seeds. Default 0-9.
        official (bool): accepted for symmetry with ``llcm_v2i``.
    """

    query_modality = 1


def sample_gallery(protocol: str, g_pids, g_camids, seed: int, g_paths=None):
    """Gallery indices one trial of SYSU-MM01 / LLCM keeps.

    Args:
        protocol (str): ``'sysu_all'``, ``'sysu_indoor'``, ``'llcm_v2i'`` or
            ``'llcm_i2v'`` (any registered :class:`CrossModalProtocol`).
        g_pids, g_camids: labels of every gallery candidate image.
        seed (int): trial number (the references use 0-9).
        g_paths (list[str], optional): image paths; with them the draws
            match the reference scripts exactly.

    Returns:
        ndarray: sorted indices into the gallery candidates.
    """
    proto = build_protocol(protocol)
    if not isinstance(proto, CrossModalProtocol):
        raise ValueError(f'protocol {protocol!r} samples no gallery')
    gallery = dict(pid=np.asarray(g_pids), camid=np.asarray(g_camids))
    if g_paths is not None:
        gallery['img_path'] = np.asarray(g_paths, dtype=object)
    return proto.sample(gallery, seed)


def rank(distmat, q_pids, g_pids, q_camids, g_camids, protocol='market',
         max_rank: int = 50, **meta) -> Dict:
    """Evaluate a query x gallery distance matrix under a registered protocol.

    Args:
        distmat (ndarray | Tensor): ``(Q, G)`` distances (smaller = closer).
        q_pids, g_pids, q_camids, g_camids: 1-D labels of length Q / G.
        protocol (str | dict | Protocol): a ``PROTOCOLS`` name ('market',
            'cityflow', 'last', 'cuhk03_sg', 'vehicleid', 'prcc', 'ltcc',
            'vc_clothes', 'ccvid', 'sysu_all', 'sysu_indoor', 'llcm_v2i',
            'llcm_i2v' or a plugin's); see each protocol class.
        max_rank (int): length of the returned CMC curve.
        **meta: ``mode`` (a setting of the protocol), further labels
            (``q_clothes``/``g_clothes``, ``q_modalities``/``g_modalities``,
            ``q_paths``/``g_paths``) and the protocol's options (e.g.
            ``seeds``, ``num_repeats``, ``seed``, ``single_shot``,
            ``official``).

    Returns:
        dict: ``cmc`` (ndarray ``(max_rank,)``, fractions), ``mAP``, ``mINP``
        (fractions), ``num_valid``; trial protocols add ``trials``.

    Example:
        >>> d = np.array([[0.1, 0.5, 0.9]])
        >>> r = rank(d, [1], [1, 2, 1], [0], [1, 1, 0])  # gallery 2 is junk
        >>> float(r['cmc'][0]), r['mAP']
        (1.0, 1.0)
    """
    mode = meta.pop('mode', None)
    query = dict(pid=q_pids, camid=q_camids)
    gallery = dict(pid=g_pids, camid=g_camids)
    for key, arg in _ARG_NAMES.items():
        for side, labels in (('q', query), ('g', gallery)):
            value = meta.pop(f'{side}_{arg}', None)
            if value is not None and key not in labels:
                labels[key] = value
    proto = build_protocol(protocol, **meta)
    return proto.evaluate(distmat, query, gallery, mode=mode,
                          max_rank=max_rank)
