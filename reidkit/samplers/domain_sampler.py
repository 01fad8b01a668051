"""Samplers that mix real (``domain=0``) and synthetic (``domain=1``) images.

They follow Vehicle-Diff (Table II and Sec. IV, "Effectiveness of the balanced
sampling strategy"):

* **"B"** -- :class:`BalancedDomainSampler`: "each training batch selects
  equal amounts of synthetic and real data"; the paper merges "two
  mini-batch samples from real and synthetic datasets as a new mini-batch".
  Here both halves are P x K identity mini-batches (the paper trains with
  cross-entropy plus circle loss, which needs positives in the batch).
* **"D"** -- :class:`RandomDomainMixSampler`: "synthetic and real data are
  combined randomly", the "random sampling on mixed real and synthetic data"
  of earlier work: the union is sampled with no regard to the domain, either
  plainly shuffled or, with ``num_instances``, P x K over the union.
"""
from __future__ import annotations

from typing import Optional, Sized

import numpy as np

from ..registry import SAMPLERS
from .base import BaseBatchSampler
from .identity_sampler import IdentityPool, check_pk
from .labels import read_labels

DOMAINS = {0: 'real', 1: 'synthetic'}


def _domain_labels(name: str, dataset, keys) -> dict:
    """Labels with ``domain``; raise unless both domains have images."""
    labels = read_labels(dataset, tuple(keys) + ('domain', ))
    domain = labels['domain']
    odd = np.setdiff1d(np.unique(domain), list(DOMAINS))
    if len(odd):
        raise ValueError(f'{name}: domain must be 0 (real) or 1 (synthetic), '
                         f'found {odd.tolist()}')
    for value, what in DOMAINS.items():
        if not np.any(domain == value):
            raise ValueError(
                f'{name}: the dataset has no {what} images (domain={value}) '
                f'among its {len(domain)} samples; mix a real and a synthetic '
                'dataset (e.g. a ConcatDataset) or use IdentitySampler')
    return labels


@SAMPLERS.register_module()
class BalancedDomainSampler(BaseBatchSampler):
    """Real/synthetic balanced batches (Vehicle-Diff "B").

    Every batch is a P x K identity batch of real images followed by a
    P x K identity batch of synthetic images; with the default
    ``real_ratio=0.5`` the halves are equal. Each domain's identities are
    sampled as in :class:`IdentitySampler`, separately (a real and a
    synthetic identity are never confused, even with equal ``pid``).

    Args:
        dataset: Dataset with ``pid`` and ``domain`` (0 real, 1 synthetic)
            in its sample dicts, with images of both domains.
        batch_size (int): Images per batch.
        num_instances (int): K, images per identity. Default 4.
        real_ratio (float): Fraction of real images in a batch; both
            ``batch_size * real_ratio`` and the synthetic rest must be
            positive multiples of ``num_instances``. Default 0.5.
        seed (int, optional): Seed shared by all ranks.
        epoch_by (str): Which domain's P x K epoch sets the epoch length:
            ``'real'`` (default; the synthetic side is drawn pass after pass
            as long as needed), ``'synthetic'``, ``'min'`` or ``'max'``.
        camera_aware (bool): As in :class:`IdentitySampler`. Default False.
        round_up, rank, world_size: See :class:`BaseBatchSampler`.

    Example:
        >>> sampler = SAMPLERS.build(
        ...     dict(type='BalancedDomainSampler', batch_size=64,
        ...          num_instances=4),
        ...     default_args=dict(dataset=real_plus_synthetic, seed=0))
        >>> # indices 0..31 of every batch are real, 32..63 synthetic
    """

    EPOCH_BY = ('real', 'synthetic', 'min', 'max')

    def __init__(self,
                 dataset: Sized,
                 batch_size: int,
                 num_instances: int = 4,
                 real_ratio: float = 0.5,
                 seed: Optional[int] = None,
                 epoch_by: str = 'real',
                 camera_aware: bool = False,
                 round_up: bool = True,
                 rank: Optional[int] = None,
                 world_size: Optional[int] = None) -> None:
        super().__init__(dataset, batch_size, seed, round_up, rank, world_size)
        name = type(self).__name__
        check_pk(name, self.batch_size, num_instances)
        k = int(num_instances)
        if epoch_by not in self.EPOCH_BY:
            raise ValueError(f'{name}: epoch_by must be one of '
                             f'{self.EPOCH_BY}, got {epoch_by!r}')
        if not 0 < real_ratio < 1:
            raise ValueError(f'{name}: real_ratio must be in (0, 1), got '
                             f'{real_ratio!r}')
        num_real = self.batch_size * float(real_ratio)
        self.num_real = int(round(num_real))
        self.num_synthetic = self.batch_size - self.num_real
        if abs(num_real - self.num_real) > 1e-6 or self.num_real % k \
                or self.num_real == 0 or self.num_synthetic == 0:
            raise ValueError(
                f'{name}: batch_size * real_ratio = {self.batch_size} * '
                f'{real_ratio} = {num_real:g} real images per batch; it and '
                f'the synthetic rest must be positive multiples of '
                f'num_instances={k}')
        self.num_instances = k
        self.real_ratio = float(real_ratio)
        self.epoch_by = epoch_by
        keys = ('pid', 'camid') if camera_aware else ('pid', )
        labels = _domain_labels(name, dataset, keys)
        self.pools = {}
        for value, what in DOMAINS.items():
            index = np.flatnonzero(labels['domain'] == value)
            camid = labels['camid'][index] if camera_aware else None
            per_batch = self.num_real if value == 0 else self.num_synthetic
            self.pools[what] = IdentityPool(
                index, labels['pid'][index], k, per_batch // k, camid,
                what=f'{name}: the {what} half (domain={value})')
        counts = [self.pools[w].num_batches for w in ('real', 'synthetic')]
        self.num_batches = dict(real=counts[0], synthetic=counts[1],
                                min=min(counts), max=max(counts))[epoch_by]
        self.check_batches_per_rank()

    def make_batches(self, rng: np.random.Generator,
                     num_batches: int) -> np.ndarray:
        # one generator per half: a half's batches do not depend on how much
        # randomness the other half used
        real_rng, synthetic_rng = (np.random.default_rng(s)
                                   for s in rng.integers(0, 2**63, size=2))
        real = self.pools['real'].take(real_rng, num_batches)
        synthetic = self.pools['synthetic'].take(synthetic_rng, num_batches)
        return np.concatenate([real, synthetic], axis=1)


@SAMPLERS.register_module()
class RandomDomainMixSampler(BaseBatchSampler):
    """Real and synthetic images mixed at random (Vehicle-Diff "D").

    The domain is ignored when batches are formed, so a batch's share of
    synthetic images follows the dataset's share only on average.

    * ``num_instances=None`` (default): the whole dataset is shuffled every
      epoch and cut into batches; an epoch is ``ceil(len(dataset) /
      batch_size)`` batches, the last one completed from a new shuffle.
    * ``num_instances=K``: P x K identity batches over the union, exactly as
      :class:`IdentitySampler` on the concatenated dataset.

    Args:
        dataset: Dataset with ``pid`` and ``domain`` in its sample dicts and
            images of both domains (it is a mixing sampler).
        batch_size (int): Images per batch.
        num_instances (int, optional): K for P x K batches, or ``None`` for
            plain shuffling. Default None.
        seed (int, optional): Seed shared by all ranks.
        camera_aware (bool): With ``num_instances``, as in
            :class:`IdentitySampler`. Default False.
        round_up, rank, world_size: See :class:`BaseBatchSampler`.

    Example:
        >>> sampler = SAMPLERS.build(
        ...     dict(type='RandomDomainMixSampler', batch_size=64),
        ...     default_args=dict(dataset=real_plus_synthetic, seed=0))
    """

    def __init__(self,
                 dataset: Sized,
                 batch_size: int,
                 num_instances: Optional[int] = None,
                 seed: Optional[int] = None,
                 camera_aware: bool = False,
                 round_up: bool = True,
                 rank: Optional[int] = None,
                 world_size: Optional[int] = None) -> None:
        super().__init__(dataset, batch_size, seed, round_up, rank, world_size)
        name = type(self).__name__
        self.num_instances = num_instances
        keys = ('pid', 'camid') if camera_aware else ('pid', )
        labels = _domain_labels(name, dataset, keys)
        self.domain = labels['domain']
        self.pool = None
        if num_instances is None:
            if camera_aware:
                raise ValueError(f'{name}: camera_aware needs num_instances')
            self.num_batches = -(-len(self.domain) // self.batch_size)
        else:
            p = check_pk(name, self.batch_size, num_instances)
            self.pool = IdentityPool(
                np.arange(len(self.domain)), labels['pid'],
                int(num_instances), p, labels.get('camid'),
                what=f'{name}: the dataset')
            self.num_batches = self.pool.num_batches
        self.check_batches_per_rank()

    def make_batches(self, rng: np.random.Generator,
                     num_batches: int) -> np.ndarray:
        if self.pool is not None:
            return self.pool.take(rng, num_batches)
        n = len(self.domain)
        need = num_batches * self.batch_size
        shuffles = [rng.permutation(n) for _ in range(-(-need // n))]
        return np.concatenate(shuffles)[:need].reshape(num_batches,
                                                       self.batch_size)
