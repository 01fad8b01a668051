"""FineGPR as released: viewpoint table, identity attributes, subsets."""
import os
import os.path as osp

import pytest
from reid_fixture_trees import TINY_JPEG

from reidkit.datasets.base import LayoutError
from reidkit.datasets.finegpr import (ID_ATTRIBUTES, FineGPR, viewpoint_code,
                                      viewpoint_degrees)

# the authors' README table, column by column (c01..c36)
README_VIEWPOINTS = dict(
    [(c, 90 + 10 * (c - 1)) for c in range(1, 10)]
    + [(c, 180 + 10 * (c - 10)) for c in range(10, 19)]
    + [(c, 270 + 10 * (c - 19)) for c in range(19, 28)]
    + [(c, 10 * (c - 28)) for c in range(28, 37)])


def test_viewpoint_table_matches_readme():
    assert README_VIEWPOINTS[1] == 90 and README_VIEWPOINTS[28] == 0
    assert README_VIEWPOINTS[36] == 80 and README_VIEWPOINTS[27] == 350
    for c, deg in README_VIEWPOINTS.items():
        assert viewpoint_degrees(c) == deg
        assert viewpoint_code(deg) == c
    with pytest.raises(ValueError, match='c37'):
        viewpoint_degrees(37)


def _tree(root, names, csv=None):
    for n in names:
        path = osp.join(root, 'FineGPR', n[:4], n)
        os.makedirs(osp.dirname(path), exist_ok=True)
        with open(path, 'wb') as f:
            f.write(TINY_JPEG)  # datasets check image files when built
    if csv is not None:
        with open(osp.join(root, 'id_attributes.csv'), 'w') as f:
            f.write(csv)


HEADER = 'pid,' + ','.join(ID_ATTRIBUTES) + '\n'


def test_identity_attributes_and_filters(tmp_path):
    names = ['0001_c01_w01_l01_p03.jpg', '0001_c28_w02_l05_p03.jpg',
             '0003_c19_w07_l07_p08.jpg']
    _tree(str(tmp_path), names,
          HEADER + '1,2,1,2,1,2,1,2,2,1,1,1,9,7\n3,1,2,3,2,1,2,1,1,2,2,2,0,0\n')
    ds = FineGPR(str(tmp_path))
    by = {osp.basename(ds[i]['img_path']): ds[i] for i in range(len(ds))}
    a = by['0001_c28_w02_l05_p03.jpg']['attributes']
    assert a['viewpoint'] == 0 and a['weather'] == 2 and a['illumination'] == 5
    assert a['gender'] == 2 and ID_ATTRIBUTES['gender'][a['gender'] - 1] == 'female'
    assert a['upper_color'] == 9 and ID_ATTRIBUTES['upper_color'][8] == 'brown'
    assert by['0003_c19_w07_l07_p08.jpg']['attributes']['age'] == 3
    assert by['0003_c19_w07_l07_p08.jpg']['attributes']['viewpoint'] == 270
    # filters on image-level and identity-level attributes
    assert len(FineGPR(str(tmp_path), attribute_filter=dict(gender=[1]))) == 1
    assert len(FineGPR(str(tmp_path), attribute_filter=dict(viewpoint=[0, 90]))) == 2
    # an image list keeps only the named files (relative to data_root)
    with open(osp.join(tmp_path, 'subset.txt'), 'w') as f:
        f.write('FineGPR/0001/0001_c28_w02_l05_p03.jpg\n'
                'FineGPR/0003/0003_c19_w07_l07_p08.jpg\n')
    sub = FineGPR(str(tmp_path), image_list='subset.txt')
    assert sorted(osp.basename(sub[i]['img_path']) for i in range(len(sub))) == \
        sorted(names[1:])
    assert sub.metainfo['num_pids'] == 2


def test_bad_identity_file_and_codes(tmp_path):
    _tree(str(tmp_path), ['0001_c01_w01_l01_p01.jpg'], 'pid,gender\n1,1\n')
    with pytest.raises(LayoutError, match='header'):
        FineGPR(str(tmp_path))
    _tree(str(tmp_path), [], HEADER + '1,3,1,2,1,2,1,2,2,1,1,1,9,7\n')
    with pytest.raises(LayoutError, match='line 2'):
        FineGPR(str(tmp_path))
    os.remove(osp.join(tmp_path, 'id_attributes.csv'))
    _tree(str(tmp_path), ['0002_c37_w01_l01_p01.jpg'])
    with pytest.raises(LayoutError, match='c01-c36'):
        FineGPR(str(tmp_path))


def test_toy_finegpr_parses_with_identity_attributes(tmp_path):
    from synthgen.toyworld import make_dataset
    make_dataset('finegpr', str(tmp_path), num_ids=9, seed=0, size='32x16')
    ds = FineGPR(str(tmp_path))
    assert ds.metainfo['num_pids'] == 9 and len(ds) == 9 * 24
    s = ds[0]
    assert set(ID_ATTRIBUTES) <= set(s['attributes'])
    assert s['attributes']['viewpoint'] == viewpoint_degrees(s['camid'])
    per_id = {}
    for i in range(len(ds)):
        per_id.setdefault(ds[i]['pid'], set()).add(ds[i]['attributes']['background'])
    assert all(len(v) == 1 for v in per_id.values())
