"""``DLCRMetric``: ReIDMetric that feeds query-variant features to re-rankers."""
from __future__ import annotations

from typing import Any, Dict, Sequence

import numpy as np
import torch

from reidkit.evaluation.metric import ReIDMetric
from reidkit.evaluation.metric import sample_value
from reidkit.registry import METRICS

from .dataset import VARIANT_SPLIT

__all__ = ['DLCRMetric', 'pool_variants']


def _labels(results: list, idx) -> Dict[str, np.ndarray]:
    """Label arrays (all keys but ``feat``) of ``results[i]`` for i in idx."""
    keys = [k for k in (results[idx[0]] if len(idx) else {}) if k != 'feat']
    return {k: np.array([results[i][k] for i in idx],
                        object if k == 'img_path' else None) for k in keys}


def pool_variants(protocol, variant_feats, mask, query_labels):
    """Pool query-variant features the way ``protocol`` pools the queries.

    A protocol that pools frames into tracklets (CCVID) gives one query
    per tracklet; its variant ``k`` is then the mean of variant ``k`` of the
    tracklet's frames that have one (a variant index no frame has stays
    masked out). Protocols that do not pool return the inputs unchanged.
    The protocol's own :meth:`~reidkit.evaluation.protocols.Protocol.aggregate`
    does the pooling (on the masked sums and on the mask), so variants and
    queries always come out in the same order.

    Args:
        protocol (Protocol): the metric's evaluation protocol.
        variant_feats (Tensor): ``(Q, l, D)`` raw (un-normalised) features.
        mask (ndarray): ``(Q, l)`` bool, which variants exist.
        query_labels (dict): label arrays of the Q queries (``track_id``...).

    Returns:
        tuple: ``(T, l, D)`` features and ``(T, l)`` bool mask, T the
        number of pooled queries.

    Example:
        >>> vf, m = pool_variants(build_protocol('ccvid'), vf, m, q_labels)
    """
    num_q, num_l, dim = variant_feats.shape
    present = torch.as_tensor(mask, dtype=variant_feats.dtype)
    sums = (variant_feats * present[..., None]).reshape(num_q, num_l * dim)
    if num_l == 0:  # nothing to pool; only the number of rows changes
        rows = len(protocol.aggregate(torch.zeros(num_q, 1),
                                      query_labels)[0])
        return torch.zeros(rows, 0, dim), np.zeros((rows, 0), bool)
    pooled, _ = protocol.aggregate(sums, query_labels)
    share, _ = protocol.aggregate(present, query_labels)
    pooled = pooled.reshape(-1, num_l, dim)
    feats = torch.where(share[..., None] > 0,
                        pooled / share.clamp(min=1e-12)[..., None],
                        torch.zeros_like(pooled))
    return feats, (share > 0).numpy()


@METRICS.register_module()
class DLCRMetric(ReIDMetric):
    """:class:`ReIDMetric` for a test set with DLCR query variants.

    Samples with ``split='query_variant'`` (see
    :class:`DLCRQueryVariantDataset`) are set aside; their features are
    stacked per query into ``query_variant_feats`` ``(Q, l, D)`` (zero rows
    and ``query_variant_mask=False`` where a query has fewer variants),
    pooled like the queries where the protocol pools them (CCVID: one query
    per tracklet, see :func:`pool_variants`), and passed, with the gallery identities ``g_pids`` and cameras, to the
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
            if sample_value(s, 'split') == VARIANT_SPLIT:
                feat = torch.as_tensor(sample_value(s, 'feat')).detach().float()
                self.results.append(dict(
                    feat=feat.reshape(-1).cpu(), split=VARIANT_SPLIT,
                    variant_of=str(sample_value(s, 'variant_of')),
                    variant=int(sample_value(s, 'variant', 0))))
            else:
                rest.append(s)
        super().process(data_batch, rest)

    @staticmethod
    def _variant_feats(plain, q_idx, variants):
        """``(Q, l, D)`` raw variant features per frame query, and the mask."""
        dim = plain[q_idx[0]]['feat'].numel() if q_idx else 1
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
        return vf, mask

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
        q_idx, g_idx = self._select(plain)
        proto = self.evaluation_protocol
        q_labels = _labels(plain, q_idx)
        # the labels of the rows the re-ranker sees (tracklets on CCVID)
        _, q_pooled = proto.aggregate(torch.zeros(len(q_idx), 1), q_labels)
        _, g_pooled = proto.aggregate(
            torch.zeros(len(g_idx), 1), _labels(plain, g_idx))
        vf, mask = self._variant_feats(plain, q_idx, variants)
        vf, mask = pool_variants(proto, vf, mask, q_labels)
        if self.norm_feat and vf.shape[1]:
            vf = torch.nn.functional.normalize(vf, dim=2)
        saved_meta = self.rerank_meta
        self.rerank_meta = dict(saved_meta)
        self.rerank_meta.update(
            query_variant_feats=vf, query_variant_mask=mask,
            g_pids=np.asarray(g_pooled['pid']),
            q_camids=np.asarray(q_pooled['camid']),
            g_camids=np.asarray(g_pooled['camid']))
        try:
            metrics.update(super().compute_metrics(plain))
        finally:
            self.rerank_meta = saved_meta
        return metrics
