"""MSMT17: list files ``relpath pid`` over ``train/`` and ``test/``."""
from __future__ import annotations

import os.path as osp
from typing import List

from reidkit.registry import DATASETS

from .base import ReIDDataset


@DATASETS.register_module()
class MSMT17(ReIDDataset):
    """MSMT17 (Wei et al., CVPR 2018): 1,041 train / 3,060 test ids, 15 cams.

    ``list_{train,val,query,gallery}.txt`` hold ``relpath pid`` lines, e.g.
    ``0000/0000_000_01_0303morning_0015_0.jpg 0``; train/val paths are
    relative to ``train/``, query/gallery paths to ``test/``. The camera is the
    third ``_`` field of the file name (``01`` -> 1). The standard training
    set (32,621 images) is list_train plus list_val (both cover the same
    1,041 ids); ``with_val=False`` gives the 30,248-image list_train alone.
    torchreid keeps val apart unless ``combineall``; the paper's numbers and
    fast-reid use train+val. V2 releases name the folders
    ``mask_train_v2/``/``mask_test_v2/``; those are found too.

    Args:
        data_root (str): MSMT17 root.
        split (str): 'train' | 'query' | 'gallery' | 'test'.
        with_val (bool): Add list_val to the train split. Default True.
        **kwargs: See :class:`ReIDDataset`.

    Example:
        >>> ds = MSMT17('data/msmt17', split='train')
    """

    LAYOUT = """\
    train/0000/0000_000_01_0303morning_0015_0.jpg   (pid_idx_CAM_...)
    test/...
    list_train.txt  list_val.txt      (lines 'pid_dir/file.jpg pid', under train/)
    list_query.txt  list_gallery.txt  (lines 'pid_dir/file.jpg pid', under test/)
    """

    def __init__(self, data_root: str, with_val: bool = True, **kwargs):
        self.with_val = with_val
        super().__init__(data_root, **kwargs)

    def _image_dir(self, kind: str) -> str:
        for name in (kind, f'mask_{kind}_v2'):
            if osp.isdir(osp.join(self.data_root, name)):
                return osp.join(self.data_root, name)
        return self.require_dir(kind)

    def _parse_list(self, list_name: str, img_dir: str) -> List[dict]:
        path = self.require_file(list_name)
        records = []
        for lineno, line in enumerate(self.read_lines(path), 1):
            parts = line.split()
            if len(parts) != 2 or not parts[1].lstrip('-').isdigit():
                raise self.layout_error(
                    f'bad line {lineno} in {path!r}: {line!r}; expected '
                    "'relpath pid'")
            rel, pid = parts[0], int(parts[1])
            fields = osp.basename(rel).split('_')
            if len(fields) < 3 or not fields[2].isdigit():
                raise self.bad_name(
                    osp.join(img_dir, rel),
                    'PID_IDX_CAM_..., e.g. 0000_000_01_0303morning_0015_0.jpg')
            img_path = osp.join(img_dir, rel)
            if not osp.isfile(img_path):
                raise self.layout_error(
                    f'{path!r} line {lineno} names a missing image '
                    f'{img_path!r}')
            records.append(dict(img_path=img_path, pid=pid,
                                camid=int(fields[2])))
        return records

    def parse_split(self, split: str) -> List[dict]:
        if split == 'train':
            img_dir = self._image_dir('train')
            records = self._parse_list('list_train.txt', img_dir)
            if self.with_val:
                records += self._parse_list('list_val.txt', img_dir)
            return records
        img_dir = self._image_dir('test')
        return self._parse_list(f'list_{split}.txt', img_dir)
