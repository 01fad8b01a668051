"""Retrieval and evaluation: distances, benchmark protocols, metric, re-rankers.

Importing this package registers :class:`ReIDMetric` in ``METRICS`` and every
re-ranker in ``RERANKERS`` (the registries' ``locations`` point here).
"""
from . import rerankers  # noqa: F401  (registers in RERANKERS)
from .distance import compute_distance, topk
from .metric import ReIDMetric
from .protocols import PROTOCOLS, SETTINGS, rank, sample_gallery, settings_of
from .visualize import write_rank_lists

__all__ = ['compute_distance', 'topk', 'rank', 'PROTOCOLS', 'SETTINGS',
           'settings_of', 'sample_gallery', 'ReIDMetric', 'write_rank_lists',
           'rerankers']
