"""DLCR refinement's bf16-proposed top-m ("approximate, then exact") gives the
float32 answer, whether the fast mode is accepted, refused or forced off."""
import numpy as np
import pytest
import torch

from plugins.dlcr.refinement import DLCRRefinementReranker, refine_scores
from reidkit.evaluation import distance


def _data(seed, Q=40, G=300, D=256, l=6, ids=20):
    rng = np.random.default_rng(seed)
    centers = rng.standard_normal((ids, D)).astype(np.float32)
    g_pids = rng.integers(0, ids, G)
    g = centers[g_pids] + 0.8 * rng.standard_normal((G, D)).astype(np.float32)
    q = centers[rng.integers(0, ids, Q)] + 0.8 * rng.standard_normal(
        (Q, D)).astype(np.float32)
    v = q[:, None] + 0.5 * rng.standard_normal((Q, l, D)).astype(np.float32)
    return q, g, g_pids, v


def _strict_topm(v, g, m):
    """float32 top-m of every variant, by a plain full product."""
    vn = torch.nn.functional.normalize(torch.from_numpy(v), dim=-1)
    gn = torch.nn.functional.normalize(torch.from_numpy(g), dim=-1)
    return torch.topk(vn @ gn.T, m, dim=-1).indices


@pytest.mark.parametrize('exclude', [False, True])
def test_proposed_scores_equal_the_float32_answer(exclude):
    q, g, g_pids, v = _data(0)
    rng = np.random.default_rng(1)
    valid = rng.random((len(q), len(g))) > 0.3 if exclude else None
    strict_stats, fast_stats = {}, {}
    strict = refine_scores(q, g, g_pids, v, 5, g_valid=valid, block_size=16,
                           proposals='off', stats=strict_stats)
    fast = refine_scores(q, g, g_pids, v, 5, g_valid=valid, block_size=16,
                         proposals='on', stats=fast_stats)
    assert strict_stats['proposals'] == 'off'
    assert fast_stats['proposals'] == 'bf16'
    assert fast_stats['recomputed_pairs'] > 0
    # the same identity sets S, the same scores up to float32 rounding
    assert torch.equal(strict[1], fast[1])
    np.testing.assert_allclose(fast[0].numpy(), strict[0].numpy(), rtol=1e-6,
                               atol=1e-6)
    np.testing.assert_array_equal(fast[2].numpy(), strict[2].numpy())


def test_proposed_top_m_sets_and_fallback_rows():
    from plugins.dlcr.refinement import _topm_proposed
    q, g, g_pids, v = _data(2)
    vf = torch.nn.functional.normalize(torch.from_numpy(v), dim=-1)
    gf = torch.nn.functional.normalize(torch.from_numpy(g), dim=-1)
    vp, gp = distance.bf16_proposals(vf.reshape(-1, vf.shape[-1]), gf,
                                     mode='on')
    rows = torch.arange(vf.shape[0] * vf.shape[1])
    ref = _strict_topm(v, g, 5).reshape(-1, 5)
    exact = (vp.x @ gp.x.T)
    for extra in (11, 0):  # no slack: rows cannot be proved, recomputed whole
        vals, idx, pairs, bad = _topm_proposed(vp, gp, rows, 5, extra=extra)
        assert [set(r) for r in idx.tolist()] == [set(r) for r in ref.tolist()]
        np.testing.assert_allclose(vals.numpy(), torch.gather(
            exact, 1, idx).numpy(), rtol=0, atol=1e-6)
        if extra == 0:
            assert bad > len(rows) // 2
        else:
            assert bad < len(rows) // 4


def test_refused_fast_modes_fall_back(monkeypatch):
    q, g, g_pids, v = _data(3, Q=12)
    kw = dict(g_pids=g_pids, query_variant_feats=v)
    ref = DLCRRefinementReranker(m=5, proposals='off')(q, g, **kw)
    rr = DLCRRefinementReranker(m=5, proposals='on')
    np.testing.assert_array_equal(rr(q, g, **kw), ref)
    assert rr.last_stats['proposals'] == 'bf16'
    monkeypatch.setenv('REIDKIT_BF16_PROPOSALS', '0')
    monkeypatch.setenv('REIDKIT_FAST_MATMUL', '0')
    np.testing.assert_array_equal(rr(q, g, **kw), ref)
    assert rr.last_stats['proposals'] == 'off'
    monkeypatch.delenv('REIDKIT_BF16_PROPOSALS')
    monkeypatch.setattr(distance.Bf16Proposer, 'check', lambda *a, **k: False)
    np.testing.assert_array_equal(rr(q, g, **kw), ref)
    assert rr.last_stats['proposals'] == 'off'
    monkeypatch.undo()
    monkeypatch.setattr(distance, '_BF16_SPEED_CACHE', {})
    monkeypatch.setattr(distance, 'BF16_SPEED_RATIO', 0.0)
    auto = DLCRRefinementReranker(m=5)
    np.testing.assert_array_equal(auto(q, g, **kw), ref)
    assert auto.last_stats['proposals'] == 'off'
