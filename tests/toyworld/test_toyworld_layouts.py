"""Every toy layout, checked by parsing the written files independently."""
import collections
import json
import os
import os.path as osp
import re
import xml.etree.ElementTree as ET

import numpy as np
import pytest
from PIL import Image

from synthgen.toyworld import KINDS, make_dataset
from synthgen.toyworld.layouts import LAYOUTS
from synthgen.toyworld.vocab import (ILLUMINATIONS, PERSON_LABELS, PERSON_SCENES,
                                     VEHICLE_LABELS, WEATHERS)

N_IDS = 9


@pytest.fixture(scope='module')
def root(tmp_path_factory):
    out = tmp_path_factory.mktemp('toy')
    summaries = make_dataset('all', str(out), num_ids=N_IDS, seed=1, size='64x32')
    return out, summaries


def files(base, sub='', ext=('.jpg', '.png')):
    """Relative paths of image files under base/sub (annotations excluded)."""
    out = []
    for dp, dn, fn in os.walk(osp.join(base, sub)):
        dn[:] = [d for d in dn if d != '_toy_annotations']
        out += [osp.relpath(osp.join(dp, f), base) for f in fn if f.endswith(ext)]
    return sorted(out)


def annotations(base):
    with open(osp.join(base, '_toy_annotations', 'attributes.jsonl')) as f:
        return {r['path']: r for r in map(json.loads, f)}


def read_lines(path):
    with open(path) as f:
        return [line.rstrip('\n') for line in f if line.strip()]


def check_common(base, summary, kind):
    """Annotations cover exactly the images; masks align; counts match."""
    imgs = files(base)
    ann = annotations(base)
    assert sorted(ann) == imgs
    assert osp.isfile(osp.join(base, '.complete'))
    assert summary['num_images'] == len(imgs)
    per_split = collections.Counter(r['split'] for r in ann.values())
    assert per_split == {k: v['images'] for k, v in summary['splits'].items()}
    for sp, s in summary['splits'].items():
        rows = [r for r in ann.values() if r['split'] == sp]
        assert s['cams'] == len({r['camid'] for r in rows})
    labels = VEHICLE_LABELS if LAYOUTS[kind][1] == 'vehicle' else PERSON_LABELS
    for rel in imgs[::max(1, len(imgs) // 15)]:
        im = Image.open(osp.join(base, rel))
        mask = np.array(Image.open(osp.join(
            base, '_toy_annotations', 'masks', osp.splitext(rel)[0] + '.png')))
        assert mask.shape == (im.height, im.width)
        assert set(np.unique(mask)) <= set(labels)
    return imgs, ann


def test_every_kind_written(root):
    out, summaries = root
    assert sorted(summaries) == sorted(KINDS)
    for kind in KINDS:
        assert osp.isfile(osp.join(out, kind, '.complete'))


def test_market1501(root):
    out, summ = root
    base = osp.join(out, 'market1501')
    imgs, ann = check_common(base, summ['market1501'], 'market1501')
    pat = re.compile(r'^(-1|\d{4})_c(\d)s(\d)_(\d{6})_(\d{2})\.jpg$')
    parsed = collections.defaultdict(list)
    for rel in imgs:
        folder, name = rel.split('/')
        m = pat.match(name)
        assert m, name
        pid, cam = int(m.group(1)), int(m.group(2))
        assert 1 <= cam <= 6
        assert ann[rel]['pid'] == pid and ann[rel]['camid'] == cam
        parsed[folder].append((pid, cam))
    assert set(parsed) == {'bounding_box_train', 'query', 'bounding_box_test'}
    train = {p for p, _ in parsed['bounding_box_train']}
    gal = parsed['bounding_box_test']
    query = parsed['query']
    assert 0 not in train and -1 not in train
    assert any(p == 0 for p, _ in gal) and any(p == -1 for p, _ in gal)
    assert not train & {p for p, _ in gal if p > 0}
    for p, c in query:      # every query has a valid cross-camera match
        assert any(gp == p and gc != c for gp, gc in gal)
    assert summ['market1501']['splits']['train']['pids'] == len(train)


def test_msmt17(root):
    out, summ = root
    base = osp.join(out, 'msmt17')
    imgs, ann = check_common(base, summ['msmt17'], 'msmt17')
    listed = {}
    for name, top in (('list_train', 'train'), ('list_val', 'train'),
                      ('list_query', 'test'), ('list_gallery', 'test')):
        for line in read_lines(osp.join(base, name + '.txt')):
            rel, pid = line.split(' ')
            full = f'{top}/{rel}'
            assert full in ann and full not in listed
            listed[full] = name
            fields = osp.basename(rel).split('_')
            assert int(fields[0]) == int(pid) == int(rel.split('/')[0])
            assert 1 <= int(fields[2]) <= 15 and ann[full]['camid'] == int(fields[2])
            assert re.match(r'^\d{4}(morning|noon|afternoon)$', fields[3])
    assert sorted(listed) == imgs
    qp = {ann[p]['pid'] for p, n in listed.items() if n == 'list_query'}
    gp = {ann[p]['pid'] for p, n in listed.items() if n == 'list_gallery'}
    assert qp and qp <= gp
    assert 'list_val' in listed.values()


def test_prcc(root):
    out, summ = root
    base = osp.join(out, 'prcc')
    imgs, ann = check_common(base, summ['prcc'], 'prcc')
    clothes = collections.defaultdict(dict)
    pids = collections.defaultdict(set)
    for rel in imgs:
        parts = rel.split('/')
        assert parts[0] == 'rgb'
        if parts[1] in ('train', 'val'):
            _, sp, pid, name = parts
            assert re.match(r'^[ABC]_cropped_rgb\d{3}\.jpg$', name), name
            cam = name[0]
        else:
            _, sp, cam, pid, name = parts
            assert sp == 'test' and cam in 'ABC'
            assert re.match(r'^cropped_rgb\d{3}\.jpg$', name)
        pids[sp].add(pid)
        clothes[(sp, pid)].setdefault(cam, set()).add(ann[rel]['clothes_id'])
    assert not pids['train'] & pids['test'] and not pids['val'] & pids['test']
    for key, by_cam in clothes.items():
        assert set(by_cam) == set('ABC'), key
        assert all(len(v) == 1 for v in by_cam.values())
        assert by_cam['A'] == by_cam['B'] != by_cam['C']


def test_ltcc(root):
    out, summ = root
    base = osp.join(out, 'ltcc')
    imgs, ann = check_common(base, summ['ltcc'], 'ltcc')
    pat = re.compile(r'^(\d{3})_(\d+)_c(\d+)_(\d{6})\.png$')
    recs = collections.defaultdict(list)
    for rel in imgs:
        folder, name = rel.split('/')
        m = pat.match(name)
        assert m and folder in ('train', 'query', 'test'), rel
        pid, clo, cam = map(int, m.groups()[:3])
        assert 1 <= cam <= 12
        recs[folder].append((pid, clo, cam))
    tr = {r[0] for r in recs['train']}
    assert not tr & {r[0] for r in recs['test']}
    gal = recs['test']
    assert any(len({c for p2, c, _ in gal if p2 == p}) > 1 for p, _, _ in gal)
    for p, clo, cam in recs['query']:
        assert any(gp == p and gcam != cam for gp, _, gcam in gal)


def test_vc_clothes(root):
    out, summ = root
    base = osp.join(out, 'vc_clothes')
    imgs, ann = check_common(base, summ['vc_clothes'], 'vc_clothes')
    by_pid = collections.defaultdict(dict)
    for rel in imgs:
        folder, name = rel.split('/')
        m = re.match(r'^(\d{4})-(\d{2})-(\d{2})-(\d{2})\.jpg$', name)
        assert m and folder in ('train', 'query', 'gallery')
        pid, cam, clo, _ = map(int, m.groups())
        assert 1 <= cam <= 4
        by_pid[pid].setdefault(cam, set()).add(clo)
    for pid, cams in by_pid.items():
        assert set(cams) == {1, 2, 3, 4}
        assert cams[1] == cams[2] != cams[3]


def test_sysu_mm01(root):
    out, summ = root
    base = osp.join(out, 'sysu_mm01')
    imgs, ann = check_common(base, summ['sysu_mm01'], 'sysu_mm01')
    ids = {}
    for n in ('train', 'val', 'test'):
        text = open(osp.join(base, 'exp', f'{n}_id.txt')).read().strip()
        ids[n] = [int(x) for x in text.split(',')]
    assert not set(ids['train']) & set(ids['test'])
    folders = set()
    for rel in imgs:
        cam, pid, name = rel.split('/')
        assert re.match(r'^cam[1-6]$', cam) and re.match(r'^\d{4}$', pid)
        assert re.match(r'^\d{4}\.jpg$', name)
        folders.add(int(pid))
        ir = cam in ('cam3', 'cam6')
        assert ann[rel]['modality'] == int(ir)
        assert ann[rel]['attributes']['modality'] == ('infrared' if ir else 'visible')
    assert folders == set(ids['train']) | set(ids['val']) | set(ids['test'])
    for pid in folders:     # every identity is seen in both modalities
        cams = {r.split('/')[0] for r in imgs if int(r.split('/')[1]) == pid}
        assert cams & {'cam3', 'cam6'} and cams - {'cam3', 'cam6'}


def test_ir_images_are_grey_and_visible_are_not(root):
    out, _ = root
    base = osp.join(out, 'sysu_mm01')
    spread = {}
    for rel in files(base):
        a = np.asarray(Image.open(osp.join(base, rel))).astype(int)
        assert a.ndim == 3 and a.shape[2] == 3
        d = np.abs(a - a.mean(axis=2, keepdims=True)).max()
        spread.setdefault(rel.split('/')[0] in ('cam3', 'cam6'), []).append(d)
    assert max(spread[True]) <= 3          # JPEG rounding only
    assert np.median(spread[False]) > 30


def test_llcm(root):
    out, summ = root
    base = osp.join(out, 'llcm')
    imgs, ann = check_common(base, summ['llcm'], 'llcm')
    seen = set()
    for tag in ('vis', 'nir'):
        labels = {}
        for line in read_lines(osp.join(base, 'idx', f'train_{tag}.txt')):
            rel, label = line.split(' ')
            assert rel in ann and rel.startswith(f'train_{tag}/cam')
            labels.setdefault(rel.split('/')[2], set()).add(int(label))
            seen.add(rel)
        assert all(len(v) == 1 for v in labels.values())
        flat = sorted(v.pop() for v in labels.values())
        assert flat == list(range(len(flat))) or set(flat) <= set(range(N_IDS))
    test_ids = {int(x) for x in open(osp.join(base, 'idx', 'test_id.txt')).read().split(',')}
    for rel in imgs:
        if rel.startswith('test_'):
            path = '/data/' + rel
            cam, pid = int(path.split('cam')[1][0]), int(path.split('cam')[1][2:6])
            assert int(path[-15]) == cam and int(path[-13:-9]) == pid
            assert pid in test_ids
            assert not rel.startswith('test_nir/cam3/')
            assert ann[rel]['modality'] == int(rel.startswith('test_nir'))
        else:
            assert rel in seen
    assert {int(r.split('/')[2]) for r in imgs if r.startswith('test_')} == test_ids


def test_finegpr_names_match_attributes(root):
    out, summ = root
    base = osp.join(out, 'finegpr')
    imgs, ann = check_common(base, summ['finegpr'], 'finegpr')
    # the release's layout: FineGPR/<pid>/PPPP_cCC_wWW_lLL_pPP.jpg
    pat = re.compile(r'^FineGPR/(\d{4})/(\d{4})_c(\d{2})_w(\d{2})_l(\d{2})_p(\d{2})\.jpg$')
    bg_of = {}
    for rel in imgs:
        m = pat.match(rel)
        assert m, rel
        folder, pid, c, w, l, p = map(int, m.groups())
        assert folder == pid
        assert 1 <= c <= 36 and 1 <= w <= 7 and 1 <= l <= 7 and 1 <= p <= 9
        a = ann[rel]['attributes']
        assert ann[rel]['pid'] == pid
        assert a['weather'] == WEATHERS[w - 1]
        assert a['illumination'] == ILLUMINATIONS[l - 1]
        assert a['background'] == PERSON_SCENES[p - 1]
        # release viewpoints: c01 = 90, c28 = 0, c36 = 80 degrees
        diff = (a['angle'] - ((c - 1) * 10 + 90) % 360 + 180) % 360 - 180
        assert abs(diff) <= 12
        bg_of.setdefault(pid, set()).add(p)
    # one background per identity, spread over the nine
    assert all(len(v) == 1 for v in bg_of.values())
    counts = collections.Counter(next(iter(v)) for v in bg_of.values())
    assert max(counts.values()) - min(counts.values()) <= 1 and len(counts) == 9
    rows = read_lines(osp.join(base, 'id_attributes.csv'))
    assert rows[0].split(',')[:3] == ['pid', 'gender', 'hair_length']
    assert len(rows) == 1 + len(bg_of)
    for row in rows[1:]:
        codes = [int(x) for x in row.split(',')]
        assert len(codes) == 14 and codes[1] == 0 and 1 <= codes[12] <= 9


def test_finegpr_full_grid_per_identity():
    from synthgen.toyworld.layouts import plan_finegpr
    from synthgen.toyworld.world import Knobs
    plan = plan_finegpr(np.random.default_rng(0), 2, (32, 16), Knobs(), grid='full')
    names = [r['paths'][0] for r in plan.records]
    assert len(names) == 2 * 36 * 7 * 7 == 3528
    cells = {n.split('_', 1)[1][:11] for n in names if n.startswith('FineGPR/0001/')}
    assert len(cells) == 1764
    # the toy's render angle follows the release's viewpoint table
    i = names.index(next(n for n in names if '_c28_' in n))
    assert abs((plan.jitter['angle'][i] + 180) % 360 - 180) < 12


def test_veri776(root):
    out, summ = root
    base = osp.join(out, 'veri776')
    imgs, ann = check_common(base, summ['veri776'], 'veri776')
    pat = re.compile(r'^(\d{4})_c(\d{3})_(\d{8})_(\d)\.jpg$')
    folders = collections.defaultdict(list)
    for rel in imgs:
        folder, name = rel.split('/')
        assert pat.match(name), name
        folders[folder].append(name)
    for split in ('train', 'query', 'test'):
        assert read_lines(osp.join(base, f'name_{split}.txt')) == sorted(folders[f'image_{split}'])
    assert set(folders['image_query']) <= set(folders['image_test'])
    for q in folders['image_query']:     # same pixels in both folders
        a = open(osp.join(base, 'image_query', q), 'rb').read()
        assert a == open(osp.join(base, 'image_test', q), 'rb').read()
    covered = []
    with open(osp.join(base, 'test_track.txt')) as f:
        for line in f:
            tokens = line.split(' ')
            assert tokens[-1] == '\n'
            key, names = tokens[0], tokens[1:-1]
            assert key == names[0]
            assert len({n[:9] for n in names}) == 1      # one vehicle, one camera
            covered += names
    assert sorted(covered) == sorted(folders['image_test'])
    tree = ET.parse(osp.join(base, 'train_label.xml'), parser=ET.XMLParser(encoding='utf-8'))
    items = tree.getroot().find('Items')
    assert int(items.get('number')) == len(folders['image_train'])
    for it in items:
        assert it.get('vehicleID') == it.get('imageName')[:4]
        assert 1 <= int(it.get('colorID')) <= 10 and 1 <= int(it.get('typeID')) <= 9


def test_vehicleid(root):
    out, summ = root
    base = osp.join(out, 'vehicleid')
    imgs, ann = check_common(base, summ['vehicleid'], 'vehicleid')
    sp = osp.join(base, 'train_test_split')
    lists = {}
    for n in ('train_list', 'test_list_800', 'test_list_1600', 'test_list_2400'):
        rows = [line.split(' ') for line in read_lines(osp.join(sp, n + '.txt'))]
        for img, vid in rows:
            assert re.match(r'^\d{7}$', img) and f'image/{img}.jpg' in ann
            assert ann[f'image/{img}.jpg']['pid'] == int(vid)
        lists[n] = rows
    vids = {n: {int(v) for _, v in rows} for n, rows in lists.items()}
    assert vids['test_list_800'] <= vids['test_list_1600'] <= vids['test_list_2400']
    assert len(vids['test_list_800']) < len(vids['test_list_2400'])
    assert not vids['train_list'] & vids['test_list_2400']
    listed = {f'image/{i}.jpg' for n in ('train_list', 'test_list_2400') for i, _ in lists[n]}
    assert listed == set(imgs)
    assert {ann[r]['attributes']['viewpoint'] for r in imgs} <= {'front', 'rear'}


def test_cityflow_v2(root):
    out, summ = root
    base = osp.join(out, 'cityflow_v2')
    imgs, ann = check_common(base, summ['cityflow_v2'], 'cityflow_v2')
    folders = collections.defaultdict(list)
    for rel in imgs:
        folder, name = rel.split('/')
        assert re.match(r'^\d{6}\.jpg$', name)
        folders[folder].append(name)
    tree = ET.parse(osp.join(base, 'train_label.xml'), parser=ET.XMLParser(encoding='utf-8'))
    items = list(tree.getroot().find('Items'))
    assert sorted(it.get('imageName') for it in items) == sorted(folders['image_train'])
    for it in items:
        r = ann['image_train/' + it.get('imageName')]
        assert int(it.get('vehicleID')) == r['pid']
        assert it.get('cameraID') == f'c{r["camid"]:03d}'
    assert read_lines(osp.join(base, 'name_query.txt')) == sorted(folders['image_query'])
    assert read_lines(osp.join(base, 'name_test.txt')) == sorted(folders['image_test'])
    for split, folder in (('train', 'image_train'), ('test', 'image_test')):
        tracks = [line.split() for line in read_lines(osp.join(base, f'{split}_track.txt'))]
        flat = [n for t in tracks for n in t]
        assert sorted(flat) == sorted(folders[folder])
        for t in tracks:
            assert len({(ann[f'{folder}/{n}']['pid'], ann[f'{folder}/{n}']['camid'])
                        for n in t}) == 1
    # orientation (yaw, degrees) in the annotations: one per track, and the
    # viewpoint / facing it is named by
    yaw = {('front', 'left'): 0, ('front', 'right'): 0, ('rear', 'left'): 180,
           ('rear', 'right'): 180, ('side', 'left'): 90, ('side', 'right'): 270,
           ('oblique', 'left'): 45, ('oblique', 'right'): 315}
    for r in ann.values():
        a = r['attributes']
        assert a['angle'] == yaw[a['viewpoint'], a['facing']]
    for t in tracks:
        assert len({ann[f'image_test/{n}']['attributes']['angle'] for n in t}) == 1


def test_vehiclex(root):
    out, summ = root
    base = osp.join(out, 'vehiclex')
    imgs, ann = check_common(base, summ['vehiclex'], 'vehiclex')
    assert all(re.match(r'^image_train/\d{6}\.jpg$', rel) for rel in imgs)
    text = open(osp.join(base, 'train_label.xml'), 'rb').read().decode('gb2312')
    items = list(ET.fromstring(text.split('?>', 1)[1]).find('Items'))
    assert sorted('image_train/' + it.get('imageName') for it in items) == imgs
    angles = set()
    for it in items:
        r = ann['image_train/' + it.get('imageName')]
        assert int(it.get('vehicleID')) == r['pid']
        assert it.get('cameraID') == f'c{r["camid"]:03d}'
        assert float(it.get('orientation')) == r['attributes']['angle']
        angles.add(r['attributes']['angle'])
        assert 1 <= int(it.get('colorID')) <= 10 and 1 <= int(it.get('typeID')) <= 9
    assert len(angles) >= 4          # every viewpoint drawn per image
    assert set(summ['vehiclex']['splits']) == {'train'}


def test_vehicle_lookalikes_share_model_and_colour(root):
    out, _ = root
    ann = annotations(osp.join(out, 'veri776'))
    groups = collections.defaultdict(dict)
    for r in ann.values():
        a = r['attributes']
        groups[a['group']][r['pid']] = (a['vehicle_type'], a['brand'], a['era'], a['color'],
                                       tuple(a['marks']))
    multi = [g for g in groups.values() if len(g) > 1]
    assert multi
    for g in multi:
        assert len({v[:4] for v in g.values()}) == 1
        assert len({v[4] for v in g.values()}) == len(g)     # marks tell them apart
