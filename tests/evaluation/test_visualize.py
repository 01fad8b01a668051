import numpy as np
import pytest
from PIL import Image

from reidkit.evaluation import write_rank_lists


def test_write_rank_lists(tmp_path):
    paths = []
    for i in range(8):
        p = tmp_path / f'img_{i}.png'
        Image.new('RGB', (20, 40), (30 * i, 0, 0)).save(p)
        paths.append(str(p))
    q_paths, g_paths = paths[:3], paths[3:]
    q_pids, g_pids = np.array([1, 2, 3]), np.array([1, 2, 2, 3, 9])
    q_cams, g_cams = np.array([0, 0, 0]), np.array([1, 1, 0, 1, 1])
    # query 0 ranks its match first (AP 1), query 2 last (AP 1/4)
    dist = np.array([[0.1, 0.5, 0.6, 0.7, 0.8],
                     [0.9, 0.5, 0.1, 0.3, 0.2],
                     [0.1, 0.2, 0.3, 0.9, 0.4]])
    out = write_rank_lists(dist, q_paths, g_paths, q_pids, g_pids, q_cams,
                           g_cams, str(tmp_path / 'ranks'), topk=3,
                           num_worst=1, num_best=1, size=(16, 32), border=2)
    assert [p.split('/')[-1] for p in out] == ['worst_000_img_2.jpg',
                                               'best_000_img_0.jpg']
    best = np.asarray(Image.open(out[1]).convert('RGB')).astype(int)
    # first gallery tile of the best query is a match: green border
    x0 = (16 + 4) * 1 + 10
    r, g, b = best[16 + 1, x0 + 1]
    assert g > 150 and r < 80
    worst = np.asarray(Image.open(out[0]).convert('RGB')).astype(int)
    r, g, b = worst[16 + 1, x0 + 1]
    assert r > 150 and g < 80  # red: a wrong identity
    # 4 tiles (query + 3) in a row
    assert Image.open(out[0]).size[0] == 4 * 20 + 10


def test_write_rank_lists_checks_shapes(tmp_path):
    with pytest.raises(ValueError, match='distmat'):
        write_rank_lists(np.zeros((2, 2)), ['a'], ['b', 'c'], [1], [1, 1],
                         [0], [0, 1], str(tmp_path))
