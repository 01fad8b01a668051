"""VehicleID: vehicles with list files, test sizes 800/1600/2400."""
from __future__ import annotations

import os.path as osp
from collections import defaultdict
from typing import List

import numpy as np

from reidkit.registry import DATASETS

from .base import ReIDDataset, scan_images


@DATASETS.register_module()
class VehicleID(ReIDDataset):
    """VehicleID (Liu et al., CVPR 2016): 13,164 train vehicles.

    ``image/<name>.jpg`` and ``train_test_split/{train_list,test_list_800,
    test_list_1600,test_list_2400}.txt`` with lines ``<name> <vid>`` (name
    without extension). The protocol takes one random image per vehicle as
    the gallery and the rest as queries, 10 repeats; this dataset gives one
    such draw (seed ``gallery_seed``) so a single query/gallery pair exists,
    and the ``'vehicleid'`` metric redraws the 10 repeats from
    ``split='test'``. VehicleID has no cameras: camid is 0 everywhere, and
    the protocol does not drop same-camera gallery images (fast-reid uses
    the image id as camid to the same effect).

    Args:
        data_root (str): VehicleID root.
        split (str): 'train' | 'query' | 'gallery' | 'test'.
        test_size (int): 800 (default), 1600 or 2400.
        gallery_seed (int): seed of the one-per-vehicle gallery draw.
        **kwargs: See :class:`ReIDDataset`.

    Example:
        >>> ds = VehicleID('data/vehicleid', split='test', test_size=2400)
    """

    PROTOCOL = 'vehicleid'
    LAYOUT = """\
    image/0000001.jpg ...
    train_test_split/train_list.txt      (lines '0000001 1' = image name, vehicle id)
    train_test_split/test_list_800.txt  test_list_1600.txt  test_list_2400.txt
    """

    def __init__(self, data_root: str, test_size: int = 800,
                 gallery_seed: int = 0, **kwargs):
        if test_size not in (800, 1600, 2400):
            raise ValueError('VehicleID: test_size must be 800, 1600 or '
                             f'2400, got {test_size!r}')
        self.test_size = test_size
        self.gallery_seed = gallery_seed
        super().__init__(data_root, **kwargs)

    def _parse_list(self, name: str) -> List[dict]:
        path = self.require_file('train_test_split', name)
        img_dir = self.require_dir('image')
        present = {osp.splitext(n)[0]: n for n in scan_images(img_dir)}
        records = []
        for lineno, line in enumerate(self.read_lines(path), 1):
            parts = line.split()
            if len(parts) != 2 or not parts[1].isdigit():
                raise self.layout_error(
                    f"bad line {lineno} in {path!r}: {line!r}; expected "
                    "'image_name vehicle_id'")
            stem = osp.splitext(parts[0])[0]
            if stem not in present:
                raise self.layout_error(
                    f'{path!r} line {lineno} names a missing image '
                    f'{osp.join(img_dir, stem + ".jpg")!r}')
            records.append(dict(img_path=osp.join(img_dir, present[stem]),
                                pid=int(parts[1]), camid=0))
        return records

    def parse_split(self, split: str) -> List[dict]:
        if split == 'train':
            return self._parse_list('train_list.txt')
        records = self._parse_list(f'test_list_{self.test_size}.txt')
        by_vid = defaultdict(list)
        for i, r in enumerate(records):
            by_vid[r['pid']].append(i)
        rng = np.random.RandomState(self.gallery_seed)
        gallery = {idx[rng.randint(len(idx))]
                   for _, idx in sorted(by_vid.items())}
        want_gallery = split == 'gallery'
        return [r for i, r in enumerate(records)
                if (i in gallery) == want_gallery]
