"""``ReIDMetric``: mmengine metric that ranks query against gallery."""
from __future__ import annotations

from typing import Any, Dict, List, Optional, Sequence

import numpy as np
import torch
from mmengine.evaluator import BaseMetric
from mmengine.logging import print_log

from ..registry import METRICS
from .distance import compute_distance
from .protocols import PROTOCOLS, rank, settings_of
from .rerankers import apply_rerankers
from .visualize import write_rank_lists

_INT_KEYS = ('pid', 'camid', 'clothes_id', 'modality', 'track_id')
_CROSS_MODAL = {'sysu_all': 1, 'sysu_indoor': 1, 'llcm_v2i': 0, 'llcm_i2v': 1}


def _get(sample: Any, key: str, default=None):
    if isinstance(sample, dict):
        return sample.get(key, default)
    return getattr(sample, key, default)


def _check_protocol(protocol) -> str:
    if protocol not in PROTOCOLS:
        raise ValueError(f'ReIDMetric: unknown protocol {protocol!r}; '
                         f'expected one of {PROTOCOLS}')
    return protocol


def _to_int(value, key: str) -> int:
    if isinstance(value, torch.Tensor):
        if value.numel() != 1:
            raise ValueError(f'data sample key {key!r} must be a single int, '
                             f'got a tensor of shape {tuple(value.shape)}')
        value = value.item()
    return int(value)


@METRICS.register_module()
class ReIDMetric(BaseMetric):
    """Re-ID retrieval metric: CMC (R1/R5/R10/R20), mAP and mINP in percent.

    Collects ``feat`` and the labels of every predicted sample (mmengine's
    Evaluator gathers them from all ranks and drops the sampler's padding),
    splits query from gallery by ``split``, computes distances, runs the
    re-ranker chain and calls :func:`reidkit.evaluation.rank`.

    Protocols with several settings report each under a prefix (PRCC ``sc/``,
    ``cc/``; LTCC / VC-Clothes / CCVID ``general/``, ``sc/``, ``cc/``).
    SYSU-MM01 and LLCM pick query and gallery by ``modality`` (SYSU: infrared
    queries; LLCM ``llcm_v2i``: visible queries) and average 10 trials;
    VehicleID ranks the whole test list against itself over 10 repeats.

    Args:
        protocol (str, optional): a :data:`reidkit.evaluation.PROTOCOLS`
            name; ``None`` takes ``protocol`` from the dataset's metainfo
            (mmengine sets ``dataset_meta``), else ``'market'``.
        dist_metric (str): 'euclidean', 'sqeuclidean' or 'cosine'.
        norm_feat (bool): L2-normalise features first. Default True.
        rerankers (list[dict]): RERANKERS configs applied in order.
        rerank_meta (dict): extra keyword arguments for the re-rankers
            (e.g. ``track_file``); gallery image paths are passed as
            ``g_names`` automatically.
        max_rank (int): CMC length. Default 50.
        memory_mb (float): working-set budget for the distance blocks.
        device: torch device for distances (default CPU).
        rank_list_dir (str, optional): if set, rank-list images of the
            ``rank_list_num`` worst and best queries (top ``rank_list_topk``)
            are written there after every evaluation
            (:func:`reidkit.evaluation.write_rank_lists`).
        collect_device, prefix: as in ``BaseMetric``.
        **protocol_kwargs: passed to :func:`rank` (``seeds``, ``num_repeats``,
            ``seed``).

    Example:
        >>> val_evaluator = dict(type='ReIDMetric', protocol='market',
        ...                      dist_metric='cosine',
        ...                      rerankers=[dict(type='KReciprocalReranker')])
    """

    default_prefix: Optional[str] = ''  # keys stay "mAP", "R1", ...; no warning

    def __init__(self, protocol: Optional[str] = 'market',
                 dist_metric: str = 'euclidean',
                 norm_feat: bool = True, rerankers: Optional[List[dict]] = None,
                 rerank_meta: Optional[dict] = None, max_rank: int = 50,
                 memory_mb: float = 1024, device=None,
                 rank_list_dir: Optional[str] = None, rank_list_topk: int = 10,
                 rank_list_num: int = 10,
                 collect_device: str = 'cpu', prefix: Optional[str] = None,
                 **protocol_kwargs):
        super().__init__(collect_device=collect_device, prefix=prefix)
        if protocol is not None:
            _check_protocol(protocol)
        if dist_metric not in ('euclidean', 'sqeuclidean', 'cosine'):
            raise ValueError(f"ReIDMetric: dist_metric must be 'euclidean', "
                             f"'sqeuclidean' or 'cosine', got {dist_metric!r}")
        self.protocol = protocol
        self.dist_metric = dist_metric
        self.norm_feat = norm_feat
        self.rerankers = list(rerankers or [])
        self.rerank_meta = dict(rerank_meta or {})
        self.max_rank = int(max_rank)
        self.memory_mb = memory_mb
        self.device = device
        self.protocol_kwargs = protocol_kwargs
        self.rank_list_dir = rank_list_dir
        self.rank_list_topk = int(rank_list_topk)
        self.rank_list_num = int(rank_list_num)

    @property
    def active_protocol(self) -> str:
        """The protocol in use: the argument, else the dataset's metainfo."""
        if self.protocol is not None:
            return self.protocol
        meta = self.dataset_meta or {}
        return _check_protocol(meta.get('protocol', 'market'))

    # ------------------------------------------------------------------
    def process(self, data_batch: Any, data_samples: Sequence) -> None:
        for sample in data_samples:
            feat = _get(sample, 'feat')
            if feat is None:
                raise KeyError('ReIDMetric: a predicted sample has no "feat" '
                               '(the model must return feat in predict mode)')
            feat = torch.as_tensor(feat).detach().float().reshape(-1).cpu()
            split = _get(sample, 'split')
            if split not in ('query', 'gallery'):
                raise ValueError(f'ReIDMetric: data sample "split" must be '
                                 f'"query" or "gallery", got {split!r}')
            item = dict(feat=feat, split=split, img_path=str(_get(sample, 'img_path', '')))
            for key in _INT_KEYS:
                value = _get(sample, key, -1 if key != 'modality' else 0)
                if value is None:
                    if key == 'pid' or key == 'camid':
                        raise KeyError(f'ReIDMetric: data sample has no {key!r}')
                    value = -1
                item[key] = _to_int(value, key)
            self.results.append(item)

    # ------------------------------------------------------------------
    def _select(self, results, protocol):
        """Query and gallery index lists for this protocol."""
        if protocol == 'vehicleid':
            everything = list(range(len(results)))
            return everything, everything
        if protocol in _CROSS_MODAL:
            q_mod = _CROSS_MODAL[protocol]
            modal = np.array([r['modality'] for r in results])
            if (modal == q_mod).any() and (modal != q_mod).any():
                return (np.nonzero(modal == q_mod)[0].tolist(),
                        np.nonzero(modal != q_mod)[0].tolist())
        query = [i for i, r in enumerate(results) if r['split'] == 'query']
        gallery = [i for i, r in enumerate(results) if r['split'] == 'gallery']
        return query, gallery

    def compute_metrics(self, results: list) -> Dict[str, float]:
        if not results:
            raise ValueError('ReIDMetric: no predictions were collected')
        protocol = self.active_protocol
        q_idx, g_idx = self._select(results, protocol)
        if not q_idx or not g_idx:
            raise ValueError(f'ReIDMetric: {len(q_idx)} query and {len(g_idx)} '
                             f'gallery samples; both must be non-empty '
                             f'(check the "split" of the test dataset)')
        feats = torch.stack([r['feat'] for r in results])
        if self.norm_feat:
            feats = torch.nn.functional.normalize(feats, dim=1)
        qf, gf = feats[q_idx], feats[g_idx]

        def column(key, idx):
            return np.array([results[i][key] for i in idx])

        q_paths = [results[i]['img_path'] for i in q_idx]
        g_paths = [results[i]['img_path'] for i in g_idx]
        dist = compute_distance(qf, gf, self.dist_metric, device=self.device,
                                memory_mb=self.memory_mb)
        if self.rerankers:
            meta = dict(g_names=g_paths, q_names=q_paths)
            meta.update(self.rerank_meta)
            dist = apply_rerankers(self.rerankers, qf, gf, dist, **meta)

        meta = dict(q_clothes=column('clothes_id', q_idx),
                    g_clothes=column('clothes_id', g_idx),
                    q_modalities=column('modality', q_idx),
                    g_modalities=column('modality', g_idx))
        if protocol in _CROSS_MODAL and all(g_paths):
            meta['g_paths'] = g_paths
        meta.update(self.protocol_kwargs)
        args = (dist, column('pid', q_idx), column('pid', g_idx),
                column('camid', q_idx), column('camid', g_idx))
        metrics: Dict[str, float] = {}
        for mode in settings_of(protocol):
            kwargs = dict(meta)
            if mode is not None:
                kwargs['mode'] = mode
            res = rank(*args, protocol=protocol, max_rank=self.max_rank,
                       **kwargs)
            head = f'{mode}/' if mode is not None else ''
            metrics[f'{head}mAP'] = 100.0 * res['mAP']
            metrics[f'{head}mINP'] = 100.0 * res['mINP']
            for k in (1, 5, 10, 20):
                if k <= self.max_rank:
                    metrics[f'{head}R{k}'] = 100.0 * float(res['cmc'][k - 1])
        self._log(protocol, metrics, len(q_idx), len(g_idx))
        if self.rank_list_dir:
            written = write_rank_lists(
                dist, q_paths, g_paths, *args[1:], self.rank_list_dir,
                topk=self.rank_list_topk, num_worst=self.rank_list_num,
                num_best=self.rank_list_num)
            print_log(f'ReIDMetric: wrote {len(written)} rank lists to '
                      f'{self.rank_list_dir}', logger='current')
        return metrics

    def _log(self, protocol, metrics, num_q, num_g):
        lines = [f'ReIDMetric [{protocol}] {num_q} query, {num_g} gallery']
        lines += [f'  {k:<14s} {v:6.2f}' for k, v in metrics.items()]
        print_log('\n'.join(lines), logger='current')
