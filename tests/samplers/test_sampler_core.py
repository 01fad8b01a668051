import numpy as np
import pytest
from mmengine.dataset import pseudo_collate
from torch.utils.data import DataLoader

from reidkit.samplers import (IdentitySampler, PKBatchSampler,
                              check_dataloader_cfg)
from reidkit.samplers.pk import deal, fill_slots, make_groups, shuffled_order


def test_shuffled_order_sorts_with_random_ties():
    rng = np.random.default_rng(0)
    a = rng.integers(0, 3, 200)
    b = rng.integers(0, 4, 200)
    order = shuffled_order(rng, a, b)
    keys = list(zip(a[order], b[order]))
    assert keys == sorted(keys)
    again = shuffled_order(np.random.default_rng(1), a, b)
    assert not np.array_equal(order, again)  # ties broken at random
    big = np.array([2**40, 0, 2**40, 1])  # cannot be packed: lexsort path
    order = shuffled_order(rng, big, np.array([3, 0, 1, 0]))
    assert order.tolist() == [1, 3, 2, 0]


def test_fill_slots_cycles_each_item_before_repeating():
    owner = np.array([0, 0, 0, 1, 1, 2])
    need = np.array([7, 2, 0])
    items = fill_slots(np.random.default_rng(0), owner, need)
    assert owner[items].tolist() == [0] * 7 + [1] * 2
    first = items[:7]
    assert sorted(first[:3].tolist()) == [0, 1, 2]  # cycle 1: all once
    assert sorted(first[3:6].tolist()) == [0, 1, 2]  # cycle 2: all once
    assert sorted(items[7:].tolist()) == [3, 4]
    with pytest.raises(ValueError, match='has none'):
        fill_slots(np.random.default_rng(0), owner, np.array([1, 1, 1, 1]))


def test_make_groups_shapes_and_owners():
    owner = np.repeat(np.arange(4), [1, 4, 9, 5])
    per = np.maximum(np.bincount(owner) // 4, 1)
    groups, gown = make_groups(np.random.default_rng(0), owner, per, 4)
    assert groups.shape == (per.sum(), 4)
    assert (owner[groups] == gown[:, None]).all()
    # an identity with >= K images never repeats an image in a pass
    for o in (1, 2, 3):
        used = groups[gown == o].reshape(-1)
        assert len(set(used.tolist())) == len(used)


def test_deal_batches_have_distinct_owners_and_stop():
    rng = np.random.default_rng(0)
    owners = rng.integers(0, 6, 300)
    batches = deal(owners, 4, max_batches=1000)
    assert len(batches) >= 60
    for row in owners[batches]:
        assert len(set(row.tolist())) == 4
    flat = batches.reshape(-1)
    assert len(set(flat.tolist())) == len(flat)  # each group at most once
    assert len(deal(owners, 4, max_batches=5)) == 5
    assert deal(np.zeros(10, int), 2, 10).shape == (0, 2)


def test_pk_batch_sampler_checks_size(make_dataset):
    ds = make_dataset(np.repeat(np.arange(8), 4))
    sampler = IdentitySampler(ds, 8, 4, seed=0, rank=0, world_size=1)
    with pytest.raises(ValueError, match=r'dataloader batch_size \(16\)'):
        PKBatchSampler(sampler, batch_size=16)
    with pytest.raises(TypeError, match='has no batch_size'):
        PKBatchSampler(range(10), batch_size=2)
    loader = DataLoader(ds, batch_sampler=PKBatchSampler(sampler, 8),
                        collate_fn=pseudo_collate)
    assert len(loader) == sampler.num_batches
    for batch in loader:
        got = list(batch['pid'])
        assert len(got) == 8 and len(set(got)) == 2


def test_runner_builds_batch_sampler(make_dataset, tmp_path):
    """mmengine's Runner path: sampler + PKBatchSampler + set_epoch hook."""
    from mmengine.runner import Runner
    ds = make_dataset(np.repeat(np.arange(8), 4))
    cfg = dict(dataset=ds, batch_size=8, num_workers=0,
               sampler=dict(type='IdentitySampler', batch_size=8,
                            num_instances=4),
               batch_sampler=dict(type='PKBatchSampler'),
               collate_fn=dict(type='pseudo_collate'))
    from mmengine.registry import DefaultScope
    with DefaultScope.overwrite_default_scope('reidkit'):
        loader = Runner.build_dataloader(dict(cfg), seed=0)
        bad = dict(cfg, batch_size=16)
        with pytest.raises(ValueError, match='differs from the sampler'):
            Runner.build_dataloader(bad, seed=0)
    assert isinstance(loader.batch_sampler, PKBatchSampler)
    assert loader.batch_sampler.sampler.seed == 0
    first = [list(b['pid']) for b in loader]
    loader.batch_sampler.sampler.set_epoch(1)
    assert [list(b['pid']) for b in loader] != first


def test_check_dataloader_cfg():
    good = dict(batch_size=16, sampler=dict(type='IdentitySampler',
                                            batch_size=16, num_instances=4))
    check_dataloader_cfg(good)
    check_dataloader_cfg(dict(batch_size=3, sampler=dict(
        type='DefaultSampler', shuffle=True)))  # not ours: not checked
    bad = dict(batch_size=32, sampler=dict(type='reidkit.IdentitySampler',
                                           batch_size=16, num_instances=4))
    with pytest.raises(ValueError, match='train_dataloader.*differs'):
        check_dataloader_cfg(bad)
    with pytest.raises(ValueError, match='needs batch_size'):
        check_dataloader_cfg(dict(batch_size=8, sampler=dict(
            type='ModalityBalancedSampler')))
