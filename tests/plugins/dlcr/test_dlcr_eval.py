"""DLCRMetric + DLCRQueryVariantDataset + the real-only clothes head."""
import numpy as np
import torch

from plugins.dlcr.dataset import VARIANT_SPLIT, DLCRQueryVariantDataset
from plugins.dlcr.metric import DLCRMetric
from plugins.dlcr.model import DLCRClothesClassifierHead, real_subset
from plugins.dlcr.refinement import DLCRRefinementReranker
from reidkit.evaluation import rank


def _samples(rng, num_q=12, num_g=30, num_l=3, dim=8):
    g_pids = np.arange(num_g) % 6
    q_pids = rng.integers(0, 6, num_q)
    centers = rng.normal(size=(6, dim))
    out = []
    for i in range(num_g):
        out.append(dict(feat=torch.tensor(centers[g_pids[i]] + rng.normal(
            size=dim)), split='gallery', pid=int(g_pids[i]), camid=0,
            clothes_id=int(g_pids[i]), img_path=f'g{i}.jpg'))
    for i in range(num_q):
        out.append(dict(feat=torch.tensor(centers[q_pids[i]] + 2 * rng.normal(
            size=dim)), split='query', pid=int(q_pids[i]), camid=2,
            clothes_id=100 + i, img_path=f'q{i}.jpg'))
        for k in range(num_l if i % 4 else num_l - 1):  # some have fewer
            out.append(dict(feat=torch.tensor(centers[q_pids[i]] + 2 *
                                              rng.normal(size=dim)),
                            split=VARIANT_SPLIT, pid=int(q_pids[i]), camid=2,
                            clothes_id=-1, img_path=f'q{i}_v{k}.jpg',
                            variant_of=f'q{i}.jpg', variant=k))
    return out


def test_metric_passes_variants_to_the_reranker():
    rng = np.random.default_rng(0)
    samples = _samples(rng)
    metric = DLCRMetric(protocol='market', dist_metric='cosine',
                        rerankers=[dict(type='DLCRRefinementReranker', m=5)])
    rng.shuffle(samples)  # the evaluator may collect in any order
    metric.process(None, samples)
    res = metric.compute_metrics(metric.results)
    assert 'plain/mAP' in res and 'mAP' in res
    # the same numbers by hand
    q = [s for s in samples if s['split'] == 'query']
    g = [s for s in samples if s['split'] == 'gallery']
    order = {s['img_path']: n for n, s in enumerate(
        [r for r in metric.results if r['split'] == 'query'])}
    q.sort(key=lambda s: order[s['img_path']])
    g_order = {r['img_path']: n for n, r in enumerate(
        [r for r in metric.results if r['split'] == 'gallery'])}
    g.sort(key=lambda s: g_order[s['img_path']])
    qf = torch.nn.functional.normalize(torch.stack([s['feat'].float()
                                                    for s in q]), dim=1)
    gf = torch.nn.functional.normalize(torch.stack([s['feat'].float()
                                                    for s in g]), dim=1)
    vf = torch.zeros(len(q), 3, qf.shape[1])
    mask = np.zeros((len(q), 3), bool)
    for s in samples:
        if s['split'] == VARIANT_SPLIT:
            n = [x['img_path'] for x in q].index(s['variant_of'])
            vf[n, s['variant']] = torch.nn.functional.normalize(
                s['feat'].float(), dim=0)
            mask[n, s['variant']] = True
    dist = DLCRRefinementReranker(m=5)(
        qf, gf, g_pids=np.array([s['pid'] for s in g]),
        query_variant_feats=vf, query_variant_mask=mask)
    ref = rank(dist, [s['pid'] for s in q], [s['pid'] for s in g],
               [s['camid'] for s in q], [s['camid'] for s in g],
               protocol='market')
    assert abs(res['mAP'] - 100 * ref['mAP']) < 1e-4
    assert abs(res['R1'] - 100 * ref['cmc'][0]) < 1e-4


def test_query_variant_dataset_generates_and_links(toy_prcc, tmp_path):
    import plugins.dlcr  # noqa: F401
    from plugins.dlcr.descriptions import ToyAttributeDescriber
    from plugins.dlcr.generation import DLCRSource
    src = DLCRSource(dict(type='PRCC', split='train'),
                     dict(type='ToyWorldMaskProvider'), data_root=toy_prcc)
    desc = str(tmp_path / 'desc.json')
    ToyAttributeDescriber()(src.load()).save(desc)
    gen = dict(
        source=dict(type='DLCRSource', data_root=toy_prcc,
                    dataset=dict(type='PRCC', split='query'),
                    mask_provider=dict(type='ToyWorldMaskProvider')),
        prompt_builder=dict(type='DLCRPromptBuilder', descriptions=desc,
                            targets='bank', seed=1),
        generator=dict(type='RecolorInpainter'),
        writer=dict(out_dir=str(tmp_path / 'qv'), img_format='png',
                    fsync=False),
        num_variants=3, seed=1, batch_size=30)
    with pytest.raises(FileNotFoundError, match='query-variant generation'):
        DLCRQueryVariantDataset(
            dataset=dict(type='PRCC', data_root=toy_prcc, split='test'),
            variant_dir=str(tmp_path / 'qv'), num_variants=2)
    from synthgen.pipeline import GenerationPipeline
    GenerationPipeline.from_cfg(gen).run(0, 1, progress=False)
    ds = DLCRQueryVariantDataset(
        dataset=dict(type='PRCC', data_root=toy_prcc, split='test'),
        variant_dir=str(tmp_path / 'qv'), num_variants=2)
    data = [ds.get_data_info(i) for i in range(len(ds))]
    queries = [s for s in data if s['split'] == 'query']
    variants = [s for s in data if s['split'] == VARIANT_SPLIT]
    assert len(variants) == 2 * len(queries)
    by_path = {s['img_path']: s for s in queries}
    for v in variants:
        q = by_path[v['variant_of']]
        assert v['pid'] == q['pid'] and v['variant'] in (0, 1)
        assert v['domain'] == 1
    assert all(s['variant_of'] == '' for s in data
               if s['split'] != VARIANT_SPLIT)


def test_clothes_head_uses_real_half_only():
    feats = torch.randn(6, 8)
    labels = dict(pid=torch.tensor([0, 0, 1, 0, 0, 1]),
                  clothes_id=torch.tensor([0, 1, 2, -1, -1, -1]),
                  domain=torch.tensor([0, 0, 0, 1, 1, 1]))
    f, sub = real_subset(feats, labels)
    assert f.shape[0] == 3 and sub['clothes_id'].tolist() == [0, 1, 2]
    head = DLCRClothesClassifierHead(8, num_clothes=3, num_pids=2)
    out = head.loss_clothes(feats, labels)
    assert torch.isfinite(out['loss_clothes'])
    # the same as the plain head on the real half
    torch.manual_seed(0)
    a = DLCRClothesClassifierHead(8, num_clothes=3, num_pids=2)
    torch.manual_seed(0)
    from reidkit.models.heads.clothes_head import ClothesClassifierHead
    b = ClothesClassifierHead(8, num_clothes=3, num_pids=2)
    la = a.loss_clothes(feats, labels)['loss_clothes']
    lb = b.loss_clothes(f, sub)['loss_clothes']
    torch.testing.assert_close(la, lb)
    adv = a.loss_adversarial(feats, labels)
    assert all(torch.isfinite(v) for v in adv.values())
    # a batch without a real image gives zero losses that keep the graph
    fake = dict(labels, domain=torch.ones(6, dtype=torch.long))
    z = a.loss_clothes(feats.requires_grad_(), fake)['loss_clothes']
    assert z.item() == 0.0 and z.requires_grad
