"""Fused ID / orientation / camera distance (strong vehicle baseline, Eq. 7)."""
from __future__ import annotations

from typing import Dict, Optional, Sequence

import numpy as np

from ...registry import RERANKERS
from ..distance import METRICS, compute_distance
from .common import as_matrix, base_distance


@RERANKERS.register_module()
class FusedDistanceReranker:
    """``D = D_v - lambda_1 D_o - lambda_2 D_c`` (Eq. 7 of the strong vehicle
    baseline, after VOC-ReID): the identity distance minus weighted distances
    from models trained to recognise orientation and camera, so that images
    that merely share viewpoint or camera are pushed down the list.

    The extra distances come from ``meta``: ``extra_dists={name: (Q, G)}``, or
    ``extra_feats={name: (q_feats, g_feats)}`` (distances computed with
    ``metric``). ``D_v`` is the incoming ``dist`` (or computed from the main
    features).

    Args:
        weights (dict): ``{name: lambda}``. Default
            ``{'orientation': 0.1, 'camera': 0.1}``.
        metric (str): distance for features. Default 'euclidean'.

    Example:
        >>> fuse = RERANKERS.build(dict(type='FusedDistanceReranker',
        ...                             weights=dict(camera=0.1)))
        >>> d = fuse(qf, gf, extra_feats=dict(camera=(qf_cam, gf_cam)))
    """

    def __init__(self, weights: Optional[Dict[str, float]] = None,
                 metric: str = 'euclidean'):
        self.weights = dict(weights) if weights is not None else {
            'orientation': 0.1, 'camera': 0.1}
        if metric not in METRICS:
            raise ValueError(f'metric must be one of {METRICS}, got {metric!r}')
        self.metric = metric

    def __call__(self, q_feats, g_feats, dist=None, extra_dists=None,
                 extra_feats=None, **meta) -> np.ndarray:
        out = base_distance(q_feats, g_feats, dist, self.metric).copy()
        shape = out.shape
        extra_dists = extra_dists or {}
        extra_feats = extra_feats or {}
        for name, lam in self.weights.items():
            if name in extra_dists:
                d = as_matrix(extra_dists[name], f'extra_dists[{name!r}]', shape)
            elif name in extra_feats:
                pair: Sequence = extra_feats[name]
                if len(pair) != 2:
                    raise ValueError(f'extra_feats[{name!r}] must be a pair '
                                     f'(q_feats, g_feats)')
                d = compute_distance(pair[0], pair[1], self.metric)
                d = as_matrix(d, f'distance of extra_feats[{name!r}]', shape)
            else:
                raise KeyError(f'FusedDistanceReranker needs {name!r} in '
                               f'meta["extra_dists"] or meta["extra_feats"]')
            out -= np.float32(lam) * d
        return out
