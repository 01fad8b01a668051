"""The test set plus each query's clothes-changed variants (for refinement).

:class:`DLCRQueryVariantDataset` wraps a benchmark's test split and appends,
for every query image, its ``l`` inpainted variants as samples with
``split='query_variant'`` and ``variant_of`` = the query's image path. The
variants are made by the config's ``query_variants`` generation stage (fewer
steps, lower resolution than training generation; paper Sec. 16); this
dataset only reads that stage's manifests. :class:`DLCRMetric` turns the
variants' features into ``query_variant_feats`` for the re-ranker.
"""
from __future__ import annotations

import copy
import glob
import os.path as osp
from typing import List, Optional

from mmengine.dataset import BaseDataset
from mmengine.logging import print_log

from reidkit.datasets.synthetic import read_manifest
from reidkit.registry import DATASETS

__all__ = ['DLCRQueryVariantDataset', 'VARIANT_SPLIT']

VARIANT_SPLIT = 'query_variant'


@DATASETS.register_module()
class DLCRQueryVariantDataset(BaseDataset):
    """A test dataset followed by generated query variants.

    Every sample gets ``variant_of`` (the query image path for variants,
    ``''`` otherwise) and ``variant`` (index, ``-1`` for real images), so a
    ``PackReIDInputs(meta_keys=(..., 'variant_of', 'variant'))`` pipeline
    carries them to the metric.

    Args:
        dataset (dict): the benchmark test set (``split='test'``).
        variant_dir (str): folder of ``manifest*.jsonl`` of the variants
            (the query-variant generation stage's ``writer.out_dir``).
        num_variants (int, optional): keep at most this many per query
            (paper ``l = 6``).
        pipeline (list): test transforms.

    Example:
        >>> test_dataloader = dict(dataset=dict(
        ...     type='DLCRQueryVariantDataset',
        ...     dataset=dict(type='PRCC', data_root='data/prcc', split='test'),
        ...     variant_dir='work_dirs/dlcr_data/prcc/query_l6',
        ...     num_variants=6, pipeline=test_pipeline))
    """

    def __init__(self, dataset: dict, variant_dir: str,
                 num_variants: Optional[int] = None, pipeline=(), **kwargs):
        self.dataset_cfg = copy.deepcopy(dataset)
        self.variant_dir = variant_dir
        self.num_variants = num_variants
        kwargs.setdefault('data_prefix', dict())
        kwargs.setdefault('test_mode', True)
        kwargs.setdefault('serialize_data', False)
        super().__init__(pipeline=list(pipeline), **kwargs)

    def load_data_list(self) -> List[dict]:
        cfg = copy.deepcopy(self.dataset_cfg)
        cfg['pipeline'] = []
        inner = DATASETS.build(cfg)
        inner.full_init()
        self._metainfo.update(inner.metainfo)
        data = []
        for i in range(len(inner)):
            s = inner.get_data_info(i)
            s.pop('sample_idx', None)
            s.setdefault('variant_of', '')
            s.setdefault('variant', -1)
            data.append(s)
        queries = {osp.normpath(s['img_path']): s for s in data
                   if s['split'] == 'query'}
        files = sorted(glob.glob(osp.join(self.variant_dir,
                                          'manifest*.jsonl')))
        if not files:
            raise FileNotFoundError(
                f'DLCRQueryVariantDataset: no manifest*.jsonl in '
                f'{self.variant_dir}: run the query-variant generation '
                'stage first (tools/train.py CONFIG --stages query_variants)')
        per_query = {}
        for mpath in files:
            base = osp.dirname(osp.abspath(mpath))
            for e in read_manifest(mpath):
                src = e.get('source')
                q = queries.get(osp.normpath(src)) if src else None
                if q is None:
                    continue
                per_query.setdefault(q['img_path'], []).append(
                    (int(e.get('variant', 0)), osp.join(base, e['path'])))
        missing = len(queries) - len(per_query)
        if missing:
            print_log(f'DLCRQueryVariantDataset: {missing} of {len(queries)} '
                      'queries have no variant (refinement uses the query '
                      'alone for them)', logger='current')
        for qpath, items in per_query.items():
            q = queries[osp.normpath(qpath)]
            items.sort()
            if self.num_variants is not None:
                items = items[:int(self.num_variants)]
            for k, path in items:
                v = {key: q[key] for key in ('pid', 'camid', 'clothes_id',
                                             'modality', 'track_id')
                     if key in q}
                v.update(img_path=path, split=VARIANT_SPLIT, domain=1,
                         variant_of=q['img_path'], variant=k)
                data.append(v)
        self._metainfo['num_query_variants'] = sum(
            1 for s in data if s['split'] == VARIANT_SPLIT)
        return data
