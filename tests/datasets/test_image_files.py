"""Image files: conversion to 8-bit RGB, the cheap check, bad files in a dataset.

Conversions are compared with a by-hand numpy computation; the dataset cases
build a small Market-1501 folder in tmp_path.
"""
from __future__ import annotations

import io
import logging
import os.path as osp

import numpy as np
import pytest
from PIL import Image

from reidkit.datasets import BadImageError, Market1501
from synthgen.utils.image import ImageError, inspect_image, read_rgb


def _rand(shape, seed=0, high=256, dtype=np.uint8):
    return np.random.RandomState(seed).randint(0, high, shape).astype(dtype)


def _save(path, img, **kw):
    img.save(path, **kw)
    return str(path)


# ------------------------------------------------------------ conversions
def test_16bit_png_is_scaled_not_clipped(tmp_path):
    raw = _rand((6, 5), high=65536, dtype=np.uint16)
    raw[0, :3] = [0, 65535, 32768]
    path = _save(tmp_path / 'a.png', Image.fromarray(raw))
    assert Image.open(path).mode == 'I;16'
    want = np.rint(raw.astype(np.float64) * 255 / 65535).astype(np.uint8)
    got = read_rgb(path)
    assert got.dtype == np.uint8 and got.shape == (6, 5, 3)
    for c in range(3):
        np.testing.assert_array_equal(got[..., c], want)
    assert list(got[0, :3, 0]) == [0, 255, 128]
    # what PIL's convert('RGB') gives (the bug: clipped, near-white)
    assert np.asarray(Image.open(path).convert('RGB')).mean() > got.mean()


def test_grey_palette_rgba_conversions(tmp_path):
    grey = _rand((7, 4), seed=1)
    got = read_rgb(_save(tmp_path / 'g.png', Image.fromarray(grey, 'L')))
    np.testing.assert_array_equal(got, np.stack([grey] * 3, -1))

    index = _rand((7, 4), seed=2, high=4)
    colours = np.array([[255, 0, 0], [0, 255, 0], [0, 0, 255], [9, 99, 199]],
                       np.uint8)
    pal = Image.fromarray(index, 'P')
    pal.putpalette(colours.ravel().tolist())
    np.testing.assert_array_equal(
        read_rgb(_save(tmp_path / 'p.png', pal)), colours[index])
    # palette with a transparent colour: the colours, alpha dropped
    pal.info['transparency'] = 1
    path = _save(tmp_path / 'pt.png', pal, transparency=1)
    assert 'transparency' in Image.open(path).info
    np.testing.assert_array_equal(read_rgb(path), colours[index])

    rgba = _rand((7, 4, 4), seed=3)
    rgba[0, 0, 3] = 0  # a fully transparent pixel keeps its colour
    got = read_rgb(_save(tmp_path / 'a.png', Image.fromarray(rgba, 'RGBA')))
    np.testing.assert_array_equal(got, rgba[..., :3])

    la = np.stack([grey, _rand((7, 4), seed=4)], -1)
    got = read_rgb(_save(tmp_path / 'la.png', Image.fromarray(la, 'LA')))
    np.testing.assert_array_equal(got, np.stack([grey] * 3, -1))


# ------------------------------------------------------------ cheap check
def _jpeg_bytes(h=32, w=16, seed=0):
    buf = io.BytesIO()
    Image.fromarray(_rand((h, w, 3), seed)).save(buf, 'JPEG')
    return buf.getvalue()


def _png_bytes(h=32, w=16):
    buf = io.BytesIO()
    Image.fromarray(_rand((h, w, 3))).save(buf, 'PNG')
    return buf.getvalue()


@pytest.mark.parametrize('name,data,words', [
    ('zero.jpg', b'', 'empty (0 bytes)'),
    ('cut.jpg', _jpeg_bytes()[:400], 'cannot be decoded'),
    ('cut.png', _png_bytes()[:800], 'cannot be decoded'),
    ('text.jpg', b'not an image at all', 'cannot be decoded'),
])
def test_inspect_finds_bad_files(tmp_path, name, data, words):
    path = tmp_path / name
    path.write_bytes(data)
    info = inspect_image(str(path))
    assert info.problem and words in info.problem
    with pytest.raises(ImageError, match=name):
        read_rgb(str(path))


def test_inspect_accepts_good_files(tmp_path):
    (tmp_path / 'a.jpg').write_bytes(_jpeg_bytes(20, 10))
    (tmp_path / 'b.png').write_bytes(_png_bytes(20, 10))
    # bytes after the JPEG end marker (some cameras write them): decoded to
    # confirm, and accepted
    (tmp_path / 'c.jpg').write_bytes(_jpeg_bytes(20, 10) + b'\0' * 100)
    for name in ('a.jpg', 'b.png', 'c.jpg'):
        info = inspect_image(str(tmp_path / name))
        assert info.problem is None and info.size == (10, 20), name
    assert 'does not exist' in inspect_image(str(tmp_path / 'no.jpg')).problem


def test_header_sizes_match_pil(tmp_path):
    """The sizes read by hand from JPEG/PNG headers are PIL's."""
    rng = np.random.RandomState(5)
    for i in range(12):
        h, w = rng.randint(1, 300, 2)
        img = Image.fromarray(_rand((h, w, 3), seed=i))
        kw = [dict(format='JPEG'), dict(format='JPEG', progressive=True),
              dict(format='JPEG', exif=Image.Exif()), dict(format='PNG'),
              dict(format='BMP'), dict(format='WEBP')][i % 6]
        path = tmp_path / f'{i}.img'
        img.save(path, **kw)
        info = inspect_image(str(path))
        assert info.problem is None, (kw, info)
        with Image.open(path) as im:
            assert info.size == im.size, kw


# --------------------------------------------------------------- datasets
def _market(root, bad=(), degenerate=()):
    """3 train ids x 2 images, 1 query, 2 gallery; ``bad`` names get broken
    bytes, ``degenerate`` ones odd sizes (name -> (h, w))."""
    names = dict(bounding_box_train=[f'{p:04d}_c{c}s1_000001_00.jpg'
                                     for p in (1, 2, 3) for c in (1, 2)],
                 query=['0001_c1s1_000002_00.jpg'],
                 bounding_box_test=['0001_c2s1_000003_00.jpg',
                                    '0002_c1s1_000003_00.jpg'])
    for folder, files in names.items():
        (root / folder).mkdir(parents=True)
        for i, n in enumerate(files):
            h, w = degenerate.get(n, (32, 16)) if degenerate else (32, 16)
            data = _jpeg_bytes(h, w, seed=i)
            if n in bad:
                data = bad[n](data)
            (root / folder / n).write_bytes(data)
    return root


BROKEN = {'0002_c1s1_000001_00.jpg': lambda d: b'',
          '0003_c2s1_000001_00.jpg': lambda d: d[:300]}


@pytest.fixture
def warnings_logged():
    """The WARNING messages mmengine's current logger gets during a test."""
    from mmengine.logging import MMLogger

    class Keep(logging.Handler):
        def __init__(self):
            super().__init__(logging.WARNING)
            self.messages = []

        def emit(self, record):
            self.messages.append(record.getMessage())

    logger = MMLogger.get_current_instance()
    keep = Keep()
    logger.addHandler(keep)
    yield keep.messages
    logger.removeHandler(keep)


def test_bad_image_stops_with_its_path(tmp_path):
    root = _market(tmp_path / 'm', bad=BROKEN)
    with pytest.raises(BadImageError) as err:
        Market1501(str(root), split='train')
    text = str(err.value)
    assert osp.join(str(root), 'bounding_box_train',
                    '0002_c1s1_000001_00.jpg') in text
    assert 'empty (0 bytes)' in text and '(and 1 more)' in text
    assert "on_bad_image='skip'" in text
    Market1501(str(root), split='test')  # the test split is fine


def test_skip_bad_images_reports_count_and_files(tmp_path,
                                                 warnings_logged):
    root = _market(tmp_path / 'm', bad=BROKEN)
    ds = Market1501(str(root), split='train', on_bad_image='skip')
    assert len(ds) == 4
    assert ds.metainfo['num_pids'] == 3
    msgs = [m for m in warnings_logged if 'skipped' in m]
    assert len(msgs) == 1
    assert 'skipped 2 bad image(s)' in msgs[0]
    for name in BROKEN:
        assert name in msgs[0]


def test_degenerate_sizes_warn_once_with_count(tmp_path, warnings_logged):
    odd = {'0001_c1s1_000001_00.jpg': (1, 1),
           '0002_c2s1_000001_00.jpg': (10, 400),
           '0003_c1s1_000001_00.jpg': (4000, 10)}
    root = _market(tmp_path / 'm', degenerate=odd)
    ds = Market1501(str(root), split='train')
    assert len(ds) == 6  # kept: they are readable
    msgs = [m for m in warnings_logged if 'degenerate' in m]
    assert len(msgs) == 1
    assert '3 image(s) of degenerate size' in msgs[0]
    assert '(1x1)' in msgs[0] and '(10x4000)' in msgs[0]


def test_skip_at_first_read_replaces_a_train_image(tmp_path):
    """With the build check off, a bad train image found when read is
    replaced by another sample (mmengine's refetch) under 'skip'."""
    root = _market(tmp_path / 'm', bad={'0001_c1s1_000001_00.jpg':
                                        lambda d: d[:300]})
    pipeline = [dict(type='LoadReIDImage')]
    ds = Market1501(str(root), split='train', pipeline=pipeline,
                    check_images=False, on_bad_image='skip')
    bad = [i for i in range(len(ds))
           if ds.get_data_info(i)['img_path'].endswith('0001_c1s1_000001_00.jpg')]
    assert ds[bad[0]]['img'].shape == (32, 16, 3)
    strict = Market1501(str(root), split='train', pipeline=pipeline,
                        check_images=False)
    with pytest.raises(ImageError, match='0001_c1s1_000001_00.jpg'):
        strict[bad[0]]
