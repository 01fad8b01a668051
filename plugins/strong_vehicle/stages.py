"""Stages of the strong vehicle pipeline: save features, post-process.

``train`` stages (reidkit's ``TrainStage``, one per backbone and for the
orientation / camera models) -> :class:`SaveFeaturesStage` (each model's
flip-tested, L2-normalised query and gallery features in one ``.npz``) ->
:class:`PostProcessStage` (the authors' chain on those files, one metrics
row per step, the final distances saved).
"""
from __future__ import annotations

import json
import os.path as osp
from typing import Any, Dict, List, Optional

import numpy as np
import torch

from reidkit.evaluation import rank
from reidkit.evaluation.distance import compute_distance
from reidkit.models.data_preprocessor import uncollate
from reidkit.registry import STAGES
from reidkit.stages import Stage
from reidkit.stages.base import StageConfigError, atomic_write_text
from reidkit.stages.builtin import TestStage, unique_run_name

from .postprocess import (OrientationCameraKReciprocal, TrackGroupedRanking,
                          check_same_lists, flip_average, load_features,
                          save_arrays, save_features)


def extract_features(runner, flip: bool = True) -> Dict[str, Any]:
    """Test features of ``runner``'s model on its test dataloader, as
    :func:`save_features` arguments: flip-tested (optional), L2-normalised,
    split into query and gallery, with names, pids, cameras, track ids."""
    model = runner.model
    model.eval()
    feats, samples = [], []

    def forward(x):
        return model(x, mode='tensor').float()
    with torch.no_grad():
        for batch in runner.test_dataloader:
            data = model.data_preprocessor(batch, False)
            x = data['inputs']
            feats.append((flip_average(forward, x) if flip
                          else forward(x)).cpu())
            samples += uncollate(data['data_samples'], len(x))
    feats = torch.nn.functional.normalize(torch.cat(feats), dim=1)
    split = np.array([s['split'] for s in samples])
    q, g = split == 'query', split == 'gallery'

    def col(key, mask):
        return np.array([int(s.get(key, -1)) for s in samples])[mask]
    names = np.array([str(s['img_path']) for s in samples])
    return dict(q_feats=feats[torch.from_numpy(q)],
                g_feats=feats[torch.from_numpy(g)], q_names=names[q],
                g_names=names[g], q_pids=col('pid', q), g_pids=col('pid', g),
                q_camids=col('camid', q), g_camids=col('camid', g),
                g_track_ids=col('track_id', g))


@STAGES.register_module()
class SaveFeaturesStage(TestStage):
    """Extract a trained model's test features and save them.

    Runs the model of ``train_stage`` (its overrides and last checkpoint) on
    the config's ``test_dataloader``; with ``flip`` each feature is the mean
    of the image's and its mirror's (the authors' ``FLIP_TEST``); features
    are L2-normalised (their ``FEAT_NORM``) and written with the image
    lists, pids, cameras and track ids (:func:`save_features`). Single
    process (run it without a launcher).

    Args:
        out_file (str): the ``.npz`` to write.
        flip (bool): flip test. Defaults to True.
        train_stage, checkpoint, overrides: see ``TestStage``.

    Example:
        >>> stages = [dict(name='train_x101', type='TrainStage',
        ...                work_dir='${work_dir}/x101'),
        ...           dict(name='feats_x101', type='SaveFeaturesStage',
        ...                train_stage='train_x101',
        ...                out_file='${work_dir}/x101/feats.npz')]
    """

    kind = 'features'

    def __init__(self, out_file: str, flip: bool = True, **kwargs: Any):
        super().__init__(**kwargs)
        self.out_file = str(out_file)
        self.flip = bool(flip)

    def outputs(self) -> List[str]:
        return [self.out_file]

    def fingerprint(self) -> Any:
        fp = super().fingerprint()
        fp.update(flip=self.flip, out_file=self.out_file)
        return fp

    def run(self) -> dict:
        from mmengine.runner import Runner
        from reidkit.apis import fill_dataset_counts
        train = self._train()
        ckpt = self.checkpoint_path or (train.checkpoint() if train else None)
        if ckpt is None or not osp.isfile(ckpt):
            raise FileNotFoundError(f"stage '{self.name}': no checkpoint "
                                    f'({ckpt}); run the train stage first')
        cfg = self.merged_cfg()
        cfg.work_dir = self.work_dir
        cfg.experiment_name = unique_run_name(self)
        cfg.load_from, cfg.resume = None, False
        fill_dataset_counts(cfg)
        runner = Runner.from_cfg(cfg)
        runner.load_checkpoint(ckpt, map_location='cpu')
        feats = extract_features(runner, self.flip)
        save_features(self.out_file, **feats)
        return dict(query=len(feats['q_names']),
                    gallery=len(feats['g_names']), file=ckpt)


def tracks_of(track_ids) -> List[List[int]]:
    """Gallery index lists per track id (``-1``: in no track)."""
    groups: Dict[int, List[int]] = {}
    for i, t in enumerate(np.asarray(track_ids).tolist()):
        if t >= 0:
            groups.setdefault(int(t), []).append(i)
    return list(groups.values())


def _score(dist, main, protocol) -> Dict[str, float]:
    res = rank(dist, main['q_pids'], main['g_pids'], main['q_camids'],
               main['g_camids'], protocol=protocol)
    out = dict(mAP=100.0 * res['mAP'])
    for k in (1, 5, 10):
        out[f'R{k}'] = 100.0 * float(res['cmc'][k - 1])
    return out


def chain_rows(data: Dict[str, dict], aux: Dict[str, dict],
               weights: Dict[str, float], k1: int = 50, k2: int = 15,
               lambda_value: float = 0.5, protocol: str = 'cityflow'):
    """The chain's rows (see :class:`PostProcessStage`) from loaded feature
    files (the first of ``data`` is the single model). Returns ``(rows,
    ensemble distance, grouped-ranking distance)``."""
    main = next(iter(data.values()))
    tracks = tracks_of(main.get('g_track_ids', np.full(
        len(main['g_names']), -1)))
    aux_feats = {k: (d['q_feats'], d['g_feats']) for k, d in aux.items()}
    rr = dict(k1=k1, k2=k2, lambda_value=lambda_value)

    def rerank(d, w, track_average):
        return OrientationCameraKReciprocal(
            weights=w, track_average=track_average, **rr)(
            d['q_feats'], d['g_feats'], aux=aux_feats, tracks=tracks)

    def grouped(dist):
        return TrackGroupedRanking()(main['q_feats'], main['g_feats'],
                                     dist=dist, tracks=tracks)
    rows = {}
    dist = compute_distance(main['q_feats'], main['g_feats'])
    rows['baseline'] = _score(dist, main, protocol)
    rows['+ re-ranking'] = _score(rerank(main, {}, False), main, protocol)
    rows['+ orientation/camera'] = _score(rerank(main, weights, False), main,
                                          protocol)
    per_model = [rerank(d, weights, bool(tracks)) for d in data.values()]
    rows['+ tracklet'] = _score(grouped(per_model[0]), main, protocol)
    ensemble = sum(per_model) / len(per_model)
    final = grouped(ensemble)
    rows['+ ensemble'] = _score(final, main, protocol)
    return rows, ensemble, final


@STAGES.register_module()
class PostProcessStage(Stage):
    """The authors' post-processing chain on saved features, step by step.

    Rows (each on top of the previous): ``baseline`` (Euclidean distance of
    the first model), ``+ re-ranking`` (k-reciprocal on the full matrix),
    ``+ orientation/camera`` (their distances subtracted inside it),
    ``+ tracklet`` (weighted gallery averaging within tracks, rank lists
    grouped by track), ``+ ensemble`` (mean of every model's re-ranked
    distances, then grouped by track). Writes ``out_file`` (JSON: one row
    of mAP / R1 / R5 / R10 per step) and ``<out_file stem>_dist.npz`` (the
    final distances with the image lists).

    Args:
        features (dict): ``{model name: saved features file}``; the first
            is the single model of the first rows.
        aux (dict): ``{'orientation': file, 'camera': file}`` (saved
            features of the auxiliary models on the same images).
        out_file (str): the metrics JSON.
        weights (dict): weights of the aux distances. Defaults to 0.1 each.
        k1, k2, lambda_value: defaults 50, 15, 0.5 (their test script).
        protocol (str): evaluation protocol. Defaults to ``'cityflow'``.
        **kwargs: name, cfg, work_dir, depends_on.

    Example:
        >>> dict(name='post', type='PostProcessStage',
        ...      features=dict(x101='${work_dir}/x101/feats.npz',
        ...                    r50='${work_dir}/r50/feats.npz'),
        ...      aux=dict(orientation='${work_dir}/ori/feats.npz',
        ...               camera='${work_dir}/cam/feats.npz'),
        ...      out_file='${work_dir}/postprocess.json')
    """

    kind = 'post-process'
    ROWS = ('baseline', '+ re-ranking', '+ orientation/camera',
            '+ tracklet', '+ ensemble')

    def __init__(self, features: Dict[str, str], out_file: str,
                 aux: Optional[Dict[str, str]] = None,
                 weights: Optional[Dict[str, float]] = None, k1: int = 50,
                 k2: int = 15, lambda_value: float = 0.5,
                 protocol: str = 'cityflow', **kwargs: Any) -> None:
        super().__init__(**kwargs)
        if not features:
            raise StageConfigError(f"stage '{self.name}' (PostProcessStage) "
                                   'needs features=dict(name=file, ...)')
        self.features = {str(k): str(v) for k, v in dict(features).items()}
        self.aux = {str(k): str(v) for k, v in dict(aux or {}).items()}
        self.weights = dict(weights) if weights is not None else {
            k: 0.1 for k in self.aux}
        missing = [k for k in self.weights if k not in self.aux]
        if missing:
            raise StageConfigError(f"stage '{self.name}': weights for "
                                   f'{missing} but no aux file for them')
        self.out_file = str(out_file)
        self.rr = dict(k1=k1, k2=k2, lambda_value=lambda_value)
        self.protocol = protocol

    def inputs(self) -> List[str]:
        return list(self.features.values()) + list(self.aux.values())

    def outputs(self) -> List[str]:
        return [self.out_file, self.dist_file()]

    def dist_file(self) -> str:
        return osp.splitext(self.out_file)[0] + '_dist.npz'

    def fingerprint(self) -> Any:
        return dict(features=self.features, aux=self.aux,
                    weights=self.weights, protocol=self.protocol, **self.rr)

    def run(self) -> dict:
        data = {k: load_features(v) for k, v in self.features.items()}
        aux = {k: load_features(v) for k, v in self.aux.items()}
        main_name = next(iter(data))
        main = data[main_name]
        for what, d in list(data.items()) + list(aux.items()):
            check_same_lists(main, d, f"stage '{self.name}': {what}")
        for key in ('q_pids', 'g_pids', 'q_camids', 'g_camids'):
            if key not in main:
                raise StageConfigError(f"stage '{self.name}': {main_name}'s "
                                       f'features file has no {key}')
        rows, ensemble, final = chain_rows(
            data, aux, self.weights, protocol=self.protocol, **self.rr)
        save_arrays(self.dist_file(), dist=ensemble, ranked=final,
                    q_names=main['q_names'], g_names=main['g_names'])
        atomic_write_text(self.out_file, json.dumps(
            dict(rows=rows, models=list(data), aux=list(aux),
                 weights=self.weights, **self.rr),
            indent=1))
        return rows


__all__ = ['SaveFeaturesStage', 'PostProcessStage', 'tracks_of',
           'extract_features', 'chain_rows']
