"""DLCR test-time prediction refinement (Siddiqui et al., Algorithm 1) as a re-ranker.

For every query, Algorithm 1 takes the top-``m`` gallery images of the query
and gives each identity ``s`` among them (the set ``S``) the score::

    score[s] = sum_{j in top-m, pid_j = s} cos(f_q, f_j) / max_{k in top-m} cos(f_q, f_k)

then, for each of the ``l`` clothes-changed query variants, adds the same
normalised sum over the variant's own top-``m`` -- but only for identities
already in ``S``. This module does it for all queries at once: one matrix
product per block of queries (all ``l`` variants stacked), a batched
``topk``, and a scatter-add of the normalised similarities into a
``(queries, identities)`` score table.

The algorithm returns identities, not a ranked gallery. To compute CMC/mAP we
turn it into a gallery ranking (``fusion='rank'``, the default): gallery images
whose identity is in ``S`` come first, ordered by their identity's refined
score (highest first); images of identities outside ``S`` follow; within one
identity (and among the rest) images keep their original cosine order. Top-1
is then exactly Algorithm 1's best identity. ``fusion='add'`` instead adds
``alpha * score[pid]`` to the cosine similarity.
"""
from __future__ import annotations

from typing import Any, Optional

import numpy as np
import torch
import torch.nn.functional as F

from reidkit.evaluation.distance import bf16_proposals, fast_matmul, pair_dots
from reidkit.registry import RERANKERS

__all__ = ['DLCRRefinementReranker', 'refine_scores']

VARIANT_KEYS = ('query_variant_feats', 'q_variant_feats')


def _tensor(x: Any, name: str, ndim: int) -> torch.Tensor:
    if isinstance(x, np.ndarray):
        x = torch.from_numpy(np.ascontiguousarray(x))
    if not isinstance(x, torch.Tensor):
        raise TypeError(f'DLCRRefinementReranker: {name} must be a numpy array '
                        f'or a torch tensor, got {type(x).__name__}')
    if x.dim() != ndim:
        raise ValueError(f'DLCRRefinementReranker: {name} must have {ndim} '
                         f'dimensions, got shape {tuple(x.shape)}')
    return x.detach().float().cpu()


def _topm_scores(sim: torch.Tensor, m: int):
    """Top-``m`` of every row: ``(sim / row max, indices, hit)``.

    ``hit`` is False for slots filled by excluded (``-inf``) gallery items.
    """
    vals, idx = torch.topk(sim, m, dim=-1, largest=True, sorted=True)
    return _normalise(vals, idx)


def _topm_proposed(vp, gp, rows: torch.Tensor, m: int, valid_rows=None,
                   extra: int = 27):
    """Top-``m`` similarities of the variant rows ``rows`` with the exact
    float32 answer, from bf16 proposals ("approximate, then exact").

    The bf16 product ``s~`` keeps each row's ``m + extra`` largest entries;
    with ``e`` the row's proven bound on ``|s~ - s|`` (the bf16 bound of
    :class:`~reidkit.evaluation.distance.Bf16Proposer` plus the float32
    product's own rounding), ``L`` = the m-th largest ``s~ - e`` is at most
    the true m-th similarity, so every true top-m entry has ``s~ >= L - e``;
    the row is proved when the smallest kept ``s~`` is below ``L - e``.
    Those candidates are recomputed in float32 and the top ``m`` taken from
    them; unproved rows (and rows with excluded gallery items among the top
    ``m``) get the full float32 row. Returns ``(vals, idx, n_pairs,
    n_rows_recomputed)`` like ``torch.topk(sorted=True)``.
    """
    num_g = gp.x.shape[0]
    s = vp.products(gp, rows, slice(None)).float()
    err = vp.dot_bound(rows, gp.col_stats(), s.abs().amax(1))
    err = (err + 2 * vp.dim * 2.0 ** -23 * vp.xn[rows] * gp.col_stats()[0]
           )[:, None]
    if valid_rows is not None:
        s.masked_fill_(~valid_rows, float('-inf'))
    kk = min(m + extra, num_g)
    val, idx = torch.topk(s, kk, dim=1, largest=True, sorted=False)
    floor = (val.min(1).values if kk < num_g
             else torch.full((val.shape[0],), -float('inf'),
                             device=val.device))[:, None]
    lower = torch.topk(val - err, m, dim=1).values.min(1).values[:, None]
    ok = ((floor < lower - err) & torch.isfinite(lower))[:, 0]
    take = (val >= lower - err) & ok[:, None]
    exact = torch.full_like(val, -float('inf'))
    where = take.nonzero(as_tuple=True)
    if where[0].numel():
        exact[where] = pair_dots(vp.x, gp.x, rows[where[0]], idx[where])
    vals, pos = torch.topk(exact, m, dim=1, largest=True, sorted=True)
    top_idx = torch.gather(idx, 1, pos)
    bad = (~ok).nonzero(as_tuple=True)[0]
    if bad.numel():
        full = vp.x[rows[bad]] @ gp.x.T
        if valid_rows is not None:
            full.masked_fill_(~valid_rows[bad], float('-inf'))
        vals[bad], top_idx[bad] = torch.topk(full, m, dim=1, largest=True,
                                             sorted=True)
    return vals, top_idx, int(take.sum()), int(bad.numel())


def _normalise(vals: torch.Tensor, idx: torch.Tensor):
    """``(vals / first, idx, hit)`` for sorted top-m ``vals``."""
    hit = torch.isfinite(vals)
    top = vals[..., :1]
    # Algorithm 1 divides by the largest similarity; guard zero / no hit
    top = torch.where((top == 0) | ~torch.isfinite(top), torch.ones_like(top),
                      top)
    norm = torch.where(hit, vals / top, 0.0)
    return norm, idx, hit


def refine_scores(q_feats, g_feats, g_pids, variant_feats, m: int = 5,
                  variant_mask=None, block_size: int = 256,
                  g_valid=None, precision: str = 'fp32',
                  proposals: str = 'auto', stats: Optional[dict] = None,
                  device=None):
    """Algorithm 1 for every query at once.

    Args:
        q_feats: ``(Q, D)`` query features.
        g_feats: ``(G, D)`` gallery features.
        g_pids: ``(G,)`` gallery identities.
        variant_feats: ``(Q, l, D)`` features of each query's ``l`` variants
            (``l`` may be 0).
        m (int): retrievals per query / variant (clipped to the gallery size).
        variant_mask: optional ``(Q, l)`` bool, False where a variant is
            missing (it then adds nothing).
        block_size (int): queries per block (memory: ``block * (l+1) * G``
            floats).
        g_valid: optional ``(Q, G)`` bool mask of gallery items a
            query may retrieve (e.g. not from its own camera); ``None``: all.
        precision (str): ``'fp32'`` (float32 accuracy; on CPUs where
            :func:`reidkit.evaluation.distance.fast_matmul`'s check passes
            the products use oneDNN's faster float32-accurate mode) or
            ``'bf16'``: similarities from
            bfloat16 products (several times faster on CPUs with AVX512-BF16
            or AMX; cosines off by up to ~1e-2, so near-ties may swap).
        proposals (str): with ``'fp32'``: the variants' top-m from bf16
            proposals re-checked in float32 (the same answer, see
            :func:`_topm_proposed`): ``'auto'`` where bf16 products are
            fast and the bound holds on the inputs, ``'on'`` skipping the
            speed test, ``'off'``.
        stats (dict, optional): filled with how the call ran.
        device: torch device for the products and scores (e.g. ``'cuda'``);
            the results come back on the CPU. Default: CPU.

    Returns:
        tuple: ``(scores, in_s, cos, uniq_pids, g_code)``: ``scores`` and
        ``in_s`` are ``(Q, P)`` over the sorted distinct gallery identities
        ``uniq_pids``; ``cos`` the ``(Q, G)`` cosine similarity of the
        original queries; ``g_code`` ``(G,)`` the identity index of each
        gallery image.
    """
    qf = F.normalize(_tensor(q_feats, 'q_feats', 2), dim=1)
    gf = F.normalize(_tensor(g_feats, 'g_feats', 2), dim=1)
    vf = _tensor(variant_feats, 'query_variant_feats', 3)
    num_q, num_g = qf.shape[0], gf.shape[0]
    if vf.shape[0] != num_q or (vf.shape[1] and vf.shape[2] != qf.shape[1]):
        raise ValueError(
            'DLCRRefinementReranker: query_variant_feats must have shape '
            f'(num_query={num_q}, l, D={qf.shape[1]}), got {tuple(vf.shape)}')
    if gf.shape[1] != qf.shape[1]:
        raise ValueError('DLCRRefinementReranker: query and gallery features '
                         f'differ in dimension ({qf.shape[1]} vs {gf.shape[1]})')
    g_pids = np.asarray(g_pids).reshape(-1)
    if g_pids.shape[0] != num_g:
        raise ValueError(f'DLCRRefinementReranker: g_pids has {g_pids.shape[0]} '
                         f'entries for {num_g} gallery features')
    uniq, g_code = np.unique(g_pids, return_inverse=True)
    g_code_t = torch.from_numpy(g_code.reshape(-1).astype(np.int64))
    num_p = len(uniq)
    num_l = vf.shape[1]
    vf = F.normalize(vf, dim=2) if num_l else vf
    if variant_mask is not None:
        vmask = torch.as_tensor(np.asarray(variant_mask), dtype=torch.bool)
        if vmask.shape != (num_q, num_l):
            raise ValueError('DLCRRefinementReranker: query_variant_mask must '
                             f'have shape {(num_q, num_l)}, got '
                             f'{tuple(vmask.shape)}')
    else:
        vmask = None
    valid = None
    if g_valid is not None:
        valid = torch.as_tensor(np.array(g_valid, dtype=bool))
        if valid.shape != (num_q, num_g):
            raise ValueError('DLCRRefinementReranker: gallery validity mask '
                             f'must be {(num_q, num_g)}, got {tuple(valid.shape)}')
    if precision not in ('fp32', 'bf16'):
        raise ValueError("DLCRRefinementReranker: precision must be 'fp32' or "
                         f"'bf16', got {precision!r}")
    mm_dtype = torch.bfloat16 if precision == 'bf16' else torch.float32
    gf_mm = gf.T.contiguous().to(mm_dtype)
    m = int(min(m, num_g))
    if m < 1:
        raise ValueError(f'DLCRRefinementReranker: m must be >= 1, got {m}')

    dev = torch.device(device) if device is not None else torch.device('cpu')
    qf, gf, vf, gf_mm = qf.to(dev), gf.to(dev), vf.to(dev), gf_mm.to(dev)
    g_code_t = g_code_t.to(dev)
    vmask = vmask.to(dev) if vmask is not None else None
    valid = valid.to(dev) if valid is not None else None
    prop = None
    if mm_dtype == torch.float32 and num_l:
        # two bf16 terms: top-m cosines of 4,096-d features are near-ties
        # at one term's error (~5e-3)
        prop = bf16_proposals(vf.reshape(-1, vf.shape[-1]), gf,
                              mode=proposals, terms=2)
    if stats is not None:
        stats.update(proposals='bf16' if prop else 'off', recomputed_pairs=0,
                     recomputed_rows=0, variant_rows=num_q * num_l)
    scores = torch.zeros(num_q, num_p, device=dev)
    in_s = torch.zeros(num_q, num_p, dtype=torch.bool, device=dev)
    cos = torch.empty(num_q, num_g, device=dev)
    # float32 products run in the faster float32-accurate CPU mode when the
    # check in fast_matmul passes (bf16 is a separate, less exact choice)
    with fast_matmul(gf, enabled=mm_dtype == torch.float32):
        for start in range(0, num_q, block_size):
            stop = min(start + block_size, num_q)
            b = stop - start
            # the original queries straight into ``cos``; all their variants
            # in one product
            q_sim = cos[start:stop]
            v_sim = None
            if num_l and prop is None:
                # queries and variants in one product (larger products run
                # faster: 27 vs 20 GFLOP per CPU-second on an AVX2 EPYC)
                both = torch.cat([qf[start:stop, None], vf[start:stop]], 1)
                sim = (both.reshape(-1, both.shape[-1]).to(mm_dtype)
                       @ gf_mm).float().view(b, num_l + 1, num_g)
                q_sim.copy_(sim[:, 0])
                v_sim = sim[:, 1:]
            elif mm_dtype == torch.float32:
                torch.mm(qf[start:stop], gf_mm, out=q_sim)
            else:
                q_sim.copy_(qf[start:stop].to(mm_dtype) @ gf_mm)
            if valid is not None:
                q_sim = q_sim.masked_fill(~valid[start:stop], float('-inf'))
            q_norm, q_idx, q_hit = _topm_scores(q_sim, m)          # (b, m)
            if num_l and prop is not None:
                rows = torch.arange(start * num_l, stop * num_l, device=dev)
                v_valid = (None if valid is None else
                           valid[start:stop, None].expand(b, num_l, num_g)
                           .reshape(-1, num_g))
                vals, idx, n_pairs, n_rows = _topm_proposed(
                    prop[0], prop[1], rows, m, v_valid)
                if stats is not None:
                    stats['recomputed_pairs'] += n_pairs
                    stats['recomputed_rows'] += n_rows
                v_norm, v_idx, v_hit = _normalise(vals.view(b, num_l, m),
                                                  idx.view(b, num_l, m))
            if num_l and prop is None:
                if valid is not None:
                    v_sim.masked_fill_(~valid[start:stop, None], float('-inf'))
                v_norm, v_idx, v_hit = _topm_scores(v_sim, m)      # (b, l, m)
            if num_l:
                norm = torch.cat([q_norm[:, None], v_norm], 1)
                idx = torch.cat([q_idx[:, None], v_idx], 1)
                hit = torch.cat([q_hit[:, None], v_hit], 1)
            else:
                norm, idx, hit = q_norm[:, None], q_idx[:, None], q_hit[:, None]
            codes = g_code_t[idx]                       # identity of each hit
            rows = torch.arange(b, device=dev)[:, None, None].expand_as(codes)
            flat = (rows * num_p + codes).reshape(b, -1)
            block_in_s = torch.zeros(b * num_p, dtype=torch.bool, device=dev)
            # S: the identities of the query's own top-m
            block_in_s[flat[:, :m][hit[:, 0]]] = True
            contrib = norm
            if num_l:
                # variants only update identities already in S (Algorithm 1, l.6)
                keep = block_in_s[flat[:, m:].reshape(-1)].reshape(b, num_l, m)
                if vmask is not None:
                    keep &= vmask[start:stop, :, None]
                contrib[:, 1:] = torch.where(keep, contrib[:, 1:], 0.0)
            block_scores = torch.zeros(b * num_p, device=dev)
            block_scores.index_add_(0, flat.reshape(-1), contrib.reshape(-1))
            scores[start:stop] = block_scores.view(b, num_p)
            in_s[start:stop] = block_in_s.view(b, num_p)
    return scores.cpu(), in_s.cpu(), cos.cpu(), uniq, g_code


@RERANKERS.register_module()
class DLCRRefinementReranker:
    """DLCR prediction refinement with clothes-changed query variants.

    Called as a reidkit re-ranker: ``reranker(q_feats, g_feats, dist=None,
    **meta)`` returns a ``(Q, G)`` distance array. ``meta`` must hold
    ``g_pids`` (gallery identities, as Algorithm 1 scores identities) and
    ``query_variant_feats``: ``(Q, l, D)`` features of each query's ``l``
    inpainted variants (optionally ``query_variant_mask``, ``(Q, l)`` bool,
    for queries with fewer variants). Alternatively pass ``variant_fn``: a
    callable ``(meta) -> (Q, l, D)`` features.

    Args:
        m (int): top-``m`` gallery retrievals per query and per variant.
            Default 5 (paper).
        num_variants (int, optional): use only the first ``num_variants``
            variants (paper ``l = 6``); ``None`` uses all given.
        fusion (str): ``'rank'`` (default): gallery images of identities in
            ``S`` first, by refined identity score, then the rest; ties and
            the inside of an identity keep the original cosine order.
            ``'add'``: similarity ``cos + alpha * score[pid]``.
        alpha (float): weight of the identity score for ``fusion='add'``.
        exclude_same_camera (bool): leave gallery images from the query's
            camera out of the top-``m`` retrievals (needs ``q_camids`` and
            ``g_camids`` in meta; uses no identity label). Default False.
        block_size (int): queries per block.
        precision (str): ``'fp32'`` (default, exact) or ``'bf16'`` (faster
            similarity products, see :func:`refine_scores`).
        proposals (str): ``'auto'`` (default), ``'on'`` or ``'off'``: with
            ``'fp32'``, the variants' top-m from bf16 proposals proved and
            re-checked in float32 (the same answer; see
            :func:`refine_scores`).
        device: torch device for the products (e.g. ``'cuda'``).
        variant_fn (callable, optional): computes the variant features when
            meta has none.

    Example:
        >>> rr = DLCRRefinementReranker(m=5)
        >>> dist = rr(q, g, g_pids=g_pids, query_variant_feats=qv)  # qv: (Q, 6, D)
        >>> dist.shape == (len(q), len(g))
        True
    """

    def __init__(self, m: int = 5, num_variants: Optional[int] = None,
                 fusion: str = 'rank', alpha: float = 1.0,
                 exclude_same_camera: bool = False, block_size: int = 256,
                 precision: str = 'fp32', variant_fn=None,
                 proposals: str = 'auto', device=None) -> None:
        if fusion not in ('rank', 'add'):
            raise ValueError("DLCRRefinementReranker: fusion must be 'rank' or "
                             f"'add', got {fusion!r}")
        if int(m) < 1:
            raise ValueError(f'DLCRRefinementReranker: m must be >= 1, got {m}')
        self.m = int(m)
        self.num_variants = num_variants
        self.fusion = fusion
        self.alpha = float(alpha)
        self.exclude_same_camera = bool(exclude_same_camera)
        self.block_size = int(block_size)
        self.precision = precision
        self.variant_fn = variant_fn
        self.proposals = proposals
        self.device = device
        #: how the last call ran (bf16 proposals, recomputed pairs / rows)
        self.last_stats = {}

    #: Algorithm 1 ranks by its own cosine similarities: a chain step before
    #: it would be dropped, so it must come first (checked by build_chain)
    discards_incoming_dist = True

    def variant_features(self, meta: dict):
        for key in VARIANT_KEYS:
            if meta.get(key) is not None:
                return meta[key]
        if self.variant_fn is not None:
            return self.variant_fn(meta)
        raise KeyError(
            'DLCRRefinementReranker needs the query variants\' features: pass '
            "meta['query_variant_feats'] of shape (num_query, l, D) (the "
            'DLCRMetric does this from the query-variant test set) or '
            'variant_fn')

    def __call__(self, q_feats, g_feats, dist=None, **meta) -> np.ndarray:
        if meta.get('g_pids') is None:
            raise KeyError("DLCRRefinementReranker needs meta['g_pids'] (the "
                           'gallery identities Algorithm 1 scores)')
        vf = self.variant_features(meta)
        mask = meta.get('query_variant_mask')
        if self.num_variants is not None:
            vf = vf[:, :int(self.num_variants)]
            if mask is not None:
                mask = np.asarray(mask)[:, :int(self.num_variants)]
        valid = None
        if self.exclude_same_camera:
            if meta.get('q_camids') is None or meta.get('g_camids') is None:
                raise KeyError('exclude_same_camera needs q_camids and '
                               'g_camids in meta')
            valid = (np.asarray(meta['q_camids'])[:, None]
                     != np.asarray(meta['g_camids'])[None])
        scores, in_s, cos, _, g_code = refine_scores(
            q_feats, g_feats, meta['g_pids'], vf, self.m, mask,
            self.block_size, valid, self.precision, self.proposals,
            self.last_stats, self.device)
        return self.fuse(scores, in_s, cos, g_code)

    def fuse(self, scores: torch.Tensor, in_s: torch.Tensor, cos: torch.Tensor,
             g_code: np.ndarray) -> np.ndarray:
        """Gallery distances from identity scores and the original cosine."""
        code = torch.from_numpy(np.asarray(g_code, dtype=np.int64))
        if self.fusion == 'add':
            return (1.0 - cos - self.alpha * scores[:, code]).float().numpy()
        # rank of each identity in S by score: identities with a strictly
        # higher score; identities outside S share rank |S| (<= m), so the
        # offsets stay small and float32 keeps the cosine order inside them
        s = torch.where(in_s, scores, torch.full_like(scores, float('-inf')))
        srt = torch.sort(s, dim=1, descending=True).values
        id_rank = torch.searchsorted(-srt.contiguous(), -s.contiguous(),
                                     right=False)
        num_s = in_s.sum(1, keepdim=True)
        offset = 2.0 * torch.where(in_s, id_rank, num_s).float()  # (Q, P)
        dist = torch.index_select(offset, 1, code)                 # (Q, G)
        # + (1 - cos) / 2, in [0, 1]: the cosine order inside an offset
        dist.add_(cos, alpha=-0.5).add_(0.5)
        return dist.numpy()
