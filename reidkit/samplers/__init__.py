"""Batch-composing samplers (registered in ``reidkit.registry.SAMPLERS``).

Every module that registers a sampler is imported here, so a config with
``default_scope='reidkit'`` resolves ``type='IdentitySampler'`` etc.
"""
from .base import BaseBatchSampler
from .batch_sampler import PKBatchSampler, check_dataloader_cfg
from .domain_sampler import BalancedDomainSampler, RandomDomainMixSampler
from .identity_sampler import IdentitySampler
from .labels import read_labels
from .modality_sampler import ModalityBalancedSampler

__all__ = [
    'BaseBatchSampler', 'IdentitySampler', 'BalancedDomainSampler',
    'RandomDomainMixSampler', 'ModalityBalancedSampler', 'PKBatchSampler',
    'check_dataloader_cfg', 'read_labels'
]
