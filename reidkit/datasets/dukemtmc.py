"""DukeMTMC-reID (Market-1501 layout)."""
from __future__ import annotations

from reidkit.registry import DATASETS

from .market1501 import MarketStyleDataset


@DATASETS.register_module()
class DukeMTMC(MarketStyleDataset):
    """DukeMTMC-reID (Zheng et al., ICCV 2017), Market-1501 layout.

    Names ``0001_c2_f0046182.jpg`` = pid 1, camera 2, frame 46182.
    Protocol ``'market'`` (drop gallery images with the query's pid and
    camera).

    Args:
        data_root (str): Folder holding ``bounding_box_train/``, ``query/``
            and ``bounding_box_test/``.
        split (str): 'train' | 'query' | 'gallery' | 'test'.
        **kwargs: See :class:`ReIDDataset`.

    Example:
        >>> ds = DukeMTMC('data/dukemtmc', split='train')
    """

    NAME_HELP = '<pid>_c<cam>_f<frame>.jpg, e.g. 0001_c2_f0046182.jpg'
    LAYOUT = """\
    bounding_box_train/0001_c2_f0046182.jpg   (pid_cCAM_fFRAME)
    query/0005_c2_f0046985.jpg
    bounding_box_test/0005_c5_f0051341.jpg
    """
