"""Necks (MODELS registry): pooling + optional embedding layer. The BNNeck
lives in the heads (it sits between the feature and the classifier)."""
from .pooling import GeMPool, GlobalAvgPool, GlobalMaxPool, MaxAvgPool

__all__ = ['GlobalAvgPool', 'GlobalMaxPool', 'MaxAvgPool', 'GeMPool']
