"""Market-1501 and the helper shared by the Market-style layouts."""
from __future__ import annotations

import re
from typing import List

from reidkit.registry import DATASETS

from .base import ReIDDataset

# pid (possibly -1 for junk), camera number right after '_c'
MARKET_NAME = re.compile(r'^(-?\d+)_c(\d+)')

MARKET_FOLDERS = dict(train='bounding_box_train', query='query',
                      gallery='bounding_box_test')


class MarketStyleDataset(ReIDDataset):
    """Folders ``bounding_box_train/``, ``query/``, ``bounding_box_test/``
    whose file names start with ``<pid>_c<cam>``.

    pid ``-1`` (junk) is dropped; pid ``0`` (Market distractors) is kept.
    """

    NAME_REGEX = MARKET_NAME
    NAME_HELP = '<pid>_c<cam>..., e.g. 0002_c1s1_000451_03.jpg'
    FOLDERS = MARKET_FOLDERS
    SUBDIR = ''

    def parse_split(self, split: str) -> List[dict]:
        parts = [self.SUBDIR, self.FOLDERS[split]] if self.SUBDIR else \
            [self.FOLDERS[split]]
        folder = self.require_dir(*parts)
        return self.parse_named_images(
            folder, self.NAME_REGEX, self.NAME_HELP,
            lambda m: dict(pid=int(m.group(1)), camid=int(m.group(2))))


@DATASETS.register_module()
class Market1501(MarketStyleDataset):
    """Market-1501 (Zheng et al., ICCV 2015).

    Names ``0002_c1s1_000451_03.jpg`` = pid 2, camera 1, sequence 1, frame
    451, box 3. pid -1 (junk) dropped everywhere, pid 0 (distractors) kept in
    the gallery (torchreid and fast-reid do the same). Protocol ``'market'``.

    Args:
        data_root (str): Folder holding the three image folders.
        split (str): 'train' | 'query' | 'gallery' | 'test'.
        **kwargs: See :class:`ReIDDataset`.

    Example:
        >>> ds = Market1501('data/market1501', split='test')
        >>> ds.metainfo['protocol']
        'market'
    """

    LAYOUT = """\
    bounding_box_train/0002_c1s1_000451_03.jpg   (pid_cCAMsSEQ_FRAME_BOX)
    query/0001_c1s1_001051_00.jpg
    bounding_box_test/0000_c1s1_000151_01.jpg    (pid 0 distractor, -1 junk)
    """
