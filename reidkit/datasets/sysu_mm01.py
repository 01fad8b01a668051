"""SYSU-MM01: visible-infrared persons, 4 RGB and 2 IR cameras."""
from __future__ import annotations

import os.path as osp
from typing import List

from reidkit.registry import DATASETS

from .base import ReIDDataset, scan_images

RGB_CAMS = (1, 2, 4, 5)
IR_CAMS = (3, 6)
GALLERY_CAMS = dict(all=RGB_CAMS, indoor=(1, 2))


@DATASETS.register_module()
class SYSUMM01(ReIDDataset):
    """SYSU-MM01 (Wu et al., ICCV 2017): 395 train ids (+96 val), 96 test.

    ``cam1..cam6/<pid:04d>/<idx:04d>.jpg``; ``exp/{train_id,val_id,
    test_id}.txt`` are comma-separated id lists. Cameras 3 and 6 are
    infrared (``modality=1``). The train split is train_id + val_id, as in
    Cross-Modal-Re-ID-baseline's ``pre_process_sysu.py``. Query = every IR
    image of the test ids; gallery = every RGB image of the test ids from
    cameras 1, 2, 4, 5 (``mode='all'``) or 1, 2 (``mode='indoor'``). The
    official protocol then draws one random gallery image per id per camera
    with trial seeds 0-9 and drops camera-2 gallery images for camera-3
    queries; the ``'sysu_all'``/``'sysu_indoor'`` metric does that.

    Args:
        data_root (str): SYSU-MM01 root.
        split (str): 'train' | 'query' | 'gallery' | 'test'.
        mode (str): 'all' or 'indoor'. Default 'all'.
        **kwargs: See :class:`ReIDDataset`.

    Example:
        >>> ds = SYSUMM01('data/sysu', split='test', mode='indoor')
        >>> ds.metainfo['protocol']
        'sysu_indoor'
    """

    LAYOUT = """\
    cam1/0001/0001.jpg ... cam6/...   (cam3, cam6 infrared)
    exp/train_id.txt  exp/val_id.txt  exp/test_id.txt   (comma-separated ids)
    """

    def __init__(self, data_root: str, mode: str = 'all', **kwargs):
        if mode not in GALLERY_CAMS:
            raise ValueError("SYSUMM01: mode must be 'all' or 'indoor', got "
                             f'{mode!r}')
        self.mode = mode
        self.PROTOCOL = f'sysu_{mode}'
        super().__init__(data_root, **kwargs)

    def _images(self, ids: List[int], cams) -> List[dict]:
        cam_dirs = {c: self.require_dir(f'cam{c}') for c in cams}
        records = []
        for pid in sorted(set(ids)):
            for c in cams:
                folder = osp.join(cam_dirs[c], f'{pid:04d}')
                if not osp.isdir(folder):
                    continue  # not every id is seen by every camera
                for name in scan_images(folder):
                    if not osp.splitext(name)[0].isdigit():
                        raise self.bad_name(osp.join(folder, name),
                                            'a numbered image, e.g. 0001.jpg')
                    records.append(dict(img_path=osp.join(folder, name),
                                        pid=pid, camid=c,
                                        modality=int(c in IR_CAMS)))
        return records

    def parse_split(self, split: str) -> List[dict]:
        if split == 'train':
            ids = self.read_id_list(self.require_file('exp', 'train_id.txt'))
            ids += self.read_id_list(self.require_file('exp', 'val_id.txt'))
            return self._images(ids, RGB_CAMS + IR_CAMS)
        ids = self.read_id_list(self.require_file('exp', 'test_id.txt'))
        if split == 'query':
            return self._images(ids, IR_CAMS)
        return self._images(ids, GALLERY_CAMS[self.mode])
