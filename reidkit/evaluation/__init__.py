"""Retrieval and evaluation: distances, benchmark protocols, metric, re-rankers.

Importing this package registers :class:`ReIDMetric` in ``METRICS``, every
benchmark protocol in ``PROTOCOLS`` and every re-ranker in ``RERANKERS`` (the
registries' ``locations`` point here).
"""
from . import rerankers  # noqa: F401  (registers in RERANKERS)
from .distance import compute_distance, topk
from .metric import ReIDMetric, sample_value
from .protocols import (PROTOCOLS, CrossModalProtocol, Protocol,
                        build_protocol, pool_tracklets, rank, sample_gallery,
                        score_ranking, settings_of)
from .visualize import write_rank_lists

__all__ = ['compute_distance', 'topk', 'rank', 'PROTOCOLS', 'Protocol',
           'CrossModalProtocol', 'build_protocol', 'score_ranking',
           'settings_of', 'sample_gallery', 'pool_tracklets', 'ReIDMetric',
           'sample_value', 'write_rank_lists', 'rerankers']
