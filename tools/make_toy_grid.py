#!/usr/bin/env python
"""Render a grid of toy-world samples to look at (docs/toy_world_grid.png).

Rows: Market-style persons (two cameras per identity), PRCC clothes changes
(cameras A, B: outfit 1; C: outfit 2), SYSU visible vs infrared pairs,
vehicle look-alike groups (same type/brand/era/colour, different marks) in
two viewpoints, and a FineGPR viewpoint/weather/illumination sweep.

Usage: python tools/make_toy_grid.py [--out docs/toy_world_grid.png] [--seed 0]
"""
import argparse
import os
import os.path as osp
import sys

from PIL import Image, ImageDraw

sys.path.insert(0, osp.dirname(osp.dirname(osp.abspath(__file__))))

from synthgen.toyworld import ToyWorldRenderer  # noqa: E402
from synthgen.toyworld.vocab import ILLUMINATIONS, WEATHERS  # noqa: E402

H, W = 128, 64
LABEL_W = 120


def person_rows(seed):
    gen = ToyWorldRenderer('person', size=(H, W), seed=seed)
    rows = []
    reqs = [dict(seed=10 * p + c, attributes=dict(pid=p, clothes_id=0, camid=c + 2 * p))
            for p in range(6) for c in range(2)]
    rows.append(('market: 6 ids x 2 cams', reqs))
    reqs = []
    for p in range(10, 14):
        for cam, clothes in ((0, 0), (1, 0), (2, 1)):
            reqs.append(dict(seed=100 * p + cam, attributes=dict(
                pid=p, clothes_id=clothes, camid=cam)))
    rows.append(('prcc: A, B (outfit 1), C (outfit 2)', reqs))
    reqs = []
    for p in range(20, 26):
        for mod in ('visible', 'infrared'):
            reqs.append(dict(seed=p * 7 + len(mod), attributes=dict(
                pid=p, clothes_id=0, camid=1 if mod == 'visible' else 3,
                modality=mod)))
    rows.append(('sysu: visible | infrared', reqs))
    reqs = [dict(seed=5, attributes=dict(pid=30, clothes_id=0, camid=9, angle=a,
                                         weather='neutral', illumination='noon'))
            for a in range(0, 360, 30)]
    rows.append(('finegpr: viewpoint c01..c34', reqs))
    reqs = [dict(seed=5, attributes=dict(pid=31, clothes_id=0, camid=9, viewpoint='front',
                                         weather=w, illumination='noon'))
            for w in WEATHERS[:7]]
    reqs += [dict(seed=5, attributes=dict(pid=31, clothes_id=0, camid=9, viewpoint='front',
                                          weather='neutral', illumination=il))
             for il in ILLUMINATIONS[:5]]
    rows.append(('finegpr: weather w01-07, light l01-05', reqs))
    return [(name, [o['image'] for o in gen(reqs)]) for name, reqs in rows]


def vehicle_rows(seed):
    gen = ToyWorldRenderer('vehicle', size=(H, H), seed=seed,
                           knobs=dict(camera_strength=0.3))  # show the marks clearly
    marks = [['windshield_sticker', 'roof_rack'], ['rear_sticker', 'dent'],
             ['side_decal', 'bumper_sticker']]
    rows = []
    for view in ('front', 'side', 'oblique', 'rear'):
        reqs = []
        for g, (vt, col) in enumerate((('sedan', 'white'), ('suv', 'red'))):
            for k, m in enumerate(marks):
                reqs.append(dict(seed=50 + g * 3 + k, attributes=dict(
                    pid=40 + g, camid=3, vehicle_type=vt, color=col, brand=g, era=g + 1,
                    marks=m, viewpoint=view, facing='left', weather='neutral',
                    illumination='noon')))
        rows.append((f'look-alikes ({view})', [o['image'] for o in gen(reqs)]))
    return rows


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    ap.add_argument('--out', default='docs/toy_world_grid.png')
    ap.add_argument('--seed', type=int, default=0)
    ap.add_argument('--zoom', type=int, default=2)
    args = ap.parse_args(argv)
    rows = person_rows(args.seed) + vehicle_rows(args.seed)
    width = LABEL_W + 12 * W
    canvas = Image.new('RGB', (width, H * len(rows)), (255, 255, 255))
    draw = ImageDraw.Draw(canvas)
    for r, (name, imgs) in enumerate(rows):
        x = LABEL_W
        for im in imgs:
            canvas.paste(im, (x, r * H))
            x += im.width
        words, line, y = name.split(' '), '', r * H + 8
        for w in words:           # wrap the row label into the margin
            if len(line) + len(w) > 17:
                draw.text((4, y), line, fill=(0, 0, 0))
                y, line = y + 12, ''
            line = (line + ' ' + w).strip()
        draw.text((4, y), line, fill=(0, 0, 0))
    if args.zoom > 1:
        canvas = canvas.resize((canvas.width * args.zoom, canvas.height * args.zoom),
                               Image.NEAREST)
    os.makedirs(osp.dirname(osp.abspath(args.out)), exist_ok=True)
    # a 256-colour palette keeps the committed PNG small (noise is costly)
    canvas = canvas.quantize(256, method=Image.Quantize.MEDIANCUT, dither=Image.Dither.NONE)
    canvas.save(args.out, optimize=True)
    print(f'wrote {args.out} ({canvas.width}x{canvas.height})')


if __name__ == '__main__':
    main()
