"""Images/s of Vehicle-Diff's generation and filters (``--tiny``: random-weight models).

    python -m plugins.vehicle_diff.benchmark --tiny            # CPU smoke numbers
    python -m plugins.vehicle_diff.benchmark --sdxl PATH --det-weights W \\
        --clip-weights C                                       # real sizes (GPU)

Prints one line per component: images, wall seconds, images/s and CPU
seconds per image (user + system of this process, all its threads: less
inflated by other jobs than the wall figures), with the CPU model and the
load average it ran under.
"""
from __future__ import annotations

import argparse
import os
import time

import numpy as np

from synthgen.utils.machine import cpu_model


def _timed(fn, n):
    """``(wall s, CPU s)`` of ``fn(n)`` after a warm-up ``fn(1)``."""
    fn(1)  # warm-up
    t, c = time.perf_counter(), time.process_time()
    fn(n)
    return time.perf_counter() - t, time.process_time() - c


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    p.add_argument('--tiny', action='store_true')
    p.add_argument('--n', type=int, default=8)
    p.add_argument('--size', type=int, default=1024,
                   help='filter input size (generated image side)')
    p.add_argument('--sdxl', help='SDXL diffusers folder (real generation)')
    p.add_argument('--det-model', default='fasterrcnn_mobilenet_v3_large_320_fpn')
    p.add_argument('--det-weights')
    p.add_argument('--clip-model', default='ViT-L-14')
    p.add_argument('--clip-weights')
    args = p.parse_args(argv)
    load0 = os.getloadavg()[0]
    import torch

    from synthgen.filters.clip_attribute import CLIPAttributeFilter
    from synthgen.filters.detection import (DetectionCropFilter,
                                            TorchvisionDetector)
    from synthgen.generators.diffusion import DiffusersText2Image
    rows = []
    prompt = 'a white 2018 toyota corolla sedan driving down the road.'
    if args.tiny:
        from synthgen.testing import tiny_open_clip, tiny_sdxl_components
        gen = DiffusersText2Image(components=tiny_sdxl_components(),
                                  height=64, width=64, num_inference_steps=2,
                                  batch_size=4)
        import torchvision
        det_model = torchvision.models.get_model(
            args.det_model, weights=None, weights_backbone=None,
            num_classes=91)
        det = DetectionCropFilter(backend='callable', min_side=0,
                                  score_thr=0.0, classes=None,
                                  model=TorchvisionDetector(det_model))
        m, pre, tok = tiny_open_clip()
        clip = CLIPAttributeFilter(dict(color=['red', 'white', 'black']),
                                   'a {value} vehicle', model=m,
                                   preprocess=pre, tokenizer=tok)
    else:
        gen = DiffusersText2Image(args.sdxl, pipeline_type='sdxl',
                                  height=1024, width=1024, guidance_scale=8,
                                  num_inference_steps=50, batch_size=4,
                                  dtype='fp16')
        det = DetectionCropFilter(backend='torchvision', model=args.det_model,
                                  weights=args.det_weights)
        clip = CLIPAttributeFilter(dict(color=['red', 'white', 'black']),
                                   'a {value} vehicle',
                                   model_name=args.clip_model,
                                   pretrained=args.clip_weights)
    n = args.n
    secs = _timed(lambda k: gen([dict(prompt=prompt, seed=i)
                                 for i in range(k)]), n)
    rows.append(('generate', n, secs))
    img = np.random.default_rng(0).integers(0, 255, (args.size, args.size, 3),
                                            np.uint8)
    item = dict(image=img, request=dict(attributes=dict(color='white')))
    rows.append(('detection crop', n, _timed(
        lambda k: [det(item) for _ in range(k)], n)))
    rows.append(('clip colour', n, _timed(
        lambda k: [clip(item) for _ in range(k)], n)))
    dev = 'cuda' if torch.cuda.is_available() else 'cpu'
    print(f'{cpu_model()}, {torch.get_num_threads()} threads, device {dev}, '
          f'load average {os.getloadavg()[0]:.1f} at the end '
          f'({load0:.1f} at the start); '
          f'{"tiny random-weight models" if args.tiny else "real models"}, '
          f'filters on {args.size}x{args.size} images')
    for name, k, (s, c) in rows:
        print(f'{name:15s} {k:3d} images {s:7.2f} s {k / s:8.2f} images/s '
              f'{c / k:7.2f} CPU s/image')
    return rows


if __name__ == '__main__':
    from reidkit.utils.cli import run_cli
    run_cli(main)
