"""``DLCRMetric``: ReIDMetric that feeds query-variant features to re-rankers."""
from __future__ import annotations

import inspect
from typing import Any, Dict, Sequence

import numpy as np
import torch

from reidkit.evaluation.metric import ReIDMetric
from reidkit.evaluation.metric import sample_value as _get
from reidkit.registry import METRICS

from .dataset import VARIANT_SPLIT

__all__ = ['DLCRMetric']


@METRICS.register_module()
class DLCRMetric(ReIDMetric):
    """:class:`ReIDMetric` for a test set with DLCR query variants.

    Samples with ``split='query_variant'`` (see
    :class:`DLCRQueryVariantDataset`) are set aside; their features are
    stacked per query into ``query_variant_feats`` ``(Q, l, D)`` (zero rows
    and ``query_variant_mask=False`` where a query has fewer variants) and
    passed, with the gallery identities ``g_pids`` and cameras, to the
    re-rankers (e.g. :class:`DLCRRefinementReranker`). With
    ``report_plain=True`` the metrics without re-ranking are also reported,
    prefixed ``plain/``.

    Args:
        report_plain (bool): also report the un-refined metrics.
        **kwargs: see :class:`ReIDMetric`.

    Example:
        >>> test_evaluator = dict(
        ...     type='DLCRMetric', protocol='prcc', dist_metric='cosine',
        ...     rerankers=[dict(type='DLCRRefinementReranker', m=5)])
    """

    def __init__(self, report_plain: bool = True, **kwargs) -> None:
        super().__init__(**kwargs)
        self.report_plain = report_plain

    def process(self, data_batch: Any, data_samples: Sequence) -> None:
        rest = []
        for s in data_samples:
            if _get(s, 'split') == VARIANT_SPLIT:
                feat = torch.as_tensor(_get(s, 'feat')).detach().float()
                self.results.append(dict(
                    feat=feat.reshape(-1).cpu(), split=VARIANT_SPLIT,
                    variant_of=str(_get(s, 'variant_of')),
                    variant=int(_get(s, 'variant', 0))))
            else:
                rest.append(s)
        super().process(data_batch, rest)

    def _query_gallery(self, results: list):
        """ReIDMetric's query / gallery split (its signature varies)."""
        if len(inspect.signature(self._select).parameters) > 1:
            protocol = getattr(self, 'active_protocol', self.protocol)
            return self._select(results, protocol)
        return self._select(results)

    def compute_metrics(self, results: list) -> Dict[str, float]:
        variants = [r for r in results if r['split'] == VARIANT_SPLIT]
        plain = [r for r in results if r['split'] != VARIANT_SPLIT]
        metrics: Dict[str, float] = {}
        if self.report_plain and self.rerankers:
            saved = self.rerankers
            self.rerankers = []
            try:
                metrics.update({f'plain/{k}': v for k, v in
                                super().compute_metrics(plain).items()})
            finally:
                self.rerankers = saved
        q_idx, g_idx = self._query_gallery(plain)
        feats = torch.stack([plain[i]['feat'] for i in q_idx]) \
            if q_idx else torch.zeros(0, 1)
        dim = feats.shape[1]
        row = {plain[i]['img_path']: n for n, i in enumerate(q_idx)}
        by_q: Dict[int, list] = {}
        for v in variants:
            n = row.get(v['variant_of'])
            if n is not None:
                by_q.setdefault(n, []).append((v['variant'], v['feat']))
        num_l = max((len(x) for x in by_q.values()), default=0)
        vf = torch.zeros(len(q_idx), num_l, dim)
        mask = np.zeros((len(q_idx), num_l), bool)
        for n, items in by_q.items():
            items.sort(key=lambda t: t[0])
            for k, (_, f) in enumerate(items):
                vf[n, k] = f
                mask[n, k] = True
        if self.norm_feat and num_l:
            vf = torch.nn.functional.normalize(vf, dim=2)
        saved_meta = self.rerank_meta
        self.rerank_meta = dict(saved_meta)
        self.rerank_meta.update(
            query_variant_feats=vf, query_variant_mask=mask,
            g_pids=np.array([plain[i]['pid'] for i in g_idx]),
            q_camids=np.array([plain[i]['camid'] for i in q_idx]),
            g_camids=np.array([plain[i]['camid'] for i in g_idx]))
        try:
            metrics.update(super().compute_metrics(plain))
        finally:
            self.rerank_meta = saved_meta
        return metrics
