"""Keep the DataLoader's ``batch_size`` equal to the sampler's.

A reidkit sampler orders indices so that every chunk of its ``batch_size``
is a composed batch. If the DataLoader groups them by another size, batches
silently straddle identities (or domains). Two guards:

* :class:`PKBatchSampler` -- set ``batch_sampler=dict(type='PKBatchSampler')``
  in a dataloader config: mmengine's Runner builds it with the sampler and
  the dataloader's ``batch_size`` and it raises if they differ;
* :func:`check_dataloader_cfg` -- checks a dataloader config dict before
  the Runner is built (``tools/train.py`` can call it).

For fast loading give the dataloader ``num_workers`` (decode and augment run
in the workers), ``persistent_workers=True`` (workers survive the epoch, so
no start-up per epoch) and ``pin_memory=True`` (faster host-to-GPU copies);
the samplers build an epoch in tens of milliseconds, in the main process.
"""
from __future__ import annotations

from typing import Mapping

from torch.utils.data import BatchSampler, Sampler

from ..registry import SAMPLERS

#: the samplers whose index order is batch-composed
COMPOSED_SAMPLERS = ('IdentitySampler', 'BalancedDomainSampler',
                     'RandomDomainMixSampler', 'ModalityBalancedSampler')


def _batch_size_error(sampler_bs: int, loader_bs, where: str) -> ValueError:
    return ValueError(
        f'{where}: the dataloader batch_size ({loader_bs}) differs from the '
        f"sampler's batch_size ({sampler_bs}); reidkit samplers order indices "
        'so that every chunk of their batch_size is one P x K batch, so the '
        'two must be equal')


@SAMPLERS.register_module()
class PKBatchSampler(BatchSampler):
    """Group a reidkit sampler's indices into its batches, checking the size.

    Args:
        sampler (Sampler): A reidkit sampler (has ``batch_size``).
        batch_size (int): The dataloader's batch size; must equal
            ``sampler.batch_size``.
        drop_last (bool): Kept for the ``BatchSampler`` signature; reidkit
            samplers always yield whole batches. Default False.

    Example:
        >>> train_dataloader = dict(
        ...     batch_size=64, num_workers=8, persistent_workers=True,
        ...     pin_memory=True,
        ...     sampler=dict(type='IdentitySampler', batch_size=64,
        ...                  num_instances=4),
        ...     batch_sampler=dict(type='PKBatchSampler'),
        ...     dataset=...)
    """

    def __init__(self, sampler: Sampler, batch_size: int,
                 drop_last: bool = False) -> None:
        sampler_bs = getattr(sampler, 'batch_size', None)
        if sampler_bs is None:
            raise TypeError(
                f'PKBatchSampler: {type(sampler).__name__} has no batch_size; '
                f'use it with one of {COMPOSED_SAMPLERS}')
        if batch_size != sampler_bs:
            raise _batch_size_error(sampler_bs, batch_size, 'PKBatchSampler')
        super().__init__(sampler, batch_size, drop_last)


def check_dataloader_cfg(cfg: Mapping, name: str = 'train_dataloader'
                         ) -> None:
    """Raise if a dataloader config's batch size differs from its sampler's.

    Only configs whose ``sampler.type`` is a reidkit batch-composing sampler
    are checked; anything else passes.

    Args:
        cfg (Mapping): A dataloader config (``batch_size``, ``sampler``...).
        name (str): Config key, used in the error message.

    Example:
        >>> check_dataloader_cfg(cfg.train_dataloader)
    """
    sampler = cfg.get('sampler')
    if not isinstance(sampler, Mapping):
        return
    stype = sampler.get('type')
    stype = stype.split('.')[-1] if isinstance(stype, str) else \
        getattr(stype, '__name__', None)
    if stype not in COMPOSED_SAMPLERS:
        return
    if 'batch_size' not in sampler:
        raise ValueError(f'{name}.sampler ({stype}) needs batch_size, equal '
                         f'to {name}.batch_size')
    if cfg.get('batch_size', 1) != sampler['batch_size']:
        raise _batch_size_error(sampler['batch_size'],
                                cfg.get('batch_size', 1), name)
