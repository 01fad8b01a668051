import numpy as np
import pytest
import torch
from mmengine.dataset import ConcatDataset, RepeatDataset, pseudo_collate
from mmengine.registry import DATA_SAMPLERS, DefaultScope
from torch.utils.data import DataLoader, Subset

from reidkit.registry import SAMPLERS
from reidkit.samplers import IdentitySampler, read_labels


def uneven_pids(num_pids=12, seed=0):
    """pids with 1..9 images each, identity 0 with a single image."""
    counts = np.random.default_rng(seed).integers(1, 10, size=num_pids)
    counts[0] = 1
    return np.repeat(np.arange(num_pids), counts)


def assert_pk(batches, pids, p, k):
    """Every row: p distinct identities, k consecutive images of each."""
    groups = pids[batches].reshape(len(batches), p, k)
    assert (groups == groups[:, :, :1]).all(), 'a group mixes identities'
    for row in groups[:, :, 0]:
        assert len(set(row.tolist())) == p, f'repeated identity in {row}'


def epoch(sampler, epoch=0):
    sampler.set_epoch(epoch)
    out = list(sampler)
    assert len(out) == len(sampler)
    return np.asarray(out).reshape(-1, sampler.batch_size)


def test_batches_are_p_by_k(make_dataset):
    pids = uneven_pids()
    sampler = IdentitySampler(make_dataset(pids), batch_size=12,
                              num_instances=4, seed=0, rank=0, world_size=1)
    counts = np.bincount(pids)
    # torchreid's epoch size: max(1, n // K) groups per identity
    assert sampler.num_batches == np.maximum(counts // 4, 1).sum() // 3
    for e in range(3):
        assert_pk(epoch(sampler, e), pids, p=3, k=4)


def test_small_identity_uses_each_image_before_repeating(make_dataset):
    # identity 0: 3 images (< K=4); the others 4 images
    pids = np.array([0] * 3 + [1] * 4 + [2] * 4 + [3] * 4)
    sampler = IdentitySampler(make_dataset(pids), batch_size=8,
                              num_instances=4, seed=1, rank=0, world_size=1)
    batches = epoch(sampler)
    groups = batches.reshape(-1, 4)
    small = groups[pids[groups[:, 0]] == 0]
    assert len(small) > 0
    for g in small:
        assert set(g.tolist()) == {0, 1, 2}


def test_deterministic_and_epochs_differ(make_dataset):
    ds = make_dataset(uneven_pids(30))
    a = IdentitySampler(ds, 16, 4, seed=3, rank=0, world_size=1)
    b = IdentitySampler(ds, 16, 4, seed=3, rank=0, world_size=1)
    c = IdentitySampler(ds, 16, 4, seed=4, rank=0, world_size=1)
    np.testing.assert_array_equal(epoch(a, 0), epoch(b, 0))
    assert not np.array_equal(epoch(a, 0), epoch(c, 0))
    e0, e1 = epoch(a, 0), epoch(a, 1)
    assert not np.array_equal(e0, e1)
    np.testing.assert_array_equal(epoch(a, 0), e0)  # set_epoch(0) again


def test_two_ranks_disjoint_equal_length(make_dataset):
    pids = uneven_pids(38, seed=2)
    ds = make_dataset(pids)
    single = IdentitySampler(ds, 8, 4, seed=5, rank=0, world_size=1)
    ranks = [IdentitySampler(ds, 8, 4, seed=5, rank=r, world_size=2)
             for r in range(2)]
    assert single.num_batches % 2 == 1  # exercises round_up
    outs = [epoch(s, 2) for s in ranks]
    assert len(outs[0]) == len(outs[1]) == -(-single.num_batches // 2)
    assert len(ranks[0]) == len(ranks[1])
    # the ranks take alternate batches of one global epoch
    merged = np.empty((2 * len(outs[0]), 8), dtype=np.int64)
    merged[0::2], merged[1::2] = outs
    np.testing.assert_array_equal(merged[:single.num_batches],
                                  epoch(single, 2))
    for out in outs:
        assert_pk(out, pids, 2, 4)


def test_two_ranks_cover_dataset_once(make_dataset):
    # every identity has exactly K images: an epoch uses each image once
    pids = np.repeat(np.arange(16), 4)
    ds = make_dataset(pids)
    outs = [list(IdentitySampler(ds, 8, 4, seed=0, rank=r, world_size=2))
            for r in range(2)]
    assert len(outs[0]) == len(outs[1]) == 32
    assert not set(outs[0]) & set(outs[1])
    assert sorted(outs[0] + outs[1]) == list(range(64))


def test_round_up_false_drops_to_equal_share(make_dataset):
    pids = np.repeat(np.arange(6), 4)  # 6 groups -> 3 batches of 2 ids
    ds = make_dataset(pids)
    down = [IdentitySampler(ds, 8, 4, seed=0, round_up=False, rank=r,
                            world_size=2) for r in range(2)]
    up = [IdentitySampler(ds, 8, 4, seed=0, rank=r, world_size=2)
          for r in range(2)]
    assert [len(s) for s in down] == [8, 8]
    assert [len(s) for s in up] == [16, 16]
    assert [len(list(s)) for s in up] == [16, 16]
    with pytest.raises(ValueError, match='fewer than the 4 ranks'):
        IdentitySampler(ds, 8, 4, seed=0, round_up=False, rank=0,
                        world_size=4)


def test_camera_aware_spreads_cameras(make_dataset):
    # 10 identities x 4 cameras x 3 images: 3 groups of 4 per identity
    pids = np.repeat(np.arange(10), 12)
    camids = np.tile(np.repeat(np.arange(4), 3), 10)
    ds = make_dataset(pids, camids=camids)
    aware = IdentitySampler(ds, 8, 4, seed=0, camera_aware=True, rank=0,
                            world_size=1)
    plain = IdentitySampler(ds, 8, 4, seed=0, rank=0, world_size=1)
    aware_cams = camids[epoch(aware).reshape(-1, 4)]
    assert all(len(set(g.tolist())) == 4 for g in aware_cams)
    plain_cams = camids[np.concatenate(
        [epoch(plain, e) for e in range(5)]).reshape(-1, 4)]
    assert np.mean([len(set(g.tolist())) for g in plain_cams]) < 3.5
    assert_pk(epoch(aware), pids, 2, 4)


def test_sampler_build_and_runner_path(make_dataset):
    ds = make_dataset(np.repeat(np.arange(6), 5), serialize_data=True)
    sampler = SAMPLERS.build(
        dict(type='IdentitySampler', batch_size=8, num_instances=4),
        default_args=dict(dataset=ds, seed=0))
    assert isinstance(sampler, IdentitySampler)
    assert (sampler.rank, sampler.world_size, sampler.seed) == (0, 1, 0)
    # mmengine's Runner builds through DATA_SAMPLERS with default scope
    with DefaultScope.overwrite_default_scope('reidkit'):
        built = DATA_SAMPLERS.build(
            dict(type='IdentitySampler', batch_size=8, num_instances=4),
            default_args=dict(dataset=ds, seed=0))
    assert list(built) == list(sampler)


def test_dataloader_batches(make_dataset):
    pids = uneven_pids(20, seed=4)
    ds = make_dataset(pids, lazy_init=True, serialize_data=True)
    sampler = IdentitySampler(ds, 8, 4, seed=0, rank=0, world_size=1)
    loader = DataLoader(ds, batch_size=8, sampler=sampler,
                        collate_fn=pseudo_collate)
    n = 0
    for batch in loader:
        got = list(batch['pid'])  # pseudo_collate: dict of lists
        assert len(got) == 8
        assert len(set(got)) == 2
        assert all(got.count(p) == 4 for p in set(got))
        n += 1
    assert n == len(loader) == sampler.num_batches


@pytest.mark.parametrize('kwargs, match', [
    (dict(batch_size=10, num_instances=4), 'not divisible'),
    (dict(batch_size=8, num_instances=0), 'num_instances must be a positive'),
    (dict(batch_size=0, num_instances=4), 'batch_size must be a positive'),
    (dict(batch_size=32, num_instances=4), 'fewer than the 8 identities'),
    (dict(batch_size=8, num_instances=4, seed=-1), 'seed'),
    (dict(batch_size=8, num_instances=4, rank=2, world_size=2), 'rank'),
])
def test_bad_arguments(make_dataset, kwargs, match):
    ds = make_dataset(np.repeat(np.arange(6), 4))
    kwargs.setdefault('seed', 0)
    with pytest.raises(ValueError, match=match):
        IdentitySampler(ds, **kwargs)


def test_missing_pid_is_a_clear_error(make_dataset):
    ds = make_dataset([0, 0, 1, 1])
    ds.data_list[2].pop('pid')
    with pytest.raises(KeyError, match="sample 2 has no 'pid'"):
        IdentitySampler(ds, 4, 2, seed=0)


def test_read_labels_through_wrappers(make_dataset):
    a = make_dataset([0, 0, 1], domains=[0, 0, 0], serialize_data=True)
    b = make_dataset([5, 6], domains=[1, 1])
    cat = ConcatDataset([a, b], lazy_init=True)
    labels = read_labels(cat, ('pid', 'domain'))
    assert labels['pid'].tolist() == [0, 0, 1, 5, 6]
    assert labels['domain'].tolist() == [0, 0, 0, 1, 1]
    rep = read_labels(RepeatDataset(b, times=2), ('pid', ))
    assert rep['pid'].tolist() == [5, 6, 5, 6]
    sub = read_labels(Subset(cat, [4, 0]), ('pid', 'camid'))
    assert sub['pid'].tolist() == [6, 0]
    assert sub['camid'].dtype == np.int64

    class Plain(torch.utils.data.Dataset):  # not an mmengine dataset
        def __len__(self):
            return 2

        def get_data_info(self, i):
            return dict(pid=10 + i)

        def __getitem__(self, i):
            return i

    assert read_labels(Plain())['pid'].tolist() == [10, 11]
    with pytest.raises(TypeError, match='get_data_info'):
        read_labels(torch.utils.data.TensorDataset(torch.zeros(3)))


def test_rank_and_world_size_default_to_dist_info(make_dataset, monkeypatch):
    import reidkit.samplers.base as base
    ds = make_dataset(np.repeat(np.arange(10), 4))
    monkeypatch.setattr(base, 'get_dist_info', lambda: (1, 2))
    from_dist = IdentitySampler(ds, 8, 4, seed=0)
    assert (from_dist.rank, from_dist.world_size) == (1, 2)
    explicit = IdentitySampler(ds, 8, 4, seed=0, rank=1, world_size=2)
    assert list(from_dist) == list(explicit)
    drawn = IdentitySampler(ds, 8, 4, seed=None)  # sync_random_seed()
    assert isinstance(drawn.seed, int) and drawn.seed >= 0


def test_persistent_workers_see_new_epochs(make_dataset):
    # the sampler runs in the main process: set_epoch works with
    # persistent workers, and worker processes keep batch composition
    pids = uneven_pids(16, seed=6)
    ds = make_dataset(pids)
    sampler = IdentitySampler(ds, 8, 4, seed=0, rank=0, world_size=1)
    loader = DataLoader(ds, batch_size=8, sampler=sampler, num_workers=2,
                        persistent_workers=True, collate_fn=pseudo_collate)
    epochs = []
    for e in range(2):
        sampler.set_epoch(e)
        pids_seen = []
        for batch in loader:
            got = list(batch['pid'])
            assert len(set(got)) == 2 and got.count(got[0]) == 4
            pids_seen.append(got)
        epochs.append(pids_seen)
    assert epochs[0] != epochs[1]
    assert len(epochs[0]) == len(epochs[1]) == sampler.num_batches
