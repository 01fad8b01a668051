"""A strong baseline for vehicle re-ID (Huynh et al., AI City 2021 track 2).

Most training parts live in reidkit (``ResNetIBN``, ``MixStyleBackbone``
with ``mix='halves'`` = the authors' ``MixStyle2``, ``GeMPool``,
``MultiHeadAttentionHead``, ``SupConLoss(normalize=False)``,
``MALWHook(variant='authors')``, ``CosineClassifier(margin_type='circle')``).
This package adds what is specific to the paper's recipe: the
post-processing chain on saved features and distances (k-reciprocal with
orientation / camera distances inside it, weighted tracklet averaging,
rank lists grouped by track, flip test, ensembles).
"""
from .postprocess import (FeatureFileError, OrientationCameraKReciprocal,
                          TrackGroupedRanking, flip_average, full_sq_distance,
                          group_by_track, load_features,
                          ranks_to_distance, save_features,
                          weighted_track_average)

__all__ = ['FeatureFileError', 'OrientationCameraKReciprocal',
           'TrackGroupedRanking', 'flip_average', 'full_sq_distance',
           'group_by_track', 'load_features',
           'ranks_to_distance', 'save_features', 'weighted_track_average']
from .hooks import FreezeBackboneHook
from .transforms import ReIDAugMix, ReIDRandomBlur, ReIDRandomPatch

__all__ += ['FreezeBackboneHook', 'ReIDAugMix', 'ReIDRandomBlur',
            'ReIDRandomPatch']
from .datasets import RelabelAsIdentity
from .stages import CheckInputsStage, PostProcessStage, SaveFeaturesStage

__all__ += ['RelabelAsIdentity', 'CheckInputsStage', 'PostProcessStage',
            'SaveFeaturesStage']
