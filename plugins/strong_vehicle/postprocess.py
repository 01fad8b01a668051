"""Post-processing of the strong vehicle baseline on saved features.

The authors' chain (``lib/utils/post_process.py``, ``lib/utils/reid_eval.py``,
``tools/aicity20/*`` of cybercore-co-ltd/track2_aicity_2021), step by step:

1. features: flip test (mean of the image's and its mirror's feature),
   L2-normalised (``FEAT_NORM: 'yes'``), saved with the query/gallery lists
   (:func:`save_features`);
2. tracklet averaging of the gallery (off in their shipped scripts): each
   image of a track becomes ``sum_k f_k / (||f_i - f_k||^2 + 0.01)`` over
   its track, then every gallery feature is L2-normalised
   (:func:`weighted_track_average`);
3. k-reciprocal re-ranking on the full ``(Q+G)^2`` squared Euclidean
   matrix, with ``0.1 D_o + 0.1 D_c`` (the orientation and camera models'
   ``(Q+G)^2`` squared distances) subtracted *before* the per-column max
   normalisation, so they change the neighbour sets as well as the
   original-distance term; k1 50, k2 15, lambda 0.5
   (:class:`OrientationCameraKReciprocal`);
4. ensemble: the plain mean of several backbones' re-ranked distances
   (reidkit's ``DistanceEnsemble`` with no weights);
5. the rank list grouped by track: walking the ranking, the first image of
   a track brings the whole track (:func:`group_by_track`,
   :class:`TrackGroupedRanking`).

The k-reciprocal step is reidkit's :func:`k_reciprocal_distance` (its
``adjust`` term is subtracted before the normalisation, as the authors do).
"""
from __future__ import annotations

import os
import os.path as osp
from typing import Callable, Dict, List, Optional, Sequence

import numpy as np
import torch

from reidkit.datasets.base import LayoutError
from reidkit.evaluation.distance import as_features
from reidkit.evaluation.rerankers.common import base_distance
from reidkit.evaluation.rerankers.k_reciprocal import k_reciprocal_distance
from reidkit.registry import RERANKERS


class FeatureFileError(LayoutError):
    """A saved features / distances file lacks a key or has a wrong shape."""


FEATURE_KEYS = ('q_feats', 'g_feats', 'q_names', 'g_names')
LABEL_KEYS = ('q_pids', 'g_pids', 'q_camids', 'g_camids', 'q_track_ids',
              'g_track_ids')


def save_arrays(path: str, **arrays) -> str:
    """Write named arrays to ``path`` (``.npz``), atomically (kill-safe)."""
    os.makedirs(osp.dirname(osp.abspath(path)), exist_ok=True)
    tmp = f'{path}.tmp.npz'
    np.savez(tmp, **{k: np.asarray(v) for k, v in arrays.items()})
    os.replace(tmp, path)
    return path


def save_features(path: str, q_feats, g_feats, q_names: Sequence[str],
                  g_names: Sequence[str], **labels) -> str:
    """Save one model's query and gallery features with the image lists.

    Args:
        path (str): output ``.npz``.
        q_feats, g_feats: ``(Q, D)`` and ``(G, D)`` features.
        q_names, g_names: image names (or paths) in the same order.
        **labels: optional ``q_pids``, ``g_pids``, ``q_camids``, ``g_camids``.

    Example:
        >>> save_features('work/r50/feats.npz', qf, gf, q_names, g_names,
        ...               q_pids=qp, g_pids=gp, q_camids=qc, g_camids=gc)
    """
    qf = as_features(q_feats, 'q_feats').float().cpu().numpy()
    gf = as_features(g_feats, 'g_feats').float().cpu().numpy()
    if len(qf) != len(q_names) or len(gf) != len(g_names):
        raise ValueError(f'{len(qf)} query / {len(gf)} gallery features for '
                         f'{len(q_names)} / {len(g_names)} names')
    unknown = set(labels) - set(LABEL_KEYS)
    if unknown:
        raise ValueError(f'save_features: unknown arrays {sorted(unknown)}; '
                         f'allowed {LABEL_KEYS}')
    return save_arrays(path, q_feats=qf, g_feats=gf,
                       q_names=np.asarray([str(n) for n in q_names]),
                       g_names=np.asarray([str(n) for n in g_names]),
                       **labels)


def load_arrays(path: str, required: Sequence[str]) -> Dict[str, np.ndarray]:
    """Read a file written by :func:`save_arrays`, checking ``required``."""
    if not osp.isfile(path):
        raise FileNotFoundError(f'saved features/distances not found: {path}')
    try:
        with np.load(path, allow_pickle=False) as f:
            out = {k: f[k] for k in f.files}
    except (ValueError, OSError) as exc:
        raise FeatureFileError(f'{path}: not an .npz file ({exc})') from exc
    missing = [k for k in required if k not in out]
    if missing:
        raise FeatureFileError(f'{path}: missing {missing}; expected keys '
                               f'{list(required)} (see save_features)')
    return out


def load_features(path: str) -> Dict[str, np.ndarray]:
    """Read :func:`save_features` output; shapes and lists checked."""
    data = load_arrays(path, FEATURE_KEYS)
    for side in ('q', 'g'):
        f, n = data[f'{side}_feats'], data[f'{side}_names']
        if f.ndim != 2 or len(f) != len(n):
            raise FeatureFileError(f'{path}: {side}_feats has shape {f.shape}'
                                   f' for {len(n)} {side}_names; expected '
                                   f'({len(n)}, D)')
    if data['q_feats'].shape[1] != data['g_feats'].shape[1]:
        raise FeatureFileError(f'{path}: query and gallery feature sizes '
                               'differ')
    return data


def check_same_lists(a: Dict, b: Dict, what: str) -> None:
    """Two saved files must describe the same query and gallery, in order."""
    for key in ('q_names', 'g_names'):
        if a[key].shape != b[key].shape or not np.array_equal(a[key], b[key]):
            raise FeatureFileError(f'{what}: {key} differ from the main '
                                   "model's (same images, same order needed)")


# ---------------------------------------------------------------- features
def flip_average(forward: Callable[[torch.Tensor], torch.Tensor],
                 images: torch.Tensor) -> torch.Tensor:
    """Flip test: ``(f(x) + f(mirror x)) / 2`` on a ``(B, C, H, W)`` batch."""
    return (forward(images) + forward(images.flip(dims=[3]))) / 2


def full_sq_distance(q_feats, g_feats) -> np.ndarray:
    """Squared Euclidean distances of all ``Q + G`` items, ``(N, N)``."""
    x = torch.cat([as_features(q_feats, 'q_feats').double().cpu(),
                   as_features(g_feats, 'g_feats').double().cpu()])
    sq = (x * x).sum(1)
    return (sq[:, None] + sq[None, :] - 2.0 * x @ x.T).numpy()


def weighted_track_average(g_feats, tracks: Sequence[Sequence[int]],
                           eps: float = 0.01) -> torch.Tensor:
    """Gallery features averaged within tracks, weighted by closeness.

    Image ``i`` of a track ``T`` becomes ``sum_{k in T} f_k /
    (||f_i - f_k||^2 + eps)`` (itself weighted ``1 / eps``); then every
    gallery feature, in a track or not, is L2-normalised (the authors'
    ``track_aug``; their per-image mean differs by ``1/|T|``, which the
    normalisation removes).

    Args:
        g_feats: ``(G, D)`` gallery features.
        tracks: lists of gallery indices, one per track.
        eps (float): the ``0.01`` of the weights.
    """
    gf = as_features(g_feats, 'g_feats').float().cpu()
    out = gf.clone()
    for track in tracks:
        idx = torch.as_tensor(list(track), dtype=torch.long)
        if idx.numel() == 0:
            continue
        if int(idx.min()) < 0 or int(idx.max()) >= len(gf):
            raise ValueError(f'track index outside the gallery (size '
                             f'{len(gf)}): {list(track)}')
        f = gf[idx]
        d = torch.cdist(f.double(), f.double()).pow(2)
        out[idx] = ((1.0 / (d + eps)) @ f.double()).float()
    return torch.nn.functional.normalize(out, dim=1)


# --------------------------------------------------------- k-reciprocal
def _aux_source(name, value):
    """An auxiliary model's distance from meta: ``(N, N)`` matrix, a pair
    ``(q_feats, g_feats)`` or a saved features file. Returns ``(N, fn)``
    with ``fn(rows, cols)`` the block of squared distances (features are
    never expanded into the whole ``(N, N)`` matrix)."""
    if isinstance(value, (str, os.PathLike)):
        data = load_features(str(value))
        value = (data['q_feats'], data['g_feats'])
    if isinstance(value, (tuple, list)):
        if len(value) != 2:
            raise ValueError(f'aux[{name!r}] must be an (N, N) matrix, a pair '
                             '(q_feats, g_feats) or a saved features file')
        x = torch.cat([as_features(value[0], 'aux q_feats').double().cpu(),
                       as_features(value[1], 'aux g_feats').double().cpu()])
        sq = (x * x).sum(1)

        def block(rows, cols):
            r, c = torch.as_tensor(rows), torch.as_tensor(cols)
            return (sq[r, None] + sq[None, c] - 2.0 * x[r] @ x[c].T).numpy()
        return len(x), block
    mat = np.asarray(value.detach().cpu() if isinstance(value, torch.Tensor)
                     else value, dtype=np.float64)
    if mat.ndim != 2 or mat.shape[0] != mat.shape[1]:
        raise ValueError(f'aux[{name!r}] must be square (N, N), got '
                         f'{mat.shape}')
    return len(mat), lambda rows, cols: mat[np.ix_(rows, cols)]


@RERANKERS.register_module()
class OrientationCameraKReciprocal:
    """The authors' re-ranking: k-reciprocal on ``D_v - sum w D_aux``.

    ``D_v`` is the full ``(Q+G)^2`` squared Euclidean distance of the
    (optionally tracklet-averaged) features; the auxiliary distances come
    in ``meta['aux']`` as ``{name: (N, N) matrix | (q_feats, g_feats) |
    'saved_features.npz'}`` (features: squared Euclidean, as their
    ``compute_distmat_from_feats.py``). The incoming ``dist`` is not used.

    Args:
        k1, k2, lambda_value: default 50, 15, 0.5 (their ``test.sh``).
        weights (dict): ``{name: w}``; default orientation 0.1, camera 0.1;
            ``{}`` = plain k-reciprocal on the full matrix.
        track_average (bool): apply :func:`weighted_track_average` to the
            gallery first, with ``meta['tracks']`` (gallery index lists).

    Example:
        >>> rr = OrientationCameraKReciprocal()
        >>> d = rr(qf, gf, aux=dict(orientation=(qf_o, gf_o),
        ...                        camera=(qf_c, gf_c)))
    """

    def __init__(self, k1: int = 50, k2: int = 15, lambda_value: float = 0.5,
                 weights: Optional[Dict[str, float]] = None,
                 track_average: bool = False) -> None:
        self.k1, self.k2, self.lambda_value = k1, k2, lambda_value
        self.weights = dict(weights) if weights is not None else {
            'orientation': 0.1, 'camera': 0.1}
        self.track_average = track_average

    discards_incoming_dist = True
    chain_hint = 'put OrientationCameraKReciprocal first in the chain'

    def __call__(self, q_feats, g_feats, dist=None, aux=None, tracks=None,
                 **meta) -> np.ndarray:
        if self.track_average:
            if tracks is None:
                raise KeyError('OrientationCameraKReciprocal(track_average='
                               'True) needs meta["tracks"]')
            g_feats = weighted_track_average(g_feats, tracks)
        aux = aux or {}
        parts = []
        num = len(q_feats) + len(g_feats)
        for name, w in self.weights.items():
            if name not in aux:
                raise KeyError(f'OrientationCameraKReciprocal needs '
                               f'meta["aux"][{name!r}] (have {sorted(aux)})')
            n, block = _aux_source(name, aux[name])
            if n != num:
                raise ValueError(f'aux[{name!r}] covers {n} images, expected '
                                 f'{num} (query + gallery, same order)')
            parts.append((float(w), block))

        def adjust(rows, cols):
            return sum(w * block(rows, cols) for w, block in parts)
        return k_reciprocal_distance(
            q_feats, g_feats, adjust=adjust if parts else None, k1=self.k1,
            k2=self.k2, lambda_value=self.lambda_value)


# ------------------------------------------------------------- tracks
def group_by_track(indices, tracks: Sequence[Sequence[int]]) -> np.ndarray:
    """Rank lists regrouped by track.

    Walking each query's ranking, the first image of a track brings all
    the track's gallery images (in track order); later images of that
    track are skipped. Gallery images in no track stay where they rank.

    Args:
        indices: ``(Q, G)`` gallery indices, best first.
        tracks: lists of gallery indices.
    """
    indices = np.asarray(indices)
    num_g = indices.shape[1]
    track_of = np.full(num_g, -1, np.int64)
    groups: List[List[int]] = []
    for t in tracks:
        members = [int(i) for i in t]
        if any(not 0 <= i < num_g for i in members):
            raise ValueError(f'track index outside the gallery (size {num_g})')
        track_of[members] = len(groups)
        groups.append(members)
    for i in np.nonzero(track_of < 0)[0]:
        track_of[i] = len(groups)
        groups.append([int(i)])
    out = np.empty_like(indices)
    for q in range(indices.shape[0]):
        order = track_of[indices[q]]
        _, first = np.unique(order, return_index=True)
        seq = [groups[t] for t in order[np.sort(first)]]
        out[q] = np.concatenate(seq)
    return out


def ranks_to_distance(indices) -> np.ndarray:
    """A ``(Q, G)`` distance whose ascending order is ``indices`` (the
    rank position), so a regrouped ranking can be evaluated as distances."""
    indices = np.asarray(indices)
    dist = np.empty(indices.shape, np.float32)
    rows = np.arange(indices.shape[0])[:, None]
    dist[rows, indices] = np.arange(indices.shape[1], dtype=np.float32)
    return dist


@RERANKERS.register_module()
class TrackGroupedRanking:
    """Re-ranker that regroups the incoming distance's ranking by track
    (:func:`group_by_track`) and returns rank positions as distances.
    Tracks come from ``meta['tracks']`` (gallery index lists).

    Example:
        >>> d = TrackGroupedRanking()(qf, gf, dist=d, tracks=[[0, 3], [1]])
    """

    def __call__(self, q_feats, g_feats, dist=None, tracks=None, **meta
                 ) -> np.ndarray:
        if tracks is None:
            raise KeyError('TrackGroupedRanking needs meta["tracks"]')
        d = base_distance(q_feats, g_feats, dist, 'euclidean')
        order = np.argsort(d, axis=1, kind='stable')
        return ranks_to_distance(group_by_track(order, tracks))


__all__ = ['FeatureFileError', 'save_arrays', 'save_features', 'load_arrays',
           'load_features', 'check_same_lists', 'flip_average',
           'full_sq_distance', 'weighted_track_average',
           'OrientationCameraKReciprocal', 'group_by_track',
           'ranks_to_distance', 'TrackGroupedRanking']
