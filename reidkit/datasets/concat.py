"""``ReIDConcatDataset``: real + synthetic datasets in one label space."""
from __future__ import annotations

import copy
from typing import List, Sequence, Union

from mmengine.dataset import BaseDataset

from reidkit.registry import DATASETS

from .base import ReIDDataset, build_pipeline


@DATASETS.register_module()
class ReIDConcatDataset(BaseDataset):
    """Concatenate re-ID datasets and relabel them into one id space.

    Train datasets: every sample's identity is keyed by ``(dataset index,
    original pid)`` and the keys are numbered 0..N-1 in dataset order then
    original-id order, so dataset 0 (the real set) keeps its own train
    labels and the next datasets follow. A sample with ``pid_shared=True``
    (a :class:`SyntheticDataset` line in ``pid_mode='shared'`` made from a
    real image) is keyed into dataset ``shared_with`` instead, so it gets the
    label of the real identity it was made from: found by its
    ``source_pid`` (the benchmark id) when the manifest has one, else by its
    ``pid`` read as that dataset's train label. Clothes ids are numbered over
    ``(dataset index, clothes id)``. ``domain`` is kept per sample, so a
    sampler can balance real and synthetic images.

    Test datasets (query/gallery/test) are concatenated without relabelling.

    The sub-datasets' own pipelines are not used: give ``pipeline`` here.

    Args:
        datasets (list[dict | BaseDataset]): Dataset configs or instances.
        pipeline (list): Transforms applied to every sample.
        shared_with (int): Index of the dataset whose ids shared synthetic
            samples belong to. Default 0.
        **kwargs: Passed to ``mmengine.dataset.BaseDataset``.

    Example:
        >>> ds = ReIDConcatDataset(datasets=[
        ...     dict(type='Market1501', data_root='data/market1501'),
        ...     dict(type='SyntheticDataset', data_root='work_dirs/gen')],
        ...     pipeline=train_pipeline)
        >>> ds.metainfo['num_pids']  # real ids + synthetic ids
    """

    def __init__(self,
                 datasets: Sequence[Union[dict, BaseDataset]],
                 pipeline: Sequence = (),
                 shared_with: int = 0,
                 **kwargs):
        if not datasets:
            raise ValueError('ReIDConcatDataset needs at least one dataset')
        self._dataset_cfgs = list(datasets)
        if not 0 <= shared_with < len(self._dataset_cfgs):
            raise ValueError(f'ReIDConcatDataset: shared_with={shared_with} '
                             f'is not a dataset index (0..'
                             f'{len(self._dataset_cfgs) - 1})')
        self.shared_with = shared_with
        kwargs.setdefault('data_prefix', dict())
        super().__init__(pipeline=build_pipeline(pipeline), **kwargs)

    def _build(self) -> List[BaseDataset]:
        built = []
        for d in self._dataset_cfgs:
            if isinstance(d, dict):
                cfg = copy.deepcopy(d)
                cfg.setdefault('serialize_data', False)
                cfg['pipeline'] = []
                d = DATASETS.build(cfg)
            d.full_init()
            built.append(d)
        return built

    def load_data_list(self) -> List[dict]:
        datasets = self._build()
        parts = []
        for i, ds in enumerate(datasets):
            parts.append([ds.get_data_info(j) for j in range(len(ds))])
        splits = {s['split'] for part in parts for s in part}
        data = []
        if splits == {'train'}:
            id_keys, cl_keys = set(), set()
            label2orig = {s['pid']: s.get('orig_pid', s['pid'])
                          for s in parts[self.shared_with]}
            for i, part in enumerate(parts):
                for s in part:
                    s['_id_key'] = self._id_key(i, s, label2orig)
                    id_keys.add(s['_id_key'])
                    if s.get('clothes_id', -1) >= 0:
                        cl_keys.add((i, s['clothes_id']))
            real_ids = {t['_id_key'] for t in parts[self.shared_with]}
            for i, part in enumerate(parts):
                for s in part:
                    if (i != self.shared_with and s.get('pid_shared')
                            and s['_id_key'] not in real_ids):
                        raise ValueError(
                            f'ReIDConcatDataset: {s["img_path"]} shares pid '
                            f'{s["_id_key"][1]} with dataset '
                            f'{self.shared_with}, which has no such identity')
            id_map = {k: n for n, k in enumerate(sorted(id_keys))}
            cl_map = {k: n for n, k in enumerate(sorted(cl_keys))}
            for i, part in enumerate(parts):
                for s in part:
                    s['pid'] = id_map[s.pop('_id_key')]
                    if s.get('clothes_id', -1) >= 0:
                        s['clothes_id'] = cl_map[(i, s['clothes_id'])]
                    s.pop('sample_idx', None)
                    s['dataset_idx'] = i
                    data.append(s)
        elif 'train' in splits:
            raise ValueError('ReIDConcatDataset: cannot mix train and test '
                             f'splits (got {sorted(splits)})')
        else:
            for i, part in enumerate(parts):
                for s in part:
                    s.pop('sample_idx', None)
                    s['dataset_idx'] = i
                    data.append(s)
        pids = {s['pid'] for s in data}
        meta = dict(
            num_pids=len(pids),
            num_cams=len({(s['dataset_idx'], s['camid']) for s in data}),
            num_clothes=len({s['clothes_id'] for s in data
                             if s.get('clothes_id', -1) >= 0}),
            num_images=len(data),
            num_real=sum(1 for s in data if s.get('domain', 0) == 0),
            num_synthetic=sum(1 for s in data if s.get('domain', 0) == 1),
            protocol=datasets[0].metainfo.get('protocol'),
            split='train' if splits == {'train'} else 'test',
            datasets=[type(d).__name__ for d in datasets])
        self._metainfo.update(meta)
        return data

    _serialize_data = ReIDDataset._serialize_data

    def _id_key(self, i: int, s: dict, label2orig: dict) -> tuple:
        if s.get('pid_shared') and i != self.shared_with:
            # the real identity: its benchmark id when the manifest gave it
            # (source_pid), else the real train label SyntheticDataset set
            if s.get('source_pid') is not None:
                return (self.shared_with, s['source_pid'])
            if s['pid'] not in label2orig:
                raise ValueError(
                    f'ReIDConcatDataset: {s["img_path"]} shares label '
                    f'{s["pid"]} with dataset {self.shared_with}, which has '
                    'no such identity')
            return (self.shared_with, label2orig[s['pid']])
        return (i, s.get('orig_pid', s['pid']))
