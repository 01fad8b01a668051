"""PRCC: clothes-changing persons seen by cameras A, B (same outfit), C."""
from __future__ import annotations

import os.path as osp
from typing import List, Sequence

from reidkit.registry import DATASETS

from .base import ReIDDataset, scan_dirs, scan_images

CAMS = {'A': 0, 'B': 1, 'C': 2}


@DATASETS.register_module()
class PRCC(ReIDDataset):
    """PRCC (Yang et al., TPAMI 2019): 221 ids, 3 cameras.

    Train/val: ``rgb/{train,val}/<pid>/<cam>_*.jpg`` with the camera letter
    as the first character of the name. Test: ``rgb/test/<cam>/<pid>/*.jpg``.
    Cameras A, B, C map to camid 0, 1, 2. A and B show one outfit and C
    another, so the clothes key is ``'AB'`` or ``'C'`` within a pid (as in
    Simple-CCReID). The test split has queries from cameras B (same clothes)
    and C (clothes changing) and gallery A; the ``'prcc'`` protocol scores
    the two query sets apart (``sc/*`` and ``cc/*``) against every camera-A
    image, as CAL (Simple-CCReID) reports. CAL's loader also draws 10
    single-shot galleries (one image per identity, ``random.seed(3)``) that
    its test never uses; ``ReIDMetric(protocol='prcc', single_shot=True)``
    scores and averages them (:class:`reidkit.evaluation.protocols.PRCCProtocol`).

    Args:
        data_root (str): PRCC root (holding ``rgb/``).
        split (str): 'train' | 'query' | 'gallery' | 'test'.
        with_val (bool): Add ``rgb/val`` to the train split. Default False
            (Simple-CCReID trains on ``rgb/train`` only).
        query_cams (sequence): Query cameras. Default ('B', 'C').
        **kwargs: See :class:`ReIDDataset`.

    Example:
        >>> ds = PRCC('data/prcc', split='test', query_cams=('C',))
    """

    PROTOCOL = 'prcc'
    LAYOUT = """\
    rgb/train/001/A_cropped_rgb001.jpg   (pid folder; name starts with camera A/B/C)
    rgb/val/003/C_cropped_rgb011.jpg
    rgb/test/A/002/cropped_rgb001.jpg    (camera folder / pid folder)
    rgb/test/B/...   rgb/test/C/...
    """

    def __init__(self, data_root: str, with_val: bool = False,
                 query_cams: Sequence[str] = ('B', 'C'), **kwargs):
        self.with_val = with_val
        bad = [c for c in query_cams if c not in ('B', 'C')]
        if bad or not query_cams:
            raise ValueError("PRCC: query_cams must be a non-empty subset of "
                             f"('B', 'C'), got {query_cams!r}")
        self.query_cams = tuple(query_cams)
        super().__init__(data_root, **kwargs)

    def _pid(self, folder: str, name: str) -> int:
        if not name.isdigit():
            raise self.layout_error(
                f'bad pid folder {osp.join(folder, name)!r}: expected a '
                'number such as 001')
        return int(name)

    def _parse_train_dir(self, sub: str) -> List[dict]:
        root = self.require_dir('rgb', sub)
        records = []
        for pdir in scan_dirs(root):
            pid = self._pid(root, pdir)
            folder = osp.join(root, pdir)
            for name in scan_images(folder):
                cam = name[0]
                if cam not in CAMS:
                    raise self.bad_name(osp.join(folder, name),
                                        'a name starting with A, B or C')
                records.append(dict(img_path=osp.join(folder, name), pid=pid,
                                    camid=CAMS[cam],
                                    clothes='C' if cam == 'C' else 'AB'))
        return records

    def _parse_test_cam(self, cam: str) -> List[dict]:
        root = self.require_dir('rgb', 'test', cam)
        records = []
        for pdir in scan_dirs(root):
            pid = self._pid(root, pdir)
            folder = osp.join(root, pdir)
            for name in scan_images(folder):
                records.append(dict(img_path=osp.join(folder, name), pid=pid,
                                    camid=CAMS[cam],
                                    clothes='C' if cam == 'C' else 'AB'))
        return records

    def parse_split(self, split: str) -> List[dict]:
        if split == 'train':
            records = self._parse_train_dir('train')
            if self.with_val:
                records += self._parse_train_dir('val')
            return records
        if split == 'gallery':
            return self._parse_test_cam('A')
        records = []
        for cam in self.query_cams:
            records += self._parse_test_cam(cam)
        return records
