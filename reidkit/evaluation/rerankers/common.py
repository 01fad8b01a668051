"""Helpers shared by the re-rankers."""
from __future__ import annotations

from typing import Iterable, Optional

import numpy as np
import torch

from ...registry import RERANKERS
from ...utils.registry import UnknownTypeError
from ..distance import compute_distance


class RerankerChainError(UnknownTypeError, ValueError):
    """A re-ranker chain whose later step would discard an earlier step's
    result (a configuration error: tools report it as one message)."""


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


def discards_incoming_dist(reranker) -> bool:
    """Whether ``reranker``'s result ignores the ``dist`` it is handed
    (re-rankers declare it with a ``discards_incoming_dist`` attribute or
    property; without one they are taken to build on ``dist``)."""
    return bool(getattr(reranker, 'discards_incoming_dist', False))


def build_chain(cfgs: Optional[Iterable]) -> list:
    """Build a re-ranker chain, refusing one in which a step after the first
    starts from its own distances and so would silently drop the steps
    before it (e.g. ``[AQE, k-reciprocal from features]``)."""
    chain = [build_reranker(cfg) for cfg in cfgs or []]
    for pos, step in enumerate(chain[1:], 1):
        if discards_incoming_dist(step):
            before = ', '.join(type(s).__name__ for s in chain[:pos])
            hint = getattr(step, 'chain_hint', None) or (
                'put it first in the chain')
            raise RerankerChainError(
                f're-ranker chain step {pos + 1} ({type(step).__name__}) '
                f'computes its distances from the features and ignores the '
                f'distance handed to it, so the result of the step(s) before '
                f'it ({before}) would be dropped; {hint}')
    return chain


def apply_rerankers(cfgs: Optional[Iterable], q_feats, g_feats, dist=None,
                    **meta) -> np.ndarray:
    """Run re-rankers in order; each gets the previous distances as ``dist``.

    The chain is checked when it is built (:func:`build_chain`): a step after
    the first that ignores its incoming distance is an error, not a silent
    no-op of the steps before it.
    """
    for reranker in build_chain(cfgs):
        dist = reranker(q_feats, g_feats, dist=dist, **meta)
    return dist
