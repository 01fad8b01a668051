"""Every benchmark parser on a tiny tree in its official layout."""
from __future__ import annotations

import os.path as osp
from collections import Counter

import pytest

import reidkit.datasets  # noqa: F401  (registers the datasets)
from reidkit.datasets import LayoutError
from reidkit.registry import DATASETS

from reid_fixture_trees import BUILDERS, CCVID_TRACKS, SYSU_IMAGES

NAMES = sorted(BUILDERS)
SAMPLE_KEYS = {'img_path', 'pid', 'camid', 'clothes_id', 'modality', 'domain',
               'split', 'track_id'}


def build(spec, split, **extra):
    return DATASETS.build(dict(type=spec.type, data_root=spec.root,
                               split=split, **spec.kwargs, **extra))


def samples(ds):
    return [ds.get_data_info(i) for i in range(len(ds))]


@pytest.fixture(params=NAMES)
def spec(request, tmp_path):
    return BUILDERS[request.param](str(tmp_path / request.param))


def test_counts_per_split(spec):
    for split, (n_pid, n_cam, n_clothes, n_img) in spec.counts.items():
        ds = build(spec, split)
        meta = ds.metainfo
        got = (meta['num_pids'], meta['num_cams'], meta['num_clothes'],
               meta['num_images'])
        assert got == (n_pid, n_cam, n_clothes, n_img), (spec.type, split)
        assert len(ds) == n_img
        assert meta['protocol']
        items = samples(ds)
        # counts recomputed from the samples themselves
        assert len({s['pid'] for s in items}) == n_pid
        assert len({s['camid'] for s in items}) == n_cam
        assert len({s['clothes_id'] for s in items
                    if s['clothes_id'] >= 0}) == n_clothes
        for s in items:
            assert SAMPLE_KEYS <= set(s), s
            assert s['split'] == split
            assert osp.isabs(s['img_path']) and osp.isfile(s['img_path'])
            assert s['pid'] >= 0
            assert s['modality'] in (0, 1) and s['domain'] in (0, 1)


def test_train_relabelled(spec):
    items = samples(build(spec, 'train'))
    pids = sorted({s['pid'] for s in items})
    assert pids == list(range(len(pids)))
    clothes = sorted({s['clothes_id'] for s in items if s['clothes_id'] >= 0})
    assert clothes == list(range(len(clothes)))
    # relabelling keeps the order of the original ids and is a bijection
    pairs = {(s['orig_pid'], s['pid']) for s in items}
    assert len(pairs) == len(pids)
    assert sorted(pairs) == sorted(pairs, key=lambda p: p[1])


def test_test_split_is_query_then_gallery(spec):
    if 'query' not in spec.counts:
        pytest.skip('training-only dataset')
    q = samples(build(spec, 'query'))
    g = samples(build(spec, 'gallery'))
    t = samples(build(spec, 'test'))
    assert [s['img_path'] for s in t] == [s['img_path'] for s in q + g]
    assert [s['split'] for s in t] == ['query'] * len(q) + ['gallery'] * len(g)
    for a, b in zip(t, q + g):
        assert (a['pid'], a['camid'], a['clothes_id'], a['track_id']) == \
            (b['pid'], b['camid'], b['clothes_id'], b['track_id'])


@pytest.mark.parametrize('kind', ['missing', 'bad_name'])
def test_broken_tree_raises_clear_error(spec, kind):
    split, mutate, text = spec.breaks[kind]
    build(spec, split)  # fine before the damage
    mutate(spec.root)
    with pytest.raises(LayoutError) as err:
        build(spec, split)
    msg = str(err.value)
    assert text in msg, msg
    assert spec.type in msg
    if 'does not exist' not in msg:
        assert 'Expected layout' in msg


# ------------------------------------------------------- dataset specifics
def _pid_cam(items):
    return Counter((s['pid'], s['camid']) for s in items)


def test_market_junk_distractor_and_relabel(tmp_path):
    spec = BUILDERS['market'](str(tmp_path))
    train = samples(build(spec, 'train'))
    assert {(s['orig_pid'], s['pid']) for s in train} == {(2, 0), (7, 1),
                                                          (11, 2)}
    assert _pid_cam(train) == Counter({(0, 1): 2, (0, 2): 1, (1, 3): 2,
                                       (2, 1): 1})
    gallery = samples(build(spec, 'gallery'))
    assert _pid_cam(gallery) == Counter({(1, 2): 1, (1, 1): 1, (5, 3): 1,
                                         (0, 4): 1})  # 0 kept, -1 dropped
    assert all(s['clothes_id'] == -1 and s['track_id'] == -1
               for s in gallery)
    assert build(spec, 'test').metainfo['protocol'] == 'market'


def test_cuhk03np_subsets(tmp_path):
    spec = BUILDERS['cuhk03np'](str(tmp_path))
    ds = DATASETS.build(dict(type='CUHK03NP', data_root=spec.root,
                             subset='labeled'))
    assert ds.metainfo['num_pids'] == 4 and len(ds) == 4
    with pytest.raises(ValueError, match='subset'):
        DATASETS.build(dict(type='CUHK03NP', data_root=spec.root,
                            subset='both'))


def test_msmt17_without_val_and_cameras(tmp_path):
    spec = BUILDERS['msmt17'](str(tmp_path))
    ds = build(spec, 'train', with_val=False)
    assert (len(ds), ds.metainfo['num_cams']) == (3, 2)
    g = samples(build(spec, 'gallery'))
    assert sorted(s['camid'] for s in g) == [4, 7, 10]
    assert sorted(s['pid'] for s in g) == [0, 3, 3]


def test_finegpr_attributes_and_filter(tmp_path):
    spec = BUILDERS['finegpr'](str(tmp_path))
    items = samples(build(spec, 'train'))
    by_name = {osp.basename(s['img_path']): s for s in items}
    s = by_name['0001_c10_w02_l03_p04.jpg']
    # release viewpoints (authors' README): c01 = 90, c10 = 180, c36 = 80
    assert s['attributes'] == dict(viewpoint=180, weather=2, illumination=3,
                                   background=4)
    assert s['camid'] == 10 and s['domain'] == 1
    assert by_name['0002_c36_w07_l07_p09.jpg']['attributes']['viewpoint'] == \
        80
    assert by_name['0001_c01_w01_l01_p01.jpg']['attributes']['viewpoint'] == \
        90
    ds = build(spec, 'train', attribute_filter=dict(weather=[1]))
    assert len(ds) == 2
    with pytest.raises(ValueError, match='train'):
        build(spec, 'query')
    with pytest.raises(ValueError, match='unknown attribute'):
        build(spec, 'train', attribute_filter=dict(colour=[1]))


def test_prcc_cameras_and_clothes(tmp_path):
    spec = BUILDERS['prcc'](str(tmp_path))
    train = samples(build(spec, 'train'))
    for s in train:
        letter = osp.basename(s['img_path'])[0]
        assert s['camid'] == 'ABC'.index(letter)
    # A and B share clothes, C differs, within one pid
    cl = {(s['orig_pid'], s['camid']): s['clothes_id'] for s in train}
    assert cl[(1, 0)] == cl[(1, 1)] != cl[(1, 2)]
    t = samples(build(spec, 'test'))
    q = [s for s in t if s['split'] == 'query']
    g = [s for s in t if s['split'] == 'gallery']
    assert {s['camid'] for s in q} == {1, 2} and {s['camid'] for s in g} == {0}
    gal_clothes = {s['pid']: s['clothes_id'] for s in g}
    for s in q:  # B keeps the gallery's outfit, C does not
        assert (s['clothes_id'] == gal_clothes[s['pid']]) == (s['camid'] == 1)
    cc = build(spec, 'query', query_cams=('C', ))
    assert len(cc) == 3
    assert build(spec, 'train', with_val=True).metainfo['num_pids'] == 3
    assert build(spec, 'test').metainfo['protocol'] == 'prcc'


def test_ltcc_clothes_consistent_between_query_and_gallery(tmp_path):
    spec = BUILDERS['ltcc'](str(tmp_path))
    t = samples(build(spec, 'test'))
    key = {}
    for s in t:
        stem = osp.basename(s['img_path']).split('_')
        key.setdefault((int(stem[0]), int(stem[1])), set()).add(
            s['clothes_id'])
    assert all(len(v) == 1 for v in key.values())  # same outfit, same id
    ids = [next(iter(v)) for v in key.values()]
    assert len(set(ids)) == len(ids)  # different outfits, different ids
    assert len(key) == 4  # (10,1) (10,3) (11,1) (11,2)


def test_vcclothes_modes(tmp_path):
    spec = BUILDERS['vcclothes'](str(tmp_path))
    cc_q = samples(build(spec, 'query', mode='cc'))
    cc_g = samples(build(spec, 'gallery', mode='cc'))
    assert sorted(s['camid'] for s in cc_q) == [3, 4]
    assert sorted(s['camid'] for s in cc_g) == [3, 4]
    sc = build(spec, 'test', mode='sc')
    assert sorted(s['camid'] for s in samples(sc)) == [2, 3, 3]
    assert len(build(spec, 'train', mode='cc')) == 3  # train unfiltered
    with pytest.raises(ValueError, match='mode'):
        build(spec, 'test', mode='xx')


def test_ccvid_frames_and_tracklets(tmp_path):
    spec = BUILDERS['ccvid'](str(tmp_path))
    train = samples(build(spec, 'train'))
    per_track = Counter(s['track_id'] for s in train)
    assert per_track == Counter({0: 3, 1: 2, 2: 2})
    cams = {s['track_id']: s['camid'] for s in train}
    assert cams == {0: 1, 1: 2, 2: 15}  # session3 adds 12
    t = samples(build(spec, 'test'))
    tracks = {(s['split'], s['track_id']) for s in t}
    assert tracks == {('query', 0), ('gallery', 1), ('gallery', 2)}
    step = build(spec, 'train', frame_step=2)
    assert len(step) == 2 + 1 + 1
    n_frames = sum(n for *_, n in CCVID_TRACKS['train'])
    assert len(train) == n_frames


def test_last_eval_sets(tmp_path):
    spec = BUILDERS['last'](str(tmp_path))
    val = build(spec, 'test', eval_set='val')
    items = samples(val)
    assert [s['split'] for s in items] == ['query', 'gallery', 'gallery']
    assert {s['pid'] for s in items} == {20, 21}
    assert all(s['camid'] == 0 and s['clothes_id'] == -1 for s in items)


def test_sysu_modalities_and_modes(tmp_path):
    spec = BUILDERS['sysu'](str(tmp_path))
    train = samples(build(spec, 'train'))
    assert all(s['modality'] == int(s['camid'] in (3, 6)) for s in train)
    assert {s['orig_pid'] for s in train} == {1, 2, 3}  # train + val ids
    q = samples(build(spec, 'query'))
    assert all(s['modality'] == 1 and s['camid'] in (3, 6) for s in q)
    g_all = samples(build(spec, 'gallery'))
    expected = sum(n for (p, c), n in SYSU_IMAGES.items()
                   if p in (4, 5) and c in (1, 2, 4, 5))
    assert len(g_all) == expected and all(s['modality'] == 0 for s in g_all)
    indoor = build(spec, 'gallery', mode='indoor')
    assert {s['camid'] for s in samples(indoor)} == {1, 2}
    assert len(indoor) == 3
    assert indoor.metainfo['protocol'] == 'sysu_indoor'
    assert build(spec, 'test').metainfo['protocol'] == 'sysu_all'


def test_llcm_directions(tmp_path):
    spec = BUILDERS['llcm'](str(tmp_path))
    v2i = samples(build(spec, 'test'))
    q = [s for s in v2i if s['split'] == 'query']
    g = [s for s in v2i if s['split'] == 'gallery']
    assert all(s['modality'] == 0 for s in q) and all(s['modality'] == 1
                                                      for s in g)
    assert not any('cam3' in s['img_path'] for s in g)  # official NIR cams
    i2v = build(spec, 'test', direction='i2v')
    items = samples(i2v)
    assert all(s['modality'] == (1 if s['split'] == 'query' else 0)
               for s in items)
    assert i2v.metainfo['protocol'] == 'llcm_i2v'
    train = samples(build(spec, 'train'))
    assert Counter(s['modality'] for s in train) == Counter({0: 3, 1: 2})
    assert {osp.basename(s['img_path'])[:8]: s['camid'] for s in train}[
        '0003_c06'] == 6


def test_veri_tracks(tmp_path):
    spec = BUILDERS['veri'](str(tmp_path))
    g = {osp.basename(s['img_path']): s for s in
         samples(build(spec, 'gallery'))}
    assert g['0002_c003_00030610_0.jpg']['track_id'] == 0
    assert g['0002_c003_00030615_1.jpg']['track_id'] == 0
    assert g['0005_c004_00000010_0.jpg']['track_id'] == 1
    assert g['0002_c002_00030601_1.jpg']['track_id'] == -1
    assert g['0005_c004_00000010_0.jpg']['camid'] == 4
    train = samples(build(spec, 'train'))
    assert {s['camid'] for s in train} == {1, 2, 12}


@pytest.mark.parametrize('size,n_gallery,n_query', [(800, 2, 3), (1600, 2, 1),
                                                    (2400, 3, 1)])
def test_vehicleid_one_gallery_image_per_vehicle(tmp_path, size, n_gallery,
                                                 n_query):
    spec = BUILDERS['vehicleid'](str(tmp_path))
    g = samples(build(spec, 'gallery', test_size=size))
    q = samples(build(spec, 'query', test_size=size))
    assert (len(g), len(q)) == (n_gallery, n_query)
    assert len({s['pid'] for s in g}) == len(g)  # one per vehicle
    assert {s['pid'] for s in q} <= {s['pid'] for s in g}
    assert not {s['img_path'] for s in g} & {s['img_path'] for s in q}
    with open(osp.join(spec.root, 'train_test_split',
                       f'test_list_{size}.txt')) as f:
        listed = {osp.join(spec.root, 'image', ln.split()[0] + '.jpg')
                  for ln in f}
    assert {s['img_path'] for s in g + q} == listed
    with pytest.raises(ValueError, match='test_size'):
        build(spec, 'test', test_size=500)


def test_vehicleid_gallery_draw_depends_on_seed(tmp_path):
    spec = BUILDERS['vehicleid'](str(tmp_path))
    draws = {tuple(s['img_path'] for s in samples(
        build(spec, 'gallery', gallery_seed=seed))) for seed in range(8)}
    assert len(draws) > 1  # vid 10 has 3 images, vid 12 has 2
    again = [s['img_path'] for s in samples(build(spec, 'gallery'))]
    assert again == [s['img_path'] for s in samples(build(spec, 'gallery'))]


def test_cityflow_offline_split(tmp_path):
    spec = BUILDERS['cityflow'](str(tmp_path))
    train = samples(build(spec, 'train'))
    q = samples(build(spec, 'query'))
    g = samples(build(spec, 'gallery'))
    train_ids = {s['orig_pid'] for s in train}
    test_ids = {s['pid'] for s in q} | {s['pid'] for s in g}
    assert not train_ids & test_ids
    assert train_ids | test_ids == {1, 2, 3, 4, 5}
    assert len(_pid_cam(q)) == len(q)  # one query per (vehicle, camera)
    assert set(_pid_cam(q)) == set(_pid_cam(g))
    # cameras: vehicle v is seen by cameras v and 10 + v
    assert all(s['camid'] in (s['pid'], 10 + s['pid']) for s in q + g)
    # tracks from train_track.txt: one per (vehicle, camera)
    tr = {}
    for s in train + q + g:
        tr.setdefault(s['track_id'], set()).add((s['pid'] if s['split'] !=
                                                 'train' else s['orig_pid'],
                                                 s['camid']))
    assert all(len(v) == 1 for v in tr.values()) and -1 not in tr
    # deterministic; default holds out round(5 * 80 / 440) = 1 id
    again = samples(build(spec, 'query'))
    assert [s['img_path'] for s in again] == [s['img_path'] for s in q]
    ds = DATASETS.build(dict(type='CityFlowV2', data_root=spec.root))
    assert ds.metainfo['num_pids'] == 4
    full = DATASETS.build(dict(type='CityFlowV2', data_root=spec.root,
                               mode='full'))
    assert full.metainfo['num_pids'] == 5
    with pytest.raises(ValueError, match='not public'):
        DATASETS.build(dict(type='CityFlowV2', data_root=spec.root,
                            mode='full', split='query'))


def test_cityflow_bad_xml_item(tmp_path):
    spec = BUILDERS['cityflow'](str(tmp_path))
    path = osp.join(spec.root, 'train_label.xml')
    with open(path) as f:
        text = f.read()
    with open(path, 'w') as f:
        f.write(text.replace('cameraID="c001"', 'cameraID="front"'))
    with pytest.raises(LayoutError, match='cameraID'):
        build(spec, 'train')


def test_bad_split_and_missing_root(tmp_path):
    with pytest.raises(ValueError, match='split'):
        DATASETS.build(dict(type='Market1501', data_root=str(tmp_path),
                            split='val'))
    with pytest.raises(LayoutError, match='does not exist'):
        DATASETS.build(dict(type='Market1501',
                            data_root=str(tmp_path / 'nowhere')))
