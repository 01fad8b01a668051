"""Test helpers: a tiny PRCC-layout dataset drawn with PIL (no toy world needed).

A uniquely named module (not conftest.py: several test folders have one, and
``from conftest import`` would pick whichever was imported first).
"""
import json
import os
import os.path as osp
import sys

import numpy as np
from PIL import Image, ImageDraw

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
PYTHON = sys.executable
COLORS = ['red', 'blue', 'green', 'yellow', 'black', 'white', 'navy', 'pink']
RGB = {'red': (200, 30, 35), 'blue': (35, 75, 200), 'green': (40, 150, 60),
       'yellow': (235, 210, 40), 'black': (28, 28, 30),
       'white': (235, 235, 230), 'navy': (25, 35, 90), 'pink': (235, 130, 170)}


def draw_person(rng, upper, lower, size=(64, 32)):
    """A person-like image and its part-label mask (3 upper, 4 lower, 5 shoes)."""
    h, w = size
    bg = tuple(int(v) for v in rng.integers(60, 200, 3))
    img = Image.new('RGB', (w, h), bg)
    mask = Image.new('L', (w, h), 0)
    d, m = ImageDraw.Draw(img), ImageDraw.Draw(mask)
    x0, x1 = w // 4, w - w // 4
    parts = [((w // 2 - 4, 2, w // 2 + 4, h // 6), (230, 190, 160), 1),
             ((x0, h // 6, x1, h // 2), RGB[upper], 3),
             ((x0, h // 2, x1, int(h * 0.88)), RGB[lower], 4),
             ((x0, int(h * 0.88), x1, h - 2), (30, 30, 30), 5)]
    for box, color, label in parts:
        d.rectangle(box, fill=color)
        m.rectangle(box, fill=label)
    arr = np.asarray(img).astype(np.int16)
    # shading: a vertical gradient and noise so luminance varies inside parts
    shade = np.linspace(-25, 25, w)[None, :, None]
    arr = np.clip(arr + shade + rng.normal(0, 4, arr.shape), 0, 255)
    return Image.fromarray(arr.astype(np.uint8)), mask


def make_fake_prcc(root, n_pids=3, per_cam=2, size=(64, 32), seed=0):
    """Write ``rgb/train/<pid>/{A,B,C}_*.jpg`` plus toy-style annotations."""
    rng = np.random.default_rng(seed)
    ann = []
    for pid in range(1, n_pids + 1):
        outfits = {'AB': (COLORS[rng.integers(8)], COLORS[rng.integers(8)]),
                   'C': (COLORS[rng.integers(8)], COLORS[rng.integers(8)])}
        for cam in 'ABC':
            upper, lower = outfits['C' if cam == 'C' else 'AB']
            for i in range(per_cam):
                rel = f'rgb/train/{pid:03d}/{cam}_{i:03d}.jpg'
                img, mask = draw_person(rng, upper, lower, size)
                os.makedirs(osp.dirname(osp.join(root, rel)), exist_ok=True)
                img.save(osp.join(root, rel), quality=95)
                mpath = osp.join(root, '_toy_annotations/masks',
                                 rel[:-4] + '.png')
                os.makedirs(osp.dirname(mpath), exist_ok=True)
                mask.save(mpath)
                ann.append(dict(path=rel, pid=pid, camid='ABC'.index(cam),
                                attributes=dict(upper_color=upper,
                                                upper_pattern='plain',
                                                lower_color=lower,
                                                lower_type='trousers',
                                                shoes_color='black')))
    with open(osp.join(root, '_toy_annotations/attributes.jsonl'), 'w') as f:
        for row in ann:
            f.write(json.dumps(row) + '\n')
    return root


def write_config(path, data_root, out_dir, extra='', num_variants=3,
                 batch_size=8, filters=None, generator="dict(type='RecolorInpainter')",
                 img_format='png'):
    """A generation config over the fake PRCC."""
    filters = filters if filters is not None else (
        "[dict(type='SizeAspectFilter', min_size=(32, 16)),"
        " dict(type='PHashDuplicateFilter', threshold=0)]")
    text = f"""
data_root = {str(data_root)!r}
generation = dict(pipeline=dict(
    source=dict(type='PRCCSource'),
    prompt_builder=dict(type='ClothesSwapPrompt', p_random=0.3),
    generator={generator},
    filters={filters},
    writer=dict(out_dir={str(out_dir)!r}, img_format={img_format!r}),
    num_variants={num_variants}, seed=7, batch_size={batch_size}))
{extra}
"""
    with open(path, 'w') as f:
        f.write(text)
    return str(path)
