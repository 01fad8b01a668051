"""Average / alpha-weighted query expansion."""
from __future__ import annotations

import numpy as np
import torch

from ...registry import RERANKERS
from ..distance import METRICS, as_features, compute_distance, topk


@RERANKERS.register_module()
class AverageQueryExpansion:
    """Query expansion: each query feature is replaced by the (weighted) mean
    of itself and its ``k`` nearest gallery features, then distances are
    recomputed.

    ``alpha = 0`` is average query expansion (AQE, Chum et al. 2007: equal
    weights); ``alpha > 0`` is alpha-QE (Radenovic et al. 2018: neighbour
    weight ``max(cos, 0) ** alpha``, the query itself weight 1). Neighbours are
    taken from ``dist`` when given (a previous re-ranker's output), else from
    the features under ``metric``.

    Args:
        k (int): gallery neighbours added to each query. Default 5.
        alpha (float): 0 for AQE, > 0 for alpha-QE. Default 0.
        metric (str): distance recomputed after expansion. Default 'cosine'.
        normalize (bool): L2-normalise features before and after expanding.

    Example:
        >>> qe = RERANKERS.build(dict(type='AverageQueryExpansion', k=2))
        >>> qe(torch.randn(3, 8), torch.randn(10, 8)).shape
        (3, 10)
    """

    def __init__(self, k: int = 5, alpha: float = 0.0, metric: str = 'cosine',
                 normalize: bool = True):
        if k < 1:
            raise ValueError(f'k must be >= 1, got {k}')
        if alpha < 0:
            raise ValueError(f'alpha must be >= 0, got {alpha}')
        if metric not in METRICS:
            raise ValueError(f'metric must be one of {METRICS}, got {metric!r}')
        self.k, self.alpha, self.metric = int(k), float(alpha), metric
        self.normalize = normalize

    def __call__(self, q_feats, g_feats, dist=None, **meta) -> np.ndarray:
        qf = as_features(q_feats, 'q_feats').float().cpu()
        gf = as_features(g_feats, 'g_feats').float().cpu()
        k = min(self.k, gf.shape[0])
        if self.normalize:
            qf = torch.nn.functional.normalize(qf, dim=1)
            gf = torch.nn.functional.normalize(gf, dim=1)
        if dist is not None:
            d = torch.as_tensor(np.asarray(dist), dtype=torch.float32)
            if d.shape != (qf.shape[0], gf.shape[0]):
                raise ValueError(f'dist must have shape {(qf.shape[0], gf.shape[0])}'
                                 f', got {tuple(d.shape)}')
            idx = torch.topk(d, k, dim=1, largest=False).indices
        else:
            idx = torch.from_numpy(topk(qf, gf, k, self.metric)[1])
        neigh = gf[idx]                                   # (Q, k, D)
        if self.alpha > 0:
            sim = torch.nn.functional.cosine_similarity(
                neigh, qf[:, None], dim=2).clamp(min=0)
            w = sim ** self.alpha
        else:
            w = torch.ones(idx.shape)
        expanded = (qf + (w[..., None] * neigh).sum(1)) / (1 + w.sum(1, keepdim=True))
        if self.normalize:
            expanded = torch.nn.functional.normalize(expanded, dim=1)
        return compute_distance(expanded, gf, self.metric).astype(np.float32)
