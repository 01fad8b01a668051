"""Feature distances computed in bounded chunks, and k-nearest-neighbour search.

Every function takes features as ``torch.Tensor`` or ``numpy.ndarray`` of shape
``(N, D)`` and never builds an intermediate larger than ``memory_mb`` megabytes
(besides the returned array itself): distances are produced a block of query rows
at a time with one matrix product per block (``|q|^2 + |g|^2 - 2 q.g``).

Metrics:

- ``'sqeuclidean'``: squared Euclidean distance (what torchreid's and fast-reid's
  ``euclidean`` actually return, and what Zhong et al.'s re-ranking squares to);
- ``'euclidean'``: its square root;
- ``'cosine'``: ``1 - cos(q, g)`` (features are L2-normalised first).
"""
from __future__ import annotations

import contextlib
import os
import time
from typing import Optional, Union

import numpy as np
import torch

ArrayLike = Union[np.ndarray, torch.Tensor]

METRICS = ('euclidean', 'sqeuclidean', 'cosine')


def as_features(x: ArrayLike, name: str = 'features') -> torch.Tensor:
    """Return ``x`` as a 2-D float tensor, or raise naming ``name``."""
    if isinstance(x, np.ndarray):
        x = torch.from_numpy(x)
    if not isinstance(x, torch.Tensor):
        raise TypeError(f'{name} must be a numpy array or torch tensor of shape '
                        f'(N, D), got {type(x).__name__}')
    if x.dim() != 2:
        raise ValueError(f'{name} must have shape (N, D), got {tuple(x.shape)}')
    if not x.is_floating_point():
        x = x.float()
    return x


#: relative error (max |fast - strict| / max |strict|) that the fast product
#: must stay under on a sample to be used; float32 products of 2,048-d
#: features are ~1e-7 off, a plain bfloat16 product ~1e-3
FAST_MATMUL_TOLERANCE = 2e-5

#: how much less CPU time the fast product must take on the checked sample
#: (a second run of each) to be used: on an AVX2-only AMD EPYC the accurate
#: mode is oneDNN's float32 kernel, ~25 % slower than MKL's (measured in
#: benchmarks/README.md), on AVX512-BF16 CPUs it is ~2.2x faster
FAST_MATMUL_MIN_SPEEDUP = 1.2


@contextlib.contextmanager
def _mkldnn_fp32_precision(mode: str):
    """Set oneDNN's float32 matmul precision inside the block (CPU only)."""
    backend = getattr(getattr(torch.backends, 'mkldnn', None), 'matmul', None)
    old = getattr(backend, 'fp32_precision', None)
    if old is None:  # torch without the setting
        yield False
        return
    try:
        backend.fp32_precision = mode
        yield True
    finally:
        backend.fp32_precision = old


def fast_mode_allowed(env: str) -> bool:
    """False when the environment variable ``env`` is ``0`` / ``off`` /
    ``false``: forces the strict fallback of that fast mode everywhere (to
    reproduce another CPU's behaviour, or to rule the mode out)."""
    return os.environ.get(env, '1').strip().lower() not in ('0', 'off', 'false',
                                                            'no')


def _matmul_cpu_time(rows: torch.Tensor, mode: Optional[str],
                     num: int = 512) -> float:
    """CPU seconds of ``rows[:num] @ rows[:num].T`` (after a warm-up run),
    with oneDNN's float32 precision ``mode`` (None: unchanged)."""
    r = rows[:num]
    out = torch.empty(r.shape[0], r.shape[0])
    with (_mkldnn_fp32_precision(mode) if mode else contextlib.nullcontext()):
        torch.mm(r, r.T, out=out)
        t0 = time.process_time()
        torch.mm(r, r.T, out=out)
        return time.process_time() - t0


def _fast_mode_saves_time(rows: torch.Tensor, repeats: int = 3) -> bool:
    """Is the fast mode :data:`FAST_MATMUL_MIN_SPEEDUP` faster on ``rows``?
    The best of ``repeats`` interleaved timings of each mode (other jobs on
    the cores make single timings noisy)."""
    fast, strict = float('inf'), float('inf')
    for _ in range(repeats):
        fast = min(fast, _matmul_cpu_time(rows, 'bf16'))
        strict = min(strict, _matmul_cpu_time(rows, None))
    return fast * FAST_MATMUL_MIN_SPEEDUP <= strict


def fast_matmul(x: torch.Tensor, enabled: bool = True, sample: int = 1024):
    """A context in which float32 products of rows of ``x`` run faster on CPU
    when that keeps float32 accuracy.

    oneDNN's ``'bf16'`` float32 precision mode is, on CPUs with AVX512-BF16
    but no AMX, a multi-term bfloat16 product with float32 accumulation: about
    2x the speed of the float32 GEMM, with errors of the float32 GEMM's order.
    On other CPUs the same mode may round the inputs to bfloat16 (errors
    around 1e-3). So the mode is switched on only after a check on a sample of
    ``x``: the fast product must be within :data:`FAST_MATMUL_TOLERANCE`
    (relative) of the strict one, and faster by
    :data:`FAST_MATMUL_MIN_SPEEDUP` in CPU time (on AVX2-only CPUs the mode
    is accurate but slower: oneDNN's float32 kernel). Otherwise, on GPUs,
    for non-float32 data, with ``enabled=False`` or with ``REIDKIT_FAST_MATMUL=0`` in the
    environment (what an Intel AMX CPU, where the check fails, gets) the
    block runs unchanged.

    Args:
        x (Tensor): ``(N, D)`` features whose products the block computes.
        enabled (bool): ``False`` always gives the strict product.
        sample (int): rows of ``x`` (evenly spaced) in the check; large
            enough that the library picks the kernel the real products use.

    Example:
        >>> x = torch.randn(300, 64)
        >>> with fast_matmul(x):
        ...     d = x @ x.T
    """
    if not (enabled and fast_mode_allowed('REIDKIT_FAST_MATMUL')
            and x.device.type == 'cpu' and x.dtype == torch.float32
            and x.shape[0] >= 2 and x.shape[1] >= 64):
        return contextlib.nullcontext(False)
    rows = x[torch.linspace(0, x.shape[0] - 1, min(sample, x.shape[0])).long()]
    strict = rows @ rows.T
    with _mkldnn_fp32_precision('bf16') as changed:
        fast = rows @ rows.T if changed else None
    if fast is None:
        return contextlib.nullcontext(False)
    scale = float(strict.abs().max()) or 1.0
    if float((fast - strict).abs().max()) / scale > FAST_MATMUL_TOLERANCE:
        return contextlib.nullcontext(False)
    # accurate is not enough: on CPUs without bf16 instructions (AVX2-only)
    # the mode runs oneDNN's float32 kernel, slower than MKL's
    if not _fast_mode_saves_time(rows):
        return contextlib.nullcontext(False)
    return _mkldnn_fp32_precision('bf16')


def _check_pair(qf, gf, metric):
    qf = as_features(qf, 'qf')
    gf = as_features(gf, 'gf')
    if qf.shape[1] != gf.shape[1]:
        raise ValueError(f'qf and gf must have the same feature dimension, got '
                         f'{qf.shape[1]} and {gf.shape[1]}')
    if metric not in METRICS:
        raise ValueError(f'metric must be one of {METRICS}, got {metric!r}')
    if gf.dtype != qf.dtype:
        gf = gf.to(qf.dtype)
    return qf, gf


def _rows_per_chunk(num_cols: int, bytes_per_item: int, memory_mb: float,
                    chunk: Optional[int]) -> int:
    if chunk is not None:
        if chunk < 1:
            raise ValueError(f'chunk must be >= 1, got {chunk}')
        return int(chunk)
    budget = max(float(memory_mb), 1.0) * 2**20
    # a block needs the product and about one more temporary of the same size
    return max(1, int(budget // (2 * max(num_cols, 1) * bytes_per_item)))


class _Prepared:
    """Features moved to the device and pre-processed once for a metric."""

    def __init__(self, qf, gf, metric, device):
        device = torch.device(device) if device is not None else qf.device
        self.metric = metric
        self.qf = qf.to(device)
        self.gf = gf.to(device)
        if metric == 'cosine':
            self.qf = torch.nn.functional.normalize(self.qf, dim=1)
            self.gf = torch.nn.functional.normalize(self.gf, dim=1)
        else:
            self.qn = (self.qf * self.qf).sum(1, keepdim=True)
            self.gn = (self.gf * self.gf).sum(1)[None]

    def block(self, start: int, stop: int) -> torch.Tensor:
        q = self.qf[start:stop]
        if self.metric == 'cosine':
            return 1.0 - q @ self.gf.T
        d = torch.addmm(self.qn[start:stop] + self.gn, q, self.gf.T,
                        beta=1.0, alpha=-2.0)
        d.clamp_(min=0)
        if self.metric == 'euclidean':
            d.sqrt_()
        return d


def compute_distance(qf: ArrayLike, gf: ArrayLike, metric: str = 'euclidean',
                     chunk: Optional[int] = None, device=None,
                     memory_mb: float = 512) -> np.ndarray:
    """Distance matrix between query and gallery features, block by block.

    Args:
        qf (Tensor | ndarray): query features ``(Q, D)``.
        gf (Tensor | ndarray): gallery features ``(G, D)``.
        metric (str): ``'euclidean'``, ``'sqeuclidean'`` or ``'cosine'``.
        chunk (int, optional): query rows per block; by default derived from
            ``memory_mb``.
        device: torch device for the products (``'cpu'``, ``'cuda'``); default:
            where ``qf`` lives.
        memory_mb (float): working-set budget per block in MiB.

    Returns:
        ndarray: ``(Q, G)`` distances, same float type as the features
        (float32 for float32 features).

    Example:
        >>> d = compute_distance(torch.randn(4, 8), torch.randn(6, 8), 'cosine')
        >>> d.shape
        (4, 6)
    """
    qf, gf = _check_pair(qf, gf, metric)
    prep = _Prepared(qf, gf, metric, device)
    num_q, num_g = qf.shape[0], gf.shape[0]
    np_dtype = np.float64 if qf.dtype == torch.float64 else np.float32
    out = np.empty((num_q, num_g), dtype=np_dtype)
    step = _rows_per_chunk(num_g, qf.element_size(), memory_mb, chunk)
    for start in range(0, num_q, step):
        stop = min(start + step, num_q)
        out[start:stop] = prep.block(start, stop).to(
            'cpu', torch.float64 if np_dtype == np.float64 else torch.float32
        ).numpy()
    return out


def topk(qf: ArrayLike, gf: ArrayLike, k: int, metric: str = 'euclidean',
         chunk: Optional[int] = None, device=None, memory_mb: float = 512,
         backend: str = 'torch', index: str = 'flat', nlist: int = 1024,
         nprobe: int = 32, return_max: bool = False):
    """The ``k`` nearest gallery items of every query, without a full matrix.

    Args:
        qf, gf: query ``(Q, D)`` and gallery ``(G, D)`` features.
        k (int): neighbours per query (at most ``G``).
        metric (str): ``'euclidean'``, ``'sqeuclidean'`` or ``'cosine'``.
        chunk, device, memory_mb: as in :func:`compute_distance` (torch backend).
        backend (str): ``'torch'`` (exact, chunked) or ``'faiss'``.
        index (str): faiss index: ``'flat'`` (exact) or ``'ivf'``
            (``IndexIVFFlat`` with ``nlist`` cells, ``nprobe`` probed).
        return_max (bool): torch backend only: also return each query's
            largest distance over the whole gallery (used by k-reciprocal
            re-ranking to normalise rows).

    Returns:
        tuple: ``(dist, idx)``, both ``(Q, k)`` numpy arrays sorted by
        increasing distance (plus ``row_max`` ``(Q,)`` if ``return_max``).

    Example:
        >>> d, i = topk(torch.randn(5, 16), torch.randn(100, 16), k=3)
        >>> i.shape
        (5, 3)
    """
    qf, gf = _check_pair(qf, gf, metric)
    num_q, num_g = qf.shape[0], gf.shape[0]
    if not 1 <= k <= num_g:
        raise ValueError(f'k must be in [1, {num_g}] (gallery size), got {k}')
    if backend == 'faiss':
        if return_max:
            raise ValueError('return_max needs backend="torch"')
        return _faiss_topk(qf, gf, k, metric, device, index, nlist, nprobe)
    if backend != 'torch':
        raise ValueError(f"backend must be 'torch' or 'faiss', got {backend!r}")
    prep = _Prepared(qf, gf, metric, device)
    dist = np.empty((num_q, k), dtype=np.float32)
    idx = np.empty((num_q, k), dtype=np.int64)
    row_max = np.empty(num_q, dtype=np.float32) if return_max else None
    step = _rows_per_chunk(num_g, 4, memory_mb, chunk)
    for start in range(0, num_q, step):
        stop = min(start + step, num_q)
        block = prep.block(start, stop).float()
        values, indices = torch.topk(block, k, dim=1, largest=False, sorted=True)
        dist[start:stop] = values.cpu().numpy()
        idx[start:stop] = indices.cpu().numpy()
        if return_max:
            row_max[start:stop] = block.max(dim=1).values.cpu().numpy()
    return (dist, idx, row_max) if return_max else (dist, idx)


def _faiss_topk(qf, gf, k, metric, device, index, nlist, nprobe):
    try:
        import faiss
    except ImportError as e:  # pragma: no cover - faiss-cpu is a dependency
        raise ImportError('backend="faiss" needs the faiss package '
                          '(pip install faiss-cpu)') from e
    q = qf.detach().float().cpu().numpy()
    g = gf.detach().float().cpu().numpy()
    if metric == 'cosine':
        q = q / np.maximum(np.linalg.norm(q, axis=1, keepdims=True), 1e-12)
        g = g / np.maximum(np.linalg.norm(g, axis=1, keepdims=True), 1e-12)
    q = np.ascontiguousarray(q, dtype=np.float32)
    g = np.ascontiguousarray(g, dtype=np.float32)
    dim = g.shape[1]
    faiss_metric = faiss.METRIC_INNER_PRODUCT if metric == 'cosine' else faiss.METRIC_L2
    if index == 'flat':
        cpu_index = (faiss.IndexFlatIP(dim) if metric == 'cosine'
                     else faiss.IndexFlatL2(dim))
    elif index == 'ivf':
        quantizer = (faiss.IndexFlatIP(dim) if metric == 'cosine'
                     else faiss.IndexFlatL2(dim))
        nlist = max(1, min(int(nlist), g.shape[0]))
        cpu_index = faiss.IndexIVFFlat(quantizer, dim, nlist, faiss_metric)
        cpu_index.train(g)
        cpu_index.nprobe = int(nprobe)
    else:
        raise ValueError(f"index must be 'flat' or 'ivf', got {index!r}")
    search_index = cpu_index
    if device is not None and torch.device(device).type == 'cuda':
        if not hasattr(faiss, 'StandardGpuResources'):
            raise RuntimeError('device="cuda" with backend="faiss" needs a GPU '
                               'build of faiss (faiss-gpu); this one is CPU-only')
        res = faiss.StandardGpuResources()
        search_index = faiss.index_cpu_to_gpu(res, torch.device(device).index or 0,
                                              cpu_index)
    search_index.add(g)
    values, indices = search_index.search(q, k)
    if metric == 'cosine':
        values = 1.0 - values
    elif metric == 'euclidean':
        values = np.sqrt(np.maximum(values, 0))
    else:
        values = np.maximum(values, 0)
    return values.astype(np.float32), indices.astype(np.int64)


__all__ = ['compute_distance', 'topk', 'as_features', 'fast_matmul', 'METRICS']


# --- approximate, then exact: bfloat16 proposals with a proven error bound ---

#: relative rounding of a float32 -> bfloat16 conversion (round to nearest
#: is 2^-9; 2^-8 leaves room for any rounding mode)
_BF16_EPS = 2.0 ** -8
#: bf16 products must take at most this fraction of the float32 product's
#: time to be worth proposing with (the exact re-check costs the rest)
BF16_SPEED_RATIO = 0.6
_BF16_SPEED_CACHE: dict = {}


class Bf16Proposer:
    """A bfloat16 copy of float32 features, with what is needed to bound
    the error of the products computed from it.

    With ``x_hat = bf16(x)`` and ``delta = x - x_hat`` (known exactly), the
    bf16 product ``s_hat`` of two rows (float32 accumulation, rounded to
    bfloat16 on output) satisfies, for every pair::

        |x.y - s_hat| <= |d_x||y| + |x||d_y| + |d_x||d_y|      (input rounding)
                         + D 2^-23 |x_hat||y_hat|              (accumulation)
                         + 2^-8 |s_hat|                        (output rounding)

    :meth:`dot_bound` evaluates it per row against the column maxima, so a
    row's candidates can be proved complete (see the k-reciprocal neighbour
    pass and DLCR refinement). :meth:`check` tests the bound on a sample of
    the actual inputs (a library whose bf16 product accumulated in bf16
    would fail it).

    With ``terms=2`` the features are split ``x = hi + lo`` (both bf16) and
    the product is ``hi.hi' + hi.lo' + lo.hi'`` (three bf16 products): the
    input-rounding term shrinks from ~2^-8 to ~2^-16 relative (plus the
    dropped ``|lo||lo'|``), for near-ties such as the top-m of random
    4,096-d features.

    Args:
        x (Tensor): ``(N, D)`` float32 features (CPU or GPU).
        terms (int): 1 or 2 bf16 terms per feature.

    Example:
        >>> p = Bf16Proposer(torch.randn(100, 64))
        >>> s = p.products(p, slice(0, 10), slice(0, 100))   # (10, 100) bf16
        >>> err = p.dot_bound(slice(0, 10), p.col_stats(), s.float().abs().amax(1))
    """

    def __init__(self, x: torch.Tensor, terms: int = 1):
        if terms not in (1, 2):
            raise ValueError(f'terms must be 1 or 2, got {terms}')
        self.x = x
        self.terms = terms
        self.low = x.to(torch.bfloat16)
        low32 = self.low.float()
        if terms == 2:
            self.low2 = (x - low32).to(torch.bfloat16)
            l2 = self.low2.float()
            self.l2n = l2.norm(dim=1)
            low32 = low32 + l2
        self.xn = x.norm(dim=1)
        self.dn = (x - low32).norm(dim=1)
        self.ln = self.low.float().norm(dim=1)
        self.dim = x.shape[1]

    def products(self, other: 'Bf16Proposer', rows, cols) -> torch.Tensor:
        """bf16 product(s) of rows ``rows`` and ``other``'s rows ``cols``
        (bf16 for ``terms=1``, their float32 sum for ``terms=2``)."""
        out = self.low[rows] @ other.low[cols].T
        if self.terms == 2:
            out = (out.float() + (self.low[rows] @ other.low2[cols].T).float()
                   + (self.low2[rows] @ other.low[cols].T).float())
        return out

    def col_stats(self, cols=slice(None)):
        """Maxima over columns ``cols`` used by :meth:`dot_bound`."""
        stats = (float(self.xn[cols].max()), float(self.dn[cols].max()),
                 float(self.ln[cols].max()))
        if self.terms == 2:
            stats += (float(self.l2n[cols].max()),)
        return stats

    def dot_bound(self, rows, stats, s_abs_max) -> torch.Tensor:
        """Per row of ``rows``: a bound on ``|x_i.y_j - s_hat_ij|`` for every
        column ``j`` of ``stats`` (:meth:`col_stats`), given ``s_abs_max``
        (per row, ``>= max_j |s_hat_ij|``)."""
        xn_c, dn_c, ln_c = stats[:3]
        xn, dn, ln = self.xn[rows], self.dn[rows], self.ln[rows]
        # |x - x~| = dn with x~ the (sum of the) bf16 term(s); |x~| <= xn + dn
        bound = (dn * (xn_c + dn_c) + (xn + dn) * dn_c
                 + self.terms * self.dim * 2.0 ** -23 * ln * ln_c
                 + _BF16_EPS * s_abs_max)
        if self.terms == 2:
            l2n, l2n_c = self.l2n[rows], stats[3]
            # the dropped lo.lo' term, the cross terms' accumulation and
            # bf16 output rounding, and the float32 sum of the three
            bound = (bound + l2n * l2n_c
                     + (self.dim * 2.0 ** -23 + _BF16_EPS)
                     * (ln * l2n_c + l2n * ln_c)
                     + 2.0 ** -22 * (s_abs_max + ln * ln_c))
        return bound * (1 + 1e-4) + 1e-30  # rounding of the bound itself

    def check(self, other: 'Bf16Proposer', sample: int = 256) -> bool:
        """Does the bound hold on a sample of the actual rows?"""
        n_r, n_c = self.x.shape[0], other.x.shape[0]
        rows = torch.linspace(0, n_r - 1, min(sample, n_r)).long()
        cols = torch.linspace(0, n_c - 1, min(4 * sample, n_c)).long()
        rows, cols = rows.to(self.x.device), cols.to(self.x.device)
        s_hat = self.products(other, rows, cols).float()
        exact = self.x[rows].double() @ other.x[cols].double().T
        bound = self.dot_bound(rows, other.col_stats(cols),
                               s_hat.abs().amax(1))
        return bool(((s_hat.double() - exact).abs()
                     <= bound.double()[:, None]).all())


def bf16_products_fast(dim: int, device='cpu') -> bool:
    """Are bf16 matrix products clearly faster than float32 ones here?

    Timed once per process and feature dimension on a 512-row tile: true
    where the CPU has bf16 instructions (AVX512-BF16, AMX) or on GPUs;
    false where bf16 is emulated in software (e.g. AVX2-only CPUs, where it
    is ~10x slower than float32).
    """
    device = torch.device(device)
    if device.type == 'cuda':
        return True
    key = (int(dim), torch.get_num_threads())
    if key not in _BF16_SPEED_CACHE:
        import time
        a = torch.randn(512, dim)
        b = torch.randn(1024, dim)
        times = []
        for x, y in ((a, b), (a.bfloat16(), b.bfloat16())):
            x @ y.T  # warm-up
            best = float('inf')
            for _ in range(3):
                t0 = time.perf_counter()
                x @ y.T
                best = min(best, time.perf_counter() - t0)
            times.append(best)
        _BF16_SPEED_CACHE[key] = times[1] <= BF16_SPEED_RATIO * times[0]
    return _BF16_SPEED_CACHE[key]


def bf16_proposals(x: torch.Tensor, other: Optional[torch.Tensor] = None,
                   mode: str = 'auto', terms: int = 1):
    """Decide, for this call, whether to propose candidates with bf16
    products; returns ``(proposer_x, proposer_other)`` or ``None``.

    ``mode``: ``'auto'`` (when :func:`bf16_products_fast` and the bound
    holds on a sample of ``x``, ``other``), ``'on'`` (skip the speed test,
    keep the accuracy check: what tests use on CPUs without fast bf16) or
    ``'off'``. ``REIDKIT_BF16_PROPOSALS=0`` forces ``'off'``, ``=on``
    forces ``'on'``. ``terms``: see :class:`Bf16Proposer`.
    """
    env = os.environ.get('REIDKIT_BF16_PROPOSALS', '').strip().lower()
    if env in ('0', 'off', 'false', 'no'):
        return None
    if env in ('1', 'on', 'force'):
        mode = 'on'
    if mode not in ('auto', 'on', 'off'):
        raise ValueError(f"proposals must be 'auto', 'on' or 'off', got {mode!r}")
    if mode == 'off' or x.dtype != torch.float32 or x.shape[0] < 2:
        return None
    if mode == 'auto' and not bf16_products_fast(x.shape[1], x.device):
        return None
    px = Bf16Proposer(x, terms)
    po = px if other is None else Bf16Proposer(other, terms)
    return (px, po) if px.check(po) else None


def pair_dots(x: torch.Tensor, y: torch.Tensor, rows, cols,
              step: int = 2048) -> torch.Tensor:
    """Float32 ``x[rows[n]] . y[cols[n]]`` for index arrays ``rows``,
    ``cols`` (the exact re-check of proposed candidates), in small chunks
    into reused buffers: gathering all pairs at once costs 5-10x more (page
    faults on large temporaries)."""
    rows = torch.as_tensor(rows, device=x.device)
    cols = torch.as_tensor(cols, device=y.device)
    out = torch.empty(rows.numel(), dtype=x.dtype, device=x.device)
    buf_r = x.new_empty(min(step, rows.numel()), x.shape[1])
    buf_c = y.new_empty(min(step, rows.numel()), y.shape[1])
    for s0 in range(0, rows.numel(), step):
        r, c = rows[s0:s0 + step], cols[s0:s0 + step]
        a = torch.index_select(x, 0, r, out=buf_r[:r.numel()])
        b = torch.index_select(y, 0, c, out=buf_c[:r.numel()])
        out[s0:s0 + step] = torch.einsum('nd,nd->n', a, b)
    return out


__all__ += ['Bf16Proposer', 'pair_dots', 'bf16_products_fast', 'bf16_proposals',
            'fast_mode_allowed']
