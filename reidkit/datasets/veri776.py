"""VeRi-776: vehicles from 20 cameras, Market-style names and junk rule."""
from __future__ import annotations

import os.path as osp
import re
from typing import Dict, List

from reidkit.registry import DATASETS

from .base import ReIDDataset, is_image

VERI_NAME = re.compile(r'^(-?\d+)_c(\d+)_')


def read_tracks(path: str) -> Dict[str, int]:
    """Image name -> track index from a track file.

    Each line is one track: its image names separated by spaces. VeRi's
    ``test_track.txt`` starts a line with a key such as ``0002_c002`` (no
    extension) that is skipped; CityFlow's track files have no key.
    """
    tracks = {}
    with open(path, 'r', encoding='utf-8') as f:
        lines = [ln.split() for ln in f if ln.strip()]
    for t, names in enumerate(lines):
        for name in names:
            if is_image(name):
                tracks[name] = t
    return tracks


@DATASETS.register_module()
class VeRi776(ReIDDataset):
    """VeRi-776 (Liu et al., ICME 2016): 576 train / 200 test vehicles.

    ``image_{train,query,test}/`` with names ``0001_c001_00016450_0.jpg``
    (vehicle, camera, frame, index); ``c012`` -> camid 12. When
    ``test_track.txt`` is present, gallery images get the ``track_id`` of
    the line (track) that lists them. Protocol ``'market'`` (drop gallery
    images with the query's vehicle and camera), as torchreid and fast-reid
    evaluate VeRi.

    Args:
        data_root (str): VeRi root.
        split (str): 'train' | 'query' | 'gallery' | 'test'.
        **kwargs: See :class:`ReIDDataset`.

    Example:
        >>> ds = VeRi776('data/veri', split='test')
    """

    LAYOUT = """\
    image_train/0001_c001_00016450_0.jpg   (VID_cCAM_FRAME_IDX)
    image_query/...   image_test/...
    test_track.txt    (optional: one track per line, '0002_c002 img1.jpg img2.jpg ...')
    """
    FOLDERS = dict(train='image_train', query='image_query',
                   gallery='image_test')

    def parse_split(self, split: str) -> List[dict]:
        folder = self.require_dir(self.FOLDERS[split])
        records = self.parse_named_images(
            folder, VERI_NAME, 'VID_cCAM_FRAME_IDX.jpg, e.g. '
            '0001_c001_00016450_0.jpg',
            lambda m: dict(pid=int(m.group(1)), camid=int(m.group(2))))
        track_file = osp.join(self.data_root, 'test_track.txt')
        if split == 'gallery' and osp.isfile(track_file):
            tracks = read_tracks(track_file)
            for r in records:
                r['track_id'] = tracks.get(osp.basename(r['img_path']), -1)
        return records
