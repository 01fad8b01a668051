"""ProgressivePairingSampler: pool sizes per epoch, pairing, distribution."""
from typing import List

import numpy as np
import pytest
from mmengine.dataset import BaseDataset

from plugins.dlcr.sampler import (ProgressivePairingSampler,
                                  num_pool_partitions, pool_sizes)
from reidkit.registry import SAMPLERS


class FakeDataset(BaseDataset):
    def __init__(self, records, **kwargs):
        self._records = records
        super().__init__(**kwargs)

    def load_data_list(self) -> List[dict]:
        return [dict(r) for r in self._records]


def make_records(num_pids=6, per_pid=8, k=10, relative=False, shuffle=True):
    """Real images then their k variants each (manifest-like sources)."""
    real, synth = [], []
    for p in range(num_pids):
        for j in range(per_pid):
            path = f'/data/prcc/rgb/train/{p:03d}/A_{j}.jpg'
            real.append(dict(img_path=path, pid=p, camid=0, clothes_id=p,
                             domain=0, split='train'))
            for v in range(k):
                src = path[len('/data/prcc/'):] if relative else path
                synth.append(dict(
                    img_path=f'/gen/{p:03d}_{j}_v{v}.png', pid=p, camid=0,
                    clothes_id=-1, domain=1, split='train',
                    provenance=dict(source=src), attributes=dict(
                        dlcr_variant=v)))
    if shuffle:  # manifest order is not variant order
        synth = [synth[i] for i in np.random.default_rng(0).permutation(
            len(synth))]
    return real + synth


def test_schedule_and_pool_sizes():
    assert [num_pool_partitions(e, 5, 4) for e in range(0, 21, 5)] == \
        [1, 2, 3, 4, 4]
    assert num_pool_partitions(4, 5, 4) == 1
    # K=10 split into 4 partitions: 3, 3, 2, 2
    assert pool_sizes(np.array([10]), 1, 4).tolist() == [3]
    assert [int(pool_sizes(np.array([10]), p, 4)[0]) for p in (1, 2, 3, 4)] \
        == [3, 6, 8, 10]
    assert pool_sizes(np.array([1, 0, 4]), 1, 4).tolist() == [1, 0, 1]


@pytest.mark.parametrize('relative', [False, True])
def test_pairing_and_progressive_pools(relative):
    ds = FakeDataset(make_records(relative=relative))
    sampler = SAMPLERS.build(dict(type='ProgressivePairingSampler',
                                  batch_size=16, num_instances=4, interval=5),
                             default_args=dict(dataset=ds, seed=0))
    infos = [ds.get_data_info(i) for i in range(len(ds))]
    assert sampler.num_batches == 6 * 8 // 4 // 2
    for epoch, allowed in ((0, 3), (4, 3), (5, 6), (10, 8), (15, 10),
                           (40, 10)):
        sampler.set_epoch(epoch)
        seen = {}
        for batch in sampler.epoch_batches():
            real, paired = batch[:8], batch[8:]
            assert all(infos[i]['domain'] == 0 for i in real)
            assert all(infos[i]['domain'] == 1 for i in paired)
            assert len({infos[i]['pid'] for i in real}) == 2
            for r, s in zip(real, paired):
                src = infos[s]['provenance']['source']
                assert infos[r]['img_path'].endswith(src)
                v = infos[s]['attributes']['dlcr_variant']
                assert v < allowed, (epoch, v)
                assert s in sampler.pool_of(r, epoch)
                seen.setdefault(r, set()).add(v)
        assert len(sampler.pool_of(0, epoch)) == \
            allowed


def test_uniform_within_pool_and_deterministic():
    ds = FakeDataset(make_records(num_pids=4, per_pid=4, k=8))
    sampler = ProgressivePairingSampler(ds, batch_size=8, num_instances=2,
                                        seed=3)
    sampler.set_epoch(15)
    counts = np.zeros(8)
    infos = [ds.get_data_info(i) for i in range(len(ds))]
    for e in range(15, 215):
        for batch in sampler.epoch_batches(e):
            for s in batch[4:]:
                counts[infos[s]['attributes']['dlcr_variant']] += 1
    freq = counts / counts.sum()
    assert np.all(np.abs(freq - 1 / 8) < 0.02), freq
    a = sampler.epoch_batches(20)
    b = ProgressivePairingSampler(ds, batch_size=8, num_instances=2,
                                  seed=3).epoch_batches(20)
    np.testing.assert_array_equal(a, b)
    assert len(list(iter(sampler))) == len(sampler)


def test_not_progressive_uses_all_variants():
    ds = FakeDataset(make_records(num_pids=4, per_pid=4, k=8))
    sampler = ProgressivePairingSampler(ds, batch_size=8, num_instances=2,
                                        seed=0, progressive=False)
    assert sampler.partitions_at(0) == 4
    assert len(sampler.pool_of(0, 0)) == 8


def test_distributed_split():
    ds = FakeDataset(make_records())
    full = ProgressivePairingSampler(ds, batch_size=16, num_instances=4,
                                     seed=1, rank=0, world_size=1)
    r0 = ProgressivePairingSampler(ds, batch_size=16, num_instances=4,
                                   seed=1, rank=0, world_size=2)
    r1 = ProgressivePairingSampler(ds, batch_size=16, num_instances=4,
                                   seed=1, rank=1, world_size=2)
    b0, b1 = r0.epoch_batches(7), r1.epoch_batches(7)
    assert len(b0) == len(b1) == 3
    allb = full.epoch_batches(7)
    np.testing.assert_array_equal(b0, allb[0::2])
    np.testing.assert_array_equal(b1, allb[1::2])


def test_errors_and_unpaired():
    real_only = [r for r in make_records() if r['domain'] == 0]
    with pytest.raises(ValueError, match="names a real image"):
        ProgressivePairingSampler(FakeDataset(real_only), 16, 4, seed=0)
    with pytest.raises(ValueError, match='even'):
        ProgressivePairingSampler(FakeDataset(make_records()), 15, 4, seed=0)
    recs = make_records(num_pids=4, per_pid=4, k=2)
    # drop every variant of the first real image
    first = recs[0]['img_path']
    recs = [r for r in recs
            if (r.get('provenance') or {}).get('source') != first]
    with pytest.warns(UserWarning, match='paired with themselves'):
        s = ProgressivePairingSampler(FakeDataset(recs), 8, 2, seed=0)
    assert s.num_unpaired == 1
    for batch in s.epoch_batches(0):
        for r, p in zip(batch[:4], batch[4:]):
            if r == 0:
                assert p == 0
