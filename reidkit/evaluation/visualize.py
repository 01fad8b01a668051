"""Rank-list images: a query followed by its top-k gallery images.

Used by ``tools/test.py --show-rank N``: the ``N`` worst and ``N`` best queries
(by average precision under the Market rule) are drawn, each as one image with
the query (grey border) and its top-k kept gallery images, green-bordered for a
true match and red otherwise.
"""
from __future__ import annotations

import os
import os.path as osp
from typing import Dict, List, Sequence

import numpy as np
from PIL import Image, ImageDraw

from .protocols import per_query_ap

GREEN = (0, 200, 0)
RED = (220, 0, 0)
GREY = (128, 128, 128)


def _tile(path: str, size, border: int, color) -> Image.Image:
    width, height = size
    try:
        with Image.open(path) as im:
            im = im.convert('RGB').resize((width, height))
    except (OSError, ValueError) as e:
        raise FileNotFoundError(f'cannot read image {path!r} for the rank '
                                f'list: {e}') from e
    tile = Image.new('RGB', (width + 2 * border, height + 2 * border), color)
    tile.paste(im, (border, border))
    return tile


def write_rank_lists(distmat, q_paths: Sequence[str], g_paths: Sequence[str],
                     q_pids, g_pids, q_camids, g_camids, out_dir: str,
                     topk: int = 10, num_worst: int = 10, num_best: int = 10,
                     size=(128, 256), border: int = 4, gap: int = 10,
                     drop_junk: bool = True) -> List[str]:
    """Write rank-list images for the worst and best queries.

    Args:
        distmat: ``(Q, G)`` distances.
        q_paths, g_paths: image paths of queries and gallery.
        q_pids, g_pids, q_camids, g_camids: labels (junk = same pid and
            camera is hidden when ``drop_junk``).
        out_dir (str): folder to write to (created).
        topk (int): gallery images per row.
        num_worst, num_best (int): how many queries of each kind (by AP).
        size (tuple): ``(width, height)`` of every tile.
        border, gap (int): pixels.

    Returns:
        list[str]: the written files, worst first (``worst_000_<name>.jpg``,
        then ``best_000_<name>.jpg``).

    Example:
        >>> write_rank_lists(d, qp, gp, qid, gid, qcam, gcam, 'work/ranks',
        ...                  topk=10, num_worst=5, num_best=5)
    """
    dist = np.asarray(distmat)
    q_pids, g_pids = np.asarray(q_pids), np.asarray(g_pids)
    q_camids, g_camids = np.asarray(q_camids), np.asarray(g_camids)
    if dist.shape != (len(q_paths), len(g_paths)):
        raise ValueError(f'distmat must have shape (len(q_paths), len(g_paths))'
                         f' = {(len(q_paths), len(g_paths))}, got {dist.shape}')
    ap = per_query_ap(dist, q_pids, g_pids, q_camids, g_camids)
    valid = np.nonzero(~np.isnan(ap))[0]
    order = valid[np.argsort(ap[valid], kind='stable')]
    chosen: Dict[str, np.ndarray] = {
        'worst': order[:num_worst],
        'best': order[::-1][:num_best],
    }
    os.makedirs(out_dir, exist_ok=True)
    written = []
    width, height = size
    cell = width + 2 * border
    for kind, queries in chosen.items():
        for n, q in enumerate(queries):
            ranked = np.argsort(dist[q], kind='stable')
            if drop_junk:
                junk = (g_pids[ranked] == q_pids[q]) & (g_camids[ranked] == q_camids[q])
                ranked = ranked[~junk]
            ranked = ranked[:topk]
            canvas = Image.new('RGB', (cell * (len(ranked) + 1) + gap,
                                       height + 2 * border + 16), 'white')
            canvas.paste(_tile(q_paths[q], size, border, GREY), (0, 16))
            draw = ImageDraw.Draw(canvas)
            draw.text((2, 2), f'AP {100 * ap[q]:.1f}', fill=(0, 0, 0))
            for r, g in enumerate(ranked):
                color = GREEN if g_pids[g] == q_pids[q] else RED
                x = cell * (r + 1) + gap
                canvas.paste(_tile(g_paths[g], size, border, color), (x, 16))
                draw.text((x + 2, 2), str(r + 1), fill=(0, 0, 0))
            name = osp.splitext(osp.basename(str(q_paths[q])))[0]
            path = osp.join(out_dir, f'{kind}_{n:03d}_{name}.jpg')
            canvas.save(path)
            written.append(path)
    return written


__all__ = ['write_rank_lists']
