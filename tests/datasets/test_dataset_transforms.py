"""The registered re-ID transforms."""
from __future__ import annotations

import io
import math

import numpy as np
import pytest
import torch
from mmengine.dataset import Compose
from PIL import Image

import reidkit.datasets  # noqa: F401
from reidkit.datasets.transforms import (ERASE_MEAN, LoadReIDImage,
                                         PackReIDInputs, ReIDColorJitter,
                                         ReIDPad, ReIDRandomCrop,
                                         ReIDRandomErasing, ReIDRandomFlip,
                                         ReIDResize)
from reidkit.registry import TRANSFORMS


def rand_img(h=32, w=16, seed=0):
    return np.random.RandomState(seed).randint(0, 256, (h, w, 3), np.uint8)


def save(path, arr, mode=None, fmt='JPEG'):
    Image.fromarray(arr, mode).save(path, fmt)
    return str(path)


# ------------------------------------------------------------- loading
def test_load_rgb_and_greyscale(tmp_path):
    rgb = rand_img(20, 10)
    out = LoadReIDImage()(dict(img_path=save(tmp_path / 'a.png', rgb,
                                             fmt='PNG')))
    assert out['img'].dtype == np.uint8 and out['img'].shape == (20, 10, 3)
    np.testing.assert_array_equal(out['img'], rgb)  # PNG is lossless
    assert out['ori_shape'] == (20, 10)
    grey = rand_img(12, 6)[..., 0]
    out = LoadReIDImage()(dict(img_path=save(tmp_path / 'ir.png', grey, 'L',
                                             'PNG')))
    assert out['img'].shape == (12, 6, 3)
    for c in range(3):  # infrared greyscale repeated into 3 channels
        np.testing.assert_array_equal(out['img'][..., c], grey)


@pytest.mark.parametrize('content', [b'', b'not an image at all',
                                     'truncated'])
def test_load_corrupt_file_names_it(tmp_path, content):
    path = tmp_path / 'bad_0001.jpg'
    if content == 'truncated':
        buf = io.BytesIO()
        Image.fromarray(rand_img(64, 32)).save(buf, 'JPEG')
        content = buf.getvalue()[:len(buf.getvalue()) // 2]
    path.write_bytes(content)
    with pytest.raises(OSError, match='bad_0001.jpg'):
        LoadReIDImage()(dict(img_path=str(path)))


def test_load_missing_file(tmp_path):
    with pytest.raises(OSError, match='nope.jpg'):
        LoadReIDImage()(dict(img_path=str(tmp_path / 'nope.jpg')))


# ----------------------------------------------------- geometric transforms
def test_resize_shape_and_constant_image():
    out = ReIDResize((64, 32))(dict(img=np.full((17, 9, 3), 77, np.uint8)))
    assert out['img'].shape == (64, 32, 3) and out['img_shape'] == (64, 32)
    assert (out['img'] == 77).all()
    with pytest.raises(ValueError, match='interpolation'):
        ReIDResize(8, interpolation='magic')


def test_pad_then_crop_is_a_window_of_the_padded_image():
    img = rand_img(32, 16)
    padded = ReIDPad(10)(dict(img=img))['img']
    assert padded.shape == (52, 36, 3)
    np.testing.assert_array_equal(padded[10:42, 10:26], img)
    assert (padded[:10] == 0).all() and (padded[:, :10] == 0).all()
    np.random.seed(0)
    offsets = set()
    for _ in range(300):
        out = ReIDRandomCrop((32, 16))(dict(img=padded))
        top, left, h, w = out['crop_box']
        np.testing.assert_array_equal(out['img'],
                                      padded[top:top + h, left:left + w])
        offsets.add((top, left))
    tops = {t for t, _ in offsets}
    assert min(tops) == 0 and max(tops) == 20  # the whole range is reached
    with pytest.raises(ValueError, match='smaller'):
        ReIDRandomCrop((64, 64))(dict(img=img))


def test_flip():
    img = rand_img()
    out = ReIDRandomFlip(prob=1.0)(dict(img=img))
    np.testing.assert_array_equal(out['img'], img[:, ::-1])
    assert out['flip'] is True
    out = ReIDRandomFlip(prob=0.0)(dict(img=img))
    np.testing.assert_array_equal(out['img'], img)
    np.random.seed(1)
    flips = [ReIDRandomFlip(0.5)(dict(img=img))['flip'] for _ in range(400)]
    assert 0.4 < np.mean(flips) < 0.6


# ---------------------------------------------------------------- erasing
@pytest.mark.parametrize('fill', ['mean', 'random'])
def test_erasing_area_aspect_and_outside_untouched(fill):
    H, W = 128, 64
    img = np.full((H, W, 3), 200, np.uint8)
    t = ReIDRandomErasing(prob=1.0, fill=fill)
    np.random.seed(2)
    mean = np.round(np.asarray(ERASE_MEAN) * 255).astype(np.uint8)
    for _ in range(200):
        out = t(dict(img=img))
        box = out['erase_box']
        assert box is not None
        top, left, h, w = box
        # rounding h and w moves the area a little around the drawn target
        frac = h * w / (H * W)
        assert 0.02 * 0.8 <= frac <= 0.4 * 1.2, frac
        ratio = h / w
        assert 0.3 * 0.8 <= ratio <= (1 / 0.3) * 1.2, ratio
        assert 0 <= top and top + h <= H and 0 <= left and left + w <= W
        mask = np.zeros((H, W), bool)
        mask[top:top + h, left:left + w] = True
        assert (out['img'][~mask] == 200).all()  # outside untouched
        inside = out['img'][mask]
        if fill == 'mean':
            assert (inside == mean).all()
        else:
            assert inside.std() > 10
    assert (img == 200).all()  # input not modified in place


def test_erasing_probability_and_determinism():
    img = rand_img(64, 32)
    t = ReIDRandomErasing(prob=0.5)
    np.random.seed(3)
    a = [t(dict(img=img))['erase_box'] for _ in range(400)]
    np.random.seed(3)
    b = [t(dict(img=img))['erase_box'] for _ in range(400)]
    assert a == b
    assert 0.4 < np.mean([x is not None for x in a]) < 0.6
    out = ReIDRandomErasing(prob=0.0)(dict(img=img))
    np.testing.assert_array_equal(out['img'], img)


def test_erasing_matches_slow_reference():
    """The same draws, replayed by an independent loop, give the same box."""
    H, W = 96, 48
    np.random.seed(11)
    out = ReIDRandomErasing(prob=1.0, area=(0.02, 0.4), aspect=0.3)(
        dict(img=np.zeros((H, W, 3), np.uint8)))
    np.random.seed(11)
    assert np.random.rand() < 1.0
    while True:
        target = np.random.uniform(0.02, 0.4) * H * W
        ratio = np.random.uniform(0.3, 1 / 0.3)
        h = int(round(math.sqrt(target * ratio)))
        w = int(round(math.sqrt(target / ratio)))
        if w < W and h < H:
            top = np.random.randint(0, H - h + 1)
            left = np.random.randint(0, W - w + 1)
            break
    assert out['erase_box'] == (top, left, h, w)


# ---------------------------------------------------------------- colour
def test_color_jitter_brightness_bounds_and_grey_stays_grey():
    img = np.full((8, 8, 3), 100, np.uint8)
    t = ReIDColorJitter(brightness=0.3, contrast=0.0, saturation=0.0,
                        hue=0.0, prob=1.0)
    np.random.seed(4)
    values = set()
    for _ in range(50):
        out = t(dict(img=img))['img']
        assert out.dtype == np.uint8 and out.shape == img.shape
        assert len(np.unique(out)) == 1
        values.add(int(out[0, 0, 0]))
    assert min(values) >= 69 and max(values) <= 131 and len(values) > 5
    np.random.seed(5)
    a = ReIDColorJitter(0.2, 0.2, 0.2, 0.1, prob=1.0)(dict(img=rand_img()))
    np.random.seed(5)
    b = ReIDColorJitter(0.2, 0.2, 0.2, 0.1, prob=1.0)(dict(img=rand_img()))
    np.testing.assert_array_equal(a['img'], b['img'])
    with pytest.raises(ValueError, match='hue'):
        ReIDColorJitter(hue=0.7)


# ---------------------------------------------------------------- packing
def test_pack_inputs():
    img = rand_img(6, 4)
    out = PackReIDInputs()(dict(img=img, pid=3, camid=2, img_path='/x.jpg',
                                split='query', sample_idx=7))
    assert out['inputs'].dtype == torch.uint8
    assert tuple(out['inputs'].shape) == (3, 6, 4)
    np.testing.assert_array_equal(out['inputs'].numpy(),
                                  img.transpose(2, 0, 1))
    assert out['data_samples'] == dict(
        pid=3, camid=2, clothes_id=-1, modality=0, domain=0, split='query',
        track_id=-1, sample_idx=7, img_path='/x.jpg')
    with pytest.raises(KeyError, match='pid'):
        PackReIDInputs()(dict(img=img, camid=1, img_path='/x.jpg'))
    out = PackReIDInputs(with_attributes=True)(
        dict(img=img, pid=1, camid=1, img_path='/x.jpg'))
    assert out['data_samples']['attributes'] == {}


def test_registered_pipeline_is_deterministic_for_a_seed(tmp_path):
    path = save(tmp_path / 'p.png', rand_img(40, 20), fmt='PNG')
    cfg = [dict(type='LoadReIDImage'), dict(type='ReIDResize', size=(32, 16)),
           dict(type='ReIDRandomFlip', prob=0.5),
           dict(type='ReIDPad', padding=4),
           dict(type='ReIDRandomCrop', size=(32, 16)),
           dict(type='ReIDColorJitter', prob=0.5),
           dict(type='ReIDRandomErasing', prob=0.5),
           dict(type='PackReIDInputs')]
    pipeline = Compose([TRANSFORMS.build(c) for c in cfg])
    runs = []
    for _ in range(2):
        np.random.seed(123)
        runs.append([pipeline(dict(img_path=path, pid=0, camid=1))['inputs']
                     for _ in range(5)])
    for a, b in zip(*runs):
        assert torch.equal(a, b) and tuple(a.shape) == (3, 32, 16)
    assert not all(torch.equal(runs[0][0], x) for x in runs[0][1:])
