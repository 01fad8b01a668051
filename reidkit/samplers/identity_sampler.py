"""P x K identity sampler."""
from __future__ import annotations

from typing import Optional, Sized

import numpy as np

from ..registry import SAMPLERS
from .base import BaseBatchSampler, DatasetTooSmallError, check_positive_int
from .labels import read_labels
from .pk import PKStream, make_groups


def check_pk(owner: str, batch_size: int, num_instances) -> int:
    """``P = batch_size // num_instances``, or a clear ValueError."""
    k = check_positive_int('num_instances', num_instances, owner)
    if batch_size % k:
        raise ValueError(
            f'{owner}: batch_size={batch_size} is not divisible by '
            f'num_instances={k}; a batch is P identities x K images, so use '
            f'e.g. batch_size={max(1, batch_size // k) * k}')
    return batch_size // k


class IdentityPool:
    """P x K batches over a subset of a dataset (the labels of its images).

    Args:
        index (np.ndarray): Dataset indices of the pool's images.
        pid (np.ndarray): Identity of each of those images.
        num_instances (int): K, images per identity in a batch.
        p (int): Identities per batch.
        camid (np.ndarray, optional): Camera of each image; when given, an
            identity's K images are dealt round-robin over its cameras.
        what (str): How to name the pool in error messages.

    Example:
        >>> real = np.flatnonzero(domain == 0)
        >>> pool = IdentityPool(real, pid[real], num_instances=4, p=8)
        >>> pool.take(np.random.default_rng(0), 10).shape
        (10, 32)
    """

    def __init__(self, index: np.ndarray, pid: np.ndarray, num_instances: int,
                 p: int, camid: Optional[np.ndarray] = None,
                 what: str = 'the dataset') -> None:
        self.index = np.asarray(index, dtype=np.int64)
        self.k = num_instances
        self.p = p
        self.pids, self.owner = np.unique(pid, return_inverse=True)
        self.owner = self.owner.reshape(-1)
        self.camid = None if camid is None else np.asarray(camid)
        if len(self.pids) < p:
            raise DatasetTooSmallError(
                f'{what} has {len(self.pids)} identities, fewer than the '
                f'{p} identities per batch (batch_size / num_instances)')
        counts = np.bincount(self.owner, minlength=len(self.pids))
        # torchreid's count: floor(n / K) groups, one (with repeats) if n < K
        self.groups_per_id = np.maximum(counts // self.k, 1)
        self.num_batches = int(self.groups_per_id.sum()) // p
        self.stream = PKStream(self._make_pass, p)

    def _make_pass(self, rng: np.random.Generator):
        groups, owner = make_groups(rng, self.owner, self.groups_per_id,
                                    self.k, self.camid)
        return self.index[groups], owner

    def take(self, rng: np.random.Generator, num_batches: int) -> np.ndarray:
        """``(num_batches, P * K)`` dataset indices."""
        return self.stream.take(rng, num_batches)


@SAMPLERS.register_module()
class IdentitySampler(BaseBatchSampler):
    """P x K sampler: every batch holds P identities with K images each.

    Each epoch, every identity's images are shuffled and cut into groups of
    K (an identity with fewer than K images gives one group, its images
    repeated). The groups are shuffled and dealt into batches of P distinct
    identities; a group whose identity is already in the batch waits for the
    next one. An epoch has ``sum_i max(1, n_i // K) // P`` batches (the
    count torchreid's ``RandomIdentitySampler`` estimates); left-over groups
    at the end of a pass are dropped and, if the epoch needs more batches,
    a new pass starts.

    The yielded indices come batch after batch, identity after identity, so
    the DataLoader's ``batch_size`` must equal ``batch_size`` here (see
    :class:`PKBatchSampler`).

    Args:
        dataset: Dataset whose sample dicts carry ``pid`` (and ``camid`` for
            ``camera_aware``); labels are read once, no image is loaded.
        batch_size (int): Images per batch, ``P * num_instances``.
        num_instances (int): K, images per identity in a batch. Default 4.
        seed (int, optional): Seed shared by all ranks (default: drawn and
            broadcast from rank 0). Batches depend only on
            ``(seed, epoch, rank, world_size)``.
        camera_aware (bool): Prefer K images from different cameras: the
            images an identity uses are picked round-robin over its cameras
            and dealt to its groups so that a group repeats a camera only
            when that camera has more images than the identity has groups.
            Default False.
        round_up (bool): See :class:`BaseBatchSampler`. Default True.
        rank (int, optional): Default from ``get_dist_info()``.
        world_size (int, optional): Default from ``get_dist_info()``.

    Example:
        >>> from reidkit.registry import SAMPLERS
        >>> sampler = SAMPLERS.build(
        ...     dict(type='IdentitySampler', batch_size=64, num_instances=4),
        ...     default_args=dict(dataset=train_set, seed=0))
        >>> loader = DataLoader(train_set, batch_size=64, sampler=sampler)
    """

    def __init__(self,
                 dataset: Sized,
                 batch_size: int,
                 num_instances: int = 4,
                 seed: Optional[int] = None,
                 camera_aware: bool = False,
                 round_up: bool = True,
                 rank: Optional[int] = None,
                 world_size: Optional[int] = None) -> None:
        super().__init__(dataset, batch_size, seed, round_up, rank, world_size)
        name = type(self).__name__
        p = check_pk(name, self.batch_size, num_instances)
        self.num_instances = int(num_instances)
        self.camera_aware = bool(camera_aware)
        keys = ('pid', 'camid') if self.camera_aware else ('pid', )
        labels = read_labels(dataset, keys)
        self.pool = IdentityPool(np.arange(len(labels['pid'])),
                                 labels['pid'], self.num_instances, p,
                                 labels.get('camid'),
                                 what=f'{name}: the dataset')
        self.num_pids_per_batch = p
        self.num_batches = self.pool.num_batches
        self.check_batches_per_rank()

    def make_batches(self, rng: np.random.Generator,
                     num_batches: int) -> np.ndarray:
        return self.pool.take(rng, num_batches)
