import warnings

import numpy as np
import pytest
from mmengine.dataset import pseudo_collate
from torch.utils.data import DataLoader

from reidkit.registry import SAMPLERS
from reidkit.samplers import ModalityBalancedSampler


def vi_labels(num_ids=12, seed=0):
    """Each identity: 1..10 visible and 1..6 infrared images, shuffled."""
    rng = np.random.default_rng(seed)
    pids, mods = [], []
    for pid in range(num_ids):
        n_vis, n_ir = rng.integers(1, 11), rng.integers(1, 7)
        pids += [pid] * (n_vis + n_ir)
        mods += [0] * n_vis + [1] * n_ir
    order = rng.permutation(len(pids))
    return np.asarray(pids)[order], np.asarray(mods)[order]


def epoch(sampler, e=0):
    sampler.set_epoch(e)
    out = list(sampler)
    assert len(out) == len(sampler)
    return np.asarray(out).reshape(-1, sampler.batch_size)


def assert_vi(batches, pids, mods, p, k):
    """p distinct ids, each k/2 visible then k/2 infrared images."""
    groups = batches.reshape(len(batches), p, k)
    gp = pids[groups]
    assert (gp == gp[:, :, :1]).all()
    for row in gp[:, :, 0]:
        assert len(set(row.tolist())) == p
    expected = np.r_[np.zeros(k // 2, int), np.ones(k // 2, int)]
    assert (mods[groups] == expected).all()


@pytest.mark.parametrize('k', [2, 4])
def test_modality_composition(make_dataset, k):
    pids, mods = vi_labels()
    sampler = ModalityBalancedSampler(make_dataset(pids, modalities=mods),
                                      batch_size=2 * k, num_instances=k,
                                      seed=0, rank=0, world_size=1)
    for e in range(3):
        assert_vi(epoch(sampler, e), pids, mods, 2, k)


def test_modality_epoch_counts_larger_modality(make_dataset):
    pids, mods = vi_labels(seed=1)
    sampler = ModalityBalancedSampler(make_dataset(pids, modalities=mods),
                                      8, 4, seed=0, rank=0, world_size=1)
    n_vis = np.bincount(pids[mods == 0])
    n_ir = np.bincount(pids[mods == 1])
    per_id = np.maximum(np.maximum(n_vis, n_ir) // 2, 1)
    assert sampler.num_batches == per_id.sum() // 2
    # one pass draws every image of an identity's larger modality once and
    # cycles the smaller one (each image before any repeat)
    groups, owner = sampler._make_pass(np.random.default_rng(0))
    for o, pid in enumerate(sampler.pids):
        mine = groups[owner == o]
        for mod, cols in ((0, slice(0, 2)), (1, slice(2, 4))):
            used = np.bincount(mine[:, cols].reshape(-1),
                               minlength=len(pids))
            own = np.flatnonzero((pids == pid) & (mods == mod))
            counts = used[own]
            assert used.sum() == counts.sum()  # only this id's images
            assert counts.max() - counts.min() <= 1


def test_modality_skips_single_modality_ids(make_dataset):
    pids, mods = vi_labels(seed=2)
    # identity 99: visible only
    pids = np.r_[pids, [99] * 5]
    mods = np.r_[mods, [0] * 5]
    ds = make_dataset(pids, modalities=mods)
    with pytest.warns(UserWarning, match=r'skipping 1 of 13 .*pid 99'):
        sampler = ModalityBalancedSampler(ds, 8, 4, seed=0, rank=0,
                                          world_size=1)
    batches = epoch(sampler)
    assert 99 not in set(pids[batches].reshape(-1).tolist())
    assert_vi(batches, pids, mods, 2, 4)


def test_modality_deterministic_and_two_ranks(make_dataset):
    pids, mods = vi_labels(20, seed=3)
    ds = make_dataset(pids, modalities=mods)
    one = ModalityBalancedSampler(ds, 8, 4, seed=2, rank=0, world_size=1)
    again = ModalityBalancedSampler(ds, 8, 4, seed=2, rank=0, world_size=1)
    np.testing.assert_array_equal(epoch(one, 3), epoch(again, 3))
    assert not np.array_equal(epoch(one, 3), epoch(one, 4))
    ranks = [ModalityBalancedSampler(ds, 8, 4, seed=2, rank=r, world_size=2)
             for r in range(2)]
    outs = [epoch(s, 3) for s in ranks]
    assert len(outs[0]) == len(outs[1]) == -(-one.num_batches // 2)
    merged = np.empty((2 * len(outs[0]), 8), dtype=np.int64)
    merged[0::2], merged[1::2] = outs
    np.testing.assert_array_equal(merged[:one.num_batches], epoch(one, 3))


def test_modality_dataloader(make_dataset):
    pids, mods = vi_labels(seed=4)
    ds = make_dataset(pids, modalities=mods)
    sampler = SAMPLERS.build(
        dict(type='ModalityBalancedSampler', batch_size=8, num_instances=4),
        default_args=dict(dataset=ds, seed=0))
    loader = DataLoader(ds, batch_size=8, sampler=sampler,
                        collate_fn=pseudo_collate)
    for batch in loader:
        assert list(batch['modality']) == [0, 0, 1, 1] * 2
        got = list(batch['pid'])
        assert got[0] == got[3] != got[4] == got[7]


@pytest.mark.parametrize('kwargs, match', [
    (dict(batch_size=6, num_instances=3), 'must be even'),
    (dict(batch_size=10, num_instances=4), 'not divisible'),
    (dict(batch_size=8, num_instances=2), 'fewer than the 4 identities'),
])
def test_modality_bad_arguments(make_dataset, kwargs, match):
    # 3 identities with both modalities, 2 with visible only
    pids = np.r_[np.repeat(np.arange(5), 4)]
    mods = np.r_[[0, 0, 1, 1] * 3, [0] * 8]
    with warnings.catch_warnings():
        warnings.simplefilter('ignore')  # the skipped-ids warning
        with pytest.raises(ValueError, match=match):
            ModalityBalancedSampler(make_dataset(pids, modalities=mods),
                                    seed=0, **kwargs)


def test_modality_values_checked(make_dataset):
    with pytest.raises(ValueError, match='found \\[2\\]'):
        ModalityBalancedSampler(make_dataset([0, 0, 1, 1],
                                             modalities=[0, 2, 0, 1]),
                                2, 2, seed=0)
