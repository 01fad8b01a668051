"""Weighted sum of several models' distance matrices."""
from __future__ import annotations

from typing import Optional, Sequence

import numpy as np

from ...registry import RERANKERS
from .common import as_matrix, base_distance


@RERANKERS.register_module()
class DistanceEnsemble:
    """Ensemble: ``w_0 * dist + sum_i w_i * dists[i]`` where ``dists`` (other
    models' ``(Q, G)`` distances on the same query/gallery order) comes in
    ``meta``. With ``weights=None`` every matrix has weight ``1 / n``
    (the strong vehicle baseline averages its three models' distances).

    Args:
        weights (list[float], optional): one per matrix, incoming first.
        normalize (bool): divide each matrix by its maximum first, so models
            with different distance scales contribute comparably.
        include_input (bool): whether the incoming ``dist`` (or the distance of
            the main features) is one of the members. Default True.
        metric (str): distance for the main features when ``dist`` is None.

    Example:
        >>> ens = RERANKERS.build(dict(type='DistanceEnsemble'))
        >>> d = ens(qf, gf, dist=d_model_a, dists=[d_model_b, d_model_c])
    """

    def __init__(self, weights: Optional[Sequence[float]] = None,
                 normalize: bool = False, include_input: bool = True,
                 metric: str = 'euclidean'):
        self.weights = list(weights) if weights is not None else None
        self.normalize = normalize
        self.include_input = include_input
        self.metric = metric

    @property
    def discards_incoming_dist(self) -> bool:
        return not self.include_input

    chain_hint = 'set include_input=True to combine the incoming distance'

    def __call__(self, q_feats, g_feats, dist=None, dists=None, **meta
                 ) -> np.ndarray:
        if dists is None:
            raise KeyError('DistanceEnsemble needs meta["dists"]: a list of '
                           '(num_query, num_gallery) distance matrices')
        members = []
        if self.include_input:
            members.append(base_distance(q_feats, g_feats, dist, self.metric))
        shape = (len(q_feats), len(g_feats))
        members += [as_matrix(d, f'dists[{i}]', shape) for i, d in enumerate(dists)]
        if not members:
            raise ValueError('DistanceEnsemble has nothing to combine')
        weights = self.weights or [1.0 / len(members)] * len(members)
        if len(weights) != len(members):
            raise ValueError(f'DistanceEnsemble got {len(weights)} weights for '
                             f'{len(members)} distance matrices')
        out = np.zeros(shape, np.float32)
        for w, d in zip(weights, members):
            if self.normalize:
                top = float(np.abs(d).max()) or 1.0
                d = d / top
            out += np.float32(w) * d
        return out
