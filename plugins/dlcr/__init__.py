"""DLCR (Siddiqui et al.): generative data expansion for clothes-changing re-ID.

Importing this package registers:

* synthgen: ``DLCRSource`` (SOURCES), ``DLCRPromptBuilder``
  (PROMPT_BUILDERS), ``DiscriminatorGuidedInpainter`` (GENERATORS);
* reidkit: ``ProgressivePairingSampler`` (SAMPLERS),
  ``DLCRClothesClassifierHead`` (HEADS), ``DLCRQueryVariantDataset``
  (DATASETS), ``DLCRMetric`` (METRICS), ``DLCRRefinementReranker``
  (RERANKERS).

Heavy libraries (transformers, diffusers) are imported only when a model is
built. Configs name the package in ``custom_imports``.
"""
from . import descriptions, masks  # noqa: F401
from .dataset import DLCRQueryVariantDataset
from .discriminator import (DiscriminatorGuidedInpainter,
                            LatentDiscriminator, guided_noise)
from .generation import (DLCRPromptBuilder, DLCRSource, sample_target_clothes,
                         target_permutation)
from .masks import (MASK_PROVIDERS, HumanParsingMaskProvider,
                    ToyWorldMaskProvider)
from .metric import DLCRMetric
from .model import DLCRClothesClassifierHead
from .refinement import DLCRRefinementReranker, refine_scores
from .sampler import ProgressivePairingSampler

__all__ = [
    'DLCRSource', 'DLCRPromptBuilder', 'sample_target_clothes',
    'target_permutation', 'MASK_PROVIDERS', 'HumanParsingMaskProvider',
    'ToyWorldMaskProvider', 'ProgressivePairingSampler',
    'DLCRRefinementReranker', 'refine_scores', 'DLCRMetric',
    'DLCRQueryVariantDataset', 'DLCRClothesClassifierHead',
    'LatentDiscriminator', 'DiscriminatorGuidedInpainter', 'guided_noise'
]
