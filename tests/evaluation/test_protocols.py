import numpy as np
import pytest
import torch

from reidkit.evaluation import rank, sample_gallery
from reidkit.evaluation.protocols import per_query_ap
from reidkit.utils.registry import UnknownTypeError

from .reference import (cal_evaluate, cal_prcc_single_shot_galleries,
                        clothes_junk, llcm_eval, llcm_script, market_junk,
                        ref_cuhk03_sg, ref_eval, ref_gallery_choice,
                        ref_vehicleid)


def random_case(seed, num_q=None, num_g=None, ties=False, pids=6, cams=3):
    rng = np.random.default_rng(seed)
    num_q = num_q or int(rng.integers(1, 30))
    num_g = num_g or int(rng.integers(2, 60))
    if ties:  # few distinct values: many equal distances
        dist = rng.integers(0, 4, (num_q, num_g)).astype(np.float32)
    else:
        dist = rng.random((num_q, num_g)).astype(np.float32)
    q_pids = rng.integers(1, pids, num_q)
    g_pids = rng.integers(0, pids, num_g)  # 0 acts as a distractor id
    q_cams = rng.integers(0, cams, num_q)
    g_cams = rng.integers(0, cams, num_g)
    q_clo = q_pids * 10 + rng.integers(0, 2, num_q)
    g_clo = g_pids * 10 + rng.integers(0, 2, num_g)
    return dist, q_pids, g_pids, q_cams, g_cams, q_clo, g_clo


def has_valid(dist, q_pids, g_pids, junk_fn):
    return any(((g_pids == q_pids[q]) & ~junk_fn(q)).any()
               for q in range(dist.shape[0]))


def assert_same(res, ref_cmc, ref_ap, ref_inp=None):
    np.testing.assert_allclose(res['cmc'], ref_cmc, atol=1e-12)
    assert res['mAP'] == pytest.approx(ref_ap, abs=1e-12)
    if ref_inp is not None:
        assert res['mINP'] == pytest.approx(ref_inp, abs=1e-12)


@pytest.mark.parametrize('seed', range(40))
@pytest.mark.parametrize('protocol', ['market', 'cityflow'])
def test_market_matches_reference(seed, protocol):
    dist, qp, gp, qc, gc, _, _ = random_case(seed, ties=seed % 3 == 0)
    junk = market_junk(qp, gp, qc, gc)
    if not has_valid(dist, qp, gp, junk):
        with pytest.raises(ValueError, match='no query has a match'):
            rank(dist, qp, gp, qc, gc, protocol=protocol)
        return
    assert_same(rank(dist, qp, gp, qc, gc, protocol=protocol, max_rank=20),
                *ref_eval(dist, qp, gp, junk, max_rank=20))


def test_market_large_blocks_and_float64():
    # several query blocks, float64 input, max_rank longer than the gallery
    dist, qp, gp, qc, gc, _, _ = random_case(1, num_q=300, num_g=40, pids=8)
    junk = market_junk(qp, gp, qc, gc)
    ref = ref_eval(dist, qp, gp, junk, max_rank=60)
    assert_same(rank(dist.astype(np.float64), qp, gp, qc, gc, max_rank=60), *ref)
    assert_same(rank(torch.from_numpy(dist), qp, gp, qc, gc, max_rank=60), *ref)


def test_hand_worked_market():
    # gallery: 0 junk (same pid+cam), 1 other id, 2 match, 3 distractor, 4 match
    dist = np.array([[0.0, 0.1, 0.2, 0.3, 0.4]])
    res = rank(dist, [7], [7, 3, 7, 0, 7], [1], [1, 2, 2, 2, 3], max_rank=5)
    # kept ranking: [3(x), 7(v), 0(x), 7(v)] -> hits at positions 2 and 4
    np.testing.assert_allclose(res['cmc'], [0, 1, 1, 1, 1])
    assert res['mAP'] == pytest.approx((1 / 2 + 2 / 4) / 2)
    assert res['mINP'] == pytest.approx(2 / 4)


def test_hand_worked_ties_break_by_index():
    dist = np.array([[1.0, 1.0, 1.0]])
    res = rank(dist, [1], [2, 1, 1], [0], [1, 1, 1], max_rank=3)
    # order 0, 1, 2 -> hits at 2 and 3
    assert res['mAP'] == pytest.approx((1 / 2 + 2 / 3) / 2)
    np.testing.assert_allclose(res['cmc'], [0, 1, 1])


@pytest.mark.parametrize('seed', range(25))
@pytest.mark.parametrize('mode', ['sc', 'cc'])
@pytest.mark.parametrize('protocol', ['ltcc', 'ccvid'])
def test_clothes_changing_matches_reference(seed, mode, protocol):
    dist, qp, gp, qc, gc, qclo, gclo = random_case(100 + seed, ties=seed % 4 == 0)
    junk = clothes_junk(qp, gp, qc, gc, qclo, gclo, mode)
    if not has_valid(dist, qp, gp, junk):
        return
    res = rank(dist, qp, gp, qc, gc, protocol=protocol, mode=mode,
               q_clothes=qclo, g_clothes=gclo, max_rank=20)
    assert_same(res, *ref_eval(dist, qp, gp, junk, max_rank=20))


def test_ltcc_general_is_market_and_needs_clothes():
    dist, qp, gp, qc, gc, qclo, gclo = random_case(5, num_q=20, num_g=50)
    a = rank(dist, qp, gp, qc, gc, protocol='ltcc', mode='general')
    b = rank(dist, qp, gp, qc, gc, protocol='market')
    assert a['mAP'] == b['mAP']
    with pytest.raises(KeyError, match='q_clothes'):
        rank(dist, qp, gp, qc, gc, protocol='ltcc', mode='cc')
    with pytest.raises(ValueError, match='modes'):
        rank(dist, qp, gp, qc, gc, protocol='ltcc', mode='xx',
             q_clothes=qclo, g_clothes=gclo)


def test_hand_worked_clothes_changing():
    # query pid 1 cam 0 clothes 10. gallery:
    # 0: pid1 cam1 clothes10 (same clothes), 1: pid2, 2: pid1 cam1 clothes11
    dist = np.array([[0.1, 0.2, 0.3]])
    args = (dist, [1], [1, 2, 1], [0], [1, 1, 1])
    cc = rank(*args, protocol='ltcc', mode='cc', q_clothes=[10],
              g_clothes=[10, 20, 11], max_rank=3)
    np.testing.assert_allclose(cc['cmc'], [0, 1, 1])  # item 0 is junk
    sc = rank(*args, protocol='ltcc', mode='sc', q_clothes=[10],
              g_clothes=[10, 20, 11], max_rank=3)
    np.testing.assert_allclose(sc['cmc'], [1, 1, 1])
    assert sc['mAP'] == 1.0  # item 2 (other clothes) is junk in SC mode


@pytest.mark.parametrize('seed', range(15))
def test_prcc_and_vc_clothes_settings(seed):
    rng = np.random.default_rng(seed)
    dist, qp, gp, _, _, _, _ = random_case(200 + seed, num_q=40, num_g=50)
    qc = rng.integers(1, 3, 40)      # PRCC: B=1, C=2
    gc = np.zeros(50, int)           # gallery A=0
    for mode, cam in (('sc', 1), ('cc', 2)):
        sel = qc == cam
        junk = market_junk(qp[sel], gp, qc[sel], gc)
        if not sel.any() or not has_valid(dist[sel], qp[sel], gp, junk):
            continue
        res = rank(dist, qp, gp, qc, gc, protocol='prcc', mode=mode, max_rank=10)
        assert_same(res, *ref_eval(dist[sel], qp[sel], gp, junk, max_rank=10))
    qc = rng.integers(1, 5, 40)
    gc = rng.integers(1, 5, 50)
    for mode, cams in (('sc', (2, 3)), ('cc', (3, 4))):
        qs, gs = np.isin(qc, cams), np.isin(gc, cams)
        d = dist[qs][:, gs]
        junk = market_junk(qp[qs], gp[gs], qc[qs], gc[gs])
        if not has_valid(d, qp[qs], gp[gs], junk):
            continue
        res = rank(dist, qp, gp, qc, gc, protocol='vc_clothes', mode=mode,
                   max_rank=10)
        assert_same(res, *ref_eval(d, qp[qs], gp[gs], junk, max_rank=10))


@pytest.mark.parametrize('seed', range(10))
def test_last_has_no_junk(seed):
    dist, qp, gp, qc, gc, _, _ = random_case(300 + seed)

    def junk(q):
        return np.zeros(len(gp), bool)
    if not has_valid(dist, qp, gp, junk):
        return
    assert_same(rank(dist, qp, gp, qc, gc, protocol='last', max_rank=20),
                *ref_eval(dist, qp, gp, junk, max_rank=20))


@pytest.mark.parametrize('seed', range(8))
def test_cuhk03_single_gallery_shot(seed):
    dist, qp, gp, qc, gc, _, _ = random_case(400 + seed, num_q=12, num_g=40,
                                             ties=seed % 2 == 0)
    if not has_valid(dist, qp, gp, market_junk(qp, gp, qc, gc)):
        return
    res = rank(dist, qp, gp, qc, gc, protocol='cuhk03_sg', max_rank=15,
               num_repeats=4, seed=seed)
    cmc, ap = ref_cuhk03_sg(dist, qp, gp, qc, gc, 15, num_repeats=4, seed=seed)
    np.testing.assert_allclose(res['cmc'], cmc, atol=1e-12)
    assert res['mAP'] == pytest.approx(ap, abs=1e-12)


def test_cuhk03_one_image_per_id_is_deterministic():
    # with one gallery image per id sampling changes nothing: CMC = Market CMC
    dist, qp, _, qc, _, _, _ = random_case(7, num_q=20, num_g=6)
    gp = np.arange(6)
    gc = np.full(6, 9)
    a = rank(dist, qp, gp, qc, gc, protocol='cuhk03_sg', max_rank=6)
    b = rank(dist, qp, gp, qc, gc, protocol='market', max_rank=6)
    np.testing.assert_allclose(a['cmc'], b['cmc'])


@pytest.mark.parametrize('seed', range(5))
def test_vehicleid_repeats(seed):
    rng = np.random.default_rng(seed)
    n = 60
    pids = rng.integers(0, 15, n)
    feats = rng.random((n, 4))
    dist = ((feats[:, None] - feats[None]) ** 2).sum(-1)
    cams = np.zeros(n, int)
    res = rank(dist, pids, pids, cams, cams, protocol='vehicleid',
               num_repeats=3, seed=seed, max_rank=10)
    # reference: same draws, then a plain loop per repeat
    cmc, ap, inp = ref_vehicleid(dist, pids, 3, seed, 10)
    np.testing.assert_allclose(res['cmc'], cmc)
    assert res['mAP'] == pytest.approx(ap)
    assert res['mINP'] == pytest.approx(inp)
    with pytest.raises(ValueError, match='square'):
        rank(dist[:5], pids[:5], pids, cams[:5], cams, protocol='vehicleid')


def sysu_case(seed, num_q=30, num_ids=8):
    rng = np.random.default_rng(seed)
    g_pids = np.repeat(np.arange(num_ids), 12)
    g_cams = np.tile(np.repeat([1, 2, 4, 5], 3), num_ids)
    q_pids = rng.integers(0, num_ids + 1, num_q)  # id num_ids: not in gallery
    q_cams = rng.choice([3, 6], num_q)
    dist = rng.random((num_q, g_pids.size))
    paths = [f'cam{c}/{p:04d}/{rng.integers(0, 10**6):07d}.jpg'
             for p, c in zip(g_pids, g_cams)]
    return dist, q_pids, g_pids, q_cams, g_cams, paths


@pytest.mark.parametrize('protocol', ['sysu_all', 'sysu_indoor'])
@pytest.mark.parametrize('seed', range(4))
def test_sysu_matches_agw_loop(protocol, seed):
    dist, qp, gp, qc, gc, paths = sysu_case(seed)
    cams = (1, 2, 4, 5) if protocol == 'sysu_all' else (1, 2)
    res = rank(dist, qp, gp, qc, gc, protocol=protocol, seeds=[0, 1, 2],
               g_paths=paths, max_rank=20)
    refs = []
    for trial in range(3):
        sel = ref_gallery_choice(gp, gc, cams, trial, paths)
        assert sample_gallery(protocol, gp, gc, trial, paths).tolist() == sel
        d, g_p, g_c = dist[:, sel], gp[sel], gc[sel]

        def junk(q, g_c=g_c):
            return (qc[q] == 3) & (g_c == 2)
        refs.append(ref_eval(d, qp, g_p, junk, max_rank=20, dedup=True))
    np.testing.assert_allclose(res['cmc'], np.mean([r[0] for r in refs], 0),
                               atol=1e-12)
    assert res['mAP'] == pytest.approx(np.mean([r[1] for r in refs]))
    assert res['mINP'] == pytest.approx(np.mean([r[2] for r in refs]))
    assert len(res['trials']) == 3


def test_sysu_draws_match_python_random():
    # the reference scripts call random.seed(trial) then random.choice per
    # (sorted id, camera) over the sorted file list
    import random
    g_pids = np.array([5, 5, 5, 2, 2])
    g_cams = np.array([1, 1, 1, 1, 4])
    paths = ['c', 'a', 'b', 'x', 'y']
    random.seed(3)
    random.choice(['x'])          # pid 2, camera 1
    random.choice(['y'])          # pid 2, camera 4
    pick = random.choice(['a', 'b', 'c'])  # pid 5, camera 1, sorted paths
    expected = sorted([3, 4, paths.index(pick)])
    assert sample_gallery('sysu_all', g_pids, g_cams, 3, paths).tolist() == expected


def test_hand_worked_sysu_dedup_cmc():
    # ranked gallery ids: 4, 4, 9, 7(match) -> distinct list 4, 9, 7: rank 3
    dist = np.array([[0.1, 0.2, 0.3, 0.4]])
    res = rank(dist, [7], [4, 4, 9, 7], [6], [1, 1, 1, 1], protocol='sysu_all',
               seeds=[0], max_rank=4)
    # one image per (id, camera): ids 4 keep one of two; list 4, 9, 7 either way
    np.testing.assert_allclose(res['cmc'], [0, 0, 1, 1])
    # camera-3 query: camera-2 gallery images are dropped
    res = rank(dist, [7], [4, 5, 9, 7], [3], [2, 2, 1, 1], protocol='sysu_all',
               seeds=[0], max_rank=4)
    np.testing.assert_allclose(res['cmc'], [0, 1, 1, 1])


@pytest.mark.parametrize('protocol', ['llcm_v2i', 'llcm_i2v'])
@pytest.mark.parametrize('seed', range(3))
def test_llcm_matches_loop(protocol, seed):
    rng = np.random.default_rng(seed)
    g_pids = np.repeat(np.arange(6), 6)
    g_cams = np.tile(np.repeat([1, 2, 3], 2), 6)
    q_pids = rng.integers(0, 6, 25)
    q_cams = rng.integers(1, 4, 25)
    dist = rng.random((25, g_pids.size))
    q_mod = 0 if protocol == 'llcm_v2i' else 1  # visible 0, infrared 1
    res = rank(dist, q_pids, g_pids, q_cams, g_cams, protocol=protocol,
               seeds=[0, 1], max_rank=10, q_modalities=np.full(25, q_mod),
               g_modalities=np.full(g_pids.size, 1 - q_mod))
    refs = []
    for trial in range(2):
        sel = ref_gallery_choice(g_pids, g_cams, None, trial)
        d, gp, gc = dist[:, sel], g_pids[sel], g_cams[sel]
        refs.append(ref_eval(d, q_pids, gp, market_junk(q_pids, gp, q_cams, gc),
                             max_rank=10, dedup=True))
    np.testing.assert_allclose(res['cmc'], np.mean([r[0] for r in refs], 0))
    assert res['mAP'] == pytest.approx(np.mean([r[1] for r in refs]))
    for q_m, g_m in ((q_mod, q_mod), (1 - q_mod, q_mod)):  # same; swapped
        with pytest.raises(ValueError, match='cross-modal'):
            rank(dist, q_pids, g_pids, q_cams, g_cams, protocol=protocol,
                 q_modalities=np.full(25, q_m),
                 g_modalities=np.full(g_pids.size, g_m))


def test_bad_inputs_name_the_problem():
    d = np.zeros((2, 3))
    with pytest.raises(ValueError, match='q_pids'):
        rank(d, [1], [1, 2, 3], [0, 0], [0, 0, 0])
    with pytest.raises(ValueError, match='distmat'):
        rank(np.zeros(3), [1], [1, 2, 3], [0], [0, 0, 0])
    with pytest.raises(UnknownTypeError, match='Closest registered names: '
                       'market'):
        rank(d, [1, 1], [1, 2, 3], [0, 0], [0, 0, 0], protocol='markt')
    with pytest.raises(TypeError, match="no option 'seeds'"):
        rank(d, [1, 1], [1, 2, 3], [0, 0], [0, 0, 0], seeds=[0])
    with pytest.raises(ValueError, match='NaN'):
        rank(np.full((2, 3), np.nan), [1, 1], [1, 2, 3], [0, 0], [0, 1, 1])
    with pytest.raises(ValueError, match='takes no mode'):
        rank(d, [1, 1], [1, 2, 3], [0, 0], [1, 1, 1], mode='cc')


def test_per_query_ap():
    dist, qp, gp, qc, gc, _, _ = random_case(11, num_q=20, num_g=30)
    ap = per_query_ap(dist, qp, gp, qc, gc)
    res = rank(dist, qp, gp, qc, gc)
    assert np.nanmean(ap) == pytest.approx(res['mAP'])
    assert np.isnan(ap).sum() == 20 - res['num_valid']


# --------------------------------------------------------------------------
# PRCC single-shot galleries (CAL's data/datasets/prcc.py draws)
# --------------------------------------------------------------------------
@pytest.mark.parametrize('seed', range(3))
def test_prcc_single_shot_matches_cal(seed):
    rng = np.random.default_rng(seed)
    g_pids = rng.integers(0, 8, 45)
    g_cams = np.zeros(45, int)
    g_paths = [f'rgb/test/A/{p:03d}/cropped_rgb{rng.integers(0, 10**6):07d}.jpg'
               for p in g_pids]
    q_pids = rng.integers(0, 9, 30)
    q_cams = rng.integers(1, 3, 30)
    dist = rng.random((30, 45))
    galleries = cal_prcc_single_shot_galleries(g_pids, g_paths)
    for mode, cam in (('sc', 1), ('cc', 2)):
        sel = q_cams == cam
        res = rank(dist, q_pids, g_pids, q_cams, g_cams, protocol='prcc',
                   mode=mode, single_shot=True, g_paths=g_paths, max_rank=5)
        refs = [cal_evaluate(dist[sel][:, gal], q_pids[sel], g_pids[gal],
                             q_cams[sel], g_cams[gal]) for gal in galleries]
        assert len(res['trials']) == 10
        np.testing.assert_allclose(res['cmc'],
                                   np.mean([r[0][:5] for r in refs], 0))
        assert res['mAP'] == pytest.approx(np.mean([r[1] for r in refs]))
        full = rank(dist, q_pids, g_pids, q_cams, g_cams, protocol='prcc',
                    mode=mode, max_rank=5)  # the default: every A image
        ref_cmc, ref_ap = cal_evaluate(dist[sel], q_pids[sel], g_pids,
                                       q_cams[sel], g_cams)
        np.testing.assert_allclose(full['cmc'], ref_cmc[:5])
        assert full['mAP'] == pytest.approx(ref_ap)
        assert full['mAP'] != pytest.approx(res['mAP'])


def test_prcc_single_shot_hand_worked():
    # one query, gallery: pid 1 at distances 0.1 (a) and 0.5 (b), pid 2 at 0.3
    dist = np.array([[0.1, 0.3, 0.5]])
    paths = ['a', 'c', 'b']
    res = rank(dist, [1], [1, 2, 1], [2], [0, 0, 0], protocol='prcc',
               single_shot=True, num_trials=4, g_paths=paths, max_rank=2)
    import random
    random.seed(3)
    picks = [(random.choice([0, 2]), random.choice([1])) for _ in range(4)]
    # picking image a (index 0) puts the match first; b (index 2) second
    r1 = np.mean([1.0 if p[0] == 0 else 0.0 for p in picks])
    assert res['cmc'][0] == pytest.approx(r1)
    assert res['mAP'] == pytest.approx(np.mean([1.0 if p[0] == 0 else 0.5
                                                for p in picks]))


# --------------------------------------------------------------------------
# LLCM: the benchmark's definition and the authors' script (official=True)
# --------------------------------------------------------------------------
def llcm_images(seed, num_ids=22):
    rng = np.random.default_rng(seed)
    images = []
    for pid in range(1, num_ids + 1):
        for modality, top, cams in ((0, 'test_vis', range(1, 10)),
                                    (1, 'test_nir', (1, 2, 4, 5, 6, 7, 8, 9))):
            for cam in rng.choice(list(cams), 3, replace=False):
                for _ in range(int(rng.integers(1, 4))):
                    name = f'{rng.integers(0, 10**6):07d}.jpg'
                    images.append((f'{top}/cam{cam}/{pid:04d}/{name}', pid,
                                   int(cam), modality))
    order = rng.permutation(len(images))  # our side lists in any order
    images = [images[i] for i in order]
    feats = rng.standard_normal((len(images), 8))
    feats += 0.8 * rng.standard_normal((num_ids + 1, 8))[[im[1] for im in images]]
    return images, feats


def llcm_rank(images, feats, protocol, **kwargs):
    q_mod = 0 if protocol == 'llcm_v2i' else 1
    qi = [i for i, im in enumerate(images) if im[3] == q_mod]
    gi = [i for i, im in enumerate(images) if im[3] != q_mod]
    col = np.array([im[1:3] for im in images])
    dist = -(feats[qi] @ feats[gi].T)  # the script ranks by -similarity
    return rank(dist, col[qi, 0], col[gi, 0], col[qi, 1], col[gi, 1],
                protocol=protocol, max_rank=20,
                g_paths=[images[i][0] for i in gi],
                q_modalities=[q_mod] * len(qi),
                g_modalities=[1 - q_mod] * len(gi), **kwargs)


def test_llcm_official_matches_authors_script(seed=0):
    images, feats = llcm_images(seed)
    # "VIS to IR" (test_mode [2, 1]): sampled infrared queries, all visible
    cmc, mAP, mINP = llcm_script(images, feats, [2, 1])
    ours = llcm_rank(images, feats, 'llcm_v2i', official=True)
    np.testing.assert_allclose(ours['cmc'], cmc, atol=1e-6)
    assert ours['mAP'] == pytest.approx(mAP, abs=1e-12)
    assert ours['mINP'] == pytest.approx(mINP, abs=1e-12)
    # the benchmark's definition (the default) is a different number
    default = llcm_rank(images, feats, 'llcm_v2i')
    assert abs(default['mAP'] - mAP) > 1e-3
    # "IR to VIS" (test_mode [1, 2]) is the benchmark's i2v, official or not
    cmc, mAP, mINP = llcm_script(images, feats, [1, 2])
    for official in (False, True):
        ours = llcm_rank(images, feats, 'llcm_i2v', official=official)
        np.testing.assert_allclose(ours['cmc'], cmc, atol=1e-6)
        assert ours['mAP'] == pytest.approx(mAP, abs=1e-12)
        assert ours['mINP'] == pytest.approx(mINP, abs=1e-12)


def test_llcm_default_v2i_is_the_benchmark_definition():
    # visible queries against one sampled infrared image per (id, camera):
    # the script's machinery with the roles the definition gives
    images, feats = llcm_images(5)
    ours = llcm_rank(images, feats, 'llcm_v2i', seeds=range(3))
    qi = [i for i, im in enumerate(images) if im[3] == 0]
    gi = np.array([i for i, im in enumerate(images) if im[3] == 1])
    col = np.array([im[1:3] for im in images])
    refs = []
    for trial in range(3):
        paths = [images[i][0] for i in gi]
        sel = gi[ref_gallery_choice(col[gi, 0], col[gi, 1], None, trial, paths)]
        refs.append(llcm_eval(-(feats[qi] @ feats[sel].T), col[qi, 0],
                              col[sel, 0], col[qi, 1], col[sel, 1]))
    np.testing.assert_allclose(ours['cmc'], np.mean([r[0] for r in refs], 0),
                               atol=1e-6)
    assert ours['mAP'] == pytest.approx(np.mean([r[1] for r in refs]))
    assert ours['mINP'] == pytest.approx(np.mean([r[2] for r in refs]))
