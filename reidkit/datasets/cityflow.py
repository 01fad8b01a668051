"""CityFlowV2-ReID (AI City 2021 track 2) with an offline train/test split."""
from __future__ import annotations

import os.path as osp
import re
import xml.etree.ElementTree as ET
from collections import defaultdict
from typing import List

import numpy as np

from reidkit.registry import DATASETS

from .base import ReIDDataset, scan_images
from .veri776 import read_tracks

XML_DECL = re.compile(rb'^\s*<\?xml[^>]*\?>')
XML_ENCODING = re.compile(rb'encoding\s*=\s*["\']([A-Za-z0-9_.-]+)["\']')


def read_label_xml(path: str, error) -> List[dict]:
    """The attributes of every ``<Item>`` of an AI City / VeRi label file.

    The files declare gb2312, which expat cannot read, so the bytes are
    decoded here first. ``error(problem)`` makes the exception raised for an
    unreadable file or one without items (a dataset's ``layout_error``).
    """
    with open(path, 'rb') as f:
        data = f.read()
    m = XML_DECL.match(data)
    enc = 'utf-8'
    if m is not None:
        e = XML_ENCODING.search(m.group(0))
        enc = e.group(1).decode() if e else 'utf-8'
        data = data[m.end():]
    try:
        root = ET.fromstring(data.decode(enc))
    except (ET.ParseError, UnicodeDecodeError, LookupError) as exc:
        raise error(f'cannot parse {path!r}: {exc}') from exc
    items = [dict(item.attrib) for item in root.iter('Item')]
    if not items:
        raise error(f'no <Item> element in {path!r}')
    return items


@DATASETS.register_module()
class CityFlowV2(ReIDDataset):
    """CityFlowV2-ReID: 440 train vehicles, 46 cameras; test labels private.

    ``image_train/`` with ``train_label.xml`` (``<Item imageName=...
    vehicleID=... cameraID="c001"/>``, declared gb2312, which expat cannot
    read, so the file is decoded here first) and ``train_track.txt`` (one
    track per line). As the public test labels do not exist, evaluation is
    offline, as in the strong vehicle baseline (360 train / 80 test ids):
    the training vehicle ids are split with a fixed seed, ``test_ids``
    of them held out (default round(80/440 * #ids)). From the held-out ids,
    one image per (vehicle, camera), drawn with the same seed, is a query
    and every other image is gallery. The baseline's own split files are
    not public, so this split is reproducible but not theirs. Train images
    carry their ``track_id`` from ``train_track.txt`` when present.
    ``mode='full'`` trains on all 440 ids (for a challenge submission);
    it has no labelled query/gallery.

    Args:
        data_root (str): CityFlowV2-ReID root.
        split (str): 'train' | 'query' | 'gallery' | 'test'.
        mode (str): 'offline' (default) or 'full'.
        test_ids (int, optional): number of held-out ids.
        split_seed (int): seed of the id split and the query draw.
        **kwargs: See :class:`ReIDDataset`.

    Example:
        >>> ds = CityFlowV2('data/cityflow', split='test')
        >>> ds.metainfo['protocol']
        'cityflow'
    """

    PROTOCOL = 'cityflow'
    LAYOUT = """\
    image_train/000001.jpg ...   image_query/...   image_test/...
    train_label.xml   (<Item imageName="000001.jpg" vehicleID="0001" cameraID="c001"/>)
    train_track.txt   test_track.txt   name_query.txt   name_test.txt
    """

    def __init__(self, data_root: str, mode: str = 'offline',
                 test_ids: int = None, split_seed: int = 0, **kwargs):
        if mode not in ('offline', 'full'):
            raise ValueError("CityFlowV2: mode must be 'offline' or 'full', "
                             f'got {mode!r}')
        if mode == 'full' and kwargs.get('split', 'train') != 'train':
            raise ValueError("CityFlowV2: mode='full' has only split='train'"
                             ' (the test labels are not public)')
        self.mode = mode
        self.test_ids = test_ids
        self.split_seed = split_seed
        super().__init__(data_root, **kwargs)

    def _read_xml(self, path: str) -> List[tuple]:
        items = []
        for a in read_label_xml(path, self.layout_error):
            try:
                items.append((a['imageName'], int(a['vehicleID']),
                              int(a['cameraID'].lstrip('cC'))))
            except (KeyError, ValueError) as exc:
                raise self.layout_error(
                    f'bad <Item {a}> in {path!r}: expected imageName, '
                    'vehicleID and cameraID="cNNN"') from exc
        return items

    def _all_train(self) -> List[dict]:
        xml_path = self.require_file('train_label.xml')
        img_dir = self.require_dir('image_train')
        present = set(scan_images(img_dir))
        track_file = osp.join(self.data_root, 'train_track.txt')
        tracks = read_tracks(track_file) if osp.isfile(track_file) else {}
        records = []
        for name, vid, cam in self._read_xml(xml_path):
            if name not in present:
                raise self.layout_error(
                    f'{xml_path!r} names a missing image '
                    f'{osp.join(img_dir, name)!r}')
            records.append(dict(img_path=osp.join(img_dir, name), pid=vid,
                                camid=cam, track_id=tracks.get(name, -1)))
        return records

    def parse_split(self, split: str) -> List[dict]:
        records = self._all_train()
        if self.mode == 'full':
            return records
        vids = sorted({r['pid'] for r in records})
        n_test = self.test_ids if self.test_ids is not None else max(
            1, int(round(len(vids) * 80 / 440)))
        if not 0 < n_test < len(vids):
            raise ValueError(f'CityFlowV2: test_ids={n_test} must be between'
                             f' 1 and {len(vids) - 1} ({len(vids)} ids)')
        rng = np.random.RandomState(self.split_seed)
        held = set(np.asarray(vids)[rng.permutation(len(vids))[:n_test]]
                   .tolist())
        if split == 'train':
            return [r for r in records if r['pid'] not in held]
        test = [r for r in records if r['pid'] in held]
        groups = defaultdict(list)
        for i, r in enumerate(test):
            groups[(r['pid'], r['camid'])].append(i)
        query = {idx[rng.randint(len(idx))]
                 for _, idx in sorted(groups.items())}
        want_query = split == 'query'
        return [r for i, r in enumerate(test) if (i in query) == want_query]
