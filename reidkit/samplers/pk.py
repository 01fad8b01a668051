"""The P x K machinery shared by the identity samplers (numpy, no torch).

An *owner* is whatever a batch must not repeat (an identity). One epoch is
built in three steps:

1. :func:`fill_slots` draws, for every owner, a number of its images: all of
   them in a random order when it has enough, otherwise each image once and
   then repeats (a fresh random order per cycle). It is one stable sort.
2. The drawn images are cut into *groups* of ``K`` images of one owner
   (:func:`make_groups`; optionally spreading each group over cameras).
3. The groups are shuffled and dealt into batches of ``P`` distinct owners
   (:func:`deal`): a group whose owner is already in the batch being filled
   waits and opens one of the next batches. A pass ends when its groups run
   out; the left-over groups are dropped (as torchreid's
   ``RandomIdentitySampler`` does) and, if the epoch needs more batches, a new
   pass with fresh groups begins (:class:`PKStream`).

Only step 3 is a Python loop, over groups (one per ``K`` images), with a set
lookup per group.
"""
from __future__ import annotations

from collections import deque
from itertools import islice
from typing import Callable, List, Optional, Tuple

import numpy as np


def shuffled_order(rng: np.random.Generator, *keys: np.ndarray) -> np.ndarray:
    """Indices sorting by ``keys`` (most significant first), ties at random.

    The keys are non-negative ints; they are packed into one int64 key and
    sorted stably after a random permutation, which is several times faster
    than ``np.lexsort`` with a random float key.
    """
    n = len(keys[0])
    perm = rng.permutation(n)
    if n == 0:
        return perm
    packed = np.zeros(n, dtype=np.int64)
    span = 1
    for key in keys:
        key = np.asarray(key, dtype=np.int64)
        size = int(key.max()) + 1
        span *= size
        if span >= 2**62:  # cannot pack: sort on all keys plus a random one
            return np.lexsort((perm, ) + tuple(reversed(keys)))
        packed = packed * size + key
    return perm[np.argsort(packed[perm], kind='stable')]


def fill_slots(rng: np.random.Generator, owner: np.ndarray, need: np.ndarray,
               spread: Optional[np.ndarray] = None) -> np.ndarray:
    """Draw ``need[o]`` items for every owner ``o``; owner-major output.

    Args:
        rng: Random generator.
        owner (np.ndarray): ``(N,)`` owner id in ``[0, len(need))`` of each
            item (the items are ``0..N-1``).
        need (np.ndarray): ``(num_owners,)`` number of items to draw per
            owner. An owner with items may need more than it has: its items
            are cycled, each cycle in a new random order.
        spread (np.ndarray, optional): ``(N,)`` int key; inside a cycle the
            items are ordered by it first (then randomly). Used to deal
            cameras round-robin.

    Returns:
        np.ndarray: ``(need.sum(),)`` item ids: owner 0's items, then owner
        1's, and so on.
    """
    owner = np.asarray(owner, dtype=np.int64)
    need = np.asarray(need, dtype=np.int64)
    have = np.bincount(owner, minlength=len(need))
    if np.any((need > 0) & (have == 0)):
        raise ValueError('fill_slots: an owner needs items but has none')
    cycles = -(-need // np.maximum(have, 1))  # ceil division
    reps = cycles[owner]
    item = np.repeat(np.arange(len(owner)), reps)
    # cycle number of every repeated item: 0..reps-1
    block_start = np.repeat(np.cumsum(reps) - reps, reps)
    cycle = np.arange(len(item)) - block_start
    own = owner[item]
    if spread is None:
        order = shuffled_order(rng, own, cycle)
    else:
        order = shuffled_order(rng, own, cycle, np.asarray(spread)[item])
    item, own = item[order], own[order]
    # position of every entry inside its owner's run; keep the first need[o]
    run = have * cycles
    pos = np.arange(len(item)) - np.repeat(np.cumsum(run) - run, run)
    return item[pos < need[own]]


def rank_within(rng: np.random.Generator, owner: np.ndarray,
                key: np.ndarray) -> np.ndarray:
    """Random rank of each item among the items with its ``(owner, key)``.

    With ``key`` the camera, ``rank 0`` is one random image of each camera of
    an owner, ``rank 1`` a second one, etc.: sorting an owner's images by this
    rank deals its cameras round-robin.
    """
    _, key = np.unique(key, return_inverse=True)  # any ints -> 0..n-1
    key = key.reshape(-1)
    order = shuffled_order(rng, owner, key)
    o, k = owner[order], key[order]
    new_run = np.ones(len(order), dtype=bool)
    new_run[1:] = (o[1:] != o[:-1]) | (k[1:] != k[:-1])
    run_start = np.maximum.accumulate(
        np.where(new_run, np.arange(len(order)), 0))
    ranks = np.empty(len(order), dtype=np.int64)
    ranks[order] = np.arange(len(order)) - run_start
    return ranks


def make_groups(rng: np.random.Generator, owner: np.ndarray,
                groups_per_owner: np.ndarray, k: int,
                camera: Optional[np.ndarray] = None
                ) -> Tuple[np.ndarray, np.ndarray]:
    """Draw ``groups_per_owner[o] * k`` items per owner and cut them in groups.

    Without ``camera`` a group is ``k`` consecutive drawn items. With
    ``camera``, the items kept are taken round-robin over the owner's cameras
    (so the cameras with the most images lose the surplus), then sorted by
    camera and dealt to the owner's groups like cards (item ``j`` to group
    ``j mod c``): a group gets two images of one camera only if that camera
    has more kept images than the owner has groups.

    Returns:
        tuple: ``(groups, group_owner)``: ``(G, k)`` item ids and ``(G,)``
        owner of every group, ``G = groups_per_owner.sum()``.
    """
    groups_per_owner = np.asarray(groups_per_owner, dtype=np.int64)
    group_owner = np.repeat(np.arange(len(groups_per_owner)),
                            groups_per_owner)
    if camera is None:
        items = fill_slots(rng, owner, groups_per_owner * k)
        return items.reshape(-1, k), group_owner
    camera = np.asarray(camera)
    items = fill_slots(rng, owner, groups_per_owner * k,
                       spread=rank_within(rng, owner, camera))
    _, cam_index = np.unique(camera, return_inverse=True)
    cam_index = cam_index.reshape(-1)
    cam_order = rng.permutation(cam_index.max() + 1)[cam_index]
    own = owner[items]  # owner-major already; sort each run by camera
    items = items[shuffled_order(rng, own, cam_order[items])]
    run = groups_per_owner * k
    j = np.arange(len(items)) - np.repeat(np.cumsum(run) - run, run)
    c = groups_per_owner[own]
    first_group = np.cumsum(groups_per_owner) - groups_per_owner
    groups = np.empty((len(group_owner), k), dtype=np.int64)
    groups[first_group[own] + j % c, j // c] = items
    return groups, group_owner


def deal(group_owner: np.ndarray, p: int, max_batches: int) -> np.ndarray:
    """Deal groups, in the given order, into batches of ``p`` distinct owners.

    A group whose owner is already in the batch being filled waits (per
    owner, first come first served) and is placed first into the next
    batches. Stops after ``max_batches`` batches or when the groups run out;
    whatever is left is dropped.

    Returns:
        np.ndarray: ``(num_batches, p)`` positions into ``group_owner``.
    """
    batches: List[List[int]] = []
    batch: List[int] = []
    in_batch = set()
    waiting: dict = {}  # owner -> deque of positions, oldest owner first
    for pos, own in enumerate(group_owner.tolist()):
        if own in in_batch:
            if own in waiting:
                waiting[own].append(pos)
            else:
                waiting[own] = deque((pos, ))
            continue
        batch.append(pos)
        in_batch.add(own)
        while len(batch) == p:
            batches.append(batch)
            if len(batches) == max_batches:
                return np.asarray(batches, dtype=np.int64)
            batch, in_batch = [], set()
            for w_own in list(islice(waiting, p)):
                queue = waiting[w_own]
                batch.append(queue.popleft())
                in_batch.add(w_own)
                if not queue:
                    del waiting[w_own]
    return np.asarray(batches, dtype=np.int64).reshape(-1, p)


class PKStream:
    """Endless source of ``P x K`` batches over one pool of items.

    Args:
        make_pass (callable): ``rng -> (groups, group_owner)``: fresh groups
            for one pass (``(G, K)`` item ids and their owners).
        p (int): Distinct owners per batch. The pool must have at least
            ``p`` owners.

    Example:
        >>> stream = PKStream(lambda rng: make_groups(rng, pid, c, 4), p=8)
        >>> stream.take(np.random.default_rng(0), 10).shape  # (10, 8 * 4)
    """

    def __init__(self, make_pass: Callable, p: int):
        self.make_pass = make_pass
        self.p = p

    def take(self, rng: np.random.Generator, num_batches: int) -> np.ndarray:
        """``(num_batches, P * K)`` item ids, owner by owner in each row."""
        chunks = []
        todo = num_batches
        while todo > 0:
            groups, group_owner = self.make_pass(rng)
            perm = rng.permutation(len(group_owner))
            dealt = deal(group_owner[perm], self.p, todo)
            if len(dealt) == 0:  # fewer than p owners: guarded at build
                raise RuntimeError(
                    f'cannot form a batch of {self.p} distinct identities')
            chunks.append(groups[perm[dealt]].reshape(len(dealt), -1))
            todo -= len(dealt)
        if not chunks:
            return np.zeros((0, 0), dtype=np.int64)
        return np.concatenate(chunks)
