"""Tracklet-level feature averaging (VeRi-776 / CityFlow ``test_track.txt``)."""
from __future__ import annotations

import os.path as osp
from typing import List, Optional, Sequence

import numpy as np
import scipy.sparse as sp
import torch

from ...registry import RERANKERS
from ..distance import METRICS, as_features, compute_distance


def parse_track_file(track_file: str, g_names: Sequence[str]) -> List[List[int]]:
    """Gallery index groups from a track file.

    Each non-empty line lists the image names of one tracklet separated by
    white space (VeRi-776 ``test_track.txt`` repeats the first name as the
    line's key; CityFlowV2 lists the names only). Names are matched to the
    base names of ``g_names``; names not in the gallery are skipped.

    Raises:
        FileNotFoundError: the track file is missing.
        ValueError: no line names a gallery image.
    """
    if not osp.isfile(track_file):
        raise FileNotFoundError(f'track file not found: {track_file}')
    where = {osp.basename(str(n)): i for i, n in enumerate(g_names)}
    groups = []
    with open(track_file) as f:
        for line in f:
            members = []
            for name in line.split():
                i = where.get(osp.basename(name))
                if i is not None and i not in members:
                    members.append(i)
            if members:
                groups.append(members)
    if not groups:
        raise ValueError(f'{track_file}: no line names an image of the gallery '
                         f'(expected white-space separated image names)')
    return groups


@RERANKERS.register_module()
class TrackletAveraging:
    """Replace every gallery image by the average over its tracklet.

    ``on='feature'``: each gallery feature becomes the mean of the features of
    its tracklet (or of the ``window`` tracklet members nearest to it in the
    track order, "a subset of consecutive frames"), then distances are
    recomputed with ``metric``. ``on='distance'``: each gallery column of the
    incoming ``dist`` becomes the mean of its tracklet's columns (usable after
    any other re-ranker).

    Tracklets come from ``meta``: ``tracks`` (list of lists of gallery indices)
    or ``track_file`` plus ``g_names`` (gallery image names or paths).

    Args:
        on (str): 'feature' or 'distance'. Default 'feature'.
        window (int, optional): consecutive members averaged per image
            (None = the whole tracklet).
        metric (str): distance for ``on='feature'``. Default 'euclidean'.
        normalize (bool): L2-normalise features before averaging.

    Example:
        >>> ta = RERANKERS.build(dict(type='TrackletAveraging'))
        >>> d = ta(qf, gf, tracks=[[0, 1, 2], [3, 4]])
    """

    def __init__(self, on: str = 'feature', window: Optional[int] = None,
                 metric: str = 'euclidean', normalize: bool = False):
        if on not in ('feature', 'distance'):
            raise ValueError(f"on must be 'feature' or 'distance', got {on!r}")
        if window is not None and window < 1:
            raise ValueError(f'window must be >= 1, got {window}')
        if metric not in METRICS:
            raise ValueError(f'metric must be one of {METRICS}, got {metric!r}')
        self.on, self.window, self.metric = on, window, metric
        self.normalize = normalize

    @property
    def discards_incoming_dist(self) -> bool:
        """``on='feature'`` recomputes distances from averaged features."""
        return self.on == 'feature'

    chain_hint = "use on='distance' to average the incoming distance"

    def _groups(self, num_g, tracks, track_file, g_names):
        if tracks is None:
            if track_file is None or g_names is None:
                raise KeyError('TrackletAveraging needs meta["tracks"] or '
                               'meta["track_file"] with meta["g_names"]')
            tracks = parse_track_file(track_file, g_names)
        for t in tracks:
            for i in t:
                if not 0 <= int(i) < num_g:
                    raise ValueError(f'track index {i} outside the gallery '
                                     f'(size {num_g})')
        return [list(map(int, t)) for t in tracks]

    def _mixing(self, num_g, groups) -> sp.csr_matrix:
        """Sparse ``(G, G)`` averaging matrix: row j = weights of j's members."""
        rows, cols, vals = [], [], []
        covered = np.zeros(num_g, bool)
        for t in groups:
            n = len(t)
            for p, j in enumerate(t):
                if self.window is None or self.window >= n:
                    members = t
                else:
                    lo = min(max(0, p - self.window // 2), n - self.window)
                    members = t[lo:lo + self.window]
                rows += [j] * len(members)
                cols += members
                vals += [1.0 / len(members)] * len(members)
                covered[j] = True
        for j in np.nonzero(~covered)[0]:
            rows.append(int(j))
            cols.append(int(j))
            vals.append(1.0)
        return sp.csr_matrix((np.asarray(vals, np.float32), (rows, cols)),
                             shape=(num_g, num_g))

    def __call__(self, q_feats, g_feats, dist=None, tracks=None, track_file=None,
                 g_names=None, **meta) -> np.ndarray:
        num_g = len(g_feats)
        mix = self._mixing(num_g, self._groups(num_g, tracks, track_file, g_names))
        if self.on == 'distance':
            if dist is None:
                dist = compute_distance(q_feats, g_feats, self.metric)
            if isinstance(dist, torch.Tensor):
                dist = dist.detach().cpu().numpy()
            d = np.asarray(dist, np.float32)
            if d.shape != (len(q_feats), num_g):
                raise ValueError(f'dist must have shape {(len(q_feats), num_g)}, '
                                 f'got {d.shape}')
            return np.ascontiguousarray((mix @ d.T).T, dtype=np.float32)
        qf = as_features(q_feats, 'q_feats').float().cpu()
        gf = as_features(g_feats, 'g_feats').float().cpu()
        if self.normalize:
            qf = torch.nn.functional.normalize(qf, dim=1)
            gf = torch.nn.functional.normalize(gf, dim=1)
        g_avg = torch.from_numpy(np.asarray(mix @ gf.numpy(), np.float32))
        return compute_distance(qf, g_avg, self.metric).astype(np.float32)
