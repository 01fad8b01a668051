"""CCVID: clothes-changing video re-ID, one sample per frame."""
from __future__ import annotations

import os.path as osp
import re
from typing import List

from reidkit.registry import DATASETS

from .base import ReIDDataset, scan_images

TRACKLET_DIR = re.compile(r'^(session\d+)/([^/_]+)_(\d+)')


@DATASETS.register_module()
class CCVID(ReIDDataset):
    """CCVID (Gu et al., CVPR 2022): 226 ids, 2,856 tracklets.

    ``{train,query,gallery}.txt`` hold ``tracklet_dir pid clothes_label``
    lines, e.g. ``session1/001_01 001 u1_l1_s1_c1_a1``; the tracklet folder
    holds the frames. As in Simple-CCReID the camera is the number after the
    ``_`` of the tracklet folder, plus 12 in ``session3``; the clothes key is
    the label within the pid. Every frame becomes one sample with
    ``track_id`` = the tracklet's line index (gallery tracklets are numbered
    after the query ones, so ids are unique within ``split='test'``). The
    ``'ccvid'`` protocol scores CAL's video setting: it pools the frame
    features of each tracklet (mean, then ReIDMetric's normalisation) and
    ranks tracklet queries against tracklet galleries (``general/``,
    ``sc/``, ``cc/``); ``tracklets=False`` would score frames instead.

    Args:
        data_root (str): CCVID root.
        split (str): 'train' | 'query' | 'gallery' | 'test'.
        frame_step (int): keep every ``frame_step``-th frame. Default 1.
        **kwargs: See :class:`ReIDDataset`.

    Example:
        >>> ds = CCVID('data/ccvid', split='train', frame_step=4)
        >>> ds[0]['track_id']
        0
    """

    PROTOCOL = 'ccvid'
    LAYOUT = """\
    train.txt  query.txt  gallery.txt   (lines 'session1/001_01 001 u1_l1_s1_c1_a1')
    session1/001_01/00001.jpg ...       (one folder of frames per tracklet)
    """

    def __init__(self, data_root: str, frame_step: int = 1, **kwargs):
        if frame_step < 1:
            raise ValueError(f'CCVID: frame_step must be >= 1, got '
                             f'{frame_step}')
        self.frame_step = frame_step
        super().__init__(data_root, **kwargs)

    def _lines(self, split: str) -> List[tuple]:
        path = self.require_file(f'{split}.txt')
        out = []
        for lineno, line in enumerate(self.read_lines(path), 1):
            parts = line.split()
            if len(parts) != 3 or not parts[1].isdigit():
                raise self.layout_error(
                    f"bad line {lineno} in {path!r}: {line!r}; expected "
                    "'tracklet_dir pid clothes_label'")
            m = TRACKLET_DIR.match(parts[0].strip('/'))
            if m is None:
                raise self.layout_error(
                    f'bad tracklet folder {parts[0]!r} on line {lineno} of '
                    f"{path!r}: expected 'sessionN/PID_CAM'")
            cam = int(m.group(3)) + (12 if m.group(1) == 'session3' else 0)
            out.append((parts[0].strip('/'), int(parts[1]), parts[2], cam))
        return out

    def parse_split(self, split: str) -> List[dict]:
        offset = len(self._lines('query')) if split == 'gallery' else 0
        records = []
        for t, (rel, pid, clothes, cam) in enumerate(self._lines(split)):
            folder = osp.join(self.data_root, rel)
            if not osp.isdir(folder):
                raise self.layout_error(
                    f'{split}.txt names a missing tracklet folder {folder!r}')
            for name in scan_images(folder)[::self.frame_step]:
                records.append(dict(img_path=osp.join(folder, name), pid=pid,
                                    camid=cam, clothes=clothes,
                                    track_id=offset + t))
        return records
