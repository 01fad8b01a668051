"""Tiny benchmark trees in the official layouts, for the parser tests.

Each ``build_<name>(root)`` writes one tiny valid 16x8 JPEG per image (the
datasets check every image file when they are built) and returns a :class:`Spec`: the dataset type, its kwargs, the hand-counted
``(num_pids, num_cams, num_clothes, num_images)`` of every split, and two
ways to break the tree (a missing folder/file and a bad file name or line)
with the text the error must contain.
"""
from __future__ import annotations

import os
import os.path as osp
import shutil
from dataclasses import dataclass, field
from typing import Callable, Dict, Tuple


def _tiny_jpeg() -> bytes:
    import io

    from PIL import Image
    buf = io.BytesIO()
    Image.new('RGB', (8, 16), (90, 60, 30)).save(buf, 'JPEG')
    return buf.getvalue()


TINY_JPEG = _tiny_jpeg()


def touch(path: str, data: bytes = None) -> str:
    """Write ``data`` (default: a tiny valid JPEG) to ``path``."""
    os.makedirs(osp.dirname(path), exist_ok=True)
    with open(path, 'wb') as f:
        f.write(TINY_JPEG if data is None else data)
    return path


def write(path: str, text: str) -> str:
    return touch(path, text.encode())


def remove(path: str) -> None:
    if osp.isdir(path):
        shutil.rmtree(path)
    else:
        os.remove(path)


@dataclass
class Spec:
    type: str
    root: str
    kwargs: dict
    counts: Dict[str, Tuple[int, int, int, int]]
    # (split to load, mutate(root), text the error must contain)
    breaks: Dict[str, Tuple[str, Callable[[str], None], str]] = field(
        default_factory=dict)


def _missing(rel: str) -> Callable[[str], None]:
    return lambda root: remove(osp.join(root, rel))


def _add(rel: str, text: str = '') -> Callable[[str], None]:
    return lambda root: write(osp.join(root, rel), text)


def _append(rel: str, text: str) -> Callable[[str], None]:
    def f(root):
        with open(osp.join(root, rel), 'a') as fh:
            fh.write(text)
    return f


# --------------------------------------------------------------- Market-like
def _market_like(root, names: dict, sub: str = ''):
    folders = dict(train='bounding_box_train', query='query',
                   gallery='bounding_box_test')
    for split, files in names.items():
        for n in files:
            touch(osp.join(root, sub, folders[split], n))


def build_market(root: str) -> Spec:
    _market_like(root, dict(
        train=['0002_c1s1_000001_01.jpg', '0002_c1s1_000002_01.jpg',
               '0002_c2s1_000003_01.jpg', '0007_c3s2_000004_01.jpg',
               '0007_c3s2_000005_01.jpg', '0011_c1s3_000006_01.jpg',
               '-1_c1s1_000007_01.jpg', 'Thumbs.db'],
        query=['0001_c1s1_000101_00.jpg', '0005_c2s1_000102_00.jpg'],
        gallery=['0001_c2s1_000201_01.jpg', '0001_c1s1_000202_01.jpg',
                 '0005_c3s1_000203_01.jpg', '0000_c4s1_000204_01.jpg',
                 '-1_c1s1_000205_01.jpg']))
    return Spec('Market1501', root, {}, dict(
        train=(3, 3, 0, 6), query=(2, 2, 0, 2), gallery=(3, 4, 0, 4)),
        dict(missing=('test', _missing('query'), 'query'),
             bad_name=('train', _add('bounding_box_train/img_001.jpg'),
                       'img_001.jpg')))


def build_duke(root: str) -> Spec:
    _market_like(root, dict(
        train=['0001_c2_f0046182.jpg', '0001_c3_f0046200.jpg',
               '0003_c1_f0000100.jpg'],
        query=['0005_c2_f0046985.jpg'],
        gallery=['0005_c5_f0051341.jpg', '0005_c2_f0046990.jpg',
                 '0008_c7_f0000001.jpg']))
    return Spec('DukeMTMC', root, {}, dict(
        train=(2, 3, 0, 3), query=(1, 1, 0, 1), gallery=(2, 3, 0, 3)),
        dict(missing=('gallery', _missing('bounding_box_test'),
                      'bounding_box_test'),
             bad_name=('query', _add('query/c2_0005.jpg'), 'c2_0005.jpg')))


def build_cuhk03np(root: str) -> Spec:
    _market_like(root, dict(
        train=['0001_c1_1.png', '0001_c2_2.png', '0002_c1_1.png'],
        query=['0100_c1_1.png'],
        gallery=['0100_c2_1.png', '0101_c1_2.png']), sub='detected')
    _market_like(root, dict(
        train=['0001_c1_1.png', '0003_c2_1.png', '0004_c2_1.png',
               '0005_c2_1.png'],
        query=['0100_c1_1.png'],
        gallery=['0100_c2_1.png']), sub='labeled')
    return Spec('CUHK03NP', root, dict(subset='detected'), dict(
        train=(2, 2, 0, 3), query=(1, 1, 0, 1), gallery=(2, 2, 0, 2)),
        dict(missing=('train', _missing('detected/bounding_box_train'),
                      'bounding_box_train'),
             bad_name=('gallery', _add('detected/bounding_box_test/x.png'),
                       'x.png')))


# --------------------------------------------------------------------- MSMT
def build_msmt17(root: str) -> Spec:
    train = [('0000/0000_000_01_0303morning_0015_0.jpg', 0),
             ('0000/0000_001_01_0303morning_0016_0.jpg', 0),
             ('0001/0001_000_03_0303noon_0001_0.jpg', 1)]
    val = [('0000/0000_002_05_0303afternoon_0003_0.jpg', 0)]
    query = [('0000/0000_000_02_0113morning_0001_0.jpg', 0),
             ('0003/0003_001_04_0113noon_0001_0.jpg', 3)]
    gallery = [('0000/0000_002_07_0113noon_0002_0.jpg', 0),
               ('0003/0003_003_04_0113noon_0003_0.jpg', 3),
               ('0003/0003_004_10_0113noon_0004_0.jpg', 3)]
    for name, items, d in (('list_train.txt', train, 'train'),
                           ('list_val.txt', val, 'train'),
                           ('list_query.txt', query, 'test'),
                           ('list_gallery.txt', gallery, 'test')):
        write(osp.join(root, name),
              ''.join(f'{p} {pid}\n' for p, pid in items))
        for p, _ in items:
            touch(osp.join(root, d, p))
    return Spec('MSMT17', root, {}, dict(
        train=(2, 3, 0, 4), query=(2, 2, 0, 2), gallery=(2, 3, 0, 3)),
        dict(missing=('test', _missing('list_query.txt'), 'list_query.txt'),
             bad_name=('train', _append('list_train.txt', '0000/bad.jpg 0\n'),
                       'bad.jpg')))


# ------------------------------------------------------------------ FineGPR
def build_finegpr(root: str) -> Spec:
    for rel in ('part1/0001_c01_w01_l01_p01.jpg',
                'part1/0001_c10_w02_l03_p04.jpg',
                'part2/0002_c36_w07_l07_p09.jpg',
                'part2/0005_c01_w01_l02_p01.jpg',
                # side-cars that must be skipped: hidden/underscore folders
                '_annotations/masks/0009_c01_w01_l01_p01.png',
                '.cache/0009_c02_w01_l01_p01.jpg'):
        touch(osp.join(root, rel))
    return Spec('FineGPR', root, {}, dict(train=(3, 3, 0, 4)),
                dict(missing=('train', _missing(''), 'does not exist'),
                     bad_name=('train', _add('part2/0003_c01.jpg'),
                               '0003_c01.jpg')))


# --------------------------------------------------------------------- PRCC
def build_prcc(root: str) -> Spec:
    for rel in ('train/001/A_1.jpg', 'train/001/B_1.jpg', 'train/001/C_1.jpg',
                'train/001/C_2.jpg', 'train/004/A_1.jpg', 'train/004/C_1.jpg',
                'val/002/A_1.jpg', 'val/002/B_1.jpg',
                'test/A/003/x1.jpg', 'test/A/003/x2.jpg', 'test/A/005/x.jpg',
                'test/B/003/y.jpg', 'test/C/003/z.jpg', 'test/C/005/z.jpg',
                'test/C/005/z2.jpg'):
        touch(osp.join(root, 'rgb', rel))
    return Spec('PRCC', root, {}, dict(
        train=(2, 3, 4, 6), query=(2, 2, 3, 4), gallery=(2, 1, 2, 3)),
        dict(missing=('test', _missing('rgb/test/C'), 'rgb/test/C'),
             bad_name=('train', _add('rgb/train/001/D_1.jpg'), 'D_1.jpg')))


# --------------------------------------------------------------------- LTCC
def build_ltcc(root: str) -> Spec:
    for rel in ('train/001_1_c1_000001.png', 'train/001_1_c2_000002.png',
                'train/001_2_c3_000003.png', 'train/002_1_c1_000004.png',
                'query/010_1_c1_000010.png', 'query/011_2_c5_000011.png',
                'test/010_1_c2_000020.png', 'test/010_3_c4_000021.png',
                'test/011_1_c5_000022.png', 'test/011_2_c6_000023.png'):
        touch(osp.join(root, rel))
    return Spec('LTCC', root, {}, dict(
        train=(2, 3, 3, 4), query=(2, 2, 2, 2), gallery=(2, 4, 4, 4)),
        dict(missing=('gallery', _missing('test'), 'test'),
             bad_name=('train', _add('train/001-1-c1.png'), '001-1-c1.png')))


# --------------------------------------------------------------- VC-Clothes
def build_vcclothes(root: str) -> Spec:
    for rel in ('train/0001-01-01-01.jpg', 'train/0001-02-02-01.jpg',
                'train/0003-03-01-01.jpg',
                'query/0100-01-01-01.jpg', 'query/0100-03-01-02.jpg',
                'query/0101-04-02-01.jpg',
                'gallery/0100-02-01-03.jpg', 'gallery/0100-04-02-04.jpg',
                'gallery/0101-03-01-05.jpg', 'gallery/0101-01-02-06.jpg'):
        touch(osp.join(root, rel))
    return Spec('VCClothes', root, {}, dict(
        train=(2, 3, 3, 3), query=(2, 3, 2, 3), gallery=(2, 4, 4, 4)),
        dict(missing=('gallery', _missing('gallery'), 'gallery'),
             bad_name=('train', _add('train/0001_01_01_01.jpg'),
                       '0001_01_01_01.jpg')))


# -------------------------------------------------------------------- CCVID
CCVID_TRACKS = dict(
    train=[('session1/001_01', '001', 'u1_l1_s1_c1_a1', 3),
           ('session1/001_02', '001', 'u2_l1_s1_c1_a1', 2),
           ('session3/002_03', '002', 'u1_l1_s1_c1_a1', 2)],
    query=[('session2/010_01', '010', 'u1_l1_s1_c1_a1', 2)],
    gallery=[('session2/010_04', '010', 'u2_l2_s1_c1_a1', 1),
             ('session3/011_02', '011', 'u1_l1_s1_c1_a1', 2)])


def build_ccvid(root: str) -> Spec:
    for split, tracks in CCVID_TRACKS.items():
        write(osp.join(root, f'{split}.txt'),
              ''.join(f'{t} {p} {c}\n' for t, p, c, _ in tracks))
        for t, _, _, n in tracks:
            for i in range(n):
                touch(osp.join(root, t, f'{i + 1:05d}.jpg'))
    return Spec('CCVID', root, {}, dict(
        train=(2, 3, 3, 7), query=(1, 1, 1, 2), gallery=(2, 2, 2, 3)),
        dict(missing=('test', _missing('gallery.txt'), 'gallery.txt'),
             bad_name=('query', _append('query.txt', 'session2/010_09 010\n'),
                       'line 2')))


# --------------------------------------------------------------------- LaST
def build_last(root: str) -> Spec:
    for rel in ('train/000001/000001_0_0001_0.jpg',
                'train/000001/000001_0_0002_1.jpg',
                'train/000002/000002_1_0003_0.jpg',
                'test/query/000010_0_0100_0.jpg',
                'test/query/000011_0_0101_0.jpg',
                'test/gallery/000010/000010_1_0200_0.jpg',
                'test/gallery/000010/000010_2_0201_1.jpg',
                'test/gallery/000012/000012_0_0202_0.jpg',
                'val/query/000020_0_0300_0.jpg',
                'val/gallery/000020/000020_1_0301_0.jpg',
                'val/gallery/000021/000021_1_0302_0.jpg'):
        touch(osp.join(root, rel))
    return Spec('LaST', root, {}, dict(
        train=(2, 1, 3, 3), query=(2, 1, 0, 2), gallery=(2, 1, 0, 3)),
        dict(missing=('gallery', _missing('test/gallery'), 'test/gallery'),
             bad_name=('train', _add('train/000001/abc.jpg'), 'abc.jpg')))


# --------------------------------------------------------------- SYSU-MM01
SYSU_IMAGES = {  # (pid, cam): number of images
    (1, 1): 2, (1, 3): 1, (2, 2): 1, (2, 6): 1, (3, 4): 1, (3, 3): 1,
    (4, 1): 1, (4, 2): 1, (4, 4): 1, (4, 5): 1, (4, 3): 2, (4, 6): 1,
    (5, 1): 1, (5, 5): 2, (5, 3): 1, (9, 1): 1}


def build_sysu(root: str) -> Spec:
    for (pid, cam), n in SYSU_IMAGES.items():
        for i in range(n):
            touch(osp.join(root, f'cam{cam}', f'{pid:04d}',
                           f'{i + 1:04d}.jpg'))
    write(osp.join(root, 'exp', 'train_id.txt'), '1,2')
    write(osp.join(root, 'exp', 'val_id.txt'), '3')
    write(osp.join(root, 'exp', 'test_id.txt'), '4,5\n')
    return Spec('SYSUMM01', root, {}, dict(
        train=(3, 5, 0, 7), query=(2, 2, 0, 4), gallery=(2, 4, 0, 7)),
        dict(missing=('test', _missing('exp/test_id.txt'), 'test_id.txt'),
             bad_name=('train', _add('cam1/0001/first.jpg'), 'first.jpg')))


# --------------------------------------------------------------------- LLCM
def build_llcm(root: str) -> Spec:
    vis = [('vis/0001/0001_c01_s1_f1_vis.jpg', 0),
           ('vis/0001/0001_c03_s1_f2_vis.jpg', 0),
           ('vis/0002/0002_c02_s1_f3_vis.jpg', 1)]
    nir = [('nir/0001/0001_c05_s1_f1_nir.jpg', 0),
           ('nir/0003/0003_c06_s1_f1_nir.jpg', 2)]
    for name, items in (('train_vis.txt', vis), ('train_nir.txt', nir)):
        write(osp.join(root, 'idx', name),
              ''.join(f'{p} {label}\n' for p, label in items))
        for p, _ in items:
            touch(osp.join(root, p))
    write(osp.join(root, 'idx', 'test_id.txt'), '1,2')
    for rel in ('test_vis/cam1/0001/a.jpg', 'test_vis/cam2/0001/b.jpg',
                'test_vis/cam9/0002/c.jpg', 'test_nir/cam4/0001/d.jpg',
                'test_nir/cam3/0001/e.jpg', 'test_nir/cam7/0002/f.jpg',
                'test_nir/cam7/0002/g.jpg'):
        touch(osp.join(root, rel))
    return Spec('LLCM', root, {}, dict(
        train=(3, 5, 0, 5), query=(2, 3, 0, 3), gallery=(2, 2, 0, 3)),
        dict(missing=('train', _missing('idx/train_nir.txt'),
                      'train_nir.txt'),
             bad_name=('train', _append('idx/train_vis.txt', 'vis/x.jpg\n'),
                       'line 4')))


# --------------------------------------------------------------------- VeRi
def build_veri(root: str) -> Spec:
    for rel in ('image_train/0001_c001_00016450_0.jpg',
                'image_train/0001_c002_00016460_0.jpg',
                'image_train/0004_c012_00000001_0.jpg',
                'image_query/0002_c002_00030600_0.jpg',
                'image_test/0002_c003_00030610_0.jpg',
                'image_test/0002_c003_00030615_1.jpg',
                'image_test/0002_c002_00030601_1.jpg',
                'image_test/0005_c004_00000010_0.jpg',
                'image_test/-1_c001_00000011_0.jpg'):
        touch(osp.join(root, rel))
    write(osp.join(root, 'test_track.txt'),
          '0002_c003 0002_c003_00030610_0.jpg 0002_c003_00030615_1.jpg \n'
          '0005_c004 0005_c004_00000010_0.jpg \n')
    return Spec('VeRi776', root, {}, dict(
        train=(2, 3, 0, 3), query=(1, 1, 0, 1), gallery=(2, 3, 0, 4)),
        dict(missing=('query', _missing('image_query'), 'image_query'),
             bad_name=('gallery', _add('image_test/car.jpg'), 'car.jpg')))


# ---------------------------------------------------------------- VehicleID
def build_vehicleid(root: str) -> Spec:
    for i in range(1, 11):
        touch(osp.join(root, 'image', f'{i:07d}.jpg'))
    lists = dict(
        train_list=[(1, 1), (2, 1), (3, 5)],
        test_list_800=[(4, 10), (5, 10), (6, 10), (7, 12), (8, 12)],
        test_list_1600=[(4, 10), (5, 10), (9, 13)],
        test_list_2400=[(4, 10), (5, 10), (9, 13), (10, 14)])
    for name, items in lists.items():
        write(osp.join(root, 'train_test_split', f'{name}.txt'),
              ''.join(f'{i:07d} {v}\n' for i, v in items))
    return Spec('VehicleID', root, {}, dict(
        train=(2, 1, 0, 3), query=(2, 1, 0, 3), gallery=(2, 1, 0, 2)),
        dict(missing=('test', _missing('train_test_split/test_list_800.txt'),
                      'test_list_800.txt'),
             bad_name=('train', _append('train_test_split/train_list.txt',
                                        '0000001\n'), 'line 4')))


# ----------------------------------------------------------------- CityFlow
def build_cityflow(root: str) -> Spec:
    items, tracks = [], []
    for v in range(1, 6):
        for half, cam in enumerate((v, 10 + v)):
            names = [f'{4 * (v - 1) + 2 * half + k + 1:06d}.jpg'
                     for k in range(2)]
            tracks.append(names)
            for n in names:
                touch(osp.join(root, 'image_train', n))
                items.append(f'<Item imageName="{n}" vehicleID="{v:04d}" '
                             f'cameraID="c{cam:03d}" />')
    write(osp.join(root, 'train_label.xml'),
          '<?xml version="1.0" encoding="gb2312"?>\n'
          '<TrainingImages Version="1.0">\n<Items number="20">\n'
          + '\n'.join(items) + '\n</Items>\n</TrainingImages>\n')
    write(osp.join(root, 'train_track.txt'),
          ''.join(' '.join(t) + '\n' for t in tracks))
    for d in ('image_query', 'image_test'):
        os.makedirs(osp.join(root, d), exist_ok=True)
    return Spec('CityFlowV2', root, dict(test_ids=2), dict(
        train=(3, 6, 0, 12), query=(2, 4, 0, 4), gallery=(2, 4, 0, 4)),
        dict(missing=('train', _missing('train_label.xml'),
                      'train_label.xml'),
             bad_name=('train', _missing('image_train/000003.jpg'),
                       '000003.jpg')))


BUILDERS = dict(
    market=build_market, duke=build_duke, cuhk03np=build_cuhk03np,
    msmt17=build_msmt17, finegpr=build_finegpr, prcc=build_prcc,
    ltcc=build_ltcc, vcclothes=build_vcclothes, ccvid=build_ccvid,
    last=build_last, sysu=build_sysu, llcm=build_llcm, veri=build_veri,
    vehicleid=build_vehicleid, cityflow=build_cityflow)
