"""LaST: large-scale spatio-temporal persons from movies."""
from __future__ import annotations

import os.path as osp
from typing import List

from reidkit.registry import DATASETS

from .base import ReIDDataset, scan_dirs, scan_images


@DATASETS.register_module()
class LaST(ReIDDataset):
    """LaST (Shu et al., 2021): 5,000 train ids, 71k train images.

    ``train/<pid>/*.jpg``, ``{val,test}/query/*.jpg`` (flat) and
    ``{val,test}/gallery/<pid>/*.jpg``. The pid is the first ``_`` field of
    the name and the clothes label of a train image is its last field (the
    official loader and Simple-CCReID use ``pid + '_' + last``). Val/test
    carry no clothes labels (``clothes_id=-1``) and the release has no
    cameras: ``camid`` is 0 everywhere. The official code gives every test
    image its own camera id so that Market's same-camera rule never fires;
    the ``'last'`` protocol must therefore not drop same-camera gallery
    images.

    Args:
        data_root (str): LaST root.
        split (str): 'train' | 'query' | 'gallery' | 'test'.
        eval_set (str): 'test' (default) or 'val' for query/gallery.
        **kwargs: See :class:`ReIDDataset`.

    Example:
        >>> ds = LaST('data/last', split='test', eval_set='val')
    """

    PROTOCOL = 'last'
    LAYOUT = """\
    train/000000/000000_0_..._0.jpg   (pid folder; name PID_..._CLOTHES.jpg)
    val/query/*.jpg     val/gallery/<pid>/*.jpg
    test/query/*.jpg    test/gallery/<pid>/*.jpg
    """

    def __init__(self, data_root: str, eval_set: str = 'test', **kwargs):
        if eval_set not in ('test', 'val'):
            raise ValueError("LaST: eval_set must be 'test' or 'val', got "
                             f'{eval_set!r}')
        self.eval_set = eval_set
        super().__init__(data_root, **kwargs)

    def _record(self, folder: str, name: str, with_clothes: bool) -> dict:
        fields = osp.splitext(name)[0].split('_')
        path = osp.join(folder, name)
        if not fields[0].lstrip('-').isdigit() or (with_clothes
                                                   and len(fields) < 2):
            raise self.bad_name(path, 'PID_..._CLOTHES.jpg, e.g. '
                                '000000_0_000000_0.jpg')
        rec = dict(img_path=path, pid=int(fields[0]), camid=0)
        if with_clothes:
            rec['clothes'] = fields[-1]
        return rec

    def _parse_nested(self, root: str, with_clothes: bool) -> List[dict]:
        records = []
        for sub in scan_dirs(root):
            folder = osp.join(root, sub)
            records += [self._record(folder, n, with_clothes)
                        for n in scan_images(folder)]
        return records

    def parse_split(self, split: str) -> List[dict]:
        if split == 'train':
            return self._parse_nested(self.require_dir('train'), True)
        if split == 'query':
            folder = self.require_dir(self.eval_set, 'query')
            return [self._record(folder, n, False)
                    for n in scan_images(folder)]
        return self._parse_nested(self.require_dir(self.eval_set, 'gallery'),
                                  False)
