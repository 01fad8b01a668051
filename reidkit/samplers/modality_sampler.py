"""Modality-balanced P x K sampler for visible-infrared re-ID."""
from __future__ import annotations

import warnings
from typing import Optional, Sized

import numpy as np

from ..registry import SAMPLERS
from .base import BaseBatchSampler
from .identity_sampler import check_pk
from .labels import read_labels
from .pk import PKStream, fill_slots


@SAMPLERS.register_module()
class ModalityBalancedSampler(BaseBatchSampler):
    """P identities x (K/2 visible + K/2 infrared) images per batch.

    The cross-modality batches of AGW / CAJ on SYSU-MM01 and RegDB: every
    identity in a batch brings ``K/2`` visible (``modality=0``) images
    followed by ``K/2`` infrared (``modality=1``) ones. Per epoch an identity
    with ``n_v`` visible and ``n_i`` infrared images gives
    ``max(1, max(n_v, n_i) // (K/2))`` groups, so the larger modality is seen
    about once per epoch and the smaller one is cycled (each image once
    before any repeats, as AGW's epoch of ``max(#visible, #infrared)``).

    Identities with images of only one modality cannot form a group: they
    are skipped with a ``UserWarning`` naming how many and which; if fewer
    than P identities remain, it is an error.

    Args:
        dataset: Dataset with ``pid`` and ``modality`` (0 visible, 1
            infrared) in its sample dicts.
        batch_size (int): Images per batch, ``P * num_instances``.
        num_instances (int): K, images per identity, even: K/2 of each
            modality. Default 8 (AGW's 4 visible + 4 infrared).
        seed (int, optional): Seed shared by all ranks.
        round_up, rank, world_size: See :class:`BaseBatchSampler`.

    Example:
        >>> sampler = SAMPLERS.build(
        ...     dict(type='ModalityBalancedSampler', batch_size=64,
        ...          num_instances=8),
        ...     default_args=dict(dataset=sysu_train, seed=0))
        >>> # each batch: 8 ids x (4 visible + 4 infrared)
    """

    def __init__(self,
                 dataset: Sized,
                 batch_size: int,
                 num_instances: int = 8,
                 seed: Optional[int] = None,
                 round_up: bool = True,
                 rank: Optional[int] = None,
                 world_size: Optional[int] = None) -> None:
        super().__init__(dataset, batch_size, seed, round_up, rank, world_size)
        name = type(self).__name__
        p = check_pk(name, self.batch_size, num_instances)
        k = int(num_instances)
        if k % 2:
            raise ValueError(f'{name}: num_instances={k} must be even '
                             '(K/2 visible + K/2 infrared per identity)')
        self.num_instances = k
        self.num_pids_per_batch = p
        self.half = k // 2
        labels = read_labels(dataset, ('pid', 'modality'))
        pid, modality = labels['pid'], labels['modality']
        odd = np.setdiff1d(np.unique(modality), [0, 1])
        if len(odd):
            raise ValueError(f'{name}: modality must be 0 (visible) or 1 '
                             f'(infrared), found {odd.tolist()}')
        pids, owner = np.unique(pid, return_inverse=True)
        owner = owner.reshape(-1)
        n_vis = np.bincount(owner[modality == 0], minlength=len(pids))
        n_ir = np.bincount(owner[modality == 1], minlength=len(pids))
        both = (n_vis > 0) & (n_ir > 0)
        if not both.all():
            lonely = pids[~both]
            shown = ', '.join(map(str, lonely[:10].tolist()))
            warnings.warn(
                f'{name}: skipping {len(lonely)} of {len(pids)} identities '
                f'that lack visible or infrared images (pid {shown}'
                f'{", ..." if len(lonely) > 10 else ""})', stacklevel=2)
        if both.sum() < p:
            raise ValueError(
                f'{name}: only {int(both.sum())} identities have both visible '
                f'and infrared images, fewer than the {p} identities per '
                'batch (batch_size / num_instances)')
        self.pids = pids[both]
        # dense owner ids over the kept identities (-1: skipped)
        new_id = np.full(len(pids), -1, dtype=np.int64)
        new_id[both] = np.arange(int(both.sum()))
        owner = new_id[owner]
        self.vis_index = np.flatnonzero((modality == 0) & (owner >= 0))
        self.ir_index = np.flatnonzero((modality == 1) & (owner >= 0))
        self.vis_owner = owner[self.vis_index]
        self.ir_owner = owner[self.ir_index]
        most = np.maximum(n_vis, n_ir)[both]
        self.groups_per_id = np.maximum(most // self.half, 1)
        self.num_batches = int(self.groups_per_id.sum()) // p
        self.stream = PKStream(self._make_pass, p)
        self.check_batches_per_rank()

    def _make_pass(self, rng: np.random.Generator):
        need = self.groups_per_id * self.half
        vis = self.vis_index[fill_slots(rng, self.vis_owner, need)]
        ir = self.ir_index[fill_slots(rng, self.ir_owner, need)]
        groups = np.concatenate(
            [vis.reshape(-1, self.half), ir.reshape(-1, self.half)], axis=1)
        owner = np.repeat(np.arange(len(self.groups_per_id)),
                          self.groups_per_id)
        return groups, owner

    def make_batches(self, rng: np.random.Generator,
                     num_batches: int) -> np.ndarray:
        return self.stream.take(rng, num_batches)
