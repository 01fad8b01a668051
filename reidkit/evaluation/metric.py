"""``ReIDMetric``: mmengine metric that ranks query against gallery."""
from __future__ import annotations

from typing import Any, Dict, List, Optional, Sequence

import numpy as np
import torch
from mmengine.evaluator import BaseMetric
from mmengine.logging import print_log

from ..registry import METRICS
from .distance import compute_distance
from .protocols import Protocol, build_protocol
from .rerankers import apply_rerankers
from .visualize import write_rank_lists

__all__ = ['ReIDMetric', 'sample_value']

# integer labels collected from every sample; -1 means "not set" (modality 0)
_INT_KEYS = ('pid', 'camid', 'clothes_id', 'modality', 'track_id')


def sample_value(sample: Any, key: str, default=None):
    """``sample[key]`` of a dict or ``sample.key`` of a data-sample object.

    Args:
        sample (dict | object): one predicted data sample.
        key (str): the field.
        default: returned when the field is absent.

    Example:
        >>> sample_value(dict(pid=3), 'pid'), sample_value(dict(), 'pid', -1)
        (3, -1)
    """
    if isinstance(sample, dict):
        return sample.get(key, default)
    return getattr(sample, key, default)


def _to_int(value, key: str) -> int:
    if isinstance(value, torch.Tensor):
        if value.numel() != 1:
            raise ValueError(f'data sample key {key!r} must be a single int, '
                             f'got a tensor of shape {tuple(value.shape)}')
        value = value.item()
    return int(value)


def _labels_of(results: list) -> Dict[str, np.ndarray]:
    """The collected samples' labels as arrays (plus ``split``)."""
    labels = {k: np.array([r[k] for r in results], np.int64)
              for k in _INT_KEYS}
    labels['img_path'] = np.array([r['img_path'] for r in results], object)
    labels['split'] = np.array([r['split'] for r in results])
    return labels


@METRICS.register_module()
class ReIDMetric(BaseMetric):
    """Re-ID retrieval metric: CMC (R1/R5/R10/R20), mAP and mINP in percent.

    Collects ``feat`` and the labels of every predicted sample (mmengine's
    Evaluator gathers them from all ranks and drops the sampler's padding).
    The protocol, looked up by name in ``reidkit.registry.PROTOCOLS``, picks
    query and gallery (by ``split``, by ``modality`` for SYSU-MM01 / LLCM,
    or the whole set for VehicleID) and may pool them (CCVID: the frames of
    a tracklet); then features are optionally normalised, distances
    computed, the re-ranker chain run and every setting of the protocol
    scored. Settings are reported under a prefix (PRCC ``sc/``, ``cc/``;
    LTCC / VC-Clothes / CCVID ``general/``, ``sc/``, ``cc/``).

    Args:
        protocol (str | dict | Protocol, optional): a registered protocol
            name (``'market'``, ``'prcc'``, ``'llcm_v2i'``, a plugin's, ...),
            ``dict(type=name, **options)`` or a built protocol; ``None``
            takes ``protocol`` from the dataset's metainfo (mmengine sets
            ``dataset_meta``), else ``'market'``.
        dist_metric (str): 'euclidean', 'sqeuclidean' or 'cosine'.
        norm_feat (bool): L2-normalise features (after the protocol's
            pooling) before distances. Default True.
        rerankers (list[dict]): RERANKERS configs applied in order.
        rerank_meta (dict): extra keyword arguments for the re-rankers
            (e.g. ``track_file``); query / gallery image paths are passed as
            ``q_names`` / ``g_names`` automatically.
        max_rank (int): CMC length. Default 50.
        memory_mb (float): working-set budget for the distance blocks.
        device: torch device for distances (default CPU).
        rank_list_dir (str, optional): if set, rank-list images of the
            ``rank_list_num`` worst and best queries (top ``rank_list_topk``)
            are written there after every evaluation
            (:func:`reidkit.evaluation.write_rank_lists`).
        collect_device, prefix: as in ``BaseMetric``.
        **protocol_kwargs: the protocol's options (e.g. ``seeds`` for
            SYSU/LLCM, ``num_repeats`` and ``seed`` for VehicleID,
            ``single_shot`` for PRCC, ``official`` for LLCM); an option the
            protocol does not take is an error.

    Example:
        >>> val_evaluator = dict(type='ReIDMetric', protocol='market',
        ...                      dist_metric='cosine',
        ...                      rerankers=[dict(type='KReciprocalReranker')])
        >>> test_evaluator = dict(type='ReIDMetric', protocol='llcm_v2i',
        ...                       official=True)
    """

    default_prefix: Optional[str] = ''  # keys stay "mAP", "R1", ...; no warning

    def __init__(self, protocol='market',
                 dist_metric: str = 'euclidean',
                 norm_feat: bool = True, rerankers: Optional[List[dict]] = None,
                 rerank_meta: Optional[dict] = None, max_rank: int = 50,
                 memory_mb: float = 1024, device=None,
                 rank_list_dir: Optional[str] = None, rank_list_topk: int = 10,
                 rank_list_num: int = 10,
                 collect_device: str = 'cpu', prefix: Optional[str] = None,
                 **protocol_kwargs):
        super().__init__(collect_device=collect_device, prefix=prefix)
        if dist_metric not in ('euclidean', 'sqeuclidean', 'cosine'):
            raise ValueError(f"ReIDMetric: dist_metric must be 'euclidean', "
                             f"'sqeuclidean' or 'cosine', got {dist_metric!r}")
        self.protocol = protocol
        self.protocol_kwargs = protocol_kwargs
        # built now so that a wrong name or option fails at config time
        self._protocol = (build_protocol(protocol, **protocol_kwargs)
                          if protocol is not None else None)
        self.dist_metric = dist_metric
        self.norm_feat = norm_feat
        self.rerankers = list(rerankers or [])
        self.rerank_meta = dict(rerank_meta or {})
        self.max_rank = int(max_rank)
        self.memory_mb = memory_mb
        self.device = device
        self.rank_list_dir = rank_list_dir
        self.rank_list_topk = int(rank_list_topk)
        self.rank_list_num = int(rank_list_num)

    @property
    def evaluation_protocol(self) -> Protocol:
        """The protocol object in use (the argument, else the metainfo's)."""
        if self._protocol is not None:
            return self._protocol
        meta = self.dataset_meta or {}
        return build_protocol(meta.get('protocol', 'market'),
                              **self.protocol_kwargs)

    @property
    def active_protocol(self) -> str:
        """The registered name of the protocol in use."""
        return self.evaluation_protocol.name

    # ------------------------------------------------------------------
    def process(self, data_batch: Any, data_samples: Sequence) -> None:
        for sample in data_samples:
            feat = sample_value(sample, 'feat')
            if feat is None:
                raise KeyError('ReIDMetric: a predicted sample has no "feat" '
                               '(the model must return feat in predict mode)')
            feat = torch.as_tensor(feat).detach().float().reshape(-1).cpu()
            split = sample_value(sample, 'split')
            if split not in ('query', 'gallery'):
                raise ValueError(f'ReIDMetric: data sample "split" must be '
                                 f'"query" or "gallery", got {split!r}')
            item = dict(feat=feat, split=split,
                        img_path=str(sample_value(sample, 'img_path', '')))
            for key in _INT_KEYS:
                value = sample_value(sample, key, -1 if key != 'modality' else 0)
                if value is None:
                    if key == 'pid' or key == 'camid':
                        raise KeyError(f'ReIDMetric: data sample has no {key!r}')
                    value = -1
                item[key] = _to_int(value, key)
            self.results.append(item)

    # ------------------------------------------------------------------
    def _select(self, results, protocol=None):
        """Query and gallery index lists into ``results`` (the protocol's
        :meth:`~Protocol.split`; ``protocol`` defaults to the active one)."""
        proto = self.evaluation_protocol
        if protocol is not None and protocol != proto.name:
            proto = build_protocol(protocol)
        q_idx, g_idx = proto.split(_labels_of(results))
        return np.asarray(q_idx).tolist(), np.asarray(g_idx).tolist()

    @staticmethod
    def _check_needs(proto: Protocol, labels: dict, idx) -> None:
        for key in proto.needs:
            if key in _INT_KEYS and key != 'modality':
                missing = int((labels[key][idx] < 0).sum())
                if missing:
                    raise ValueError(
                        f'ReIDMetric: protocol {proto.name!r} needs {key!r} '
                        f'in every query and gallery sample; {missing} of '
                        f'{len(idx)} have none (the test dataset must set it)')

    def compute_metrics(self, results: list) -> Dict[str, float]:
        if not results:
            raise ValueError('ReIDMetric: no predictions were collected')
        proto = self.evaluation_protocol
        labels = _labels_of(results)
        q_idx, g_idx = proto.split(labels)
        if not len(q_idx) or not len(g_idx):
            raise ValueError(f'ReIDMetric: {len(q_idx)} query and {len(g_idx)} '
                             f'gallery samples; both must be non-empty '
                             f'(check the "split" of the test dataset)')
        self._check_needs(proto, labels, np.concatenate([q_idx, g_idx]))
        feats = torch.stack([r['feat'] for r in results])
        qf, query = proto.aggregate(
            feats[torch.as_tensor(q_idx)], {k: v[q_idx] for k, v in labels.items()})
        gf, gallery = proto.aggregate(
            feats[torch.as_tensor(g_idx)], {k: v[g_idx] for k, v in labels.items()})
        if self.norm_feat:
            qf = torch.nn.functional.normalize(qf, dim=1)
            gf = torch.nn.functional.normalize(gf, dim=1)
        q_paths = [str(p) for p in query['img_path']]
        g_paths = [str(p) for p in gallery['img_path']]
        dist = compute_distance(qf, gf, self.dist_metric, device=self.device,
                                memory_mb=self.memory_mb)
        if self.rerankers:
            meta = dict(g_names=g_paths, q_names=q_paths)
            meta.update(self.rerank_meta)
            dist = apply_rerankers(self.rerankers, qf, gf, dist, **meta)

        query.pop('split', None)
        gallery.pop('split', None)
        metrics: Dict[str, float] = {}
        for mode in proto.settings:
            res = proto.evaluate(dist, query, gallery, mode=mode,
                                 max_rank=self.max_rank)
            head = f'{mode}/' if mode is not None else ''
            metrics[f'{head}mAP'] = 100.0 * res['mAP']
            metrics[f'{head}mINP'] = 100.0 * res['mINP']
            for k in (1, 5, 10, 20):
                if k <= self.max_rank:
                    metrics[f'{head}R{k}'] = 100.0 * float(res['cmc'][k - 1])
        pooled = (f' (pooled from {len(q_idx)} / {len(g_idx)} samples)'
                  if (len(qf), len(gf)) != (len(q_idx), len(g_idx)) else '')
        self._log(proto.name, metrics, f'{len(qf)} query, {len(gf)} gallery'
                  + pooled)
        if self.rank_list_dir:
            written = write_rank_lists(
                dist, q_paths, g_paths, query['pid'], gallery['pid'],
                query['camid'], gallery['camid'], self.rank_list_dir,
                topk=self.rank_list_topk, num_worst=self.rank_list_num,
                num_best=self.rank_list_num)
            print_log(f'ReIDMetric: wrote {len(written)} rank lists to '
                      f'{self.rank_list_dir}', logger='current')
        return metrics

    def _log(self, protocol, metrics, sizes):
        lines = [f'ReIDMetric [{protocol}] {sizes}']
        lines += [f'  {k:<14s} {v:6.2f}' for k, v in metrics.items()]
        print_log('\n'.join(lines), logger='current')
