"""A PNG grid of toy generated vehicles before and after Vehicle-Diff's filters.

    python -m plugins.vehicle_diff.toy_grid OUT.png [--style STYLE.json] [--n 10]

Renders ``--n`` prompts of the toy library with ``ToyVehicleDiffusion`` (the
style written by the toy ablation's fine-tuning stage, or the un-fine-tuned
one) and runs the config's two filters -- ``DetectionCropFilter`` (mask
backend) then ``CLIPAttributeFilter`` with the toy colour judge (top-2) --
on every image. Top row: the generated image, captioned with the prompt's
colour and what the generator actually drew; bottom row: the crop that is
kept, or why the image was dropped.
"""
from __future__ import annotations

import argparse
from typing import List, Optional

import numpy as np
from PIL import Image, ImageDraw

from .library import prompt_of, toy_library
from .toy import ToyCLIPColorFilter, ToyVehicleDiffusion

TILE = 96


def make_grid(n: int = 10, style: Optional[str] = None, seed: int = 0,
              size: int = 80) -> Image.Image:
    """The grid image (see the module docstring)."""
    from synthgen.filters.detection import DetectionCropFilter
    rows = toy_library(n, seed=seed)
    gen = ToyVehicleDiffusion(size=(size, size), style=style,
                              failures=dict(wrong_color=0.2, partial=0.15,
                                            empty=0.15))
    det = DetectionCropFilter(backend='mask', model=dict(car=[10, 11, 12, 13]))
    color = ToyCLIPColorFilter(top_k=2)
    reqs = [dict(seed=seed * 1000 + i, pid=i, prompt=prompt_of(r))
            for i, r in enumerate(rows)]
    outs = gen(reqs)
    cap = 30
    grid = Image.new('RGB', (n * TILE, 2 * (TILE + cap)), 'white')
    draw = ImageDraw.Draw(grid)
    for i, (row, out) in enumerate(zip(rows, outs)):
        x = i * TILE
        img = np.asarray(out['image'])
        grid.paste(Image.fromarray(img).resize((TILE - 4, TILE - 4)),
                   (x + 2, 2))
        meta = out['meta']
        drew = meta['failure'] if meta['failure'] != 'wrong_color' else \
            f"drew {meta['drawn_color']}"
        draw.text((x + 3, TILE), f"{row['color']}", fill='black')
        draw.text((x + 3, TILE + 12), drew if meta['failure'] != 'none'
                  else 'ok', fill='red' if meta['failure'] != 'none'
                  else 'green')
        item = dict(image=img, mask=out['mask'],
                    request=dict(attributes=dict(color=row['color'])))
        res = det(item)
        why: List[str] = []
        if res.keep:
            item['image'] = res.image
            res2 = color(item)
            if not res2.keep:
                why = ['colour:', res2.reason.split('CLIP sees ')[-1]
                       .split(',')[0]]
        else:
            why = ['detection:', res.reason.replace(' (at 1024)', '')]
        y = TILE + cap
        if why:
            draw.rectangle([x + 2, y + 2, x + TILE - 3, y + TILE - 3],
                           fill=(225, 225, 225))
            draw.text((x + 5, y + TILE // 2 - 12), why[0], fill='black')
            draw.text((x + 5, y + TILE // 2), why[1][:15], fill='black')
        else:
            crop = Image.fromarray(item['image'])
            scale = (TILE - 4) / max(crop.size)
            crop = crop.resize((max(1, int(crop.size[0] * scale)),
                                max(1, int(crop.size[1] * scale))))
            grid.paste(crop, (x + 2, y + 2))
        draw.text((x + 3, y + TILE), 'kept' if not why else 'dropped',
                  fill='green' if not why else 'red')
    return grid


def main(argv=None) -> str:
    ap = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    ap.add_argument('out', help='PNG to write')
    ap.add_argument('--style', default=None,
                    help="a style JSON (the toy ablation's "
                         "<work-dir>/seed0/data/style.json); default: the "
                         'un-fine-tuned style')
    ap.add_argument('--n', type=int, default=10)
    ap.add_argument('--seed', type=int, default=0)
    args = ap.parse_args(argv)
    make_grid(args.n, args.style, args.seed).save(args.out)
    print(args.out)
    return args.out


if __name__ == '__main__':
    main()
