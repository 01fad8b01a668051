"""CUHK03-NP: the new-protocol split of CUHK03 in the Market-1501 layout."""
from __future__ import annotations

from reidkit.registry import DATASETS

from .market1501 import MarketStyleDataset


@DATASETS.register_module()
class CUHK03NP(MarketStyleDataset):
    """CUHK03-NP (Zhong et al., CVPR 2017 re-ranking paper), 767/700 ids.

    The release has ``detected/`` and ``labeled/``, each laid out like
    Market-1501 with names ``0001_c1_1.png`` (pid, camera 1 or 2, index).
    The new protocol is evaluated with Market-1501's code (multi-gallery,
    drop same pid and camera), so the default protocol is ``'market'``;
    pass ``protocol='cuhk03_sg'`` for the classic single-gallery CMC.

    Args:
        data_root (str): Folder holding ``detected/`` and ``labeled/``.
        subset (str): ``'detected'`` (default) or ``'labeled'``.
        split (str): 'train' | 'query' | 'gallery' | 'test'.
        **kwargs: See :class:`ReIDDataset`.

    Example:
        >>> ds = CUHK03NP('data/cuhk03-np', subset='labeled', split='test')
    """

    NAME_HELP = '<pid>_c<cam>_<idx>.png, e.g. 0001_c1_1.png'
    LAYOUT = """\
    detected/bounding_box_train/0001_c1_1.png   (pid_cCAM_IDX)
    detected/query/...   detected/bounding_box_test/...
    labeled/bounding_box_train/...   labeled/query/...   labeled/bounding_box_test/...
    """

    def __init__(self, data_root: str, subset: str = 'detected', **kwargs):
        if subset not in ('detected', 'labeled'):
            raise ValueError("CUHK03NP: subset must be 'detected' or "
                             f"'labeled', got {subset!r}")
        self.SUBDIR = subset
        super().__init__(data_root, **kwargs)
