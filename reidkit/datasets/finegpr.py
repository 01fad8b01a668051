"""FineGPR: attribute-coded synthetic persons (training data only)."""
from __future__ import annotations

import os
import os.path as osp
import re
from typing import Dict, List, Optional, Sequence

from reidkit.registry import DATASETS

from .base import ReIDDataset, is_image

FINEGPR_NAME = re.compile(r'^(\d+)_c(\d+)_w(\d+)_l(\d+)_p(\d+)')


@DATASETS.register_module()
class FineGPR(ReIDDataset):
    """FineGPR (Xiang et al., AOST paper): 1,150 synthetic ids from GTA5.

    File names ``PPPP_cCC_wWW_lLL_pPP.jpg``: pid, viewpoint ``c01``-``c36``
    (10 degree steps, one fixed camera per viewpoint), weather ``w01``-``w07``,
    illumination ``l01``-``l07``, background ``p01``-``p09``. Images may sit
    directly in ``data_root`` or in sub-folders (the release is split into
    parts); the folder is walked recursively, skipping folders whose name
    starts with ``.`` or ``_`` (annotation side-cars). ``camid`` is the viewpoint
    number as written; ``attributes`` holds ``viewpoint`` (degrees),
    ``weather``, ``illumination`` and ``background`` (the written numbers).
    ``domain`` is 1 (synthetic). FineGPR is a training source: only
    ``split='train'`` exists.

    Args:
        data_root (str): FineGPR root.
        split (str): must be 'train'.
        attribute_filter (dict, optional): keep only images whose attribute
            is in the given values, e.g. ``dict(weather=[1, 2],
            viewpoint=[0, 90])`` (the attribute optimisation of AOST picks
            such subsets).
        **kwargs: See :class:`ReIDDataset`.

    Example:
        >>> ds = FineGPR('data/finegpr', attribute_filter=dict(weather=[1]))
        >>> ds[0]['attributes']['weather']
        1
    """

    DOMAIN = 1
    LAYOUT = """\
    [any sub-folders/]0001_c01_w01_l01_p01.jpg   (PID_cVIEW_wWEATHER_lILLUM_pBACKGROUND)
    """
    ATTRIBUTES = ('viewpoint', 'weather', 'illumination', 'background')

    def __init__(self, data_root: str, split: str = 'train',
                 attribute_filter: Optional[Dict[str, Sequence[int]]] = None,
                 **kwargs):
        if split != 'train':
            raise ValueError('FineGPR is a training source and has only '
                             f"split='train', got {split!r}")
        attribute_filter = dict(attribute_filter or {})
        for k in attribute_filter:
            if k not in self.ATTRIBUTES:
                raise ValueError(f'FineGPR: unknown attribute {k!r} in '
                                 f'attribute_filter; use {self.ATTRIBUTES}')
        self.attribute_filter = {k: set(v) for k, v in
                                 attribute_filter.items()}
        super().__init__(data_root, split=split, **kwargs)

    def parse_split(self, split: str) -> List[dict]:
        records = []
        for dirpath, dirnames, filenames in os.walk(self.data_root):
            # skip hidden and private folders (e.g. masks in _annotations/)
            dirnames[:] = sorted(d for d in dirnames
                                 if not d.startswith(('.', '_')))
            for name in sorted(filenames):
                if not is_image(name):
                    continue
                m = FINEGPR_NAME.match(name)
                if m is None:
                    raise self.bad_name(
                        osp.join(dirpath, name),
                        'PPPP_cCC_wWW_lLL_pPP.jpg, e.g. '
                        '0001_c01_w01_l01_p01.jpg')
                pid, view, w, l, p = (int(g) for g in m.groups())
                attrs = dict(viewpoint=(view - 1) * 10, weather=w,
                             illumination=l, background=p)
                if any(attrs[k] not in v
                       for k, v in self.attribute_filter.items()):
                    continue
                records.append(dict(img_path=osp.join(dirpath, name),
                                    pid=pid, camid=view, attributes=attrs))
        if not records and not self.attribute_filter:
            raise self.layout_error('no FineGPR image found')
        return records
