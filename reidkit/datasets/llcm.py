"""LLCM: low-light visible-infrared persons, 9 cameras."""
from __future__ import annotations

import os.path as osp
import re
from typing import List

from reidkit.registry import DATASETS

from .base import ReIDDataset, scan_images

# cameras the official test code (DEEN/data_manager.py) reads
VIS_CAMS = (1, 2, 3, 4, 5, 6, 7, 8, 9)
NIR_CAMS = (1, 2, 4, 5, 6, 7, 8, 9)
CAM_IN_NAME = re.compile(r'(?:^|_)c(\d+)(?:_|$)')
CAM_IN_PATH = re.compile(r'cam(\d+)')


@DATASETS.register_module()
class LLCM(ReIDDataset):
    """LLCM (Zhang & Wang, CVPR 2023): 713 train / 351 test ids, 9 cameras.

    Train: ``idx/train_vis.txt`` and ``idx/train_nir.txt`` with lines
    ``relpath label`` (paths relative to the root; both lists share one id
    space). The camera of a train image is read from ``_cNN_`` in its name or
    ``camN`` in its path (0 if neither). Test: ``idx/test_id.txt``
    (comma-separated ids), ``test_vis/camN/<id:04d>/*.jpg`` and
    ``test_nir/camN/<id:04d>/*.jpg``. Like the official code, visible test
    images come from cameras 1-9 and infrared ones from 1, 2, 4-9.
    ``direction='v2i'`` makes the visible images the queries and the
    infrared images the gallery, ``'i2v'`` the reverse (the benchmark's
    definition); the ``'llcm_v2i'``/``'llcm_i2v'`` protocols take queries and
    gallery by ``modality`` and draw one gallery image per id per camera for
    each of the 10 trials. The authors' script scores "VIS to IR" the other
    way round (sampled infrared queries against all visible images);
    ``ReIDMetric(protocol='llcm_v2i', official=True)`` reproduces it
    (:class:`reidkit.evaluation.protocols.LLCMVisToIRProtocol`).

    Args:
        data_root (str): LLCM root.
        split (str): 'train' | 'query' | 'gallery' | 'test'.
        direction (str): 'v2i' (default) or 'i2v'.
        **kwargs: See :class:`ReIDDataset`.

    Example:
        >>> ds = LLCM('data/llcm', split='test', direction='i2v')
    """

    LAYOUT = """\
    idx/train_vis.txt  idx/train_nir.txt   (lines 'relpath label')
    idx/test_id.txt                        (comma-separated ids)
    test_vis/cam1/0001/*.jpg ... test_vis/cam9/...
    test_nir/cam1/0001/*.jpg ... test_nir/cam9/...
    """

    def __init__(self, data_root: str, direction: str = 'v2i', **kwargs):
        if direction not in ('v2i', 'i2v'):
            raise ValueError("LLCM: direction must be 'v2i' or 'i2v', got "
                             f'{direction!r}')
        self.direction = direction
        self.PROTOCOL = f'llcm_{direction}'
        super().__init__(data_root, **kwargs)

    def _train_list(self, name: str, modality: int) -> List[dict]:
        path = self.require_file('idx', name)
        records = []
        for lineno, line in enumerate(self.read_lines(path), 1):
            parts = line.split()
            if len(parts) != 2 or not parts[1].lstrip('-').isdigit():
                raise self.layout_error(
                    f"bad line {lineno} in {path!r}: {line!r}; expected "
                    "'relpath label'")
            img_path = osp.join(self.data_root, parts[0])
            if not osp.isfile(img_path):
                raise self.layout_error(
                    f'{path!r} line {lineno} names a missing image '
                    f'{img_path!r}')
            stem = osp.splitext(osp.basename(parts[0]))[0]
            m = CAM_IN_NAME.search(stem) or CAM_IN_PATH.search(parts[0])
            records.append(dict(img_path=img_path, pid=int(parts[1]),
                                camid=int(m.group(1)) if m else 0,
                                modality=modality))
        return records

    def _test_images(self, modality: int) -> List[dict]:
        ids = self.read_id_list(self.require_file('idx', 'test_id.txt'))
        top = 'test_nir' if modality else 'test_vis'
        self.require_dir(top)
        cams = NIR_CAMS if modality else VIS_CAMS
        records = []
        for pid in sorted(set(ids)):
            for c in cams:
                folder = osp.join(self.data_root, top, f'cam{c}', f'{pid:04d}')
                if not osp.isdir(folder):
                    continue
                records += [dict(img_path=osp.join(folder, n), pid=pid,
                                 camid=c, modality=modality)
                            for n in scan_images(folder)]
        return records

    def parse_split(self, split: str) -> List[dict]:
        if split == 'train':
            return (self._train_list('train_vis.txt', 0) +
                    self._train_list('train_nir.txt', 1))
        query_modality = 0 if self.direction == 'v2i' else 1
        modality = query_modality if split == 'query' else 1 - query_modality
        return self._test_images(modality)
