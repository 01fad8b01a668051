import os

import numpy as np
import pytest
import torch
import torch.distributed as dist
import torch.multiprocessing as mp

from reidkit.evaluation import ReIDMetric, compute_distance, rank
from reidkit.registry import METRICS


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


def test_sysu_takes_query_and_gallery_by_modality():
    samples = make_samples(3, num_q=10, num_g=60)
    rng = np.random.default_rng(0)
    for s in samples:
        ir = s['split'] == 'query'
        s['modality'] = int(ir)
        s['camid'] = int(rng.choice([3, 6])) if ir else int(rng.choice([1, 2, 4, 5]))
        s['split'] = 'gallery' if ir else 'query'  # wrong on purpose
    out = run_metric(ReIDMetric(protocol='sysu_all', seeds=[0, 1]), samples)
    assert 0 < out['mAP'] <= 100


def test_protocol_from_dataset_meta():
    samples = make_samples(1)
    for s in samples:
        s['camid'] = 0 if s['split'] == 'gallery' else 1 + s['pid'] % 2
    metric = ReIDMetric(protocol=None)
    metric.dataset_meta = dict(protocol='prcc', num_pids=6)
    assert 'cc/mAP' in run_metric(metric, samples)
    metric = ReIDMetric(protocol=None)
    assert 'mAP' in run_metric(metric, samples)  # no metainfo: market


def test_vehicleid_uses_all_images():
    samples = make_samples(4, num_q=0, num_g=50)
    out = run_metric(ReIDMetric(protocol='vehicleid', num_repeats=2), samples)
    assert 0 < out['R1'] <= 100


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
    with pytest.raises(ValueError, match='unknown protocol'):
        ReIDMetric(protocol='market1501')
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
