"""Re-rankers, registered in ``RERANKERS``.

Every re-ranker is called as ``reranker(q_feats, g_feats, dist=None, **meta)``
and returns a new ``(Q, G)`` float32 distance array; :func:`apply_rerankers`
runs a configured chain, each step receiving the previous step's distances.
"""
from .common import (RerankerChainError, apply_rerankers, build_chain,
                     build_reranker)
from .ensemble import DistanceEnsemble
from .fused import FusedDistanceReranker
from .k_reciprocal import KReciprocalReranker, k_reciprocal_distance
from .query_expansion import AverageQueryExpansion
from .tracklet import TrackletAveraging, parse_track_file

__all__ = ['KReciprocalReranker', 'AverageQueryExpansion',
           'FusedDistanceReranker', 'TrackletAveraging', 'DistanceEnsemble',
           'apply_rerankers', 'build_reranker', 'build_chain',
           'RerankerChainError', 'k_reciprocal_distance', 'parse_track_file']
