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
from typing import Any, Dict, List, Optional, Sequence

import numpy as np
import torch

from reidkit.evaluation import rank
from reidkit.evaluation.distance import compute_distance
from reidkit.models.data_preprocessor import uncollate
from reidkit.registry import DATASETS, STAGES
from reidkit.stages import Stage, TrainStage, merge_overrides
from reidkit.stages.base import (StageConfigError, any_overlap,
                                 atomic_write_text, plain)
from reidkit.stages.builtin import TestStage, unique_run_name
from reidkit.utils.cli import ReIDInputError

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
               lambda_value: float = 0.5, protocol: str = 'cityflow',
               use_tracks: bool = True):
    """The chain's rows (see :class:`PostProcessStage`) from loaded feature
    files (the first of ``data`` is the single model). Without tracks (none
    in the files, or ``use_tracks=False``) there is no ``+ tracklet`` row
    and the ensemble is the mean of the re-ranked distances, not grouped.
    Returns ``(rows, ensemble distance, final distance)``."""
    main = next(iter(data.values()))
    tracks = tracks_of(main.get('g_track_ids', np.full(
        len(main['g_names']), -1))) if use_tracks else []
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
    if tracks:
        rows['+ tracklet'] = _score(grouped(per_model[0]), main, protocol)
    ensemble = sum(per_model) / len(per_model)
    final = grouped(ensemble) if tracks else ensemble
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
    distances, then grouped by track). Without tracks (VeRi-776's usual
    protocol: ``use_tracks=False``; or gallery images in no track) the
    ``+ tracklet`` row is left out and the ensemble is not grouped. Writes
    ``out_file`` (JSON: one row of mAP / R1 / R5 / R10 per step) and
    ``<out_file stem>_dist.npz`` (the final distances with the image lists).

    Args:
        features (dict): ``{model name: saved features file}``; the first
            is the single model of the first rows.
        aux (dict): ``{'orientation': file, 'camera': file}`` (saved
            features of the auxiliary models on the same images).
        out_file (str): the metrics JSON.
        weights (dict): weights of the aux distances. Defaults to 0.1 each.
        k1, k2, lambda_value: defaults 50, 15, 0.5 (their test script).
        protocol (str): evaluation protocol. Defaults to ``'cityflow'``.
        use_tracks (bool): use the gallery's tracks (tracklet averaging and
            the rank list grouped by track). Defaults to True.
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
                 protocol: str = 'cityflow', use_tracks: bool = True,
                 **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.use_tracks = bool(use_tracks)
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
                    weights=self.weights, protocol=self.protocol,
                    use_tracks=self.use_tracks, **self.rr)

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
            data, aux, self.weights, protocol=self.protocol,
            use_tracks=self.use_tracks, **self.rr)
        save_arrays(self.dist_file(), dist=ensemble, ranked=final,
                    q_names=main['q_names'], g_names=main['g_names'])
        atomic_write_text(self.out_file, json.dumps(
            dict(rows=rows, models=list(data), aux=list(aux),
                 features=self.features, weights=self.weights,
                 use_tracks=self.use_tracks, **self.rr),
            indent=1))
        return rows


class MissingInputsError(ReIDInputError, FileNotFoundError):
    """Data folders or weights files that the experiment's stages read are
    missing (the message lists each with what belongs there)."""


def _walk(node: Any, found: Dict[str, list], key: str = '') -> None:
    """Collect ``pretrained`` paths and dataset ``data_root`` folders."""
    if isinstance(node, dict):
        if isinstance(node.get('data_root'), str) and 'type' in node:
            found['data'].append((node['data_root'], str(node['type'])))
        for k, v in node.items():
            _walk(v, found, str(k))
    elif isinstance(node, (list, tuple)):
        for v in node:
            _walk(v, found, key)
    elif key == 'pretrained' and isinstance(node, str) and node and \
            node != 'timm' and not node.startswith('hf-hub:'):
        found['weights'].append(node)


def _layout(dataset_type: str) -> str:
    try:
        cls = DATASETS.get(dataset_type)
    except Exception:  # noqa: BLE001  an unknown type fails in its stage
        cls = None
    layout = getattr(cls, 'LAYOUT', '') if cls is not None else ''
    text = f'the {dataset_type} dataset'
    if layout.strip():
        text += ', laid out as:\n' + '\n'.join(
            '      ' + line.strip() for line in layout.strip().splitlines())
    return text


@STAGES.register_module()
class CheckInputsStage(Stage):
    """Check, before any training, that every input the stages read exists.

    The strong vehicle pipeline trains five models before it post-processes;
    a missing weights file of the third backbone would otherwise stop it
    hours in. This stage looks at every other stage of the experiment: the
    paths its inputs name (its dataloaders' data roots, a train stage's
    ``load_from``...) and, for the stages that build a model (train, test,
    features), each local ``pretrained`` file in its model config. Paths
    that a stage of the experiment makes are left out. It is complete when
    nothing is missing (so the plan skips it); otherwise running it raises
    :class:`MissingInputsError` naming each missing path, the stages that
    read it and what belongs there: the text ``notes`` gives for it (e.g.
    which IBN-Net release file), or for a dataset's ``data_root`` the
    dataset class and its expected layout. ``tools/train.py`` prints that
    one message and exits with code 2.

    Args:
        notes (list): ``[(path, what belongs there), ...]``.
        **kwargs: name, cfg, work_dir, depends_on.

    Example:
        >>> stages = [dict(name='check', type='CheckInputsStage',
        ...                notes=[('${x101_weights}', 'resnext101_ibn_a-'
        ...                        '6ace051d.pth (IBN-Net v1.0 release)')]),
        ...           dict(name='train', type='TrainStage')]
    """

    kind = 'check'

    def __init__(self, notes: Sequence = (), **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.notes = {osp.normpath(str(p)): str(what)
                      for p, what in (notes or ()) if p}

    def inputs(self) -> List[str]:
        return []

    def describe(self) -> str:
        return 'nothing (checks the inputs of the other stages)'

    def missing(self) -> List[tuple]:
        """``[(path, what belongs there, [stage names])]`` of the missing
        inputs, in stage order."""
        others = [s for s in self.others.values() if s is not self]
        made = [p for s in others for p in s.outputs()]
        reads: Dict[str, List[str]] = {}
        what: Dict[str, str] = {}
        for stage in others:
            found: Dict[str, list] = dict(data=[], weights=[])
            if isinstance(stage, TrainStage):
                _walk(plain(merge_overrides(stage.cfg, stage.overrides)
                            .get('model')), found)
            elif isinstance(stage, TestStage):
                _walk(plain(stage.merged_cfg().get('model')), found)
            _walk(plain(stage.spec), found)
            for root, dataset_type in found['data']:
                what.setdefault(osp.normpath(root), _layout(dataset_type))
            for path in list(stage.inputs()) + found['weights'] + \
                    [root for root, _ in found['data']]:
                if osp.exists(path) or any_overlap([path], made):
                    continue
                names = reads.setdefault(osp.normpath(path), [])
                if stage.name not in names:
                    names.append(stage.name)
        return [(p, self.notes.get(p) or what.get(p)
                 or 'a file or folder the stage reads', names)
                for p, names in reads.items()]

    def is_complete(self) -> bool:
        return not self.missing()

    def run(self) -> dict:
        missing = self.missing()
        if missing:
            lines = [f"stage '{self.name}': {len(missing)} input(s) of this "
                     'experiment are missing (no stage was run):']
            for path, what, names in missing:
                lines.append(f"  {path}  (read by {', '.join(names)}): "
                             f'{what}')
            raise MissingInputsError('\n'.join(lines))
        return dict(checked=True)


__all__ = ['SaveFeaturesStage', 'PostProcessStage', 'CheckInputsStage',
           'MissingInputsError', 'tracks_of', 'extract_features',
           'chain_rows']
