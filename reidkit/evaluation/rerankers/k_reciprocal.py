"""k-reciprocal re-ranking (Zhong et al., CVPR 2017) with bounded memory.

The result equals the original algorithm's (the ``re_ranking`` function shipped
with Zhong et al.'s code and copied by torchreid / fast-reid): same neighbour
sets, same k-reciprocal weights, same Jaccard and final distances, up to float
rounding and the order of tied distances. What changes is the memory: the
original holds several dense ``(Q+G)^2`` arrays (distances, their argsort, V,
the query-expanded V); here

- one pass over the original distances, in square tiles (of the upper
  triangle only when the matrix is symmetric, so half the products), keeps
  each row's ``k1 + 1`` nearest neighbours with their distances, its largest
  distance (the original normalises every row by it) and, for query rows, the
  query-gallery distances that make the output (on CPU each tile is only
  compared with every item's running k-th distance, see
  :func:`_knn_pass_threshold`);
- the k-reciprocal sets and their 1/2-k1 expansion are computed from the
  neighbour lists alone (vectorised, in row blocks);
- ``V`` (Gaussian-weighted expansion sets) and its k2 query expansion are
  ``scipy.sparse`` CSR matrices (distances of set members outside the kept
  neighbour lists are looked up / computed directly);
- the Jaccard distance ``1 - sum(min(Vq, Vg)) / sum(max(Vq, Vg))`` is computed
  for query rows against gallery columns only, by walking the gallery's
  non-zeros column by column, in blocks of query rows.

The only dense arrays are a few distance tiles and Jaccard blocks (bounded by
``memory_mb``) and the returned ``(Q, G)`` matrix, which is filled in place.

Where the original distance comes from (a *tile source*):

- features (default): squared Euclidean distances of the concatenated query
  and gallery features, as Zhong et al.;
- a full ``(Q+G) x (Q+G)`` matrix given by the caller (any distance, e.g. a
  fused one);
- the incoming ``(Q, G)`` distance of a re-ranker chain plus query-query and
  gallery-gallery distances (given, or computed from the features);

optionally minus an ``adjust`` matrix / callable before the per-column max
normalisation, as the strong vehicle baseline (track2_aicity_2021,
``lib/utils/post_process.py``) does with ``0.1 D_orientation + 0.1 D_camera``.
The public entry point for all of them is :func:`k_reciprocal_distance`.

For features, the gallery-gallery tiles can come from bf16 products whose
error is bounded per row, with the candidates recomputed in float32
("approximate, then exact", :func:`_knn_pass_proposed`): the same neighbour
lists and distances, used where bf16 products are fast (checked per call,
``proposals='auto'``; ``REIDKIT_BF16_PROPOSALS=0`` forces it off).
"""
from __future__ import annotations

import contextlib
from typing import Callable, Optional, Union

import numpy as np
import scipy.sparse as sp
import torch

from ...registry import RERANKERS
from ..distance import (METRICS, as_features, bf16_proposals, fast_matmul,
                        pair_dots)


def _to_numpy_f32(x, name: str) -> np.ndarray:
    if isinstance(x, torch.Tensor):
        x = x.detach().cpu().numpy()
    if not isinstance(x, np.ndarray):
        raise TypeError(f'{name} must be a numpy array or torch tensor, got '
                        f'{type(x).__name__}')
    return np.asarray(x, np.float32)


#: with ``proposals='auto'``, bf16 proposals only from this feature dimension
#: on: below it the products are a minor part of a tile's cost (at 256-d
#: ~40% on an AVX2 EPYC, the top-k passes the rest) and the wider top-k
#: lists of the proposed pass cost about what faster products save
PROPOSAL_MIN_DIM = 1024


class FeatureTiles:
    """Distances between rows of ``feats`` (``metric``), tile by tile.

    The matrix is symmetric. ``tile(r0, r1, c0, c1)`` is the float32 block
    ``d[r0:r1, c0:c1]`` (a torch tensor on ``device``); ``pairs(rows, cols)``
    the entries ``d[rows[n], cols[n]]`` (numpy). With ``fast`` the products
    run under :func:`~reidkit.evaluation.distance.fast_matmul`.
    """

    symmetric = True

    def __init__(self, feats: torch.Tensor, metric: str = 'sqeuclidean',
                 device=None, fast: bool = True, proposals: str = 'auto'):
        if metric not in METRICS:
            raise ValueError(f'metric must be one of {METRICS}, got {metric!r}')
        dev = torch.device(device) if device is not None else feats.device
        self.x = feats.to(dev).float()
        if metric == 'cosine':
            self.x = torch.nn.functional.normalize(self.x, dim=1)
        self.norms = (self.x * self.x).sum(1)
        self.metric = metric
        self.fast = fast
        self.num = self.x.shape[0]
        self.device = dev
        self.proposals = proposals
        self.stats = {}

    def context(self):
        return fast_matmul(self.x, enabled=self.fast)

    def proposer(self, num_query: int):
        """A :class:`~reidkit.evaluation.distance.Bf16Proposer` of the
        gallery part when bf16 proposals are accepted for this call (see
        :func:`~reidkit.evaluation.distance.bf16_proposals`), else None."""
        if self.metric != 'sqeuclidean' or self.num - num_query < 2:
            return None
        if self.proposals == 'auto' and self.x.shape[1] < PROPOSAL_MIN_DIM:
            return None
        # distances do not change under translation: centring the gallery
        # makes the products (and the bound's output-rounding term) small
        gal = self.x[num_query:]
        gal = gal - gal.mean(0)
        found = bf16_proposals(gal, mode=self.proposals)
        if not found:
            return None
        found[0].sq = (gal * gal).sum(1)
        return found[0]

    def exact_rows(self, rows: torch.Tensor, block: int = 256):
        """Float32 distances of items ``rows`` to all items, by blocks."""
        for s0 in range(0, rows.numel(), block):
            r = rows[s0:s0 + block]
            yield r, self._finish(self._sq_block(self.x[r], self.norms[r],
                                                 self.x, self.norms))

    def _finish(self, d: torch.Tensor) -> torch.Tensor:
        if self.metric == 'cosine':
            return d
        d.clamp_(min=0)
        return d.sqrt_() if self.metric == 'euclidean' else d

    def tile(self, r0, r1, c0, c1, raw: bool = False,
             out: Optional[torch.Tensor] = None) -> torch.Tensor:
        """The block; ``raw``: squared distances before the clamp at 0 (the
        caller clamps what it keeps: a full-tile pass fewer); ``out``: a
        flat float32 buffer of at least ``(r1 - r0) * (c1 - c0)`` entries
        on ``device`` to write it into (reused across tiles: no tile-sized
        allocation per tile)."""
        x = self.x
        if out is not None:
            out = out[:(r1 - r0) * (c1 - c0)].view(r1 - r0, c1 - c0)
        if self.metric == 'cosine':
            return torch.addmm(torch.ones((), device=x.device), x[r0:r1],
                               x[c0:c1].T, beta=1.0, alpha=-1.0, out=out)
        d = self._sq_block(x[r0:r1], self.norms[r0:r1], x[c0:c1],
                           self.norms[c0:c1], out)
        return d if raw and self.metric == 'sqeuclidean' else self._finish(d)

    @staticmethod
    def _sq_block(a, na, b, nb, out=None) -> torch.Tensor:
        """``|a_i|^2 + |b_j|^2 - 2 a_i . b_j`` in one buffer: the norms'
        sum, then an in-place ``addmm_`` on it (the same bits as
        ``torch.addmm(na[:, None] + nb[None], a, b.T, alpha=-2)``, which
        copies that sum into a second tile-sized output first)."""
        d = torch.add(na[:, None], nb[None], out=out)
        return d.addmm_(a, b.T, beta=1.0, alpha=-2.0)

    def pairs(self, rows: np.ndarray, cols: np.ndarray) -> np.ndarray:
        r = torch.from_numpy(rows).to(self.x.device)
        c = torch.from_numpy(cols).to(self.x.device)
        dots = pair_dots(self.x, self.x, r, c)
        if self.metric == 'cosine':
            return (1.0 - dots).cpu().numpy()
        return self._finish(self.norms[r] + self.norms[c]
                            - 2.0 * dots).cpu().numpy()


class MatrixTiles:
    """A full ``(N, N)`` original distance ``D`` given by the caller.

    As in Zhong et al.'s code (which normalises ``D`` by its column maxima
    and transposes), row ``i`` of the algorithm is column ``i`` of ``D``, so
    the tiles are those of ``D.T``; for a symmetric ``D`` that is ``D``.
    """

    symmetric = False

    def __init__(self, dist, device=None):
        self.d = _to_numpy_f32(dist, 'original_dist')
        if self.d.ndim != 2 or self.d.shape[0] != self.d.shape[1]:
            raise ValueError('original_dist must be a square (Q+G, Q+G) '
                             f'matrix, got shape {self.d.shape}')
        self.num = self.d.shape[0]
        self.device = torch.device(device) if device is not None else None

    def context(self):
        return contextlib.nullcontext(False)

    def tile(self, r0, r1, c0, c1) -> torch.Tensor:
        t = torch.from_numpy(np.ascontiguousarray(self.d[c0:c1, r0:r1].T))
        return t.to(self.device) if self.device is not None else t

    def pairs(self, rows, cols) -> np.ndarray:
        return self.d[cols, rows]


class BlockTiles:
    """``[[qq, qg], [qg.T, gg]]`` from a chain's incoming ``(Q, G)`` distance
    ``qg``, a ``(Q, Q)`` ``qq`` and gallery-gallery distances ``gg``
    (a :class:`FeatureTiles` over the gallery features, or a ``(G, G)``
    matrix). Treated as symmetric (``qq`` and ``gg`` are, for any metric).
    """

    symmetric = True

    def __init__(self, qg, qq, gg):
        self.qg = _to_numpy_f32(qg, 'dist (query-gallery)')
        self.qq = _to_numpy_f32(qq, 'qq_dist')
        self.nq, ng = self.qg.shape
        if self.qq.shape != (self.nq, self.nq):
            raise ValueError(f'qq_dist must have shape {(self.nq, self.nq)}, '
                             f'got {self.qq.shape}')
        if isinstance(gg, FeatureTiles):
            if gg.num != ng:
                raise ValueError(f'{gg.num} gallery features for a distance '
                                 f'with {ng} gallery columns')
            self.gg = gg
        else:
            self.gg = MatrixTiles(gg)
            if self.gg.num != ng:
                raise ValueError(f'gg_dist must have shape {(ng, ng)}, got '
                                 f'{self.gg.d.shape}')
        self.num = self.nq + ng
        self.device = getattr(self.gg, 'device', None)

    def context(self):
        return self.gg.context()

    def tile(self, r0, r1, c0, c1) -> torch.Tensor:
        nq = self.nq
        out = torch.empty((r1 - r0, c1 - c0))
        # the four quadrants the tile may touch
        for a0, a1, b0, b1 in ((r0, min(r1, nq), c0, min(c1, nq)),
                               (r0, min(r1, nq), max(c0, nq), c1),
                               (max(r0, nq), r1, c0, min(c1, nq)),
                               (max(r0, nq), r1, max(c0, nq), c1)):
            if a0 >= a1 or b0 >= b1:
                continue
            if a1 <= nq and b1 <= nq:
                block = torch.from_numpy(self.qq[a0:a1, b0:b1])
            elif a1 <= nq:
                block = torch.from_numpy(self.qg[a0:a1, b0 - nq:b1 - nq])
            elif b1 <= nq:
                block = torch.from_numpy(self.qg[b0:b1, a0 - nq:a1 - nq].T)
            else:
                block = self.gg.tile(a0 - nq, a1 - nq, b0 - nq, b1 - nq).cpu()
            out[a0 - r0:a1 - r0, b0 - c0:b1 - c0] = block
        return out.to(self.device) if self.device is not None else out

    def pairs(self, rows, cols) -> np.ndarray:
        nq = self.nq
        out = np.empty(rows.size, np.float32)
        rq, cq = rows < nq, cols < nq
        m = rq & cq
        out[m] = self.qq[rows[m], cols[m]]
        m = rq & ~cq
        out[m] = self.qg[rows[m], cols[m] - nq]
        m = ~rq & cq
        out[m] = self.qg[cols[m], rows[m] - nq]
        m = ~rq & ~cq
        if m.any():
            out[m] = self.gg.pairs(rows[m] - nq, cols[m] - nq)
        return out


class AdjustedTiles:
    """``source`` minus an adjustment ``A`` of the original distance, before
    the normalisation: the algorithm's rows are then those of ``(D - A).T``.

    ``adjust`` is an ``(N, N)`` array / tensor or a callable
    ``adjust(rows, cols) -> A[rows][:, cols]`` (1-D integer index arrays in,
    ``(len(rows), len(cols))`` array out), so ``A`` never has to exist whole.
    """

    symmetric = False

    def __init__(self, source, adjust):
        self.source = source
        self.num = source.num
        self.device = getattr(source, 'device', None)
        if callable(adjust):
            self.fn, self.a = adjust, None
        else:
            self.fn, self.a = None, _to_numpy_f32(adjust, 'adjust')
            if self.a.shape != (self.num, self.num):
                raise ValueError(f'adjust must have shape {(self.num, self.num)}'
                                 f' (query + gallery, both ways), got '
                                 f'{self.a.shape}')

    def context(self):
        return self.source.context()

    def _block(self, rows: np.ndarray, cols: np.ndarray) -> np.ndarray:
        if self.a is not None:
            return self.a[np.ix_(rows, cols)]
        block = _to_numpy_f32(self.fn(rows, cols), 'adjust(rows, cols)')
        if block.shape != (rows.size, cols.size):
            raise ValueError(f'adjust(rows, cols) must return a '
                             f'({rows.size}, {cols.size}) block, got '
                             f'{block.shape}')
        return block

    def tile(self, r0, r1, c0, c1) -> torch.Tensor:
        t = self.source.tile(r0, r1, c0, c1)
        a = self._block(np.arange(c0, c1), np.arange(r0, r1)).T
        return t - torch.from_numpy(np.ascontiguousarray(a)).to(t.device)

    def pairs(self, rows, cols) -> np.ndarray:
        out = self.source.pairs(rows, cols)
        if self.a is not None:
            return out - self.a[cols, rows]
        # a callable: one block per group of rows (rows come sorted)
        for s0 in range(0, rows.size, 4096):
            r, c = rows[s0:s0 + 4096], cols[s0:s0 + 4096]
            ur, ri = np.unique(r, return_inverse=True)
            uc, ci = np.unique(c, return_inverse=True)
            out[s0:s0 + 4096] -= self._block(uc, ur)[ci, ri]
        return out


def _tile_side(num: int, k: int, memory_mb: float) -> int:
    # a tile and its transpose-side temporaries: about 3 tiles of float32
    side = max(k, int((max(float(memory_mb), 1.0) * 2**20 / 12) ** 0.5))
    # about eight tiles per side so the skipped lower triangle is ~ half
    return min(side, max(1024, -(-num // 8)), num)


def knn_pass(source, k: int, num_query: int, memory_mb: float,
             keep_query_rows: bool = True, method: str = 'auto'):
    """One pass over the original distances of a tile source.

    A symmetric source is visited in tiles of the upper triangle only: each
    tile updates the k-nearest lists and row maxima of both its row range
    and its column range, which halves the matrix products; other sources
    are visited tile by tile, row side only. Feature sources whose bf16
    proposals are accepted take :func:`_knn_pass_proposed` (same result).
    ``method``: ``'threshold'`` (:func:`_knn_pass_threshold`, the default
    for CPU tiles) or ``'topk'`` (a ``torch.topk`` per tile and side, the
    default on GPUs); both give the same lists (ties at the k-th place aside:
    ``'threshold'`` keeps the smallest indices, ``'topk'`` any of them).
    Returns ``knn`` ``(N, k)`` (nearest first, ties by index), their
    distances ``knn_dist``, ``row_max`` ``(N,)`` and, if
    ``keep_query_rows``, the ``(num_query, N - num_query)`` query-gallery
    block.
    """
    prop = (source.proposer(num_query) if isinstance(source, FeatureTiles)
            else None)
    if prop is not None:
        return _knn_pass_proposed(source, prop, k, num_query, memory_mb,
                                  keep_query_rows)
    if method == 'auto':
        dev = getattr(source, 'device', None)
        method = ('threshold' if dev is None or torch.device(dev).type == 'cpu'
                  else 'topk')
    if method == 'threshold':
        return _knn_pass_threshold(source, k, num_query, memory_mb,
                                   keep_query_rows)
    if method != 'topk':
        raise ValueError(f"method must be 'auto', 'threshold' or 'topk', got "
                         f'{method!r}')
    num = source.num
    side = _tile_side(num, k, memory_mb)
    starts = list(range(0, num, side))
    # per row tile: candidate (value, index) lists from every column tile,
    # merged once at the end
    cand_val = [[] for _ in starts]
    cand_idx = [[] for _ in starts]
    row_max = [None] * len(starts)
    qg = (np.empty((num_query, num - num_query), np.float32)
          if keep_query_rows else None)

    # squared feature distances come unclamped; clamping what is kept gives
    # the clamped tile's lists (the order of entries <= 0 is by index either
    # way unless more than k of them share a row: k+1 identical features)
    raw = isinstance(source, FeatureTiles) and source.metric == 'sqeuclidean'

    def store_qg(r0, r1, c0, c1, tile):
        qr1 = min(r1, num_query)
        gc0 = max(c0, num_query)
        if keep_query_rows and r0 < qr1 and gc0 < c1:
            block = tile[:qr1 - r0, gc0 - c0:].cpu().numpy()
            out = qg[r0:qr1, gc0 - num_query:c1 - num_query]
            np.maximum(block, 0, out=out) if raw else np.copyto(out, block)

    def update(ti, r0, r1, c0, c1, tile):
        kk = min(k, c1 - c0)
        val, idx = torch.topk(tile, kk, dim=1, largest=False, sorted=False)
        cand_val[ti].append(val.clamp_(min=0) if raw else val)
        cand_idx[ti].append(idx + c0)
        m = tile.amax(dim=1)
        row_max[ti] = m if row_max[ti] is None else torch.maximum(row_max[ti], m)
        store_qg(r0, r1, c0, c1, tile)

    with source.context():
        for ti, r0 in enumerate(starts):
            r1 = min(r0 + side, num)
            first = ti if source.symmetric else 0
            for tj in range(first, len(starts)):
                c0 = starts[tj]
                c1 = min(c0 + side, num)
                tile = (source.tile(r0, r1, c0, c1, raw=True) if raw
                        else source.tile(r0, r1, c0, c1))
                update(ti, r0, r1, c0, c1, tile)
                if source.symmetric and tj != ti:
                    # the same tile seen from the column items' side
                    update(tj, c0, c1, r0, r1, tile.T.contiguous())
    knn = np.empty((num, k), np.int64)
    knn_dist = np.empty((num, k), np.float32)
    for ti, r0 in enumerate(starts):
        r1 = min(r0 + side, num)
        val = torch.cat(cand_val[ti], 1)
        idx = torch.cat(cand_idx[ti], 1)
        v, pos = torch.topk(val, k, dim=1, largest=False, sorted=False)
        idx = torch.gather(idx, 1, pos)
        ordered = _sort_by_value_then_index(v, idx)
        knn[r0:r1] = ordered.cpu().numpy()
        knn_dist[r0:r1] = torch.gather(v, 1, _positions(idx, ordered)).cpu().numpy()
        cand_val[ti] = cand_idx[ti] = None
    row_max = torch.cat([m.cpu() for m in row_max])
    row_max = (row_max.clamp_(min=0) if raw else row_max).numpy()
    if hasattr(source, 'stats'):
        source.stats = dict(proposals='off')
    return knn, knn_dist, row_max, qg


class _RunningKnn:
    """Each item's ``k`` smallest ``(value, index)`` pairs so far, sorted
    (ties by index, like a stable argsort), and its k-th value ``thr``
    (``inf`` until ``k`` are known): an entry above ``thr`` cannot enter."""

    def __init__(self, num: int, k: int):
        self.k = k
        self.val = np.full((num, k), np.inf, np.float32)
        self.idx = np.full((num, k), np.iinfo(np.int64).max, np.int64)
        self.thr = np.full(num, np.inf, np.float32)

    def merge(self, items: np.ndarray, others: np.ndarray, vals: np.ndarray):
        """Offer the pairs ``(items[n], others[n], vals[n])``; ``items``
        sorted ascending, no pair offered twice."""
        if not items.size:
            return
        k = self.k
        first = np.flatnonzero(np.r_[True, items[1:] != items[:-1]])
        counts = np.diff(np.r_[first, items.size])
        u = items[first]
        width = k + int(counts.max())
        v = np.full((u.size, width), np.inf, np.float32)
        i = np.full((u.size, width), np.iinfo(np.int64).max, np.int64)
        v[:, :k], i[:, :k] = self.val[u], self.idx[u]
        row = np.repeat(np.arange(u.size), counts)
        pos = np.arange(items.size) - np.repeat(first, counts) + k
        v[row, pos], i[row, pos] = vals, others
        order = np.lexsort((i, v), axis=1)[:, :k]
        self.val[u] = np.take_along_axis(v, order, 1)
        self.idx[u] = np.take_along_axis(i, order, 1)
        self.thr[u] = self.val[u, k - 1]


def _chunk_width(rows: int, memory_mb: float) -> int:
    """Columns of a threshold-pass tile of ``rows`` rows: a float32 tile
    and a boolean comparison, ~5 bytes an entry (6 with some margin)."""
    return max(rows, int(max(float(memory_mb), 1.0) * 2**20 // (6 * rows)))


def _knn_pass_threshold(source, k: int, num_query: int, memory_mb: float,
                        keep_query_rows: bool = True):
    """:func:`knn_pass` for CPU tiles, selecting by running thresholds.

    Every item keeps its ``k`` nearest so far and their k-th distance
    ``thr`` (:class:`_RunningKnn`). An entry of a tile can only matter when
    it is ``<= thr`` of its row item (row side) or of its column item
    (column side, symmetric sources), so instead of a top-k per tile and
    side the pass compares the tile with both thresholds and merges the few
    entries that pass (``np.flatnonzero``: ~1.5 ns an entry and side on an
    AVX2 EPYC, against ~20 ns for ``torch.topk`` plus the transposed copy).
    Items without ``k`` known neighbours take the tile's own k-th value
    (``np.partition``) as threshold; for symmetric sources the diagonal
    tiles come first, so that is rare after them. The off-diagonal part of
    a row range is one product (fewer, larger matrix products), in column
    chunks bounded by ``memory_mb``. Exact: the result is the ``k``
    smallest ``(distance, index)`` pairs of every row.
    """
    num = source.num
    side = _tile_side(num, k, memory_mb)
    starts = list(range(0, num, side))
    raw = isinstance(source, FeatureTiles) and source.metric == 'sqeuclidean'
    floor = np.float32(0.0) if raw else None  # raw: clamp kept values at 0
    run = _RunningKnn(num, k)
    row_max = np.full(num, -np.inf, np.float32)
    qg = (np.empty((num_query, num - num_query), np.float32)
          if keep_query_rows else None)

    def clamp(x):
        return np.maximum(x, floor) if raw else x

    # tile-sized buffers, reused: allocating them per tile costs page
    # faults and leaves the allocator's heap fragmented (RSS above the
    # live memory)
    most = max(r * min(_chunk_width(r, memory_mb), num)
               for r in {min(r0 + side, num) - r0 for r0 in starts})
    mask_buf = np.empty(most, bool)
    tile_buf = (torch.empty(most, device=source.device)
                if isinstance(source, FeatureTiles) else None)

    def passing(t, thr):
        """Flat positions of the entries of ``t`` that are <= ``thr``."""
        mask = mask_buf[:t.size].reshape(t.shape)
        np.less_equal(t, thr, out=mask)
        return np.flatnonzero(mask)

    def row_side(r0, c0, t):
        nr, nc = t.shape
        thr = run.thr[r0:r0 + nr]
        fresh = np.flatnonzero(np.isinf(thr))
        if fresh.size:
            thr = thr.copy()
            if nc > k:  # the tile's own k-th value
                kth = np.partition(t[fresh], k - 1, axis=1)[:, k - 1]
                thr[fresh] = clamp(kth)
        flat = passing(t, thr[:, None])
        rr, cc = np.divmod(flat, nc)
        run.merge(rr + r0, cc + c0, clamp(t.reshape(-1)[flat]))
        np.maximum(row_max[r0:r0 + nr], t.max(1), out=row_max[r0:r0 + nr])

    def col_side(r0, c0, t):
        nr, nc = t.shape
        thr = run.thr[c0:c0 + nc]
        fresh = np.flatnonzero(np.isinf(thr))
        if fresh.size:  # only when a tile had fewer than k columns
            thr = thr.copy()
            if nr > k:
                kth = np.partition(t[:, fresh].T, k - 1, axis=1)[:, k - 1]
                thr[fresh] = clamp(kth)
        flat = passing(t, thr[None, :])
        rr, cc = np.divmod(flat, nc)
        order = np.argsort(cc, kind='stable')
        run.merge(cc[order] + c0, rr[order] + r0,
                  clamp(t.reshape(-1)[flat[order]]))
        np.maximum(row_max[c0:c0 + nc], t.max(0), out=row_max[c0:c0 + nc])

    def visit(r0, r1, c0, c1, both_sides):
        t = (source.tile(r0, r1, c0, c1, raw=raw, out=tile_buf)
             if tile_buf is not None else source.tile(r0, r1, c0, c1))
        t = t.cpu().numpy()
        row_side(r0, c0, t)
        if both_sides:
            col_side(r0, c0, t)
        qr1, gc0 = min(r1, num_query), max(c0, num_query)
        if keep_query_rows and r0 < qr1 and gc0 < c1:
            out = qg[r0:qr1, gc0 - num_query:c1 - num_query]
            src = t[:qr1 - r0, gc0 - c0:]
            np.maximum(src, floor, out=out) if raw else np.copyto(out, src)

    with source.context():
        if source.symmetric:
            for r0 in starts:  # diagonal tiles first: every item gets a thr
                visit(r0, min(r0 + side, num), r0, min(r0 + side, num), False)
        for r0 in starts:
            r1 = min(r0 + side, num)
            # columns right of the diagonal tile (symmetric) or all
            first = r1 if source.symmetric else 0
            width = _chunk_width(r1 - r0, memory_mb)
            for c0 in range(first, num, width):
                visit(r0, r1, c0, min(c0 + width, num), source.symmetric)
    if raw:
        np.maximum(row_max, 0, out=row_max)
    if hasattr(source, 'stats'):
        source.stats = dict(proposals='off')
    return run.idx, run.val, row_max, qg


def _knn_pass_proposed(src: FeatureTiles, prop, k: int, num_query: int,
                       memory_mb: float, keep_query_rows: bool = True,
                       extra: int = 16, num_hi: int = 4):
    """:func:`knn_pass` for squared Euclidean features, "approximate, then
    exact": the same result, with the gallery-gallery block (most of the
    matrix) from bf16 products.

    Query rows are computed exactly in float32 (their query-gallery
    distances are part of the output). In a gallery-gallery tile the bf16
    product ``s`` of the centred gallery features ``x - mean`` (distances
    do not change, the products get small) gives
    ``d~ = |x_i|^2 + |x_j|^2 - 2 s``; each row keeps its
    ``k + extra`` smallest and ``num_hi`` largest ``d~`` (with, per tile, the
    largest kept / smallest kept value). With ``E_i`` a bound on
    ``|d~_ij - d_ij|`` over all gallery columns (from
    :meth:`~reidkit.evaluation.distance.Bf16Proposer.dot_bound`, doubled,
    plus the float32 rounding of the strict distance), ``U_i`` = the k-th
    smallest of the exact entries and ``d~ + E_i`` is at least the true k-th
    distance; every true neighbour has ``d~ <= U_i + E_i``. The row is
    proved complete when in every tile the largest kept ``d~`` exceeds
    ``U_i + E_i`` (nothing unkept can qualify); then the kept entries with
    ``d~ <= U_i + E_i`` are recomputed exactly in float32 and the exact
    ``k`` nearest taken from them. The row maximum is proved the same way.
    Rows that cannot be proved are recomputed whole in float32.
    ``src.stats`` records how many entries and rows were recomputed.
    """
    num = src.num
    side = _tile_side(num, k, memory_mb)
    starts = (list(range(0, num_query, side))
              + list(range(num_query, num, side)))
    stops = starts[1:] + [num]
    n_tiles = len(starts)
    norms = src.norms
    exact = [dict(val=[], idx=[], mx=None) for _ in starts]
    approx = [dict(val=[], idx=[], floor=None, hv=[], hi=[], ceil=None)
              for _ in starts]
    qg = (np.empty((num_query, num - num_query), np.float32)
          if keep_query_rows else None)
    inf = float('inf')
    # d~ is built from the centred gallery's squared norms ``sq``
    sq = torch.cat([norms[:num_query], prop.sq])

    def add_exact(ti, r0, r1, c0, c1, tile):
        e = exact[ti]
        val, idx = torch.topk(tile, min(k, c1 - c0), dim=1, largest=False,
                              sorted=False)
        e['val'].append(val)
        e['idx'].append(idx + c0)
        m = tile.max(dim=1).values
        e['mx'] = m if e['mx'] is None else torch.maximum(e['mx'], m)
        qr1, gc0 = min(r1, num_query), max(c0, num_query)
        if keep_query_rows and r0 < qr1 and gc0 < c1:
            qg[r0:qr1, gc0 - num_query:c1 - num_query] = \
                tile[:qr1 - r0, gc0 - c0:].cpu().numpy()

    def add_approx(ti, c0, c1, d):
        a = approx[ti]
        ncol = c1 - c0
        kk = min(k + extra, ncol)
        val, idx = torch.topk(d, kk, dim=1, largest=False, sorted=False)
        floor = (val.max(dim=1).values if kk < ncol
                 else torch.full((d.shape[0],), inf, device=d.device))
        a['val'].append(val)
        a['idx'].append(idx + c0)
        a['floor'] = floor if a['floor'] is None else torch.minimum(a['floor'],
                                                                    floor)
        mh = min(num_hi, ncol)
        hv, hi = torch.topk(d, mh, dim=1, largest=True, sorted=False)
        ceil = (hv.min(dim=1).values if mh < ncol
                else torch.full((d.shape[0],), -inf, device=d.device))
        a['hv'].append(hv)
        a['hi'].append(hi + c0)
        a['ceil'] = ceil if a['ceil'] is None else torch.maximum(a['ceil'], ceil)

    with src.context():
        for ti in range(n_tiles):
            r0, r1 = starts[ti], stops[ti]
            for tj in range(ti, n_tiles):
                c0, c1 = starts[tj], stops[tj]
                if r0 < num_query:  # query rows: exact float32
                    tile = src.tile(r0, r1, c0, c1)
                    add_exact(ti, r0, r1, c0, c1, tile)
                    if tj != ti:
                        add_exact(tj, c0, c1, r0, r1, tile.T.contiguous())
                    continue
                g = slice(r0 - num_query, r1 - num_query)
                h = slice(c0 - num_query, c1 - num_query)
                d = prop.products(prop, g, h).float().mul_(-2.0)
                d.add_(sq[r0:r1, None]).add_(sq[None, c0:c1])
                add_approx(ti, c0, c1, d)
                if tj != ti:
                    add_approx(tj, r0, r1, d.T.contiguous())

    knn = np.empty((num, k), np.int64)
    knn_dist = np.empty((num, k), np.float32)
    row_max = np.empty(num, np.float32)
    stats = prop.col_stats()
    n_max, n_min = float(prop.sq.max()), float(prop.sq.min())
    recomputed = failed = 0
    for ti in range(n_tiles):
        r0, r1 = starts[ti], stops[ti]
        e, a = exact[ti], approx[ti]
        val = torch.cat(e['val'], 1)
        idx = torch.cat(e['idx'], 1)
        mx = e['mx']
        if a['val']:
            rows = slice(r0 - num_query, r1 - num_query)
            av, ai = torch.cat(a['val'], 1), torch.cat(a['idx'], 1)
            hv, hi = torch.cat(a['hv'], 1), torch.cat(a['hi'], 1)
            n_i = sq[r0:r1]
            # |s~| from the row's smallest / largest d~ (+ their rounding)
            s_abs = torch.maximum((n_i + n_max - av.min(1).values).abs(),
                                  (n_i + n_min - hv.max(1).values).abs()) / 2
            s_abs = s_abs + 2.0 ** -22 * (n_i + n_max)
            err = 2 * prop.dot_bound(rows, stats, s_abs)
            # + the float32 rounding of the strict distance and of the
            # centring (|fl(x - mu)| differs from |x - mu| by 2^-24 relative)
            err = (err + 2 * prop.dim * 2.0 ** -23 * prop.xn[rows] * stats[0]
                   + 2.0 ** -21 * (n_i + n_max + 2 * s_abs)
                   + 2.0 ** -21 * (prop.xn[rows] + stats[0]) ** 2)[:, None]
            upper = torch.kthvalue(torch.cat([val, av + err], 1), k,
                                   dim=1).values[:, None]
            lower = torch.maximum(mx, (hv - err).max(1).values)[:, None]
            ok = ((a['floor'][:, None] > upper + err)
                  & (a['ceil'][:, None] < lower - err))[:, 0]
            take = (av <= upper + err) & ok[:, None]
            take_hi = (hv >= lower - err) & ok[:, None]
            exact_av = torch.full_like(av, inf)
            exact_hv = torch.full_like(hv, -inf)
            for mask, store, cols in ((take, exact_av, ai),
                                      (take_hi, exact_hv, hi)):
                where = mask.nonzero(as_tuple=True)
                if where[0].numel():
                    store[where] = torch.from_numpy(src.pairs(
                        (where[0] + r0).cpu().numpy(),
                        cols[where].cpu().numpy())).to(store.device)
            recomputed += int(take.sum()) + int(take_hi.sum())
            val = torch.cat([val, exact_av], 1)
            idx = torch.cat([idx, ai], 1)
            mx = torch.maximum(mx, exact_hv.max(1).values)
            bad = (~ok).nonzero(as_tuple=True)[0]
            failed += bad.numel()
            if bad.numel():  # not provable: the whole row in float32
                val, idx, mx = val.clone(), idx.clone(), mx.clone()
                for r, full in src.exact_rows(bad + r0):
                    v, i = torch.topk(full, k, dim=1, largest=False,
                                      sorted=False)
                    pos = r - r0
                    val[pos] = torch.cat([v, torch.full(
                        (v.shape[0], val.shape[1] - k), inf,
                        device=v.device)], 1)
                    idx[pos] = torch.cat([i, torch.zeros(
                        (v.shape[0], idx.shape[1] - k), dtype=i.dtype,
                        device=i.device)], 1)
                    mx[pos] = full.max(dim=1).values
        v, pos = torch.topk(val, k, dim=1, largest=False, sorted=False)
        idx = torch.gather(idx, 1, pos)
        ordered = _sort_by_value_then_index(v, idx)
        knn[r0:r1] = ordered.cpu().numpy()
        knn_dist[r0:r1] = torch.gather(v, 1, _positions(idx, ordered)).cpu().numpy()
        row_max[r0:r1] = mx.cpu().numpy()
        exact[ti] = approx[ti] = None
    src.stats = dict(proposals='bf16', recomputed_pairs=recomputed,
                     recomputed_rows=failed, gallery_rows=num - num_query)
    return knn, knn_dist, row_max, qg


def _sort_by_value_then_index(val: torch.Tensor, idx: torch.Tensor):
    """Indices of each row ordered by (value, index), like a stable argsort."""
    by_idx, perm = torch.sort(idx, dim=1)
    v = torch.gather(val, 1, perm)
    _, perm2 = torch.sort(v, dim=1, stable=True)
    return torch.gather(by_idx, 1, perm2)


def _positions(idx: torch.Tensor, ordered: torch.Tensor) -> torch.Tensor:
    """Column of every entry of ``ordered`` inside ``idx`` (same row)."""
    perm = torch.argsort(idx, dim=1)
    sorted_idx = torch.gather(idx, 1, perm)
    where = torch.searchsorted(sorted_idx, ordered)
    return torch.gather(perm, 1, where)


def reciprocal_mask(knn: np.ndarray, block: int = 1024) -> np.ndarray:
    """``mask[i, a]``: is ``i`` among the neighbours of ``knn[i, a]``
    (``block`` rows at a time: a ``(block, k, k)`` int64 gather, 3.6 MB at
    k = 21)."""
    num, k = knn.shape
    mask = np.empty((num, k), bool)
    for start in range(0, num, block):
        stop = min(start + block, num)
        rows = np.arange(start, stop)[:, None, None]
        mask[start:stop] = (knn[knn[start:stop]] == rows).any(2)
    return mask


def expansion_sets(knn: np.ndarray, k1: int, block: int = 512) -> sp.csr_matrix:
    """Zhong et al.'s expanded k-reciprocal sets as a boolean CSR matrix.

    ``R(i)`` = members of the ``k1 + 1`` nearest neighbours of ``i`` that also
    have ``i`` among their ``k1 + 1`` nearest; for every candidate ``c`` in
    ``R(i)``, ``R_half(c)`` (same with ``round(k1 / 2) + 1`` neighbours) is added
    when more than 2/3 of it lies in ``R(i)``.

    Args:
        knn (ndarray): ``(N, >= k1 + 1)`` neighbour lists, nearest first.
        k1 (int): as in the paper.
        block (int): rows at a time; the comparisons of a block are
            ``(block, k1 + 1, half, k1 + 1)`` booleans (2.5 MB at k1 = 20).
    """
    num = knn.shape[0]
    kk = k1 + 1
    kh = int(np.around(k1 / 2.)) + 1
    full = knn[:, :kk]
    half = knn[:, :kh]
    recip = reciprocal_mask(full)
    recip_h = reciprocal_mask(half)
    indptr = [0]
    indices = []
    total = 0
    for start in range(0, num, block):
        stop = min(start + block, num)
        r_set = np.where(recip[start:stop], full[start:stop], -1)   # (b, kk)
        cand = full[start:stop]                                      # (b, kk)
        h_set = half[cand]                                           # (b, kk, kh)
        h_mask = recip_h[cand]                                       # (b, kk, kh)
        inter = ((h_set[..., None] == r_set[:, None, None, :]).any(-1)
                 & h_mask).sum(-1)
        size = h_mask.sum(-1)
        take = recip[start:stop] & (inter > 2. / 3 * size)           # (b, kk)
        extra = np.where(take[..., None] & h_mask, h_set, -1)
        allidx = np.concatenate([r_set, extra.reshape(stop - start, -1)], 1)
        allidx.sort(axis=1)
        first = np.ones_like(allidx, bool)
        first[:, 1:] = allidx[:, 1:] != allidx[:, :-1]
        keep = first & (allidx >= 0)
        counts = keep.sum(1)
        indices.append(allidx[keep])
        indptr.extend((total + np.cumsum(counts)).tolist())
        total += int(counts.sum())
    indices = np.concatenate(indices) if indices else np.zeros(0, np.int64)
    data = np.ones(indices.size, bool)
    return sp.csr_matrix((data, indices, np.asarray(indptr, np.int64)),
                         shape=(num, num))


def jaccard_blocks(v_query: sp.csr_matrix, v_gallery: sp.csr_matrix,
                   memory_mb: float = 512):
    """Yield ``(start, stop, min_sum)`` with ``min_sum[i, j] =
    sum_k min(Vq[start + i, k], Vg[j, k])`` for blocks of query rows
    (``min_sum`` is a view of one reused buffer: valid until the next block).

    Walks, for each non-zero ``(i, k)`` of the query rows, the non-zeros of
    column ``k`` of the gallery rows (an inverted index, as the original's
    ``invIndex``); a block holds as many query rows as keep the expanded
    (query, gallery) pairs and the ``(rows, G)`` block within ``memory_mb``.
    """
    num_q, num_g = v_query.shape[0], v_gallery.shape[0]
    vg = v_gallery.tocsc()
    vg.sort_indices()
    col_len = np.diff(vg.indptr)
    vq = v_query.tocsr()
    row_nnz = np.diff(vq.indptr)
    pairs_per_row = np.zeros(num_q, np.int64)
    if vq.nnz:
        sums = np.add.reduceat(np.append(col_len[vq.indices], 0), vq.indptr[:-1])
        pairs_per_row = np.where(row_nnz > 0, sums, 0)
    # a row costs its float32 block row (combined in place by the caller,
    # see _final) and its pairs (~40 bytes each while the block is made)
    row_bytes = np.cumsum(4 * num_g + 40 * pairs_per_row)
    budget = memory_mb * 2**20
    bounds = [0]
    while bounds[-1] < num_q:
        start = bounds[-1]
        done = row_bytes[start - 1] if start else 0
        stop = int(np.searchsorted(row_bytes, done + budget, side='right'))
        bounds.append(min(max(stop, start + 1), num_q))
    # one buffer for every block, zeroed per block with numpy (a torch.zeros
    # per block costs page faults and wakes torch's OpenMP pool, whose
    # spinning threads cost ~0.5 CPU-s at 2,000 x 8,000)
    buf = torch.empty(max(b - a for a, b in zip(bounds, bounds[1:]))
                      * num_g) if num_q else None
    for start, stop in zip(bounds, bounds[1:]):
        sub = vq[start:stop].tocoo()
        lens = col_len[sub.col]
        n = int(lens.sum())
        block = buf[:(stop - start) * num_g]
        block.numpy().fill(0)  # numpy: no wake-up of torch's thread pool
        if n:
            # int32 positions and flat indices where they fit: the pair
            # arrays are most of the time (half the bytes, ~25 % faster)
            pos_t = np.int32 if vg.nnz < 2**31 else np.int64
            flat_t = np.int32 if block.numel() < 2**31 else np.int64
            pos = np.repeat((vg.indptr[sub.col] - np.cumsum(lens) + lens)
                            .astype(pos_t), lens)
            pos += np.arange(n, dtype=pos_t)
            vals = np.repeat(sub.data.astype(np.float32), lens)
            np.minimum(vals, vg.data[pos], out=vals)
            flat = np.repeat((sub.row.astype(np.int64) * num_g).astype(flat_t),
                             lens)
            flat += vg.indices[pos]
            # scatter-add into float32 (a float64 bincount of the whole
            # block costs more than the pairs themselves)
            block.index_add_(0, torch.from_numpy(flat), torch.from_numpy(vals))
            del pos, vals, flat  # not held while the caller uses the block
        yield start, stop, block.view(stop - start, num_g).numpy()


def jaccard_query_gallery(v_query: sp.csr_matrix, v_gallery: sp.csr_matrix,
                          memory_mb: float = 512) -> np.ndarray:
    """Dense ``(Q, G)`` ``sum_k min(Vq, Vg)`` (see :func:`jaccard_blocks`)."""
    out = np.empty((v_query.shape[0], v_gallery.shape[0]), np.float32)
    for start, stop, block in jaccard_blocks(v_query, v_gallery, memory_mb):
        out[start:stop] = block
    return out


def _weights(source, sets: sp.csr_matrix, knn, knn_dist, row_max):
    """Gaussian weights ``exp(-d(i, j) / max_i)`` of every set member,
    normalised per row (Zhong et al.'s V)."""
    num = sets.shape[0]
    rows = np.repeat(np.arange(num), np.diff(sets.indptr))
    cols = sets.indices.astype(np.int64)
    # look each (i, j) up in i's neighbour list, sorted by index
    order = np.argsort(knn, axis=1, kind='stable')
    sorted_idx = np.take_along_axis(knn, order, 1)
    sorted_dist = np.take_along_axis(knn_dist, order, 1)
    k = knn.shape[1]
    flat = sorted_idx.ravel() + np.repeat(np.arange(num, dtype=np.int64) * num, k)
    where = np.searchsorted(flat, rows * num + cols)
    where = np.minimum(where, flat.size - 1)
    found = flat[where] == rows * num + cols
    d = np.where(found, sorted_dist.ravel()[where], 0).astype(np.float32)
    missing = np.nonzero(~found)[0]
    if missing.size:
        d[missing] = source.pairs(rows[missing], cols[missing])
    w = np.exp(-(d / row_max[rows]).astype(np.float32))
    sums = np.add.reduceat(w, sets.indptr[:-1]) if w.size else w
    data = (w / sums[rows]).astype(np.float32)
    return sp.csr_matrix((data, sets.indices.copy(), sets.indptr.copy()),
                         shape=sets.shape)


def k_reciprocal_encode(source, num_query: int, k1: int = 20, k2: int = 6,
                        memory_mb: float = 512) -> dict:
    """Neighbour lists, row maxima, query-gallery distances and the
    (query-expanded) sparse weight matrix ``V`` of all ``N`` items of a tile
    source (see :func:`k_reciprocal_distance`)."""
    num = source.num
    if num < k1 + 1 or num < k2:
        raise ValueError(f'k1={k1}, k2={k2} need at least '
                         f'{max(k1 + 1, k2)} images in query + gallery, '
                         f'got {num}')
    # distances of expansion members inside the k1 + 1 nearest come from
    # the pass; the others (members of a neighbour's half set) directly
    k = min(num, max(k1 + 1, k2))
    knn, knn_dist, row_max, qg = knn_pass(source, k, num_query, memory_mb)
    if not np.all(row_max > 0):
        bad = int(np.argmin(row_max))
        raise ValueError(
            'k-reciprocal re-ranking divides every column of the original '
            'distance by its maximum, which must be > 0; column '
            f'{bad} has maximum {row_max[bad]} (is adjust larger than the '
            'distance?)')
    sets = expansion_sets(knn, k1)
    v = _weights(source, sets, knn, knn_dist, row_max)
    if k2 != 1:
        rows = np.repeat(np.arange(num), k2)
        qe = sp.csr_matrix(
            (np.full(rows.size, 1.0 / k2, np.float32),
             (rows, knn[:, :k2].ravel())), shape=(num, num))
        v = (qe @ v).tocsr()
        v.eliminate_zeros()
    return dict(knn=knn, row_max=row_max, qg=qg, sets=sets, V=v)


def k_reciprocal_distance(q_feats=None, g_feats=None, *, original_dist=None,
                          num_query: Optional[int] = None,
                          adjust: Union[None, np.ndarray, torch.Tensor,
                                        Callable] = None,
                          k1: int = 20, k2: int = 6, lambda_value: float = 0.3,
                          memory_mb: float = 512, device=None,
                          fast_matmul: bool = True,
                          proposals: str = 'auto') -> np.ndarray:
    """k-reciprocal re-ranked ``(Q, G)`` distances from features or from a
    full original distance, optionally adjusted before the normalisation.

    The algorithm is Zhong et al.'s ``re_ranking`` (as in their code and
    track2_aicity_2021's ``lib/utils/post_process.py``): with ``O`` the
    ``(N, N)`` original distance over the ``N = Q + G`` concatenated query
    and gallery items, ``O' = ((O - A) / colmax(O - A)).T``; the k-reciprocal
    neighbour sets, their weights ``exp(-O')`` and the Jaccard distance come
    from ``O'``; the result is ``(1 - lambda) * jaccard + lambda * O'`` on
    the query-gallery block. For a symmetric ``O - A`` (e.g. no ``adjust``)
    the transpose changes nothing.

    Args:
        q_feats, g_feats: ``(Q, D)`` / ``(G, D)`` features; ``O`` is their
            squared Euclidean distance (Zhong et al.). Not needed with
            ``original_dist``.
        original_dist: ``(N, N)`` array / tensor used as ``O`` instead
            (e.g. a fused distance); needs ``num_query``.
        num_query (int): ``Q`` when ``original_dist`` is given (the first
            ``Q`` rows/columns are the queries).
        adjust: ``A``, subtracted from ``O`` before the per-column max
            normalisation: an ``(N, N)`` array / tensor, or a callable
            ``adjust(rows, cols) -> A[rows][:, cols]`` (1-D index arrays
            into the ``N`` items; called tile by tile, so ``A`` need not
            exist whole). E.g. the strong vehicle baseline's
            ``0.1 * D_orientation + 0.1 * D_camera``. Default None.
        k1, k2, lambda_value: as in the paper (20, 6, 0.3).
        memory_mb (float): working-set budget of the tiles and Jaccard
            blocks.
        device: torch device for the feature products (e.g. ``'cuda'``).
        fast_matmul (bool): allow the checked fast float32 product (see
            :func:`reidkit.evaluation.distance.fast_matmul`).
        proposals (str): features only: ``'auto'`` proposes the
            gallery-gallery neighbours with bf16 products (exact result, see
            :func:`_knn_pass_proposed`) where they are fast and their error
            bound holds on the inputs; ``'on'`` skips the speed test;
            ``'off'`` computes every distance in float32.

    Returns:
        ndarray: ``(Q, G)`` float32 re-ranked distances.

    Example:
        >>> qf, gf = torch.randn(10, 64), torch.randn(50, 64)
        >>> d = k_reciprocal_distance(qf, gf)              # from features
        >>> feats = torch.cat([qf, gf])
        >>> o = torch.cdist(feats, feats) ** 2
        >>> d2 = k_reciprocal_distance(original_dist=o, num_query=10)
        >>> cam = torch.rand(60, 60)
        >>> d3 = k_reciprocal_distance(qf, gf, adjust=0.1 * cam)
        >>> d.shape == d2.shape == d3.shape == (10, 50)
        True
    """
    if k1 < 1 or k2 < 1:
        raise ValueError(f'k1 and k2 must be >= 1, got k1={k1}, k2={k2}')
    if not 0.0 <= lambda_value <= 1.0:
        raise ValueError(f'lambda_value must be in [0, 1], got {lambda_value}')
    if original_dist is not None:
        if q_feats is not None or g_feats is not None:
            raise ValueError('give either features or original_dist, not both')
        source = MatrixTiles(original_dist, device)
        if num_query is None or not 0 < int(num_query) < source.num:
            raise ValueError(f'original_dist needs num_query in [1, '
                             f'{source.num - 1}] (the number of query rows), '
                             f'got {num_query}')
        num_q = int(num_query)
    else:
        if q_feats is None or g_feats is None:
            raise ValueError('k_reciprocal_distance needs q_feats and g_feats '
                             'or original_dist')
        qf = as_features(q_feats, 'q_feats').float()
        gf = as_features(g_feats, 'g_feats').float()
        if qf.shape[1] != gf.shape[1]:
            raise ValueError(f'q_feats and g_feats dimensions differ: '
                             f'{qf.shape[1]} vs {gf.shape[1]}')
        num_q = qf.shape[0]
        source = FeatureTiles(torch.cat([qf, gf.to(qf.device)]).cpu(),
                              'sqeuclidean', device, fast_matmul, proposals)
    if adjust is not None:
        source = AdjustedTiles(source, adjust)
    return _final(source, num_q, int(k1), int(k2), float(lambda_value),
                  float(memory_mb))


def _final(source, num_q, k1, k2, lambda_value, memory_mb) -> np.ndarray:
    enc = k_reciprocal_encode(source, num_q, k1, k2, memory_mb)
    out = enc['qg']  # query-gallery distances, overwritten block by block
    v = enc['V']
    scale = enc['row_max'][:num_q, None]
    lam = np.float32(lambda_value)
    one_minus = np.float32(1.0) - lam
    for start, stop, min_sum in jaccard_blocks(v[:num_q], v[num_q:], memory_mb):
        # (1 - lam) * (1 - m / (2 - m)) + lam * d / max, in place and in
        # row chunks (no block-sized temporaries; the same operations in
        # the same order, so the same float32 result)
        for s0 in range(0, stop - start, _COMBINE_ROWS):
            s1 = min(s0 + _COMBINE_ROWS, stop - start)
            m = min_sum[s0:s1]
            o = out[start + s0:start + s1]
            den = np.subtract(np.float32(2.0), m)
            np.divide(m, den, out=m)
            np.subtract(np.float32(1.0), m, out=m)
            np.multiply(m, one_minus, out=m)
            np.divide(o, scale[start + s0:start + s1], out=o)
            np.multiply(o, lam, out=o)
            np.add(m, o, out=o)
    return out


#: query rows per step of the final combination (temporaries ~ rows x G)
_COMBINE_ROWS = 64


@RERANKERS.register_module()
class KReciprocalReranker:
    """k-reciprocal encoding re-ranking (Zhong et al. 2017), memory-bounded.

    With ``start_from='features'`` (default) it works, as Zhong et al.'s code
    does, on squared Euclidean distances of the concatenated query and
    gallery features; the ``dist`` handed over by a re-ranker chain is then
    not used, so it must be the first step of a chain (a chain that would
    drop a previous step is refused by
    :func:`~reidkit.evaluation.rerankers.apply_rerankers`).

    With ``start_from='dist'`` the incoming ``(Q, G)`` distance is the
    query-gallery block of the original distance; the query-query and
    gallery-gallery blocks are ``meta['qq_dist']`` / ``meta['gg_dist']``
    when given (torchreid's ``re_ranking(q_g, q_q, g_g)`` inputs), else
    computed from the features with ``metric`` -- which must then be the
    incoming distance's metric (e.g. ``'cosine'`` after
    ``AverageQueryExpansion``). The gallery-gallery block is computed tile
    by tile, never whole.

    For a full ``(Q+G)^2`` original distance or an adjustment subtracted
    before the normalisation (the strong vehicle baseline), call
    :func:`k_reciprocal_distance`.

    Args:
        k1 (int): k-reciprocal neighbourhood size. Default 20.
        k2 (int): local query expansion size (1 = none). Default 6.
        lambda_value (float): weight of the original distance. Default 0.3.
        memory_mb (float): working-set budget for the distance blocks and the
            Jaccard blocks. Default 512.
        device: torch device for the distance products (default CPU).
        fast_matmul (bool): allow the checked fast float32 product (see
            :func:`reidkit.evaluation.distance.fast_matmul`). Default True.
        proposals (str): bf16 proposals of the gallery-gallery neighbours,
            checked and proved exact (see :func:`k_reciprocal_distance`):
            ``'auto'`` (default), ``'on'`` or ``'off'``.
        start_from (str): ``'features'`` or ``'dist'`` (see above).
        metric (str): distance of the query-query / gallery-gallery blocks
            for ``start_from='dist'``. Default ``'sqeuclidean'``.

    Example:
        >>> rr = RERANKERS.build(dict(type='KReciprocalReranker', k1=20, k2=6,
        ...                           lambda_value=0.3))
        >>> new_dist = rr(torch.randn(10, 64), torch.randn(50, 64))
        >>> new_dist.shape
        (10, 50)
        >>> chain = [dict(type='AverageQueryExpansion', metric='cosine'),
        ...          dict(type='KReciprocalReranker', start_from='dist',
        ...               metric='cosine')]
    """

    def __init__(self, k1: int = 20, k2: int = 6, lambda_value: float = 0.3,
                 memory_mb: float = 512, device=None, fast_matmul: bool = True,
                 start_from: str = 'features', metric: str = 'sqeuclidean',
                 proposals: str = 'auto'):
        if k1 < 1 or k2 < 1:
            raise ValueError(f'k1 and k2 must be >= 1, got k1={k1}, k2={k2}')
        if not 0.0 <= lambda_value <= 1.0:
            raise ValueError(f'lambda_value must be in [0, 1], got {lambda_value}')
        if start_from not in ('features', 'dist'):
            raise ValueError("start_from must be 'features' or 'dist', got "
                             f'{start_from!r}')
        if metric not in METRICS:
            raise ValueError(f'metric must be one of {METRICS}, got {metric!r}')
        self.k1 = int(k1)
        self.k2 = int(k2)
        self.lambda_value = float(lambda_value)
        self.memory_mb = float(memory_mb)
        self.device = device
        self.fast_matmul = bool(fast_matmul)
        self.start_from = start_from
        self.metric = metric
        self.proposals = proposals
        #: how the last call's neighbour pass ran (proposals, recomputations)
        self.last_stats = {}

    @property
    def discards_incoming_dist(self) -> bool:
        """True when the result does not depend on the chain's ``dist``."""
        return self.start_from == 'features'

    chain_hint = ("put it first, or use KReciprocalReranker(start_from='dist', "
                  "metric=<the incoming distance's metric>) to start from the "
                  'incoming distance')

    def _source(self, q_feats, g_feats, dist, meta):
        qf = as_features(q_feats, 'q_feats').float()
        gf = as_features(g_feats, 'g_feats').float()
        if qf.shape[1] != gf.shape[1]:
            raise ValueError(f'q_feats and g_feats dimensions differ: '
                             f'{qf.shape[1]} vs {gf.shape[1]}')
        if self.start_from == 'features':
            return FeatureTiles(torch.cat([qf, gf.to(qf.device)]).cpu(),
                                'sqeuclidean', self.device, self.fast_matmul,
                                self.proposals)
        if dist is None:
            raise ValueError("KReciprocalReranker(start_from='dist') needs the "
                             'incoming (num_query, num_gallery) dist')
        qg = _to_numpy_f32(dist, 'dist')
        if qg.shape != (qf.shape[0], gf.shape[0]):
            raise ValueError(f'dist must have shape {(qf.shape[0], gf.shape[0])}'
                             f', got {qg.shape}')
        qq = meta.get('qq_dist')
        if qq is None:
            qq_src = FeatureTiles(qf.cpu(), self.metric, self.device,
                                  self.fast_matmul)
            with qq_src.context():
                qq = qq_src.tile(0, qf.shape[0], 0, qf.shape[0]).cpu().numpy()
        gg = meta.get('gg_dist')
        if gg is None:
            gg = FeatureTiles(gf.cpu(), self.metric, self.device,
                              self.fast_matmul)
        return BlockTiles(qg, qq, gg)

    def encode(self, q_feats, g_feats, dist=None, **meta):
        """Neighbour lists, row maxima, query-gallery distances and the
        (query-expanded) sparse weight matrix ``V`` of all ``Q + G`` items."""
        source = self._source(q_feats, g_feats, dist, meta)
        out = k_reciprocal_encode(source, len(q_feats), self.k1, self.k2,
                                  self.memory_mb)
        self.last_stats = dict(getattr(source, 'stats', {}))
        return out

    def __call__(self, q_feats, g_feats, dist=None, **meta) -> np.ndarray:
        source = self._source(q_feats, g_feats, dist, meta)
        out = _final(source, len(q_feats), self.k1, self.k2,
                     self.lambda_value, self.memory_mb)
        self.last_stats = dict(getattr(source, 'stats', {}))
        return out


__all__ = ['KReciprocalReranker', 'k_reciprocal_distance',
           'k_reciprocal_encode', 'knn_pass', 'expansion_sets',
           'jaccard_blocks', 'jaccard_query_gallery', 'reciprocal_mask',
           'FeatureTiles', 'MatrixTiles', 'BlockTiles', 'AdjustedTiles']
