import numpy as np
import pytest
from mmengine.dataset import ConcatDataset, pseudo_collate
from torch.utils.data import DataLoader

from reidkit.registry import SAMPLERS
from reidkit.samplers import BalancedDomainSampler, RandomDomainMixSampler


def mixed(make_dataset, num_real_ids=10, num_syn_ids=30, seed=0):
    """Real pids 0.., synthetic pids 1000.. with 2..8 images each."""
    rng = np.random.default_rng(seed)
    real = np.repeat(np.arange(num_real_ids),
                     rng.integers(2, 9, num_real_ids))
    syn = np.repeat(1000 + np.arange(num_syn_ids),
                    rng.integers(2, 9, num_syn_ids))
    pids = np.concatenate([real, syn])
    domains = np.r_[np.zeros(len(real), int), np.ones(len(syn), int)]
    order = rng.permutation(len(pids))  # domains interleaved in the dataset
    return make_dataset(pids[order], domains=domains[order]), pids[order], \
        domains[order]


def epoch(sampler, e=0):
    sampler.set_epoch(e)
    out = list(sampler)
    assert len(out) == len(sampler)
    return np.asarray(out).reshape(-1, sampler.batch_size)


def assert_pk(batches, pids, p, k):
    groups = pids[batches].reshape(len(batches), p, k)
    assert (groups == groups[:, :, :1]).all()
    for row in groups[:, :, 0]:
        assert len(set(row.tolist())) == p


@pytest.mark.parametrize('real_ratio, k', [(0.5, 4), (0.25, 2)])
def test_balanced_halves(make_dataset, real_ratio, k):
    ds, pids, domains = mixed(make_dataset)
    sampler = BalancedDomainSampler(ds, 16, num_instances=k,
                                    real_ratio=real_ratio, seed=0, rank=0,
                                    world_size=1)
    n_real = int(16 * real_ratio)
    for e in range(3):
        batches = epoch(sampler, e)
        assert (domains[batches[:, :n_real]] == 0).all()
        assert (domains[batches[:, n_real:]] == 1).all()
        assert_pk(batches[:, :n_real], pids, n_real // k, k)
        assert_pk(batches[:, n_real:], pids, (16 - n_real) // k, k)


def test_balanced_epoch_length(make_dataset):
    ds, pids, domains = mixed(make_dataset)
    lengths = {}
    for by in ('real', 'synthetic', 'min', 'max'):
        s = BalancedDomainSampler(ds, 8, 2, epoch_by=by, seed=0, rank=0,
                                  world_size=1)
        lengths[by] = s.num_batches
        assert len(list(s)) == 8 * s.num_batches
    groups = [np.maximum(np.unique(pids[domains == d],
                                   return_counts=True)[1] // 2, 1).sum()
              for d in (0, 1)]
    assert lengths['real'] == groups[0] // 2
    assert lengths['synthetic'] == groups[1] // 2
    assert lengths['min'] == min(lengths['real'], lengths['synthetic'])
    assert lengths['max'] == max(lengths['real'], lengths['synthetic'])


def test_balanced_deterministic_and_two_ranks(make_dataset):
    ds, pids, domains = mixed(make_dataset, seed=1)
    kw = dict(batch_size=8, num_instances=2, seed=7)
    a = epoch(BalancedDomainSampler(ds, rank=0, world_size=1, **kw), 1)
    b = epoch(BalancedDomainSampler(ds, rank=0, world_size=1, **kw), 1)
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(
        a, epoch(BalancedDomainSampler(ds, rank=0, world_size=1, **kw), 2))
    ranks = [epoch(BalancedDomainSampler(ds, rank=r, world_size=2, **kw), 1)
             for r in range(2)]
    assert len(ranks[0]) == len(ranks[1])
    merged = np.empty((2 * len(ranks[0]), 8), dtype=np.int64)
    merged[0::2], merged[1::2] = ranks
    np.testing.assert_array_equal(merged[:len(a)], a)


def test_balanced_over_concat_dataset(make_dataset):
    real = make_dataset(np.repeat(np.arange(4), 4), domains=[0] * 16)
    syn = make_dataset(np.repeat(np.arange(100, 108), 2), domains=[1] * 16)
    cat = ConcatDataset([real, syn])
    sampler = SAMPLERS.build(
        dict(type='BalancedDomainSampler', batch_size=8, num_instances=2),
        default_args=dict(dataset=cat, seed=0))
    loader = DataLoader(cat, batch_size=8, sampler=sampler,
                        collate_fn=pseudo_collate)
    n = 0
    for batch in loader:
        assert list(batch['domain']) == [0] * 4 + [1] * 4
        n += 1
    assert n == sampler.num_batches == 8 // 2  # 8 real groups of 2 / P=2


@pytest.mark.parametrize('kwargs, match', [
    (dict(real_ratio=0.3), 'multiples of num_instances'),
    (dict(real_ratio=1.0), r'in \(0, 1\)'),
    (dict(epoch_by='longest'), 'epoch_by must be one of'),
    (dict(batch_size=7), 'not divisible'),
    (dict(batch_size=12, num_instances=4), 'multiples of num_instances'),
])
def test_balanced_bad_arguments(make_dataset, kwargs, match):
    ds, _, _ = mixed(make_dataset)
    args = dict(batch_size=8, num_instances=2, seed=0)
    args.update(kwargs)
    with pytest.raises(ValueError, match=match):
        BalancedDomainSampler(ds, **args)


@pytest.mark.parametrize('cls', [BalancedDomainSampler,
                                 RandomDomainMixSampler])
def test_missing_domain_is_an_error(make_dataset, cls):
    ds = make_dataset(np.repeat(np.arange(8), 4))  # all real
    with pytest.raises(ValueError, match='no synthetic images'):
        cls(ds, batch_size=8, num_instances=2, seed=0)


def test_too_few_synthetic_identities(make_dataset):
    pids = np.r_[np.repeat(np.arange(8), 2), [100, 100]]
    ds = make_dataset(pids, domains=[0] * 16 + [1] * 2)
    with pytest.raises(ValueError, match='synthetic half.*1 identities'):
        BalancedDomainSampler(ds, 8, 2, seed=0)


def test_random_mix_plain_shuffle(make_dataset):
    ds, pids, domains = mixed(make_dataset, seed=2)
    n = len(pids)
    sampler = RandomDomainMixSampler(ds, 8, seed=0, rank=0, world_size=1)
    assert sampler.num_batches == -(-n // 8)
    e0 = epoch(sampler, 0).reshape(-1)
    assert set(e0[:n].tolist()) == set(range(n))  # a full permutation first
    e1 = epoch(sampler, 1).reshape(-1)
    assert not np.array_equal(e0, e1)
    # domains are not balanced per batch: some batch departs from the mean
    share = (domains[e0.reshape(-1, 8)] == 1).mean(axis=1)
    assert share.min() < share.max()
    ranks = [list(RandomDomainMixSampler(ds, 8, seed=0, rank=r,
                                         world_size=2)) for r in range(2)]
    assert len(ranks[0]) == len(ranks[1])
    first = np.asarray(ranks[0]).reshape(-1, 8)
    second = np.asarray(ranks[1]).reshape(-1, 8)
    merged = np.empty((2 * len(first), 8), dtype=np.int64)
    merged[0::2], merged[1::2] = first, second
    np.testing.assert_array_equal(merged.reshape(-1)[:n], e0[:n])


def test_random_mix_identity_batches(make_dataset):
    ds, pids, domains = mixed(make_dataset, seed=3)
    sampler = RandomDomainMixSampler(ds, 8, num_instances=2, seed=0, rank=0,
                                     world_size=1)
    batches = epoch(sampler)
    assert_pk(batches, pids, 4, 2)
    assert set(domains[batches].reshape(-1).tolist()) == {0, 1}
    with pytest.raises(ValueError, match='camera_aware needs num_instances'):
        RandomDomainMixSampler(ds, 8, seed=0, camera_aware=True)
