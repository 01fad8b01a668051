"""DLCR's progressive pairing sampler (Sec. 3.2.1 of the paper).

Every batch holds ``B`` real images (``P`` identities x ``K`` images, CAL's
identity sampling) followed by ``B`` generated images: the ``i``-th generated
image is a variant of the ``i``-th real image, drawn uniformly from that real
image's *pool*. A real image's variants (ordered by variant index) are cut
into ``num_partitions`` (4) nearly equal partitions; during epochs
``[0, N)`` the pool is the first partition, after ``N`` epochs the first two,
after ``2N`` three, and from ``3N`` on all variants (paper: ``N = 5``; the
authors' code widens at epochs 5/10/15: 25% -> 50% -> 75% -> 100%).
"""
from __future__ import annotations

import os.path as osp
import warnings
from typing import Dict, List, Optional, Sequence, Sized, Tuple

import numpy as np
from mmengine.dataset import BaseDataset

from reidkit.registry import SAMPLERS
from reidkit.samplers.base import BaseBatchSampler, check_positive_int
from reidkit.samplers.identity_sampler import IdentityPool, check_pk
from reidkit.samplers.labels import iter_data_infos

__all__ = ['ProgressivePairingSampler', 'pair_variants', 'pool_sizes',
           'num_pool_partitions']


def num_pool_partitions(epoch: int, interval: int, num_partitions: int) -> int:
    """How many partitions the pool holds at ``epoch`` (0-based).

    Example:
        >>> [num_pool_partitions(e, 5, 4) for e in (0, 4, 5, 10, 15, 59)]
        [1, 1, 2, 3, 4, 4]
    """
    return int(min(num_partitions, 1 + max(int(epoch), 0) // int(interval)))


def pool_sizes(counts: np.ndarray, parts: int, num_partitions: int
               ) -> np.ndarray:
    """Size of the first ``parts`` of ``np.array_split(range(n), num_partitions)``.

    ``array_split`` gives the first ``n % num_partitions`` partitions one extra
    item, so any image with at least one variant has a non-empty pool.
    """
    counts = np.asarray(counts, dtype=np.int64)
    base, extra = counts // num_partitions, counts % num_partitions
    return parts * base + np.minimum(parts, extra)


def _sample_infos(dataset) -> List[dict]:
    """Sample dicts of ``dataset`` (through mmengine / torch wrappers)."""
    from torch.utils.data import ConcatDataset, Subset
    if isinstance(dataset, ConcatDataset):
        if hasattr(dataset, 'full_init'):
            dataset.full_init()
        return [s for d in dataset.datasets for s in _sample_infos(d)]
    if isinstance(dataset, Subset):
        infos = _sample_infos(dataset.dataset)
        return [infos[i] for i in dataset.indices]
    if isinstance(dataset, BaseDataset):
        dataset.full_init()
        return list(iter_data_infos(dataset))
    if not hasattr(dataset, 'get_data_info'):
        raise TypeError(f'{type(dataset).__name__} has no get_data_info(idx); '
                        'ProgressivePairingSampler reads img_path/domain/'
                        'source from the sample dicts')
    return [dataset.get_data_info(i) for i in range(len(dataset))]


def _source_of(info: dict) -> Optional[str]:
    src = info.get('source')
    if src is None and isinstance(info.get('provenance'), dict):
        src = info['provenance'].get('source')
    return src


def _variant_of(info: dict) -> Optional[int]:
    for holder in (info, info.get('attributes') or {},
                   info.get('provenance') or {}):
        if isinstance(holder, dict):
            for key in ('variant', 'dlcr_variant'):
                if holder.get(key) is not None:
                    return int(holder[key])
    return None


def pair_variants(infos: Sequence[dict]) -> Tuple[np.ndarray, List[List[int]],
                                                  int]:
    """Map every real sample to its generated variants.

    A generated sample (``domain == 1``) names its source image in
    ``source`` (or ``provenance['source']``, as :class:`SyntheticDataset`
    stores it): an absolute path equal to the real sample's ``img_path``, or
    a path relative to the real dataset root (matched as a path suffix).
    Variants are ordered by ``variant`` (manifest extra key, or
    ``attributes['dlcr_variant']``), then by dataset index.

    Returns:
        tuple: ``(real_index, variants, orphans)``: the dataset indices of
        the real samples, for each of them the list of its variants' dataset
        indices, and the number of generated samples whose source is not in
        the dataset.
    """
    real_index, by_path = [], {}
    for i, s in enumerate(infos):
        if int(s.get('domain', 0)) == 0:
            by_path[osp.normpath(s['img_path'])] = len(real_index)
            real_index.append(i)
    suffix: Dict[str, int] = {}
    variants: List[List[Tuple[int, int]]] = [[] for _ in real_index]
    orphans = 0
    for i, s in enumerate(infos):
        if int(s.get('domain', 0)) == 0:
            continue
        src = _source_of(s)
        if src is None:
            orphans += 1
            continue
        src = osp.normpath(src)
        r = by_path.get(src)
        if r is None and not osp.isabs(src):
            if not suffix:
                for path, n in by_path.items():
                    parts = path.split(osp.sep)
                    for k in range(1, min(len(parts), 6) + 1):
                        suffix.setdefault(osp.join(*parts[-k:]), n)
            r = suffix.get(src)
        if r is None:
            orphans += 1
            continue
        v = _variant_of(s)
        variants[r].append((v if v is not None else 1 << 30, i))
    return (np.asarray(real_index, dtype=np.int64),
            [[i for _, i in sorted(vs)] for vs in variants], orphans)


@SAMPLERS.register_module()
class ProgressivePairingSampler(BaseBatchSampler):
    """DLCR batches: ``B`` real images + one generated variant of each.

    The dataset holds the real training images (``domain=0``) and their
    generated variants (``domain=1``, ``source`` = the real image's path),
    e.g. a ``ReIDConcatDataset`` of the benchmark's train split and a
    ``SyntheticDataset`` of the DLCR manifest (``pid_mode='shared'``). Every
    batch lists ``B = batch_size // 2`` real images (``P`` identities x
    ``num_instances``, as :class:`IdentitySampler`) and then, in the same
    order, one variant of each, drawn uniformly from its progressive pool
    (see the module docstring). The epoch comes from :meth:`set_epoch`
    (mmengine's loop and ``EpochToModelHook`` call it). An epoch has as many
    batches as the identity sampler gives on the real images; distributed
    runs split the batches over ranks (see :class:`BaseBatchSampler`).

    A real image without any variant is paired with itself (counted in
    ``num_unpaired`` and warned about once).

    Args:
        dataset: Real + generated samples (mmengine ``BaseDataset`` or
            wrappers).
        batch_size (int): Images per batch, real and generated (paper: 64 =
            32 + 32); must equal the DataLoader's ``batch_size``.
        num_instances (int): Real images per identity in a batch (CAL: 8).
        interval (int): ``N``, epochs between pool widenings. Default 5.
        num_partitions (int): Partitions of a real image's variants.
            Default 4.
        progressive (bool): False draws from all variants from epoch 0
            (the "+ generated data" ablation with pairing but no curriculum).
        seed, round_up, rank, world_size: see :class:`BaseBatchSampler`.

    Example:
        >>> train_dataloader = dict(
        ...     batch_size=64,
        ...     sampler=dict(type='ProgressivePairingSampler', batch_size=64,
        ...                  num_instances=8, interval=5),
        ...     dataset=dict(type='ReIDConcatDataset', datasets=[real, synth]))
    """

    def __init__(self,
                 dataset: Sized,
                 batch_size: int,
                 num_instances: int = 8,
                 interval: int = 5,
                 num_partitions: int = 4,
                 progressive: bool = True,
                 seed: Optional[int] = None,
                 round_up: bool = True,
                 rank: Optional[int] = None,
                 world_size: Optional[int] = None) -> None:
        super().__init__(dataset, batch_size, seed, round_up, rank, world_size)
        name = type(self).__name__
        if self.batch_size % 2:
            raise ValueError(f'{name}: batch_size={self.batch_size} must be '
                             'even (B real images + their B variants)')
        self.real_batch = self.batch_size // 2
        p = check_pk(name, self.real_batch, num_instances)
        self.num_instances = int(num_instances)
        self.interval = check_positive_int('interval', interval, name)
        self.num_partitions = check_positive_int('num_partitions',
                                                 num_partitions, name)
        self.progressive = bool(progressive)

        infos = _sample_infos(dataset)
        real_index, variants, orphans = pair_variants(infos)
        if len(real_index) == 0:
            raise ValueError(f'{name}: the dataset has no real sample '
                             '(domain=0)')
        if not any(variants):
            raise ValueError(
                f'{name}: no generated sample (domain=1) names a real image '
                "of the dataset in 'source'; the DLCR manifest must be part "
                'of the train set (ReIDConcatDataset of the real split and '
                'a SyntheticDataset of the generation output)')
        if orphans:
            warnings.warn(f'{name}: {orphans} generated samples have no '
                          'source image in the dataset and are never drawn')
        self.real_index = real_index
        self.counts = np.asarray([len(v) for v in variants], np.int64)
        self.starts = np.concatenate([[0], np.cumsum(self.counts)[:-1]])
        self.flat = np.asarray([i for v in variants for i in v], np.int64)
        self.num_unpaired = int((self.counts == 0).sum())
        if self.num_unpaired:
            warnings.warn(f'{name}: {self.num_unpaired} real images have no '
                          'generated variant and are paired with themselves')
        self.pos_of = {int(i): n for n, i in enumerate(real_index)}
        pids = np.asarray([int(infos[i]['pid']) for i in real_index])
        self.pool = IdentityPool(real_index, pids, self.num_instances, p,
                                 what=f'{name}: the real images')
        self.num_batches = self.pool.num_batches
        self.check_batches_per_rank()

    # ----------------------------------------------------------------- pools
    def partitions_at(self, epoch: Optional[int] = None) -> int:
        """Partitions in the pool at ``epoch`` (default: current epoch)."""
        epoch = self.epoch if epoch is None else epoch
        if not self.progressive:
            return self.num_partitions
        return num_pool_partitions(epoch, self.interval, self.num_partitions)

    def pool_of(self, real_idx: int, epoch: Optional[int] = None) -> List[int]:
        """Dataset indices a real sample may be paired with at ``epoch``."""
        n = self.pos_of[int(real_idx)]
        size = int(pool_sizes(self.counts[n:n + 1], self.partitions_at(epoch),
                              self.num_partitions)[0])
        s = self.starts[n]
        return self.flat[s:s + size].tolist()

    # --------------------------------------------------------------- batches
    def epoch_batches(self, epoch: Optional[int] = None) -> np.ndarray:
        # the pool width follows the epoch whose batches are made
        self._batch_epoch = self.epoch if epoch is None else int(epoch)
        return super().epoch_batches(epoch)

    def make_batches(self, rng: np.random.Generator,
                     num_batches: int) -> np.ndarray:
        real = self.pool.take(rng, num_batches)               # (nb, B)
        pos = np.searchsorted(self.real_index, real)          # real_index sorted
        epoch = getattr(self, '_batch_epoch', self.epoch)
        size = pool_sizes(self.counts[pos], self.partitions_at(epoch),
                          self.num_partitions)
        pick = np.floor(rng.random(real.shape) * size).astype(np.int64)
        paired = np.where(size > 0,
                          self.flat[np.minimum(self.starts[pos] + pick,
                                               max(len(self.flat) - 1, 0))],
                          real)
        return np.concatenate([real, paired], axis=1)
