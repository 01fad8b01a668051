import numpy as np
import pytest
import torch

from reidkit.evaluation import compute_distance, topk


def naive(qf, gf, metric):
    qf, gf = np.asarray(qf, np.float64), np.asarray(gf, np.float64)
    if metric == 'cosine':
        qn = qf / np.linalg.norm(qf, axis=1, keepdims=True)
        gn = gf / np.linalg.norm(gf, axis=1, keepdims=True)
        return 1 - qn @ gn.T
    sq = ((qf[:, None] - gf[None]) ** 2).sum(-1)
    return np.sqrt(sq) if metric == 'euclidean' else sq


@pytest.mark.parametrize('metric', ['euclidean', 'sqeuclidean', 'cosine'])
@pytest.mark.parametrize('chunk', [None, 1, 7])
def test_compute_distance_matches_naive(metric, chunk):
    rng = np.random.default_rng(0)
    qf = rng.standard_normal((13, 9)).astype(np.float32)
    gf = rng.standard_normal((21, 9)).astype(np.float32)
    out = compute_distance(torch.from_numpy(qf), gf, metric, chunk=chunk)
    assert out.shape == (13, 21) and out.dtype == np.float32
    np.testing.assert_allclose(out, naive(qf, gf, metric), atol=1e-4)


def test_memory_budget_blocks_and_float64():
    rng = np.random.default_rng(1)
    qf, gf = rng.standard_normal((50, 5)), rng.standard_normal((40, 5))
    out = compute_distance(qf, gf, 'euclidean', memory_mb=0.001)  # 1-row blocks
    assert out.dtype == np.float64
    np.testing.assert_allclose(out, naive(qf, gf, 'euclidean'), atol=1e-10)


def test_bad_shapes():
    with pytest.raises(ValueError, match='qf must have shape'):
        compute_distance(np.zeros(3), np.zeros((2, 3)))
    with pytest.raises(ValueError, match='feature dimension'):
        compute_distance(np.zeros((2, 3)), np.zeros((2, 4)))
    with pytest.raises(ValueError, match='metric'):
        compute_distance(np.zeros((2, 3)), np.zeros((2, 3)), 'manhattan')
    with pytest.raises(ValueError, match='k must be'):
        topk(np.zeros((2, 3)), np.zeros((2, 3)), 5)


@pytest.mark.parametrize('metric', ['euclidean', 'sqeuclidean', 'cosine'])
@pytest.mark.parametrize('backend', ['torch', 'faiss'])
def test_topk_exact(metric, backend):
    rng = np.random.default_rng(2)
    qf = rng.standard_normal((17, 8)).astype(np.float32)
    gf = rng.standard_normal((300, 8)).astype(np.float32)
    dist, idx = topk(qf, gf, 5, metric, backend=backend, chunk=4)
    full = naive(qf, gf, metric)
    np.testing.assert_array_equal(idx, np.argsort(full, axis=1)[:, :5])
    np.testing.assert_allclose(dist, np.sort(full, axis=1)[:, :5], atol=1e-4)


def test_topk_ivf_with_all_cells_probed_is_exact():
    rng = np.random.default_rng(3)
    qf = rng.standard_normal((10, 8)).astype(np.float32)
    gf = rng.standard_normal((400, 8)).astype(np.float32)
    _, idx = topk(qf, gf, 3, backend='faiss', index='ivf', nlist=4, nprobe=4)
    np.testing.assert_array_equal(
        idx, np.argsort(naive(qf, gf, 'euclidean'), axis=1)[:, :3])


def test_topk_row_max():
    rng = np.random.default_rng(4)
    qf, gf = rng.standard_normal((6, 3)), rng.standard_normal((20, 3))
    _, _, row_max = topk(qf, gf, 2, 'sqeuclidean', return_max=True)
    np.testing.assert_allclose(row_max, naive(qf, gf, 'sqeuclidean').max(1),
                               rtol=1e-5)


def test_fast_matmul_is_float32_accurate_and_restores_the_setting():
    from reidkit.evaluation.distance import fast_matmul
    setting = getattr(torch.backends.mkldnn.matmul, 'fp32_precision', None)
    gen = torch.Generator().manual_seed(0)
    x = torch.randn(600, 512, generator=gen) + 0.5
    other = torch.randn(400, 512, generator=gen)  # not the checked sample
    strict = (other.double() @ x.double().T)
    with fast_matmul(x) as on:
        fast = other @ x.T
    err = float((fast.double() - strict).abs().max() / strict.abs().max())
    # whether or not the fast mode was taken, float32 accuracy holds
    assert err < 2e-5, (on, err)
    assert getattr(torch.backends.mkldnn.matmul, 'fp32_precision', None) == setting
    # disabled, tiny or non-float32 inputs never switch the mode
    for args in ((x, False), (x[:, :8], True), (x.double(), True)):
        with fast_matmul(args[0], enabled=args[1]) as on:
            assert on is False


def test_fast_matmul_refused_when_the_check_fails(monkeypatch):
    from reidkit.evaluation import distance
    monkeypatch.setattr(distance, 'FAST_MATMUL_TOLERANCE', -1.0)
    with distance.fast_matmul(torch.randn(300, 128)) as on:
        assert on is False


def test_fast_matmul_refused_when_not_faster(monkeypatch):
    """An accurate fast mode that does not save CPU time is refused (on
    AVX2-only CPUs it is oneDNN's slower float32 kernel); the products are
    then the strict ones."""
    from reidkit.evaluation import distance
    x = torch.randn(300, 128)
    strict = (x @ x.T).numpy()
    monkeypatch.setattr(distance, 'FAST_MATMUL_TOLERANCE', float('inf'))
    times = {'bf16': 1.0, None: 1.1}   # fast only 1.1x faster: refused
    monkeypatch.setattr(distance, '_matmul_cpu_time',
                        lambda rows, mode: times[mode])
    with distance.fast_matmul(x) as on:
        assert on is False
        np.testing.assert_array_equal((x @ x.T).numpy(), strict)
    times[None] = 2.0                   # 2x faster: taken where torch has it
    setting = getattr(torch.backends.mkldnn.matmul, 'fp32_precision', None)
    with distance.fast_matmul(x) as on:
        assert on is (setting is not None)


def test_fast_matmul_forced_off_by_environment(monkeypatch):
    from reidkit.evaluation.distance import fast_matmul
    x = torch.randn(300, 128)
    monkeypatch.setenv('REIDKIT_FAST_MATMUL', '0')
    with fast_matmul(x) as on:
        assert on is False
        np.testing.assert_array_equal((x @ x.T).numpy(), (x @ x.T).numpy())


def test_bf16_bound_holds_and_a_wrong_product_is_caught(monkeypatch):
    """The proven bound covers the actual bf16 error on data with large
    products, is not loose by orders of magnitude, and the per-call check
    refuses a product that breaks it."""
    from reidkit.evaluation import distance
    rng = np.random.default_rng(0)
    x = torch.from_numpy((rng.standard_normal((300, 256)) + 3).astype(np.float32))
    p = distance.Bf16Proposer(x)
    s = p.products(p, slice(None), slice(None)).float()
    exact = (x.double() @ x.double().T)
    bound = p.dot_bound(slice(None), p.col_stats(), s.abs().amax(1)).double()
    err = (s.double() - exact).abs().amax(1)
    assert bool((err <= bound).all())
    assert float((err / bound).max()) > 0.05   # within 20x of the worst case
    assert p.check(p)
    assert distance.bf16_proposals(x, mode='on') is not None
    assert distance.bf16_proposals(x, mode='off') is None
    # a product rounded coarser than the bound allows is refused
    monkeypatch.setattr(distance.Bf16Proposer, 'products',
                        lambda self, o, r, c: (self.low[r] @ o.low[c].T)
                        .to(torch.float8_e5m2).to(torch.bfloat16))
    assert not p.check(p)
    assert distance.bf16_proposals(x, mode='on') is None


def test_two_term_bf16_bound_is_tighter_and_holds():
    from reidkit.evaluation.distance import Bf16Proposer
    g = torch.Generator().manual_seed(0)
    x = torch.nn.functional.normalize(torch.randn(200, 1024, generator=g), dim=1)
    y = torch.nn.functional.normalize(torch.randn(500, 1024, generator=g), dim=1)
    exact = x.double() @ y.double().T
    bounds = []
    for terms in (1, 2):
        p, q = Bf16Proposer(x, terms), Bf16Proposer(y, terms)
        s = p.products(q, slice(None), slice(None)).float()
        b = p.dot_bound(slice(None), q.col_stats(), s.abs().amax(1)).double()
        assert bool(((s.double() - exact).abs() <= b[:, None]).all())
        assert p.check(q)
        bounds.append(float(b.max()))
    assert bounds[1] < bounds[0] / 2
