"""Losses (LOSSES registry). Every loss is ``loss(inputs, labels, **extra)``
and declares ``input_type`` ('logits' / 'features' / 'clothes_logits')."""
from .adaptive_triplet import AdaptiveWeightedTripletLoss
from .base import ReIDLoss, pairwise_distance
from .circle import CircleLoss
from .clothes_adversarial import ClothesAdversarialLoss
from .deen import CenterPairMiningLoss, ExpansionOrthogonalLoss
from .cross_entropy import CrossEntropyLoss
from .supcon import SupConLoss
from .triplet import TripletLoss, WeightedRegularizationTripletLoss

__all__ = [
    'ReIDLoss', 'pairwise_distance', 'CrossEntropyLoss', 'TripletLoss',
    'WeightedRegularizationTripletLoss', 'CircleLoss', 'SupConLoss',
    'ClothesAdversarialLoss', 'CenterPairMiningLoss', 'ExpansionOrthogonalLoss',
    'AdaptiveWeightedTripletLoss'
]
