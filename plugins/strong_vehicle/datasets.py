"""Datasets for the auxiliary models of the strong vehicle baseline."""
from __future__ import annotations

import copy
from typing import List, Sequence

from mmengine.dataset import BaseDataset

from reidkit.datasets.base import build_pipeline
from reidkit.registry import DATASETS


@DATASETS.register_module()
class RelabelAsIdentity(BaseDataset):
    """A re-ID dataset whose identity label is another of its labels.

    The camera model of the strong vehicle baseline is a re-ID model trained
    to tell cameras apart (``label_key='camid'``, the authors'
    ``aicity20-ReCam``); the orientation model does the same with
    orientation classes (``label_key='orientation'``, angle / 10, on data
    whose parser provides it). Every sample's ``pid`` becomes the dense
    index of its ``label_key`` value (the original pid is kept as
    ``orig_pid``); ``metainfo['num_pids']`` counts those classes, so the
    identity samplers and heads work unchanged.

    Args:
        dataset (dict | BaseDataset): the wrapped dataset (its own pipeline
            is not used).
        label_key (str): the label used as identity. Defaults to 'camid'.
        pipeline (list): transforms.

    Example:
        >>> ds = RelabelAsIdentity(dict(type='CityFlowV2', data_root=root),
        ...                        label_key='camid', pipeline=pipeline)
        >>> ds.metainfo['num_pids']  # number of cameras with images
    """

    def __init__(self, dataset, label_key: str = 'camid',
                 pipeline: Sequence = (), **kwargs) -> None:
        self._dataset_cfg = dataset
        self.label_key = label_key
        kwargs.setdefault('data_prefix', dict())
        super().__init__(pipeline=build_pipeline(pipeline), **kwargs)

    def load_data_list(self) -> List[dict]:
        ds = self._dataset_cfg
        if isinstance(ds, dict):
            cfg = copy.deepcopy(ds)
            cfg.setdefault('serialize_data', False)
            cfg['pipeline'] = []
            ds = DATASETS.build(cfg)
        ds.full_init()
        data = [dict(ds.get_data_info(i)) for i in range(len(ds))]
        missing = [s.get('img_path') for s in data if self.label_key not in s]
        if missing:
            raise KeyError(f'RelabelAsIdentity: {len(missing)} samples have '
                           f'no {self.label_key!r} (e.g. {missing[0]})')
        values = sorted({s[self.label_key] for s in data})
        index = {v: i for i, v in enumerate(values)}
        for s in data:
            s['orig_pid'] = s['pid']
            s['pid'] = index[s[self.label_key]]
        meta = dict(ds.metainfo)
        meta.update(num_pids=len(values), identity_label=self.label_key)
        self._metainfo.update(meta)
        return data
