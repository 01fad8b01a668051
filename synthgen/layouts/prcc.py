"""PRCC (Yang et al., TPAMI 2019), RGB part: the layout of the release.

::

    rgb/train/001/A_cropped_rgb001.jpg   (pid folder; name starts with the camera)
    rgb/val/003/C_cropped_rgb011.jpg
    rgb/test/A/002/cropped_rgb001.jpg    (camera folder / pid folder)

Cameras A, B, C are camids 0, 1, 2. A and B see one outfit, C another, so
an identity's clothes key is ``'AB'`` or ``'C'`` (as in Simple-CCReID). The
test gallery is camera A; queries come from B (same clothes) and C
(clothes changing).

Example:
    >>> from synthgen.layouts import prcc
    >>> prcc.train_relpath('train', 7, 'C', 12)
    'rgb/train/007/C_cropped_rgb012.jpg'
    >>> prcc.CAMID['C'], prcc.CLOTHES['B']
    (2, 'AB')
"""
from __future__ import annotations

import re
from typing import Optional

__all__ = ['ROOT', 'TRAIN_SPLITS', 'TEST_DIR', 'CAMID', 'CLOTHES',
           'GALLERY_CAMERA', 'QUERY_CAMERAS', 'train_relpath', 'test_relpath',
           'train_regex', 'camera_of_train_name']

ROOT = 'rgb'                        #: the RGB part's top folder
TRAIN_SPLITS = ('train', 'val')     #: ``rgb/<split>/<pid>/<cam>_*``
TEST_DIR = 'test'                   #: ``rgb/test/<cam>/<pid>/*``
CAMID = {'A': 0, 'B': 1, 'C': 2}    #: camera letter -> camid
CLOTHES = {'A': 'AB', 'B': 'AB', 'C': 'C'}  #: camera -> outfit key of a pid
GALLERY_CAMERA = 'A'
QUERY_CAMERAS = ('B', 'C')          #: same clothes (B), changed clothes (C)


def train_relpath(split: str, pid: int, camera: str, index: int) -> str:
    """Path of a train/val image, relative to the PRCC root."""
    return f'{ROOT}/{split}/{pid:03d}/{camera}_cropped_rgb{index:03d}.jpg'


def test_relpath(camera: str, pid: int, index: int) -> str:
    """Path of a test image, relative to the PRCC root."""
    return f'{ROOT}/{TEST_DIR}/{camera}/{pid:03d}/cropped_rgb{index:03d}.jpg'


def train_regex(split: str) -> str:
    """Regex of a train/val path (relative, ``/``-separated) with ``pid``
    and ``camid`` (the camera letter) groups."""
    cams = ''.join(CAMID)
    return (rf'{ROOT}/{re.escape(split)}/(?P<pid>\d+)/(?P<camid>[{cams}])_'
            r'[^/]*\.(?:jpg|jpeg|png)')


def camera_of_train_name(name: str) -> Optional[str]:
    """The camera letter a train/val file name starts with (None: none)."""
    return name[0] if name[:1] in CAMID else None
