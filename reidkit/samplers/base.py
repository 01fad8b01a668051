"""Common behaviour of reidkit's batch-composing samplers.

A reidkit sampler yields dataset indices ordered so that every consecutive
chunk of ``batch_size`` indices is one composed batch (P identities x K
images, half real / half synthetic, ...). The DataLoader's ``batch_size``
must therefore equal the sampler's ``batch_size``; use
:class:`~reidkit.samplers.PKBatchSampler` or
:func:`~reidkit.samplers.check_dataloader_cfg` to have that checked.

Distributed runs: every rank builds the same global list of batches from
``(seed, epoch)`` and keeps batches ``rank, rank + world_size, ...``, so the
ranks' batches are disjoint and all ranks yield the same number of batches.
"""
from __future__ import annotations

from typing import Iterator, Optional, Sized

import numpy as np
from mmengine.dist import get_dist_info, sync_random_seed
from torch.utils.data import Sampler

from ..utils.cli import ReIDInputError


class DatasetTooSmallError(ReIDInputError, ValueError):
    """The training set cannot fill one batch as the sampler is configured
    (a user error: the message names the sizes; exit code 2 in the tools)."""


def check_positive_int(name: str, value, owner: str) -> int:
    """``value`` as an int, or a ValueError naming ``owner`` and ``name``."""
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) \
            or value <= 0:
        raise ValueError(f'{owner}: {name} must be a positive int, '
                         f'got {value!r}')
    return int(value)


class BaseBatchSampler(Sampler):
    """Base class: seeding, epochs, rank split and ``__len__``.

    Subclasses set ``self.num_batches`` (global batches in one epoch, before
    rounding to the world size) in ``__init__`` and implement
    :meth:`make_batches`.

    Args:
        dataset (Sized): The dataset the indices refer to.
        batch_size (int): Images per batch (must equal the DataLoader's).
        seed (int, optional): Random seed, the same on every rank. ``None``
            draws one and broadcasts it from rank 0 (mmengine
            ``sync_random_seed``).
        round_up (bool): If the epoch's batches do not split evenly over the
            ranks, ``True`` adds batches so that every rank gets
            ``ceil(num_batches / world_size)``; ``False`` drops the last ones
            (every rank gets ``num_batches // world_size``). Default True.
        rank (int, optional): This process' rank; default from
            ``mmengine.dist.get_dist_info()``.
        world_size (int, optional): Number of ranks; default from
            ``get_dist_info()``.

    Example:
        >>> class FixedOrder(BaseBatchSampler):  # batches 0..7, 8..15, ...
        ...     def __init__(self, dataset, batch_size, seed=None, **kw):
        ...         super().__init__(dataset, batch_size, seed, **kw)
        ...         self.num_batches = len(dataset) // batch_size
        ...     def make_batches(self, rng, num_batches):
        ...         n = num_batches * self.batch_size
        ...         return (np.arange(n) % len(self.dataset)).reshape(
        ...             num_batches, self.batch_size)
        >>> list(FixedOrder(range(32), 8, seed=0, rank=1, world_size=2))[:3]
        [8, 9, 10]
    """

    num_batches: int = 0

    def __init__(self,
                 dataset: Sized,
                 batch_size: int,
                 seed: Optional[int] = None,
                 round_up: bool = True,
                 rank: Optional[int] = None,
                 world_size: Optional[int] = None) -> None:
        name = type(self).__name__
        self.dataset = dataset
        self.batch_size = check_positive_int('batch_size', batch_size, name)
        dist_rank, dist_world = get_dist_info()
        self.rank = dist_rank if rank is None else int(rank)
        self.world_size = dist_world if world_size is None else int(world_size)
        if self.world_size <= 0 or not 0 <= self.rank < self.world_size:
            raise ValueError(f'{name}: need 0 <= rank < world_size, got '
                             f'rank={self.rank}, world_size={self.world_size}')
        if seed is None:
            seed = sync_random_seed()
        if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) \
                or seed < 0:
            raise ValueError(f'{name}: seed must be a non-negative int or '
                             f'None, got {seed!r}')
        self.seed = int(seed)
        self.round_up = bool(round_up)
        self.epoch = 0

    # ----------------------------------------------------------- subclass
    def make_batches(self, rng: np.random.Generator,
                     num_batches: int) -> np.ndarray:
        """``(num_batches, batch_size)`` dataset indices, one row a batch."""
        raise NotImplementedError

    # ---------------------------------------------------------------- API
    @property
    def batches_per_rank(self) -> int:
        """Batches this rank yields per epoch."""
        if self.round_up:
            return -(-self.num_batches // self.world_size)
        return self.num_batches // self.world_size

    def check_batches_per_rank(self) -> None:
        """Raise if an epoch would give this rank no batch at all."""
        if self.batches_per_rank == 0:
            raise DatasetTooSmallError(
                f'{type(self).__name__}: an epoch has only '
                f'{self.num_batches} batch(es) of {self.batch_size}, fewer '
                f'than the {self.world_size} ranks (round_up=False); use '
                'round_up=True, a smaller batch or more data')

    def epoch_batches(self, epoch: Optional[int] = None) -> np.ndarray:
        """``(batches_per_rank, batch_size)`` indices this rank yields."""
        epoch = self.epoch if epoch is None else epoch
        # the same generator on every rank: (seed, epoch) fixes the epoch
        rng = np.random.default_rng([self.seed, epoch])
        total = self.batches_per_rank * self.world_size
        batches = self.make_batches(rng, total)
        assert batches.shape == (total, self.batch_size), batches.shape
        return batches[self.rank::self.world_size]

    def __iter__(self) -> Iterator[int]:
        return iter(self.epoch_batches().reshape(-1).tolist())

    def __len__(self) -> int:
        return self.batches_per_rank * self.batch_size

    def set_epoch(self, epoch: int) -> None:
        """Use the batches of ``epoch`` (called by mmengine every epoch)."""
        self.epoch = int(epoch)
