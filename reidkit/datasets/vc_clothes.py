"""VC-Clothes: synthetic (GTA5) clothes-changing persons, real protocol."""
from __future__ import annotations

import re
from typing import List

from reidkit.registry import DATASETS

from .base import ReIDDataset

VC_NAME = re.compile(r'^(\d+)-(\d+)-(\d+)-(\d+)')

MODE_CAMS = dict(all=None, sc=(2, 3), cc=(3, 4))


@DATASETS.register_module()
class VCClothes(ReIDDataset):
    """VC-Clothes (Wang et al., CVPRW 2020): 512 ids, 4 cameras.

    ``{train,query,gallery}/*.jpg`` named ``pid-cam-clothes-idx.jpg``
    (e.g. ``0001-01-02-03.jpg``). ``mode`` restricts the *test* images to
    cameras as in Simple-CCReID: ``'all'`` every camera, ``'sc'`` cameras 2
    and 3, ``'cc'`` cameras 3 and 4 (the clothes-changing numbers the paper
    reports). Protocol ``'vc_clothes'``. The images are rendered, but the
    benchmark is used as a real test set, so ``domain`` stays 0.

    Args:
        data_root (str): VC-Clothes root.
        split (str): 'train' | 'query' | 'gallery' | 'test'.
        mode (str): 'all' | 'sc' | 'cc'. Default 'all'.
        **kwargs: See :class:`ReIDDataset`.

    Example:
        >>> ds = VCClothes('data/vc_clothes', split='test', mode='cc')
    """

    PROTOCOL = 'vc_clothes'
    LAYOUT = """\
    train/0001-01-01-01.jpg   (PID-CAM-CLOTHES-IDX)
    query/...
    gallery/...
    """

    def __init__(self, data_root: str, mode: str = 'all', **kwargs):
        if mode not in MODE_CAMS:
            raise ValueError(f"VCClothes: mode must be one of "
                             f"{tuple(MODE_CAMS)}, got {mode!r}")
        self.mode = mode
        super().__init__(data_root, **kwargs)

    def parse_split(self, split: str) -> List[dict]:
        folder = self.require_dir(split)
        records = self.parse_named_images(
            folder, VC_NAME, 'pid-cam-clothes-idx.jpg, e.g. 0001-01-02-03.jpg',
            lambda m: dict(pid=int(m.group(1)), camid=int(m.group(2)),
                           clothes=int(m.group(3))))
        cams = MODE_CAMS[self.mode]
        if split != 'train' and cams is not None:
            records = [r for r in records if r['camid'] in cams]
        return records
