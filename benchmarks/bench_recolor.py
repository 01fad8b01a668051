"""CPU throughput of the text-guided recolour inpainter (``RecolorInpainter``).

Times, in the same run and on the same person-like images with part masks
(upper 3, lower 4, shoes 5) and prompts that mix plain and patterned garments:

* ``RecolorInpainter`` (vectorised numpy: label look-up tables, one bincount
  for per-part mean luminance, broadcast pattern fields);
* peer 1, ``naive``: the same recolour written as a per-pixel Python loop (a
  direct transcription), timed on ``--naive-images`` images;
* peer 2, ``PIL flat fill``: ``Image.composite`` of a solid colour per part,
  the cheapest possible recolour (no shading, no pattern), a lower bound;
* for context, JPEG-encoding the output (what the writer then pays per image),
  and the whole engine (``GenerationPipeline``: prompts, recolour, writer with
  JPEG files and the manifest) with each ``writer.fsync`` mode, in a temporary
  folder.

It prints images per second and ratios against the peers.

    python benchmarks/bench_recolor.py [--size 128 64] [--images 2000] [--threads 1]
"""
import argparse
import io
import os
import os.path as osp
import sys
import tempfile
import time

sys.path.insert(0, osp.dirname(osp.dirname(osp.abspath(__file__))))

import numpy as np  # noqa: E402
from PIL import Image  # noqa: E402

from synthgen.generators.recolor import (PALETTE, RecolorInpainter,  # noqa: E402
                                         parse_prompt)
from synthgen.pipeline import GenerationPipeline  # noqa: E402
from synthgen.prompts import FixedPrompts  # noqa: E402
from synthgen.sources import BaseSource  # noqa: E402

PROMPTS = ['a red shirt and blue jeans', 'a navy striped sweater, beige trousers',
           'a green checked jacket and black shorts and white shoes',
           'a pink dotted top and gray skirt', 'a yellow t-shirt with logo',
           'a white coat, dark green trousers']


def make_inputs(n, h, w, seed=0):
    rng = np.random.default_rng(seed)
    imgs, masks = [], []
    yy = np.arange(h)[:, None]
    xx = np.arange(w)[None, :]
    for _ in range(n):
        img = np.empty((h, w, 3), np.float32)
        img[:] = rng.integers(40, 220, 3)
        img += np.linspace(-30, 30, w)[None, :, None]
        img += rng.normal(0, 4, (h, w, 3))
        imgs.append(np.clip(img, 0, 255).astype(np.uint8))
        x0, x1 = int(w * rng.uniform(0.15, 0.3)), int(w * rng.uniform(0.7, 0.85))
        inside = (xx >= x0) & (xx < x1)
        m = np.zeros((h, w), np.uint8)
        m[(yy >= h * 0.2) & (yy < h * 0.5) & inside] = 3
        m[(yy >= h * 0.5) & (yy < h * 0.88) & inside] = 4
        m[(yy >= h * 0.88) & (yy < h * 0.97) & inside] = 5
        masks.append(m)
    return imgs, masks


def naive(img, mask, prompt, shading=0.9):
    """Per-pixel Python recolour of the named parts (plain colours only)."""
    parts, _ = parse_prompt(prompt)
    label_part = {3: 'upper', 4: 'lower', 5: 'shoes'}
    h, w = mask.shape
    lum = [[0.299 * img[y, x, 0] + 0.587 * img[y, x, 1] + 0.114 * img[y, x, 2]
            for x in range(w)] for y in range(h)]
    sums, counts = {}, {}
    for y in range(h):
        for x in range(w):
            lab = int(mask[y, x])
            sums[lab] = sums.get(lab, 0.0) + lum[y][x]
            counts[lab] = counts.get(lab, 0) + 1
    out = img.copy()
    for y in range(h):
        for x in range(w):
            part = label_part.get(int(mask[y, x]))
            if part is None or part not in parts or not parts[part].colors:
                continue
            rgb = PALETTE[parts[part].colors[0].split()[-1]]
            lab = int(mask[y, x])
            d = shading * (lum[y][x] - sums[lab] / counts[lab])
            out[y, x] = [min(255, max(0, round(c + d))) for c in rgb]
    return out


def flat_fill(img, mask, prompt):
    parts, _ = parse_prompt(prompt)
    out = Image.fromarray(img)
    for lab, part in ((3, 'upper'), (4, 'lower'), (5, 'shoes')):
        if part in parts and parts[part].colors:
            rgb = PALETTE[parts[part].colors[0].split()[-1]]
            sel = Image.fromarray(((mask == lab) * 255).astype(np.uint8))
            out = Image.composite(Image.new('RGB', out.size, rgb), out, sel)
    return np.asarray(out)


class MemorySource(BaseSource):
    """Records whose images are already in memory (no file reading)."""

    def __init__(self, imgs, masks):
        super().__init__()
        self.imgs, self.masks = imgs, masks

    def _load(self):
        return [dict(key=f'{i:06d}', source=None, mask=None, pid=i, camid=0,
                     clothes_id=-1, modality=0, attributes={}, extra={})
                for i in range(len(self.imgs))]

    def read(self, record):
        i = record['pid']
        return dict(image=self.imgs[i], mask=self.masks[i])


def pipeline_rate(imgs, masks, fsync, variants=4):
    with tempfile.TemporaryDirectory() as tmp:
        pipe = GenerationPipeline(
            source=MemorySource(imgs, masks),
            prompt_builder=FixedPrompts(PROMPTS),
            generator=RecolorInpainter(), num_variants=variants,
            writer=dict(out_dir=tmp, img_format='jpg', fsync=fsync),
            batch_size=64)
        summary = pipe.run(0, 1, progress=False)
    return summary.kept / summary.elapsed


def rate(fn, n, repeat=3):
    best = float('inf')
    for _ in range(repeat):
        t = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t)
    return n / best


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument('--size', type=int, nargs=2, default=(128, 64),
                    metavar=('H', 'W'))
    ap.add_argument('--images', type=int, default=2000)
    ap.add_argument('--naive-images', type=int, default=5)
    ap.add_argument('--threads', type=int, default=1,
                    help='BLAS/OpenMP threads (numpy); the inpainter is '
                         'single-threaded per process, scale with ranks')
    args = ap.parse_args()
    os.environ.setdefault('OMP_NUM_THREADS', str(args.threads))
    h, w = args.size
    imgs, masks = make_inputs(args.images, h, w)
    reqs = [dict(image=imgs[i], mask=masks[i], prompt=PROMPTS[i % len(PROMPTS)],
                 seed=i) for i in range(args.images)]
    plain = [dict(r, prompt=PROMPTS[0]) for r in reqs]
    gen = RecolorInpainter()
    gen(reqs[:20])  # warm up (prompt parse cache)

    r_mixed = rate(lambda: gen(reqs), len(reqs))
    r_plain = rate(lambda: gen(plain), len(plain))
    k = args.naive_images
    r_naive = rate(lambda: [naive(imgs[i], masks[i], PROMPTS[0])
                            for i in range(k)], k, repeat=1)
    r_flat = rate(lambda: [flat_fill(imgs[i], masks[i], PROMPTS[0])
                           for i in range(len(imgs))], len(imgs))
    outs = [o['image'] for o in gen(reqs[:500])]

    def encode():
        for o in outs:
            Image.fromarray(o).save(io.BytesIO(), 'JPEG', quality=95)
    r_jpeg = rate(encode, len(outs))
    n_units = max(1, min(len(imgs), 1000) // 4)
    r_pipe = {mode: pipeline_rate(imgs[:n_units], masks[:n_units], fsync=mode)
              for mode in (False, 'batch', True)}

    print(f'RecolorInpainter on {h}x{w} images ({args.images} per batch, '
          f'1 process, numpy {np.__version__})')
    print(f'  {"method":<40} {"images/s":>10} {"vs ours":>9}')
    rows = [('RecolorInpainter, mixed patterns', r_mixed),
            ('RecolorInpainter, plain colours', r_plain),
            ('peer: naive per-pixel Python loop', r_naive),
            ('peer: PIL flat fill (no shading)', r_flat),
            ('context: JPEG encode of the output', r_jpeg),
            ('context: pipeline, fsync=False', r_pipe[False]),
            ("context: pipeline, fsync='batch'", r_pipe['batch']),
            ('context: pipeline, fsync=True', r_pipe[True])]
    for name, r in rows:
        print(f'  {name:<40} {r:>10.1f} {r / r_mixed:>8.2f}x')
    print(f'speed-up over the naive loop: {r_plain / r_naive:.0f}x (plain), '
          f'flat fill is {r_flat / r_plain:.2f}x our plain speed')


if __name__ == '__main__':
    main()
