"""Helpers shared by the re-rankers."""
from __future__ import annotations

from typing import Iterable, Optional

import numpy as np
import torch

from ...registry import RERANKERS
from ..distance import compute_distance


def base_distance(q_feats, g_feats, dist, metric: str) -> np.ndarray:
    """``dist`` as a float32 ``(Q, G)`` array, computed from features if None."""
    if dist is None:
        return compute_distance(q_feats, g_feats, metric).astype(np.float32,
                                                                 copy=False)
    if isinstance(dist, torch.Tensor):
        dist = dist.detach().cpu().numpy()
    dist = np.asarray(dist)
    if dist.ndim != 2 or dist.shape != (len(q_feats), len(g_feats)):
        raise ValueError(f'dist must have shape (num_query, num_gallery) = '
                         f'({len(q_feats)}, {len(g_feats)}), got {dist.shape}')
    return dist.astype(np.float32, copy=False)


def as_matrix(x, name: str, shape) -> np.ndarray:
    """A ``(Q, G)`` distance matrix given in ``meta``, checked."""
    if isinstance(x, torch.Tensor):
        x = x.detach().cpu().numpy()
    x = np.asarray(x, dtype=np.float32)
    if x.shape != tuple(shape):
        raise ValueError(f'{name} must have shape {tuple(shape)}, got {x.shape}')
    return x


def build_reranker(cfg):
    """Build one re-ranker from a config dict (or pass an instance through)."""
    if callable(cfg) and not isinstance(cfg, dict):
        return cfg
    if not isinstance(cfg, dict) or 'type' not in cfg:
        raise ValueError(f'a re-ranker config must be a dict with a "type" key, '
                         f'got {cfg!r}')
    return RERANKERS.build(cfg)


def apply_rerankers(cfgs: Optional[Iterable], q_feats, g_feats, dist=None,
                    **meta) -> np.ndarray:
    """Run re-rankers in order; each gets the previous distances as ``dist``."""
    for cfg in cfgs or []:
        dist = build_reranker(cfg)(q_feats, g_feats, dist=dist, **meta)
    return dist
