"""Rank lists before and after the post-processing chain, in one picture.

``python -m plugins.strong_vehicle.ranklist WORK_DIR OUT.png [--queries 4]``
reads a finished pipeline's ``postprocess.json`` (the first model's features
file) and ``postprocess_dist.npz`` (the final distances) and draws, for the
queries whose average precision changed most, two rows each: the first
model's Euclidean rank list ("before") and the final one ("after": re-ranked
with the orientation / camera distances, track-averaged, ensembled, grouped
by track). Query tiles have a grey border, true matches green, others red;
same-camera images of the query's vehicle are hidden (the evaluation's rule).
"""
from __future__ import annotations

import argparse
import json
import os.path as osp
from typing import List, Sequence

import numpy as np
from PIL import Image, ImageDraw

from reidkit.evaluation.distance import compute_distance
from reidkit.evaluation.protocols import per_query_ap

from .postprocess import FeatureFileError, load_features

GREEN, RED, GREY = (0, 170, 0), (210, 0, 0), (128, 128, 128)


def _tile(path: str, side: int, border: int, color) -> Image.Image:
    with Image.open(path) as im:
        im = im.convert('RGB').resize((side, side), Image.NEAREST)
    tile = Image.new('RGB', (side + 2 * border,) * 2, color)
    tile.paste(im, (border, border))
    return tile


def before_after_picture(dists: Sequence[np.ndarray], labels: Sequence[str],
                         feats: dict, out_file: str, num_queries: int = 4,
                         topk: int = 8, side: int = 64,
                         border: int = 3) -> List[int]:
    """Draw each chosen query's rank list under every distance in ``dists``.

    Args:
        dists: ``(Q, G)`` distance matrices (e.g. before, after).
        labels: one row label per matrix.
        feats (dict): a loaded features file (names, pids, camids).
        out_file (str): the picture (PNG) to write.
        num_queries (int): queries drawn: those whose AP changes most between
            the first and the last matrix.
        topk (int): gallery images per row.
        side, border (int): tile size and border in pixels.

    Returns:
        list[int]: the query indices drawn, in order.

    Example:
        >>> before_after_picture([d0, d1], ['before', 'after'], feats,
        ...                      'ranks.png', num_queries=3)
    """
    qp, gp = np.asarray(feats['q_pids']), np.asarray(feats['g_pids'])
    qc, gc = np.asarray(feats['q_camids']), np.asarray(feats['g_camids'])
    aps = [per_query_ap(d, qp, gp, qc, gc) for d in dists]
    change = np.nan_to_num(np.abs(aps[-1] - aps[0]), nan=-1.0)
    queries = [int(q) for q in np.argsort(-change, kind='stable')[
        :num_queries]]
    cell, label_w, head = side + 2 * border, 90, 14
    rows = len(queries) * len(dists)
    canvas = Image.new('RGB', (label_w + cell * (topk + 1) + 8,
                               rows * (cell + head) + 4), 'white')
    draw = ImageDraw.Draw(canvas)
    y = 2
    for q in queries:
        for d, label, ap in zip(dists, labels, aps):
            ranked = np.argsort(d[q], kind='stable')
            junk = (gp[ranked] == qp[q]) & (gc[ranked] == qc[q])
            ranked = ranked[~junk][:topk]
            draw.text((2, y + head + side // 2 - 6),
                      f'{label}\nAP {100 * ap[q]:.0f}', fill=(0, 0, 0))
            canvas.paste(_tile(str(feats['q_names'][q]), side, border, GREY),
                         (label_w, y + head))
            for r, g in enumerate(ranked):
                x = label_w + cell * (r + 1) + 8
                draw.text((x + 2, y), str(r + 1), fill=(0, 0, 0))
                color = GREEN if gp[g] == qp[q] else RED
                canvas.paste(_tile(str(feats['g_names'][g]), side, border,
                                   color), (x, y + head))
            y += cell + head
    canvas.save(out_file)
    return queries


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    p.add_argument('work_dir', help='a finished pipeline work dir')
    p.add_argument('out', help='the PNG to write')
    p.add_argument('--queries', type=int, default=4)
    p.add_argument('--topk', type=int, default=8)
    args = p.parse_args(argv)
    summary = osp.join(args.work_dir, 'postprocess.json')
    dist_file = osp.join(args.work_dir, 'postprocess_dist.npz')
    for f in (summary, dist_file):
        if not osp.isfile(f):
            raise FeatureFileError(f'{f} not found: run the pipeline\'s '
                                   'postprocess stage first')
    with open(summary) as f:
        done = json.load(f)
    first = done['models'][0]
    feats = load_features(done.get('features', {}).get(first) or osp.join(
        args.work_dir, first, 'feats.npz'))  # (older runs: no file list)
    after = np.load(dist_file)['ranked']
    before = np.asarray(compute_distance(feats['q_feats'], feats['g_feats']))
    queries = before_after_picture([before, after], ['before', 'after'],
                                   feats, args.out, args.queries, args.topk)
    print(f'{args.out}: queries {queries}')


if __name__ == '__main__':
    from reidkit.utils.cli import run_cli
    run_cli(main)
