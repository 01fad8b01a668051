import os

import numpy as np
import pytest
import torch
import torch.distributed as dist
import torch.multiprocessing as mp

from reidkit.evaluation import ReIDMetric, compute_distance, rank
from reidkit.registry import METRICS
from reidkit.utils.registry import UnknownTypeError

from .reference import (cal_video_test, clothes_junk, market_junk,
                        ref_cuhk03_sg, ref_eval, ref_gallery_choice,
                        ref_vehicleid)


def make_samples(seed=0, num_q=12, num_g=40, num_ids=6, protocol='market'):
    rng = np.random.default_rng(seed)
    centers = rng.standard_normal((num_ids, 16))
    samples = []
    for split, n in (('query', num_q), ('gallery', num_g)):
        for i in range(n):
            pid = int(rng.integers(0, num_ids))
            samples.append(dict(
                feat=torch.tensor(centers[pid] + rng.standard_normal(16),
                                  dtype=torch.float32),
                pid=pid, camid=int(rng.integers(0, 3)),
                clothes_id=pid * 10 + int(rng.integers(0, 2)), modality=0,
                domain=0, split=split, track_id=-1,
                img_path=f'/x/{split}/{i:04d}.jpg'))
    return samples


def run_metric(metric, samples, batch=5):
    for start in range(0, len(samples), batch):
        metric.process({}, samples[start:start + batch])
    return metric.evaluate(len(samples))


def labels(samples, split, key):
    return np.array([s[key] for s in samples if s['split'] == split])


def test_market_metric_matches_rank():
    samples = make_samples()
    metric = METRICS.build(dict(type='ReIDMetric', protocol='market',
                                dist_metric='cosine'))
    out = run_metric(metric, samples)
    qf = torch.stack([s['feat'] for s in samples if s['split'] == 'query'])
    gf = torch.stack([s['feat'] for s in samples if s['split'] == 'gallery'])
    d = compute_distance(qf, gf, 'cosine')
    ref = rank(d, labels(samples, 'query', 'pid'), labels(samples, 'gallery', 'pid'),
               labels(samples, 'query', 'camid'), labels(samples, 'gallery', 'camid'))
    assert set(out) == {'mAP', 'mINP', 'R1', 'R5', 'R10', 'R20'}
    assert out['mAP'] == pytest.approx(100 * ref['mAP'], abs=1e-4)
    assert out['R1'] == pytest.approx(100 * ref['cmc'][0])
    assert metric.results == []  # evaluate() resets


def test_prefixed_settings_and_rerankers():
    samples = make_samples(1)
    for s in samples:  # PRCC layout: gallery camera A, queries B or C
        s['camid'] = 0 if s['split'] == 'gallery' else 1 + s['pid'] % 2
    out = run_metric(ReIDMetric(protocol='prcc'), samples)
    assert {'sc/mAP', 'cc/mAP', 'sc/R1', 'cc/R20'} <= set(out)
    out = run_metric(ReIDMetric(protocol='ltcc', rerankers=[
        dict(type='KReciprocalReranker', k1=5, k2=2)]), make_samples(2))
    assert {'general/mAP', 'sc/mAP', 'cc/mINP'} <= set(out)


def test_protocol_from_dataset_meta():
    samples = make_samples(1)
    for s in samples:
        s['camid'] = 0 if s['split'] == 'gallery' else 1 + s['pid'] % 2
    metric = ReIDMetric(protocol=None)
    metric.dataset_meta = dict(protocol='prcc', num_pids=6)
    assert 'cc/mAP' in run_metric(metric, samples)
    metric = ReIDMetric(protocol=None)
    assert 'mAP' in run_metric(metric, samples)  # no metainfo: market


def test_metric_writes_rank_lists(tmp_path):
    from PIL import Image
    samples = make_samples(6, num_q=4, num_g=12)
    for i, s in enumerate(samples):
        path = tmp_path / f'{s["split"]}_{i}.png'
        Image.new('RGB', (8, 16), (i * 10, 0, 0)).save(path)
        s['img_path'] = str(path)
    metric = ReIDMetric(rank_list_dir=str(tmp_path / 'ranks'), rank_list_topk=3,
                        rank_list_num=2)
    run_metric(metric, samples)
    written = sorted(p.name for p in (tmp_path / 'ranks').iterdir())
    assert len(written) == 4 and written[0].startswith('best_000_')


def test_metric_errors():
    with pytest.raises(UnknownTypeError, match='Closest registered names: '
                       'market'):
        ReIDMetric(protocol='market1501')
    with pytest.raises(TypeError, match="Did you mean 'single_shot'"):
        ReIDMetric(protocol='prcc', single_shott=True)
    m = ReIDMetric()
    with pytest.raises(KeyError, match='feat'):
        m.process({}, [dict(pid=1, camid=1, split='query')])
    with pytest.raises(ValueError, match='split'):
        m.process({}, [dict(feat=torch.zeros(2), pid=1, camid=1, split='train')])
    samples = [s for s in make_samples() if s['split'] == 'query']
    with pytest.raises(ValueError, match='gallery'):
        run_metric(ReIDMetric(), samples)


def _worker(rank_id, world, port, samples, queue):
    os.environ.update(MASTER_ADDR='127.0.0.1', MASTER_PORT=str(port))
    dist.init_process_group('gloo', rank=rank_id, world_size=world)
    try:
        metric = ReIDMetric(protocol='market')
        # DistributedSampler-style interleaving; the last rank repeats a
        # sample as padding, which collect_results must drop
        mine = samples[rank_id::world]
        if len(samples) % world and rank_id >= len(samples) % world:
            mine = mine + [samples[0]]
        metric.process({}, mine)
        out = metric.evaluate(len(samples))
        if rank_id == 0:
            queue.put(out)
    finally:
        dist.destroy_process_group()


def test_distributed_gather_drops_padding():
    samples = make_samples(5, num_q=11, num_g=30)  # 41 samples, world 2
    expected = run_metric(ReIDMetric(protocol='market'), samples)
    ctx = mp.get_context('spawn')
    queue = ctx.Queue()
    port = 29500 + os.getpid() % 1000
    procs = [ctx.Process(target=_worker, args=(r, 2, port, samples, queue))
             for r in range(2)]
    for p in procs:
        p.start()
    out = queue.get(timeout=120)
    for p in procs:
        p.join(timeout=60)
    assert out == pytest.approx(expected)


# --------------------------------------------------------------------------
# exact values through ReIDMetric, against independent computations: every
# protocol and setting, feature normalisation on and off
# --------------------------------------------------------------------------
ALL_PROTOCOLS = ('market', 'cityflow', 'last', 'cuhk03_sg', 'vehicleid',
                 'prcc', 'ltcc', 'vc_clothes', 'ccvid', 'sysu_all',
                 'sysu_indoor', 'llcm_v2i', 'llcm_i2v')
CROSS_MODAL_CAMS = {'sysu_all': ((1, 2, 4, 5), (3, 6)),  # (visible, infrared)
                    'sysu_indoor': ((1, 2, 4, 5), (3, 6)),
                    'llcm_v2i': ((1, 2, 3), (1, 2, 3)),
                    'llcm_i2v': ((1, 2, 3), (1, 2, 3))}


def protocol_samples(protocol, seed=0, num_ids=6):
    """Samples laid out as the protocol's benchmark; features of random norm
    (so normalising changes Euclidean ranks), split random where the
    protocol must not read it."""
    rng = np.random.default_rng(seed)
    centers = rng.standard_normal((num_ids + 1, 16))
    rows = []
    if protocol in CROSS_MODAL_CAMS:
        for pid in range(num_ids + 1):  # the last id has no visible images
            for modality, cams in enumerate(CROSS_MODAL_CAMS[protocol]):
                if pid == num_ids and modality == 0:
                    continue
                for cam in cams:
                    for _ in range(int(rng.integers(1, 3))):
                        rows.append(dict(pid=pid, camid=int(cam),
                                         modality=modality))
    elif protocol == 'ccvid':
        for track in range(30):
            pid, cam = int(rng.integers(0, num_ids)), int(rng.integers(0, 3))
            row = dict(pid=pid, camid=cam, track_id=track,
                       clothes_id=pid * 10 + int(rng.integers(0, 2)),
                       split='query' if track < 10 else 'gallery')
            rows += [dict(row) for _ in range(int(rng.integers(1, 5)))]
    else:
        for n in range(50):
            split = 'query' if n < 14 else 'gallery'
            pid = int(rng.integers(0, num_ids))
            if protocol == 'prcc':
                cam = 0 if split == 'gallery' else int(rng.integers(1, 3))
                clothes = pid * 10 + int(cam == 2)
            else:
                cam = int(rng.integers(1, 5) if protocol == 'vc_clothes'
                          else rng.integers(0, 3))
                clothes = pid * 10 + int(rng.integers(0, 2))
            rows.append(dict(pid=pid, camid=cam, clothes_id=clothes,
                             split=split))
    samples = []
    for i, row in enumerate(rows):
        f = centers[row['pid']] + 0.9 * rng.standard_normal(16)
        f *= np.exp(rng.normal(0.0, 0.6))
        sample = dict(feat=torch.tensor(f, dtype=torch.float32), modality=0,
                      clothes_id=-1, track_id=-1,
                      split=str(rng.choice(['query', 'gallery'])),
                      img_path=f'/d/{rng.integers(0, 10**6):07d}_{i}.jpg')
        sample.update(row)
        samples.append(sample)
    return samples


def _pad_metrics(cmc, ap, inp, head=''):
    out = {f'{head}mAP': 100 * ap, f'{head}mINP': 100 * inp}
    for k in (1, 5, 10, 20):
        out[f'{head}R{k}'] = 100 * cmc[k - 1]
    return out


def independent_metrics(samples, protocol, norm_feat, dist_metric):
    """What ReIDMetric must print, by the slow references (reference.py)."""
    lab = {k: np.array([s[k] for s in samples]) for k in
           ('pid', 'camid', 'clothes_id', 'modality', 'track_id', 'img_path',
            'split')}
    feats = np.stack([s['feat'].numpy().astype(np.float64) for s in samples])
    if protocol in CROSS_MODAL_CAMS:
        q_mod = 0 if protocol == 'llcm_v2i' else 1
        q_sel, g_sel = lab['modality'] == q_mod, lab['modality'] != q_mod
    elif protocol == 'vehicleid':
        q_sel = g_sel = np.ones(len(samples), bool)
    else:
        q_sel, g_sel = lab['split'] == 'query', lab['split'] == 'gallery'
    q = {k: v[q_sel] for k, v in lab.items()}
    g = {k: v[g_sel] for k, v in lab.items()}
    qf, gf = feats[q_sel], feats[g_sel]
    if protocol == 'ccvid':  # mean frame feature per tracklet
        def pool(f, side):
            tracks = sorted(set(side['track_id'].tolist()))
            first = [int(np.nonzero(side['track_id'] == t)[0][0]) for t in tracks]
            mean = np.stack([f[side['track_id'] == t].mean(0) for t in tracks])
            return mean, {k: v[first] for k, v in side.items()}
        qf, q = pool(qf, q)
        gf, g = pool(gf, g)
    if norm_feat:
        qf = qf / np.linalg.norm(qf, axis=1, keepdims=True)
        gf = gf / np.linalg.norm(gf, axis=1, keepdims=True)
    if dist_metric == 'cosine':
        dist = 1 - (qf @ gf.T) / np.outer(np.linalg.norm(qf, axis=1),
                                          np.linalg.norm(gf, axis=1))
    else:
        dist = np.sqrt(((qf[:, None] - gf[None]) ** 2).sum(-1))
    qp, gp, qc, gc = q['pid'], g['pid'], q['camid'], g['camid']
    market = market_junk(qp, gp, qc, gc)
    out = {}
    if protocol in ('market', 'cityflow'):
        out = _pad_metrics(*ref_eval(dist, qp, gp, market))
    elif protocol == 'last':
        out = _pad_metrics(*ref_eval(dist, qp, gp,
                                     lambda i: np.zeros(len(gp), bool)))
    elif protocol == 'cuhk03_sg':
        cmc, ap = ref_cuhk03_sg(dist, qp, gp, qc, gc)
        out = _pad_metrics(cmc, ap, ref_eval(dist, qp, gp, market)[2])
    elif protocol == 'vehicleid':
        out = _pad_metrics(*ref_vehicleid(dist, qp, 10, 0, 50))
    elif protocol == 'prcc':
        for mode, cam in (('sc', 1), ('cc', 2)):
            s = qc == cam
            out.update(_pad_metrics(*ref_eval(
                dist[s], qp[s], gp, market_junk(qp[s], gp, qc[s], gc)),
                f'{mode}/'))
    elif protocol == 'vc_clothes':
        out = _pad_metrics(*ref_eval(dist, qp, gp, market), 'general/')
        for mode, cams in (('sc', (2, 3)), ('cc', (3, 4))):
            s, t = np.isin(qc, cams), np.isin(gc, cams)
            out.update(_pad_metrics(*ref_eval(
                dist[s][:, t], qp[s], gp[t],
                market_junk(qp[s], gp[t], qc[s], gc[t])), f'{mode}/'))
    elif protocol in ('ltcc', 'ccvid'):
        out = _pad_metrics(*ref_eval(dist, qp, gp, market), 'general/')
        for mode in ('sc', 'cc'):
            junk = clothes_junk(qp, gp, qc, gc, q['clothes_id'],
                                g['clothes_id'], mode)
            out.update(_pad_metrics(*ref_eval(dist, qp, gp, junk), f'{mode}/'))
    else:  # SYSU-MM01 / LLCM, ten trials
        cams = {'sysu_all': (1, 2, 4, 5), 'sysu_indoor': (1, 2)}.get(protocol)
        trials = []
        for seed in range(10):
            sel = ref_gallery_choice(gp, gc, cams, seed, list(g['img_path']))
            if protocol.startswith('sysu'):
                def junk(i, g_c=gc[sel]):
                    return (qc[i] == 3) & (g_c == 2)
            else:
                junk = market_junk(qp, gp[sel], qc, gc[sel])
            trials.append(ref_eval(dist[:, sel], qp, gp[sel], junk, dedup=True))
        out = _pad_metrics(np.mean([t[0] for t in trials], 0),
                           np.mean([t[1] for t in trials]),
                           np.mean([t[2] for t in trials]))
    return out


def assert_metrics_equal(out, expected):
    assert set(out) == set(expected)
    for key, value in expected.items():
        assert out[key] == pytest.approx(value, abs=1e-9), key


@pytest.mark.parametrize('norm_feat', [True, False])
@pytest.mark.parametrize('protocol', ALL_PROTOCOLS)
def test_metric_exact_values(protocol, norm_feat):
    samples = protocol_samples(protocol)
    expected = independent_metrics(samples, protocol, norm_feat, 'euclidean')
    # the case can tell normalisation on from off
    other = independent_metrics(samples, protocol, not norm_feat, 'euclidean')
    assert any(abs(expected[k] - other[k]) > 1e-6 for k in expected)
    out = run_metric(ReIDMetric(protocol=protocol, norm_feat=norm_feat),
                     samples, batch=7)
    assert_metrics_equal(out, expected)


@pytest.mark.parametrize('protocol', ['market', 'ccvid', 'llcm_v2i'])
def test_metric_exact_values_cosine(protocol):
    samples = protocol_samples(protocol, seed=3)
    out = run_metric(ReIDMetric(protocol=protocol, dist_metric='cosine',
                                norm_feat=False), samples)
    assert_metrics_equal(out, independent_metrics(samples, protocol, False,
                                                  'cosine'))


@pytest.mark.parametrize('protocol', ['llcm_v2i', 'llcm_i2v'])
def test_cross_modal_query_modality_matters(protocol):
    # the same samples scored with the other query modality give other
    # numbers, so test_metric_exact_values fails if a direction is swapped
    samples = protocol_samples(protocol, seed=1)
    out = run_metric(ReIDMetric(protocol=protocol), samples)
    for s in samples:
        s['modality'] = 1 - s['modality']
    swapped = independent_metrics(samples, protocol, True, 'euclidean')
    assert any(abs(out[k] - swapped[k]) > 1e-6 for k in out)
    with pytest.raises(ValueError, match='cross-modal'):
        run_metric(ReIDMetric(protocol=protocol),
                   [dict(s, modality=0) for s in samples])


# --------------------------------------------------------------------------
# CCVID: CAL's video evaluation
# --------------------------------------------------------------------------
@pytest.mark.parametrize('seed', range(3))
def test_ccvid_matches_cal_video_test(seed):
    samples = protocol_samples('ccvid', seed=seed)
    out = run_metric(ReIDMetric(protocol='ccvid', dist_metric='cosine'),
                     samples)
    def side(split):
        part = [s for s in samples if s['split'] == split]
        return (np.stack([s['feat'].numpy().astype(np.float64) for s in part]),
                {k: np.array([s[k] for s in part])
                 for k in ('pid', 'camid', 'clothes_id', 'track_id')})
    ref = cal_video_test(*side('query'), *side('gallery'))
    for mode, (cmc, mAP) in ref.items():
        assert out[f'{mode}/mAP'] == pytest.approx(100 * mAP, abs=1e-9)
        for k in (1, 5, 10):
            assert out[f'{mode}/R{k}'] == pytest.approx(100 * cmc[k - 1],
                                                        abs=1e-9)
    # per frame the numbers differ: the pooling is what is scored
    per_frame = run_metric(ReIDMetric(protocol='ccvid', dist_metric='cosine',
                                      tracklets=False), samples)
    assert any(abs(out[k] - per_frame[k]) > 1e-6 for k in out)


def test_ccvid_needs_consistent_tracklets():
    samples = protocol_samples('ccvid')
    with pytest.raises(ValueError, match="needs 'track_id'"):
        run_metric(ReIDMetric(protocol='ccvid'),
                   [dict(s, track_id=-1) for s in samples])
    bad = [dict(s) for s in samples]
    tracks = [s['track_id'] for s in bad]
    long_track = next(t for t in tracks if tracks.count(t) > 1)
    bad[len(tracks) - 1 - tracks[::-1].index(long_track)]['pid'] = 99
    with pytest.raises(ValueError, match=f'tracklet {long_track} mixes pid'):
        run_metric(ReIDMetric(protocol='ccvid'), bad)


def test_ccvid_release_size_pools_before_distances(monkeypatch):
    # CCVID's test release: ~1e5 query and ~1.3e5 gallery frames in 834 /
    # 1,074 tracklets. The distance is tracklet x tracklet, not frame x frame.
    import reidkit.evaluation.metric as metric_mod
    rng = np.random.default_rng(0)
    num_qt, num_gt = 834, 1074
    q_len = rng.multinomial(100_000 - num_qt, np.ones(num_qt) / num_qt) + 1
    g_len = rng.multinomial(130_000 - num_gt, np.ones(num_gt) / num_gt) + 1
    t_pid = rng.integers(0, 226, num_qt + num_gt)
    centers = torch.randn(226, 4)
    results = []
    for track, n in enumerate(np.concatenate([q_len, g_len])):
        pid = int(t_pid[track])
        base = dict(split='query' if track < num_qt else 'gallery', pid=pid,
                    camid=track % 12, clothes_id=pid * 4 + track % 3,
                    modality=0, track_id=track, img_path='')
        feats = centers[pid] + torch.randn(int(n), 4)
        results += [dict(base, feat=f) for f in feats]
    assert len(results) == 230_000
    shapes = []
    real = metric_mod.compute_distance

    def spy(qf, gf, *args, **kwargs):
        shapes.append((qf.shape[0], gf.shape[0]))
        return real(qf, gf, *args, **kwargs)
    monkeypatch.setattr(metric_mod, 'compute_distance', spy)
    out = ReIDMetric(protocol='ccvid').compute_metrics(results)
    assert shapes == [(num_qt, num_gt)]
    assert set(out) >= {'general/mAP', 'sc/R1', 'cc/mINP'}
