"""DLCR refinement (Algorithm 1) against a direct loop transcription."""
import numpy as np
import pytest

from plugins.dlcr.refinement import DLCRRefinementReranker, refine_scores
from reidkit.registry import RERANKERS


def _cos(a, b):
    return float(a @ b / (np.linalg.norm(a) * np.linalg.norm(b)))


def algorithm1(fq, fg, g_pids, fv, m):
    """Algorithm 1 of the paper, line by line, for one query."""
    n = len(fg)
    sims = [_cos(fq, fg[i]) for i in range(n)]
    order = sorted(range(n), key=lambda i: -sims[i])       # line 2
    top = order[:m]                                          # line 3
    S = {g_pids[i] for i in top}                             # line 4
    mx = max(sims[k] for k in top)
    score = {s: sum(sims[j] / mx for j in top if g_pids[j] == s) for s in S}
    for k in range(len(fv)):                                 # line 5
        vs = [_cos(fv[k], fg[i]) for i in range(n)]
        top_k = sorted(range(n), key=lambda i: -vs[i])[:m]
        S_k = {g_pids[i] for i in top_k}
        mx_k = max(vs[p] for p in top_k)
        for s in S_k:                                        # line 6
            if s in S:
                score[s] += sum(vs[j] / mx_k for j in top_k if g_pids[j] == s)
    return score


def test_registered():
    assert RERANKERS.get('DLCRRefinementReranker') is DLCRRefinementReranker


@pytest.mark.parametrize('m,num_l', [(5, 6), (1, 3), (3, 0), (8, 2)])
def test_matches_loop_transcription(m, num_l):
    rng = np.random.default_rng(m * 10 + num_l)
    Q, G, D, P = 13, 40, 16, 7
    q = rng.normal(size=(Q, D))
    g = rng.normal(size=(G, D))
    g_pids = rng.integers(100, 100 + P, size=G)
    # variants close to their query, as inpainting makes them
    v = q[:, None] + 0.7 * rng.normal(size=(Q, num_l, D))
    scores, in_s, _, uniq, _ = refine_scores(q, g, g_pids, v, m,
                                             block_size=5)
    for i in range(Q):
        ref = algorithm1(q[i], g, g_pids.tolist(), v[i], m)
        got = {int(uniq[p]): float(scores[i, p])
               for p in np.flatnonzero(in_s[i].numpy())}
        assert set(got) == set(ref)
        for s in ref:
            assert got[s] == pytest.approx(ref[s], rel=1e-5, abs=1e-5)


def test_hand_worked_case():
    g = np.array([[1, 0], [0.8, 0.6], [0.6, 0.8], [0, 1]], np.float32)
    g_pids = np.array([1, 2, 1, 3])
    q = np.array([[1, 0]], np.float32)
    v = np.array([[[0, 1], [0.6, 0.8]]], np.float32)
    scores, in_s, _, uniq, _ = refine_scores(q, g, g_pids, v, m=2)
    assert uniq.tolist() == [1, 2, 3]
    # pid 1: 1.0 (query) + 0.8 (variant 1) + 1.0 (variant 2);
    # pid 2: 0.8 + 0.96; pid 3 only in a variant's top-2, so never scored
    np.testing.assert_allclose(scores[0].numpy(), [2.8, 1.76, 0.0], atol=1e-6)
    assert in_s[0].tolist() == [True, True, False]
    dist = DLCRRefinementReranker(m=2)(q, g, g_pids=g_pids,
                                       query_variant_feats=v)
    # pid 1's images first (cosine order), then pid 2, then the rest
    assert np.argsort(dist[0], kind='stable').tolist() == [0, 2, 1, 3]
    np.testing.assert_allclose(dist[0], [0.0, 2.1, 0.2, 4.5], atol=1e-6)


def test_ranking_follows_identity_scores():
    rng = np.random.default_rng(0)
    Q, G, D = 20, 60, 8
    q, g = rng.normal(size=(Q, D)), rng.normal(size=(G, D))
    g_pids = rng.integers(0, 9, size=G)
    v = rng.normal(size=(Q, 6, D))
    rr = DLCRRefinementReranker(m=5)
    dist = rr(q, g, g_pids=g_pids, query_variant_feats=v)
    scores, in_s, cos, uniq, code = refine_scores(q, g, g_pids, v, 5)
    for i in range(Q):
        order = np.argsort(dist[i], kind='stable')
        ranked_ids = list(dict.fromkeys(g_pids[order][:]))
        s_ids = [int(uniq[p]) for p in np.flatnonzero(in_s[i].numpy())]
        # identities of S come first, by decreasing refined score
        head = ranked_ids[:len(s_ids)]
        assert sorted(head) == sorted(s_ids)
        sc = [float(scores[i, np.searchsorted(uniq, p)]) for p in head]
        assert all(a >= b - 1e-6 for a, b in zip(sc, sc[1:]))
        # top-1 is Algorithm 1's best identity
        assert g_pids[order[0]] == head[0]


def test_no_variants_keeps_query_topm_identity_order():
    rng = np.random.default_rng(1)
    q, g = rng.normal(size=(4, 8)), rng.normal(size=(30, 8))
    g_pids = np.arange(30)  # one image per identity
    dist = DLCRRefinementReranker(m=30)(q, g, g_pids=g_pids,
                                        query_variant_feats=np.zeros((4, 0, 8)))
    cos = (q / np.linalg.norm(q, axis=1, keepdims=True)) @ \
        (g / np.linalg.norm(g, axis=1, keepdims=True)).T
    # with distinct identities and positive scores the order is the cosine
    # order among positively-similar items
    for i in range(4):
        pos = cos[i] > 0
        o1 = np.argsort(dist[i])[:pos.sum()]
        o2 = np.argsort(-cos[i])[:pos.sum()]
        assert o1.tolist() == o2.tolist()


def test_variant_mask_and_fusion_add():
    rng = np.random.default_rng(2)
    q, g = rng.normal(size=(5, 8)), rng.normal(size=(25, 8))
    g_pids = rng.integers(0, 5, size=25)
    v = rng.normal(size=(5, 3, 8))
    mask = np.ones((5, 3), bool)
    mask[:, 2] = False
    s_masked = refine_scores(q, g, g_pids, v, 4, variant_mask=mask)[0]
    s_two = refine_scores(q, g, g_pids, v[:, :2], 4)[0]
    np.testing.assert_allclose(s_masked.numpy(), s_two.numpy(), atol=1e-6)
    rr = DLCRRefinementReranker(m=4, fusion='add', alpha=0.5)
    d = rr(q, g, g_pids=g_pids, query_variant_feats=v)
    s, _, cos, _, code = refine_scores(q, g, g_pids, v, 4)
    np.testing.assert_allclose(d, 1 - cos.numpy() - 0.5 * s.numpy()[:, code],
                               atol=1e-5)
    assert d.dtype == np.float32


def test_exclude_same_camera():
    rng = np.random.default_rng(3)
    q, g = rng.normal(size=(6, 8)), rng.normal(size=(20, 8))
    g_pids = rng.integers(0, 4, size=20)
    q_cams, g_cams = np.zeros(6, int), np.arange(20) % 2
    v = rng.normal(size=(6, 2, 8))
    rr = DLCRRefinementReranker(m=3, exclude_same_camera=True)
    rr(q, g, g_pids=g_pids, query_variant_feats=v, q_camids=q_cams,
       g_camids=g_cams)
    keep = g_cams != 0
    s_sub, in_sub, _, uniq_sub, _ = refine_scores(q, g[keep], g_pids[keep], v, 3)
    s_all, in_all, _, uniq_all, _ = refine_scores(
        q, g, g_pids, v, 3, g_valid=np.broadcast_to(keep, (6, 20)))
    cols = np.searchsorted(uniq_all, uniq_sub)
    np.testing.assert_allclose(s_all.numpy()[:, cols], s_sub.numpy(), atol=1e-6)


def test_bad_inputs():
    rr = DLCRRefinementReranker()
    q, g = np.zeros((3, 4)), np.ones((5, 4))
    with pytest.raises(KeyError, match='query_variant_feats'):
        rr(q, g, g_pids=np.arange(5))
    with pytest.raises(KeyError, match='g_pids'):
        rr(q, g, query_variant_feats=np.zeros((3, 2, 4)))
    with pytest.raises(ValueError, match=r'\(num_query=3, l, D=4\)'):
        rr(q, g, g_pids=np.arange(5), query_variant_feats=np.zeros((2, 2, 4)))
    with pytest.raises(ValueError, match='fusion'):
        DLCRRefinementReranker(fusion='max')


def test_bf16_precision_close_to_fp32():
    rng = np.random.default_rng(5)
    centers = rng.normal(size=(8, 64))
    g_pids = np.arange(80) % 8
    g = centers[g_pids] + 0.5 * rng.normal(size=(80, 64))
    q = centers[rng.integers(0, 8, 20)] + 0.5 * rng.normal(size=(20, 64))
    v = q[:, None] + 0.3 * rng.normal(size=(20, 6, 64))
    d32 = DLCRRefinementReranker(m=5)(q, g, g_pids=g_pids,
                                      query_variant_feats=v)
    d16 = DLCRRefinementReranker(m=5, precision='bf16')(
        q, g, g_pids=g_pids, query_variant_feats=v)
    # same top-1 identity for (nearly) every query
    agree = (g_pids[d32.argmin(1)] == g_pids[d16.argmin(1)]).mean()
    assert agree >= 0.9
    with pytest.raises(ValueError, match='precision'):
        refine_scores(q, g, g_pids, v, precision='fp8')
