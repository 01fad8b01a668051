"""FineGPR: attribute-coded synthetic persons (training data only)."""
from __future__ import annotations

import csv
import os
import os.path as osp
import re
from typing import Dict, List, Optional, Sequence

from reidkit.registry import DATASETS

from .base import ReIDDataset, is_image

FINEGPR_NAME = re.compile(r'^(\d+)_c(\d+)_w(\d+)_l(\d+)_p(\d+)')

#: Release codes (``w01`` = index 0 + 1), from the authors' README.
WEATHERS = ('sunny', 'clouds', 'overcast', 'foggy', 'neutral', 'blizzard',
            'snowlight')
ILLUMINATIONS = ('midnight', 'dawn', 'forenoon', 'noon', 'afternoon', 'dusk',
                 'night')
SCENES = ('urban', 'urban', 'wild', 'urban', 'wild', 'urban', 'urban', 'wild',
          'urban')
_COLORS = ('black', 'white', 'red', 'purple', 'gray', 'yellow', 'blue',
           'green', 'brown')
#: The 13 identity-level attributes, in the README's order, with the words
#: of their codes (code ``k`` = ``words[k - 1]``; 0 = not annotated).
ID_ATTRIBUTES = {
    'gender': ('male', 'female'),
    'hair_length': ('long', 'short'),
    'age': ('teenager', 'adult', 'older'),
    'glasses': ('yes', 'no'),
    'short_sleeve': ('yes', 'no'),
    'top_length': ('long', 'short'),
    'dress': ('yes', 'no'),
    'boots': ('yes', 'no'),
    'hat': ('yes', 'no'),
    'bag': ('yes', 'no'),
    'shoes_color': ('dark', 'light'),
    'upper_color': _COLORS,
    'lower_color': _COLORS,
}
ID_ATTRIBUTE_FILE = 'id_attributes.csv'


def viewpoint_degrees(code: int) -> int:
    """Viewpoint angle of camera code ``cCC`` as the release defines it.

    The authors' README: ``c01`` = 90 deg, ``c10`` = 180, ``c19`` = 270,
    ``c28`` = 0, ``c36`` = 80 (10 degree steps, wrapping at 360).

    >>> [viewpoint_degrees(c) for c in (1, 10, 28, 36)]
    [90, 180, 0, 80]
    """
    if not 1 <= int(code) <= 36:
        raise ValueError(f'FineGPR viewpoint code c{code:02d}: expected c01-c36')
    return ((int(code) - 1) * 10 + 90) % 360


def viewpoint_code(degrees: int) -> int:
    """Inverse of :func:`viewpoint_degrees` (``0`` -> 28)."""
    d = int(degrees) % 360
    if d % 10:
        raise ValueError(f'FineGPR viewpoint {degrees} deg: expected a '
                         'multiple of 10')
    return (d // 10 - 9) % 36 + 1


@DATASETS.register_module()
class FineGPR(ReIDDataset):
    """FineGPR (Xiang et al., AOST paper): 1,150 synthetic ids from GTA5.

    Release layout ``FineGPR/<pid>/PPPP_cCC_wWW_lLL_pPP.jpg``: pid, camera
    ``c01``-``c36`` (one fixed camera per viewpoint; ``c01`` = 90 deg,
    ``c28`` = 0 deg, see :func:`viewpoint_degrees`), weather ``w01``-``w07``,
    illumination ``l01``-``l07``, background ``p01``-``p09`` (one per
    identity in the release). The folder is walked recursively, so flat
    folders (``FineGPR_subset``) and split parts work too; folders whose
    name starts with ``.`` or ``_`` (side-cars) are skipped. ``camid`` is the
    camera number as written; ``attributes`` holds ``viewpoint`` (degrees),
    ``weather``, ``illumination`` and ``background`` (the written numbers)
    plus, when ``id_attribute_file`` exists, the 13 identity-level codes of
    :data:`ID_ATTRIBUTES`. ``domain`` is 1 (synthetic). FineGPR is a
    training source: only ``split='train'`` exists.

    The identity-level file: the README documents the codes but not a file
    format, so this parser reads a CSV with a header ``pid,gender,...``
    (the 13 names of :data:`ID_ATTRIBUTES`) and one row per identity, codes
    as in the README (``01``=first word), ``0`` for "not annotated".

    Args:
        data_root (str): FineGPR root.
        split (str): must be 'train'.
        attribute_filter (dict, optional): keep only images whose attribute
            is in the given values, e.g. ``dict(weather=[1, 2],
            viewpoint=[0, 90])`` (AOST's attribute optimisation picks such
            subsets); identity-level attributes may be filtered too.
        image_list (str, optional): a text file of image paths relative to
            ``data_root`` (one per line); only those are kept (a random or
            searched subset written by a stage).
        id_attribute_file (str): the identity-level CSV, relative to
            ``data_root`` (ignored when absent). Default
            ``'id_attributes.csv'``.
        **kwargs: See :class:`ReIDDataset`.

    Example:
        >>> ds = FineGPR('data/finegpr', attribute_filter=dict(weather=[1]))
        >>> ds[0]['attributes']['weather']
        1
    """

    DOMAIN = 1
    LAYOUT = """\
    [any sub-folders/]0001_c01_w01_l01_p01.jpg   (PID_cVIEW_wWEATHER_lILLUM_pBACKGROUND)
    [id_attributes.csv]                          (pid,gender,hair_length,...: 13 codes)
    """
    ATTRIBUTES = ('viewpoint', 'weather', 'illumination', 'background')

    def __init__(self, data_root: str, split: str = 'train',
                 attribute_filter: Optional[Dict[str, Sequence[int]]] = None,
                 image_list: Optional[str] = None,
                 id_attribute_file: str = ID_ATTRIBUTE_FILE,
                 **kwargs):
        if split != 'train':
            raise ValueError('FineGPR is a training source and has only '
                             f"split='train', got {split!r}")
        attribute_filter = dict(attribute_filter or {})
        known = self.ATTRIBUTES + tuple(ID_ATTRIBUTES)
        for k in attribute_filter:
            if k not in known:
                raise ValueError(f'FineGPR: unknown attribute {k!r} in '
                                 f'attribute_filter; use {known}')
        self.attribute_filter = {k: set(v) for k, v in
                                 attribute_filter.items()}
        self.image_list = image_list
        self.id_attribute_file = id_attribute_file
        super().__init__(data_root, split=split, **kwargs)

    def read_id_attributes(self) -> Dict[int, Dict[str, int]]:
        """``{pid: {attribute: code}}`` from the identity-level CSV ({} if
        the file does not exist)."""
        path = osp.join(self.data_root, self.id_attribute_file or '')
        if not self.id_attribute_file or not osp.isfile(path):
            return {}
        want = ['pid'] + list(ID_ATTRIBUTES)
        out = {}
        with open(path, newline='', encoding='utf-8') as f:
            reader = csv.reader(f)
            header = [h.strip() for h in next(reader, [])]
            if header != want:
                raise self.layout_error(
                    f'{path}: header {header} should be {want}')
            for n, row in enumerate(reader, start=2):
                if not row:
                    continue
                try:
                    codes = [int(x) for x in row]
                except ValueError:
                    codes = None
                if codes is None or len(codes) != len(want) or any(
                        not 0 <= c <= len(words) for c, words in
                        zip(codes[1:], ID_ATTRIBUTES.values())):
                    raise self.layout_error(
                        f'{path} line {n}: {row} is not pid + 13 codes '
                        '(0 = not annotated, 1.. = the README words)')
                out[codes[0]] = dict(zip(ID_ATTRIBUTES, codes[1:]))
        return out

    def _allowed_paths(self):
        if self.image_list is None:
            return None
        path = self.image_list
        if not osp.isabs(path) and not osp.isfile(path):
            # relative to the working directory when it is there (a stage's
            # ``${aost_root}/...`` list), else to ``data_root``
            path = osp.join(self.data_root, path)
        if not osp.isfile(path):
            raise self.layout_error(f'missing image_list file {path!r}')
        return {osp.normpath(osp.join(self.data_root, ln))
                for ln in self.read_lines(path)}

    def parse_split(self, split: str) -> List[dict]:
        id_attrs = self.read_id_attributes()
        allowed = self._allowed_paths()
        records = []
        for dirpath, dirnames, filenames in os.walk(self.data_root):
            # skip hidden and private folders (e.g. masks in _annotations/)
            dirnames[:] = sorted(d for d in dirnames
                                 if not d.startswith(('.', '_')))
            for name in sorted(filenames):
                if not is_image(name):
                    continue
                m = FINEGPR_NAME.match(name)
                path = osp.join(dirpath, name)
                if m is None:
                    raise self.bad_name(
                        path, 'PPPP_cCC_wWW_lLL_pPP.jpg, e.g. '
                        '0001_c01_w01_l01_p01.jpg')
                pid, view, w, l, p = (int(g) for g in m.groups())
                if not (1 <= view <= 36 and 1 <= w <= 7 and 1 <= l <= 7
                        and 1 <= p <= 9):
                    raise self.bad_name(path, 'codes c01-c36, w01-w07, '
                                        'l01-l07, p01-p09')
                if allowed is not None and osp.normpath(path) not in allowed:
                    continue
                attrs = dict(viewpoint=viewpoint_degrees(view), weather=w,
                             illumination=l, background=p)
                attrs.update(id_attrs.get(pid, {}))
                if any(attrs.get(k) not in v
                       for k, v in self.attribute_filter.items()):
                    continue
                records.append(dict(img_path=path, pid=pid, camid=view,
                                    attributes=attrs))
        if not records and not self.attribute_filter and allowed is None:
            raise self.layout_error('no FineGPR image found')
        return records
