"""Heads (HEADS registry): classifiers, BNNeck heads, the multi-head
attention head, auxiliary heads and CAL's clothes classifier."""
from .bnneck_head import (AuxClassifierHead, BaseReIDHead, BNNeck, BNNeckHead,
                          MultiHeadAttentionHead)
from .classifiers import CosineClassifier, LinearClassifier
from .deen_head import DEENHead
from .clothes_head import ClothesClassifierHead
from .pcb import PartPool, PCBHead

__all__ = [
    'BaseReIDHead', 'BNNeck', 'BNNeckHead', 'MultiHeadAttentionHead',
    'AuxClassifierHead', 'LinearClassifier', 'CosineClassifier',
    'ClothesClassifierHead', 'DEENHead', 'PartPool', 'PCBHead'
]
