"""Benchmark: building one P x K epoch over 100k images.

Peer: torchreid's ``RandomIdentitySampler`` (the usual P x K sampler of
re-ID code bases), measured in the same run on the same labels.

* If torchreid is importable (``pip install torchreid``) or
  ``--torchreid-path`` names a folder holding it, its ``sampler.py`` is
  loaded on its own (the package's ``__init__`` pulls in its whole training
  stack, which is not needed here).
* Otherwise the peer is ``PythonRandomIdentitySampler`` below, a plain
  Python re-implementation of the same algorithm written for this benchmark,
  and the output says so.

Usage::

    python benchmarks/bench_sampler.py [--num-images 100000] [--num-ids 5000]
        [--batch-size 64] [--num-instances 4] [--torchreid-path DIR]

Prints the time to read the labels of a serialised mmengine dataset of that
size, then for each sampler the set-up time (reading labels, ``__init__``)
and the median time to build one epoch of indices (``list(sampler)``), and
the ratio peer / IdentitySampler for the epoch.
"""
from __future__ import annotations

import argparse
import copy
import importlib.util
import os
import os.path as osp
import random
import statistics
import sys
import time
import warnings
from collections import defaultdict

import numpy as np
from mmengine.dataset import BaseDataset

sys.path.insert(0, osp.dirname(osp.dirname(osp.abspath(__file__))))

from reidkit.samplers import (BalancedDomainSampler,  # noqa: E402
                              IdentitySampler, ModalityBalancedSampler,
                              read_labels)


class PythonRandomIdentitySampler:
    """Re-implementation of torchreid's RandomIdentitySampler algorithm.

    Written for this benchmark (fallback peer when torchreid is not
    installed): per identity, shuffle its images (drawing K with replacement
    when it has fewer), cut them into groups of K; then, while at least P
    identities have groups left, pick P of them at random and take one group
    from each.
    """

    def __init__(self, data_source, batch_size, num_instances):
        self.num_instances = num_instances
        self.num_pids_per_batch = batch_size // num_instances
        self.index_dic = defaultdict(list)
        for index, item in enumerate(data_source):
            self.index_dic[item[1]].append(index)
        self.pids = list(self.index_dic)

    def __iter__(self):
        k = self.num_instances
        groups = defaultdict(list)
        for pid in self.pids:
            idxs = copy.deepcopy(self.index_dic[pid])
            if len(idxs) < k:
                idxs = list(np.random.choice(idxs, size=k, replace=True))
            random.shuffle(idxs)
            for start in range(0, len(idxs) - k + 1, k):
                groups[pid].append(idxs[start:start + k])
        available = copy.deepcopy(self.pids)
        out = []
        while len(available) >= self.num_pids_per_batch:
            for pid in random.sample(available, self.num_pids_per_batch):
                out.extend(groups[pid].pop(0))
                if not groups[pid]:
                    available.remove(pid)
        return iter(out)


def load_torchreid_sampler(path=None):
    """torchreid's RandomIdentitySampler class and its file, or (None, why)."""
    roots = []
    if path:
        roots.append(osp.join(path, 'torchreid'))
    spec = importlib.util.find_spec('torchreid')  # does not import it
    if spec is not None and spec.submodule_search_locations:
        roots.extend(spec.submodule_search_locations)
    for root in roots:
        for rel in ('data/sampler.py', 'reid/data/sampler.py'):
            file = osp.join(root, rel)
            if osp.isfile(file):
                mod_spec = importlib.util.spec_from_file_location(
                    '_torchreid_sampler', file)
                module = importlib.util.module_from_spec(mod_spec)
                mod_spec.loader.exec_module(module)
                return module.RandomIdentitySampler, file
    return None, 'torchreid not found'


class RecordDataset(BaseDataset):
    """An mmengine dataset of sample dicts (serialised, as by default)."""

    def __init__(self, records, **kwargs):
        self._records = records
        super().__init__(**kwargs)

    def load_data_list(self):
        return self._records


def make_labels(num_images, num_ids, num_cams, seed=0):
    """Identity sizes from a long-tailed (log-normal) law, like MSMT/VeRi."""
    rng = np.random.default_rng(seed)
    weights = rng.lognormal(0.0, 0.8, num_ids)
    counts = np.maximum(1, np.round(weights / weights.sum() * num_images))
    counts = counts.astype(np.int64)
    pid = np.repeat(np.arange(num_ids), counts)[:num_images]
    pid = np.concatenate([pid, rng.integers(0, num_ids,
                                            num_images - len(pid))])
    camid = rng.integers(0, num_cams, len(pid))
    domain = (pid >= num_ids // 2).astype(np.int64)
    modality = rng.integers(0, 2, len(pid))
    return pid, camid, domain, modality


def timed(fn, repeats):
    times = []
    for i in range(repeats):
        start = time.perf_counter()
        fn(i)
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--num-images', type=int, default=100_000)
    parser.add_argument('--num-ids', type=int, default=5_000)
    parser.add_argument('--num-cams', type=int, default=8)
    parser.add_argument('--batch-size', type=int, default=64)
    parser.add_argument('--num-instances', type=int, default=4)
    parser.add_argument('--repeats', type=int, default=5)
    parser.add_argument('--torchreid-path', default=os.environ.get(
        'TORCHREID_PATH'), help='folder holding the torchreid package')
    args = parser.parse_args(argv)

    pid, camid, domain, modality = make_labels(
        args.num_images, args.num_ids, args.num_cams)
    bs, k = args.batch_size, args.num_instances
    print(f'{len(pid)} images, {len(np.unique(pid))} identities, '
          f'batch {bs} = {bs // k} ids x {k}')

    keys = ('pid', 'camid', 'domain', 'modality')
    records = [
        dict(img_path=f'{i}.jpg', pid=int(p), camid=int(c), domain=int(d),
             modality=int(m), clothes_id=-1)
        for i, (p, c, d, m) in enumerate(zip(pid, camid, domain, modality))
    ]
    dataset = RecordDataset(records)
    start = time.perf_counter()
    read_labels(dataset, keys)
    fast = time.perf_counter() - start
    start = time.perf_counter()
    for i in range(len(dataset)):
        info = dataset.get_data_info(i)
        [info[k] for k in keys]
    slow = time.perf_counter() - start
    print(f'labels of a serialised mmengine BaseDataset: read_labels '
          f'{fast:.3f}s, get_data_info loop {slow:.3f}s '
          f'({slow / fast:.1f}x)')

    results = {}
    for name, build in [
        ('IdentitySampler', lambda: IdentitySampler(
            dataset, bs, k, seed=0, rank=0, world_size=1)),
        ('IdentitySampler camera_aware', lambda: IdentitySampler(
            dataset, bs, k, seed=0, camera_aware=True, rank=0,
            world_size=1)),
        ('BalancedDomainSampler', lambda: BalancedDomainSampler(
            dataset, bs, k, seed=0, rank=0, world_size=1)),
        ('ModalityBalancedSampler', lambda: ModalityBalancedSampler(
            dataset, bs, 2 * (k // 2), seed=0, rank=0, world_size=1)),
    ]:
        start = time.perf_counter()
        with warnings.catch_warnings():  # ids lacking a modality: expected
            warnings.simplefilter('ignore')
            sampler = build()
        setup = time.perf_counter() - start

        def one_epoch(i, sampler=sampler):
            sampler.set_epoch(i)
            list(sampler)

        results[name] = (setup, timed(one_epoch, args.repeats), len(sampler))

    peer_cls, where = load_torchreid_sampler(args.torchreid_path)
    if peer_cls is None:
        peer_cls = PythonRandomIdentitySampler
        peer_name = ('PythonRandomIdentitySampler (re-implementation of '
                     "torchreid's algorithm; torchreid not installed)")
    else:
        peer_name = f'torchreid RandomIdentitySampler ({where})'
    data_source = [('', int(p), int(c), 0) for p, c in zip(pid, camid)]
    start = time.perf_counter()
    peer = peer_cls(data_source, bs, k)
    peer_setup = time.perf_counter() - start

    def peer_epoch(i):
        random.seed(i)
        np.random.seed(i)
        list(iter(peer))

    peer_time = timed(peer_epoch, max(1, min(args.repeats, 3)))
    peer_len = len(list(iter(peer)))

    print(f'\npeer: {peer_name}')
    print(f'{"sampler":32s} {"setup s":>9s} {"epoch s":>9s} {"indices":>9s}')
    for name, (setup, epoch, n) in results.items():
        print(f'{name:32s} {setup:9.3f} {epoch:9.3f} {n:9d}')
    print(f'{"peer":32s} {peer_setup:9.3f} {peer_time:9.3f} {peer_len:9d}')
    ours = results['IdentitySampler'][1]
    print(f'\nepoch build, peer / IdentitySampler: {peer_time / ours:.1f}x')


if __name__ == '__main__':
    main()
