"""VehicleX / AI City simulation parser: a hand-written tree and the toy one."""
from __future__ import annotations

import json
import os
import os.path as osp

import pytest
from PIL import Image

import reidkit.datasets  # noqa: F401  (registers the datasets)
from reidkit.datasets import LayoutError
from reidkit.registry import DATASETS

ITEMS = [  # name, vehicle, camera, orientation (degrees)
    ('000001.jpg', '0007', 'c001', '5.0'),
    ('000002.jpg', '0007', 'c012', '359.9'),
    ('000003.jpg', '0031', 'c001', '270.0'),
    ('000004.jpg', '0031', 'c003', '89.99'),
]


def _tree(root, items=ITEMS, extra=' colorID="3" typeID="2"'):
    os.makedirs(osp.join(root, 'image_train'))
    rows = ''.join(f'<Item imageName="{n}" vehicleID="{v}" cameraID="{c}"'
                   f'{extra} orientation="{o}" lightInt="0.5" />\n'
                   for n, v, c, o in items)
    with open(osp.join(root, 'train_label.xml'), 'w') as f:
        f.write('<?xml version="1.0" encoding="gb2312"?>\n<TrainingImages '
                f'Version="1.0">\n<Items number="{len(items)}">\n{rows}'
                '</Items>\n</TrainingImages>\n')
    for n, *_ in items:
        Image.new('RGB', (8, 8)).save(osp.join(root, 'image_train', n))
    return root


def test_parses_orientation_classes(tmp_path):
    ds = DATASETS.build(dict(type='VehicleX', data_root=_tree(str(tmp_path))))
    got = [ds.get_data_info(i) for i in range(len(ds))]
    assert [(s['orig_pid'], s['pid'], s['camid']) for s in got] == [
        (7, 0, 1), (7, 0, 12), (31, 1, 1), (31, 1, 3)]
    assert [s['orientation'] for s in got] == [5.0, 359.9, 270.0, 89.99]
    assert [s['orientation_class'] for s in got] == [0, 35, 27, 8]
    assert {(s['color_id'], s['type_id'], s['domain']) for s in got} == {
        (3, 2, 1)}
    assert ds.metainfo['num_pids'] == 2


def test_bad_inputs_name_the_file(tmp_path):
    root = _tree(str(tmp_path / 'a'), ITEMS[:1], extra='')
    ds = DATASETS.build(dict(type='VehicleX', data_root=root))
    assert ds.get_data_info(0)['color_id'] == -1     # optional attributes
    with pytest.raises(ValueError, match="'train'"):
        DATASETS.build(dict(type='VehicleX', data_root=root, split='query'))
    bad = _tree(str(tmp_path / 'b'), [('000001.jpg', '0001', 'c001', 'north')])
    with pytest.raises(LayoutError, match='train_label.xml.*orientation'):
        DATASETS.build(dict(type='VehicleX', data_root=bad))
    os.remove(osp.join(root, 'image_train', '000001.jpg'))
    with pytest.raises(LayoutError, match='missing image'):
        DATASETS.build(dict(type='VehicleX', data_root=root))


def test_reads_the_toy_vehiclex(tmp_path):
    from synthgen.toyworld import make_dataset
    root = str(tmp_path / 'vx')
    make_dataset('vehiclex', root, num_ids=6, seed=0, size='16x16')
    ds = DATASETS.build(dict(type='VehicleX', data_root=root))
    with open(osp.join(root, '_toy_annotations', 'attributes.jsonl')) as f:
        ann = {r['path']: r for r in map(json.loads, f)}
    assert len(ds) == len(ann)
    for i in range(len(ds)):
        s = ds.get_data_info(i)
        a = ann[osp.relpath(s['img_path'], root)]
        assert s['orig_pid'] == a['pid'] and s['camid'] == a['camid']
        assert s['orientation_class'] == a['attributes']['angle'] // 10
