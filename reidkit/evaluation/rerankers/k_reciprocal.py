"""k-reciprocal re-ranking (Zhong et al., CVPR 2017) with bounded memory.

The result equals the original algorithm's (the ``re_ranking`` function shipped
with Zhong et al.'s code and copied by torchreid / fast-reid): same neighbour
sets, same k-reciprocal weights, same Jaccard and final distances, up to float
rounding and the order of tied distances. What changes is the memory: the
original holds several dense ``(Q+G)^2`` arrays (distances, their argsort, V,
the query-expanded V); here

- one pass over the squared distances, in square tiles of the upper triangle
  (the matrix is symmetric, so half the products), keeps each row's ``k1 + 1``
  nearest neighbours with their distances, its largest distance (the original
  normalises every row by it) and, for query rows, the query-gallery
  distances that make the output;
- the k-reciprocal sets and their 1/2-k1 expansion are computed from the
  neighbour lists alone (vectorised, in row blocks);
- ``V`` (Gaussian-weighted expansion sets) and its k2 query expansion are
  ``scipy.sparse`` CSR matrices (distances of set members outside the kept
  neighbour lists are computed directly from the two features);
- the Jaccard distance ``1 - sum(min(Vq, Vg)) / sum(max(Vq, Vg))`` is computed
  for query rows against gallery columns only, by walking the gallery's
  non-zeros column by column, in blocks of query rows.

The only dense arrays are a few distance tiles and Jaccard blocks (bounded by
``memory_mb``) and the returned ``(Q, G)`` matrix, which is filled in place.
On CPUs where :func:`~reidkit.evaluation.distance.fast_matmul` finds a
float32-accurate fast product, the distance tiles use it (about 2x faster).
"""
from __future__ import annotations

import numpy as np
import scipy.sparse as sp
import torch

from ...registry import RERANKERS
from ..distance import as_features, fast_matmul


def knn_pass(feats: torch.Tensor, k: int, num_query: int, memory_mb: float,
             device=None, keep_query_rows: bool = True, fast: bool = True):
    """One pass over the squared Euclidean distances of ``feats``.

    The ``N x N`` matrix is visited in square tiles of the upper triangle only
    (it is symmetric): each tile updates the running k-nearest lists and
    row maxima of both its row range and its column range, which halves the
    matrix products. Returns ``knn`` ``(N, k)`` (nearest first, ties by index),
    their distances ``knn_dist``, ``row_max`` ``(N,)`` and, if
    ``keep_query_rows``, the ``(num_query, N - num_query)`` query-gallery block.
    With ``fast`` the products run under :func:`~..distance.fast_matmul`
    (float32-accurate, faster on CPUs that support it).
    """
    num = feats.shape[0]
    dev = torch.device(device) if device is not None else feats.device
    x = feats.to(dev).float()
    norms = (x * x).sum(1)
    # a tile and its transpose-side temporaries: about 3 tiles of float32
    side = max(k, int((max(float(memory_mb), 1.0) * 2**20 / 12) ** 0.5))
    # about eight tiles per side so the skipped lower triangle is ~ half
    side = min(side, max(1024, -(-num // 8)), num)
    starts = list(range(0, num, side))
    # per row tile: candidate (value, index) lists from every column tile,
    # merged once at the end
    cand_val = [[] for _ in starts]
    cand_idx = [[] for _ in starts]
    row_max = torch.full((num,), -float('inf'), device=dev)
    qg = (np.empty((num_query, num - num_query), np.float32)
          if keep_query_rows else None)

    def store_qg(r0, r1, c0, c1, tile):
        qr1 = min(r1, num_query)
        gc0 = max(c0, num_query)
        if keep_query_rows and r0 < qr1 and gc0 < c1:
            qg[r0:qr1, gc0 - num_query:c1 - num_query] = \
                tile[:qr1 - r0, gc0 - c0:].cpu().numpy()

    with fast_matmul(x, enabled=fast):
        for ti, r0 in enumerate(starts):
            r1 = min(r0 + side, num)
            for tj in range(ti, len(starts)):
                c0 = starts[tj]
                c1 = min(c0 + side, num)
                tile = torch.addmm(norms[r0:r1, None] + norms[None, c0:c1],
                                   x[r0:r1], x[c0:c1].T, beta=1.0, alpha=-2.0)
                tile.clamp_(min=0)
                kk = min(k, c1 - c0)
                val, idx = torch.topk(tile, kk, dim=1, largest=False, sorted=False)
                cand_val[ti].append(val)
                cand_idx[ti].append(idx + c0)
                row_max[r0:r1] = torch.maximum(row_max[r0:r1], tile.max(dim=1).values)
                store_qg(r0, r1, c0, c1, tile)
                if tj != ti:  # the same tile seen from the column items' side
                    tile = tile.T.contiguous()  # row-wise ops are faster
                    kk = min(k, r1 - r0)
                    val, idx = torch.topk(tile, kk, dim=1, largest=False,
                                          sorted=False)
                    cand_val[tj].append(val)
                    cand_idx[tj].append(idx + r0)
                    row_max[c0:c1] = torch.maximum(row_max[c0:c1],
                                                   tile.max(dim=1).values)
                    store_qg(c0, c1, r0, r1, tile)
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
    return knn, knn_dist, row_max.cpu().numpy(), qg


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


def reciprocal_mask(knn: np.ndarray, block: int = 8192) -> np.ndarray:
    """``mask[i, a]``: is ``i`` among the neighbours of ``knn[i, a]``."""
    num, k = knn.shape
    mask = np.empty((num, k), bool)
    for start in range(0, num, block):
        stop = min(start + block, num)
        rows = np.arange(start, stop)[:, None, None]
        mask[start:stop] = (knn[knn[start:stop]] == rows).any(2)
    return mask


def expansion_sets(knn: np.ndarray, k1: int, block: int = 2048) -> sp.csr_matrix:
    """Zhong et al.'s expanded k-reciprocal sets as a boolean CSR matrix.

    ``R(i)`` = members of the ``k1 + 1`` nearest neighbours of ``i`` that also
    have ``i`` among their ``k1 + 1`` nearest; for every candidate ``c`` in
    ``R(i)``, ``R_half(c)`` (same with ``round(k1 / 2) + 1`` neighbours) is added
    when more than 2/3 of it lies in ``R(i)``.

    Args:
        knn (ndarray): ``(N, >= k1 + 1)`` neighbour lists, nearest first.
        k1 (int): as in the paper.
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
    sum_k min(Vq[start + i, k], Vg[j, k])`` for blocks of query rows.

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
    budget = max(int(memory_mb * 2**20 // 40), 1)  # ~40 bytes per pair
    rows_cap = max(1, int(memory_mb * 2**20 // (16 * max(num_g, 1))))
    start = 0
    while start < num_q:
        csum = np.cumsum(pairs_per_row[start:start + rows_cap])
        stop = start + max(1, int(np.searchsorted(csum, budget, side='right')))
        stop = min(stop, num_q, start + rows_cap)
        sub = vq[start:stop].tocoo()
        lens = col_len[sub.col]
        n = int(lens.sum())
        block = torch.zeros((stop - start) * num_g)
        if n:
            seg_start = np.repeat(vg.indptr[sub.col] - np.cumsum(lens) + lens, lens)
            pos = seg_start + np.arange(n)
            vals = np.minimum(np.repeat(sub.data, lens), vg.data[pos])
            flat = (np.repeat(sub.row.astype(np.int64), lens) * num_g
                    + vg.indices[pos])
            # scatter-add into float32 (a float64 bincount of the whole
            # block costs more than the pairs themselves)
            block.index_add_(0, torch.from_numpy(flat),
                             torch.from_numpy(vals.astype(np.float32)))
        yield start, stop, block.view(stop - start, num_g).numpy()
        start = stop


def jaccard_query_gallery(v_query: sp.csr_matrix, v_gallery: sp.csr_matrix,
                          memory_mb: float = 512) -> np.ndarray:
    """Dense ``(Q, G)`` ``sum_k min(Vq, Vg)`` (see :func:`jaccard_blocks`)."""
    out = np.empty((v_query.shape[0], v_gallery.shape[0]), np.float32)
    for start, stop, block in jaccard_blocks(v_query, v_gallery, memory_mb):
        out[start:stop] = block
    return out


@RERANKERS.register_module()
class KReciprocalReranker:
    """k-reciprocal encoding re-ranking (Zhong et al. 2017), memory-bounded.

    Works, as Zhong et al.'s code does, on squared Euclidean distances of the
    concatenated query and gallery features, each row divided by its maximum.
    The ``dist`` passed in by a re-ranker chain is not used: the algorithm
    needs query-query and gallery-gallery distances too and recomputes all of
    them from the features.

    Args:
        k1 (int): k-reciprocal neighbourhood size. Default 20.
        k2 (int): local query expansion size (1 = none). Default 6.
        lambda_value (float): weight of the original distance. Default 0.3.
        memory_mb (float): working-set budget for the distance blocks and the
            Jaccard blocks. Default 512.
        device: torch device for the distance products (default CPU).
        fast_matmul (bool): run the CPU distance products in oneDNN's
            bfloat16-emulated float32 mode when a check on the features
            shows float32 accuracy (see
            :func:`reidkit.evaluation.distance.fast_matmul`); about 2x faster
            products on CPUs with AVX512-BF16. Default True.

    Example:
        >>> rr = RERANKERS.build(dict(type='KReciprocalReranker', k1=20, k2=6,
        ...                           lambda_value=0.3))
        >>> new_dist = rr(torch.randn(10, 64), torch.randn(50, 64))
        >>> new_dist.shape
        (10, 50)
    """

    def __init__(self, k1: int = 20, k2: int = 6, lambda_value: float = 0.3,
                 memory_mb: float = 512, device=None, fast_matmul: bool = True):
        if k1 < 1 or k2 < 1:
            raise ValueError(f'k1 and k2 must be >= 1, got k1={k1}, k2={k2}')
        if not 0.0 <= lambda_value <= 1.0:
            raise ValueError(f'lambda_value must be in [0, 1], got {lambda_value}')
        self.k1 = int(k1)
        self.k2 = int(k2)
        self.lambda_value = float(lambda_value)
        self.memory_mb = float(memory_mb)
        self.device = device
        self.fast_matmul = bool(fast_matmul)

    def encode(self, q_feats, g_feats):
        """Neighbour lists, row maxima, query-gallery distances and the
        (query-expanded) sparse weight matrix ``V`` of all ``Q + G`` items."""
        qf = as_features(q_feats, 'q_feats').float()
        gf = as_features(g_feats, 'g_feats').float()
        if qf.shape[1] != gf.shape[1]:
            raise ValueError(f'q_feats and g_feats dimensions differ: '
                             f'{qf.shape[1]} vs {gf.shape[1]}')
        feats = torch.cat([qf, gf]).cpu()
        num, num_q = feats.shape[0], qf.shape[0]
        if num < self.k1 + 1 or num < self.k2:
            raise ValueError(f'k1={self.k1}, k2={self.k2} need at least '
                             f'{max(self.k1 + 1, self.k2)} images in query + '
                             f'gallery, got {num}')
        # distances of expansion members inside the k1 + 1 nearest come from
        # the pass; the others (members of a neighbour's half set) are
        # computed directly
        k = min(num, max(self.k1 + 1, self.k2))
        knn, knn_dist, row_max, qg = knn_pass(feats, k, num_q, self.memory_mb,
                                              self.device, fast=self.fast_matmul)
        sets = expansion_sets(knn, self.k1)
        v = self._weights(feats, sets, knn, knn_dist, row_max)
        if self.k2 != 1:
            rows = np.repeat(np.arange(num), self.k2)
            qe = sp.csr_matrix(
                (np.full(rows.size, 1.0 / self.k2, np.float32),
                 (rows, knn[:, :self.k2].ravel())), shape=(num, num))
            v = (qe @ v).tocsr()
            v.eliminate_zeros()
        return dict(knn=knn, row_max=row_max, qg=qg, sets=sets, V=v)

    def _weights(self, feats, sets: sp.csr_matrix, knn, knn_dist, row_max):
        """Gaussian weights ``exp(-d(i, j) / max_i)`` of every set member,
        normalised per row (Zhong et al.'s V)."""
        num = feats.shape[0]
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
            norms = (feats * feats).sum(1)
            # small chunks into reused buffers: gathering all pairs at once
            # costs 5-10x more (page faults on large temporaries)
            step = 2048
            buf_r = feats.new_empty(step, feats.shape[1])
            buf_c = feats.new_empty(step, feats.shape[1])
            for s0 in range(0, missing.size, step):
                m = missing[s0:s0 + step]
                r, c = torch.from_numpy(rows[m]), torch.from_numpy(cols[m])
                a = torch.index_select(feats, 0, r, out=buf_r[:m.size])
                b = torch.index_select(feats, 0, c, out=buf_c[:m.size])
                dots = torch.einsum('nd,nd->n', a, b)
                d[m] = (norms[r] + norms[c] - 2.0 * dots).clamp_(min=0).numpy()
        w = np.exp(-(d / row_max[rows]).astype(np.float32))
        sums = np.add.reduceat(w, sets.indptr[:-1]) if w.size else w
        data = (w / sums[rows]).astype(np.float32)
        return sp.csr_matrix((data, sets.indices.copy(), sets.indptr.copy()),
                             shape=sets.shape)

    def __call__(self, q_feats, g_feats, dist=None, **meta) -> np.ndarray:
        enc = self.encode(q_feats, g_feats)
        out = enc['qg']  # query-gallery distances, overwritten block by block
        num_q = out.shape[0]
        v = enc['V']
        scale = enc['row_max'][:num_q, None]
        lam = np.float32(self.lambda_value)
        for start, stop, min_sum in jaccard_blocks(v[:num_q], v[num_q:],
                                                   self.memory_mb):
            jaccard = 1.0 - min_sum / (2.0 - min_sum)
            out[start:stop] = (jaccard * (1.0 - lam)
                               + out[start:stop] / scale[start:stop] * lam)
        return out


__all__ = ['KReciprocalReranker', 'knn_pass', 'expansion_sets',
           'jaccard_blocks', 'jaccard_query_gallery', 'reciprocal_mask']
