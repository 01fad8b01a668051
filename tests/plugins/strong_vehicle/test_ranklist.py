"""Rank-list picture before / after post-processing: chosen queries, order
of the tiles and their border colours."""
import numpy as np
from PIL import Image

from plugins.strong_vehicle.ranklist import (GREEN, GREY, RED,
                                             before_after_picture)


def test_rows_follow_each_distance(tmp_path):
    names = []
    for i in range(6):
        p = str(tmp_path / f'{i}.png')
        Image.new('RGB', (8, 8), (40 * i, 0, 0)).save(p)
        names.append(p)
    feats = dict(q_names=names[:2], g_names=names[2:],
                 q_pids=[1, 2], g_pids=[1, 2, 1, 2],
                 q_camids=[1, 1], g_camids=[2, 2, 2, 1])
    # query 0: unchanged (AP 1); query 1: its match (g1, other camera) moves
    # from last to first; g3 (same pid + camera) is hidden
    before = np.array([[0., 1, 2, 3], [0, 3, 1, 2]])
    after = np.array([[0., 1, 2, 3], [1, 0, 2, 3]])
    out = str(tmp_path / 'r.png')
    drawn = before_after_picture([before, after], ['before', 'after'], feats,
                                 out, num_queries=1, topk=3, side=10,
                                 border=2)
    assert drawn == [1]
    im = np.array(Image.open(out).convert('RGB'))
    cell, head, x0 = 14, 14, 90

    def border(row, rank):           # top-left border pixel of a tile
        x = x0 + (cell * rank + 8 if rank else 0)
        return tuple(im[2 + row * (cell + head) + head, x])
    assert border(0, 0) == GREY and border(1, 0) == GREY
    # before: g0 (pid 1) , g2 (pid 1), g1 (pid 2): red, red, green
    assert [border(0, r) for r in (1, 2, 3)] == [RED, RED, GREEN]
    # after: g1 first
    assert [border(1, r) for r in (1, 2, 3)] == [GREEN, RED, RED]
