"""LTCC: long-term clothes-changing persons."""
from __future__ import annotations

import re
from typing import List

from reidkit.registry import DATASETS

from .base import ReIDDataset

LTCC_NAME = re.compile(r'^(\d+)_(\d+)_c(\d+)')


@DATASETS.register_module()
class LTCC(ReIDDataset):
    """LTCC (Qian et al., ACCV 2020): 152 ids, 478 outfits, 12 cameras.

    ``{train,query,test}/*.png`` named ``<pid>_<clothes>_c<cam>_<idx>.png``
    (e.g. ``001_1_c11_015861.png``); ``test/`` is the gallery. The clothes
    number is per pid. Protocol ``'ltcc'``: general, same-clothes and
    clothes-changing (drop same pid+camera, and in CC mode same pid+clothes),
    as in Simple-CCReID.

    Args:
        data_root (str): LTCC root.
        split (str): 'train' | 'query' | 'gallery' | 'test'.
        **kwargs: See :class:`ReIDDataset`.

    Example:
        >>> ds = LTCC('data/ltcc', split='train')
        >>> ds.metainfo['num_clothes']
    """

    PROTOCOL = 'ltcc'
    FOLDERS = dict(train='train', query='query', gallery='test')
    LAYOUT = """\
    train/001_1_c11_015861.png   (PID_CLOTHES_cCAM_IDX)
    query/...
    test/...                     (gallery)
    """

    def parse_split(self, split: str) -> List[dict]:
        folder = self.require_dir(self.FOLDERS[split])
        return self.parse_named_images(
            folder, LTCC_NAME,
            '<pid>_<clothes>_c<cam>_<idx>.png, e.g. 001_1_c11_015861.png',
            lambda m: dict(pid=int(m.group(1)), camid=int(m.group(3)),
                           clothes=int(m.group(2))))
