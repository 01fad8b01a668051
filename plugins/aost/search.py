"""AOST Stage I: regress the distance on attribute codes, search the settings.

The paper trains an XGBoost model from FineGPR's attributes to the total
distance ``D`` (Alg. 1 line 6) and searches attributes with particle-swarm
optimisation (line 7), then keeps 124,200 images (1,150 identities x 108).
It does not say what a particle encodes. Here the selection is a *product
set*: ``k_v`` viewpoints x ``k_w`` weathers x ``k_l`` illuminations, the
images of every identity in those cells (the release renders the full
36 x 7 x 7 grid per identity, so each identity gives ``k_v k_w k_l`` images;
12 x 3 x 3 = 108 as in the paper). A particle holds one score per attribute
value (36 + 7 + 7); it decodes to the top-``k`` values of each attribute, and
its cost is the regressor's mean predicted ``D`` over the cells of the set,
averaged over the identities' backgrounds (a background is fixed per
identity, so it is a regression feature but not selectable). Beyond the
paper, the swarm's best set is polished by value exchanges (swap one kept
value for one left out while the cost drops): plain PSO over top-k decodings
stops short of the optimum even on additive tables, the polish makes the
result a local optimum of single swaps (the global one for additive ``D``).
"""
from __future__ import annotations

import contextlib
import importlib
import logging
import os
import sys
import tempfile
from typing import Dict, List, Optional, Sequence

import numpy as np

from reidkit.datasets.finegpr import viewpoint_degrees

#: code values of each searchable attribute (viewpoints in degrees)
VALUES = dict(viewpoint=tuple(viewpoint_degrees(c) for c in range(1, 37)),
              weather=tuple(range(1, 8)), illumination=tuple(range(1, 8)))
FEATURES = ('viewpoint', 'weather', 'illumination', 'background')

_PYSWARMS_LOG_CFG = """\
version: 1
disable_existing_loggers: false
loggers:
  pyswarms:
    level: WARNING
"""


def import_pyswarms():
    """``pyswarms`` without its ``report.log``.

    pyswarms' ``Reporter`` (built at import and by every optimiser) loads a
    logging config with a file handler on ``<cwd>/report.log`` and a root
    stream handler, unless the environment variable ``LOG_CFG`` names a YAML
    config. Import it with ``LOG_CFG`` pointing at a config that only sets
    the pyswarms logger's level (nothing written, root logger untouched),
    then make later reporters keep the logging set-up as it is.
    """
    if 'pyswarms' not in sys.modules:
        with tempfile.TemporaryDirectory() as d:
            path = os.path.join(d, 'pyswarms_log.yaml')
            with open(path, 'w') as f:
                f.write(_PYSWARMS_LOG_CFG)
            old = os.environ.get('LOG_CFG')
            os.environ['LOG_CFG'] = path
            try:
                importlib.import_module('pyswarms')
            finally:
                if old is None:
                    os.environ.pop('LOG_CFG', None)
                else:
                    os.environ['LOG_CFG'] = old
    from pyswarms.utils.reporter import reporter
    reporter.Reporter._setup_logger = lambda self, path=None: None
    logging.getLogger('pyswarms').setLevel(logging.WARNING)
    return sys.modules['pyswarms']


def encode(attrs: Sequence[dict]) -> np.ndarray:
    """Attribute codes ``(viewpoint deg, weather, illumination, background)``
    of image attribute dicts, as a float matrix for the regressor."""
    return np.array([[a[k] for k in FEATURES] for a in attrs], np.float32)


class AttributeRegressor:
    """XGBoost regressor from attribute codes to the AOST distance.

    Args:
        n_estimators (int): boosting rounds.
        max_depth (int): tree depth.
        learning_rate (float): shrinkage.
        seed (int): random state.

    Example:
        >>> reg = AttributeRegressor().fit(encode(attrs), d_total)
        >>> reg.predict(encode(attrs[:3]))
    """

    def __init__(self, n_estimators: int = 200, max_depth: int = 4,
                 learning_rate: float = 0.1, seed: int = 0):
        import xgboost
        self.model = xgboost.XGBRegressor(
            n_estimators=n_estimators, max_depth=max_depth,
            learning_rate=learning_rate, random_state=seed, n_jobs=1,
            tree_method='hist')

    def fit(self, x: np.ndarray, y: np.ndarray) -> 'AttributeRegressor':
        if len(x) < 2:
            raise ValueError('AttributeRegressor: need at least 2 images with '
                             f'distances, got {len(x)}')
        self.model.fit(np.asarray(x, np.float32), np.asarray(y, np.float64))
        return self

    def predict(self, x: np.ndarray) -> np.ndarray:
        return self.model.predict(np.asarray(x, np.float32)).astype(np.float64)

    def save(self, path: str) -> None:
        tmp = path + '.tmp.json'
        self.model.save_model(tmp)
        os.replace(tmp, path)

    @classmethod
    def load(cls, path: str) -> 'AttributeRegressor':
        reg = cls.__new__(cls)
        import xgboost
        reg.model = xgboost.XGBRegressor()
        reg.model.load_model(path)
        return reg


def cell_table(predict, backgrounds: Dict[int, float],
               values: Optional[Dict[str, Sequence[int]]] = None) -> np.ndarray:
    """Predicted ``D`` of every (viewpoint, weather, illumination) cell of
    ``values`` (default :data:`VALUES`: 36 x 7 x 7), averaged over
    ``backgrounds`` ({code: weight})."""
    values = values or VALUES
    vals = [np.asarray(values[k]) for k in ('viewpoint', 'weather', 'illumination')]
    shape = tuple(len(v) for v in vals)
    grid = np.meshgrid(*[np.arange(n) for n in shape], indexing='ij')
    total, wsum = np.zeros(shape), 0.0
    for bg, weight in backgrounds.items():
        x = np.stack([v[g.ravel()] for v, g in zip(vals, grid)]
                     + [np.full(grid[0].size, bg)], 1)
        total += weight * np.asarray(predict(x)).reshape(shape)
        wsum += weight
    return total / wsum


@contextlib.contextmanager
def _numpy_seed(seed):
    state = np.random.get_state()
    np.random.seed(seed)
    try:
        yield
    finally:
        np.random.set_state(state)


class ProductSetSearch:
    """Particle-swarm search for the product set with the lowest mean ``D``.

    Args:
        sizes (dict): values kept per attribute, e.g. ``dict(viewpoint=12,
            weather=3, illumination=3)`` (108 images per identity).
        n_particles (int): swarm size.
        iters (int): PSO iterations.
        options (dict): pyswarms ``c1``, ``c2``, ``w`` (default 1, 1, 0.5:
            closer optima than pyswarms' example 0.5, 0.3, 0.9 here).
        polish (bool): refine the swarm's best by value exchanges.
        values (dict, optional): the codes each attribute may take (those
            present in the data; default :data:`VALUES`); the table given to
            :meth:`run` is indexed by them (see :func:`cell_table`).
        seed (int): seeds the swarm.

    Example:
        >>> table = cell_table(reg.predict, {1: 1.0})
        >>> best = ProductSetSearch(dict(viewpoint=12, weather=3,
        ...                              illumination=3)).run(table)
        >>> best['weather']     # three weather codes
    """

    ORDER = ('viewpoint', 'weather', 'illumination')

    def __init__(self, sizes: Dict[str, int], n_particles: int = 30,
                 iters: int = 100, options: Optional[dict] = None,
                 polish: bool = True,
                 values: Optional[Dict[str, Sequence[int]]] = None,
                 seed: int = 0):
        self.values = {k: tuple(int(v) for v in (values or VALUES)[k])
                       for k in self.ORDER}
        for k in self.ORDER:
            n = int(sizes.get(k, 0))
            if not 1 <= n <= len(self.values[k]):
                raise ValueError(f'ProductSetSearch: sizes[{k!r}]={sizes.get(k)} '
                                 f'must be 1..{len(self.values[k])} (the '
                                 f'{k} values available)')
        self.sizes = {k: int(sizes[k]) for k in self.ORDER}
        self.n_particles, self.iters, self.seed = int(n_particles), int(iters), int(seed)
        self.options = dict(options or dict(c1=1.0, c2=1.0, w=0.5))
        self.polish = bool(polish)
        self._cuts = np.cumsum([0] + [len(self.values[k]) for k in self.ORDER])

    def decode(self, pos: np.ndarray) -> List[np.ndarray]:
        """Indices (into ``self.values``) of the top-``k`` scores per attribute."""
        out = []
        for i, k in enumerate(self.ORDER):
            s = pos[self._cuts[i]:self._cuts[i + 1]]
            out.append(np.sort(np.argsort(-s, kind='stable')[:self.sizes[k]]))
        return out

    @staticmethod
    def set_cost(table: np.ndarray, idx: List[np.ndarray]) -> float:
        return float(table[np.ix_(*idx)].mean())

    def run(self, table: np.ndarray) -> dict:
        """Best product set: ``{attribute: [codes]}`` plus ``cost`` (mean
        predicted D of its cells) and ``history`` (best cost per iteration)."""
        ps = import_pyswarms()
        dims = int(self._cuts[-1])
        want = tuple(len(self.values[k]) for k in self.ORDER)
        if table.shape != want:
            raise ValueError(f'ProductSetSearch: table shape {table.shape} does '
                             f'not match the values searched {want}')

        def cost(swarm):
            return np.array([self.set_cost(table, self.decode(p)) for p in swarm])

        with _numpy_seed(self.seed):
            opt = ps.single.GlobalBestPSO(
                n_particles=self.n_particles, dimensions=dims,
                options=self.options,
                bounds=(np.zeros(dims), np.ones(dims)))
            best_cost, best_pos = opt.optimize(cost, iters=self.iters,
                                               verbose=False)
        idx = self.decode(best_pos)
        res = dict(pso_cost=float(best_cost),
                   history=[float(c) for c in opt.cost_history])
        if self.polish:
            idx = self.exchange(table, idx)
        res.update({k: [self.values[k][j] for j in ix]
                    for k, ix in zip(self.ORDER, idx)})
        res['cost'] = self.set_cost(table, idx)
        return res

    def exchange(self, table: np.ndarray, idx: List[np.ndarray]
                 ) -> List[np.ndarray]:
        """Best-improvement single swaps until none lowers the cost."""
        idx = [np.array(ix) for ix in idx]
        cur = self.set_cost(table, idx)
        while True:
            best = (cur - 1e-12, None)
            for a in range(len(idx)):
                out = np.setdiff1d(np.arange(table.shape[a]), idx[a])
                for i in range(len(idx[a])):
                    for j in out:
                        trial = list(idx)
                        trial[a] = np.sort(np.where(np.arange(len(idx[a])) == i,
                                                    j, idx[a]))
                        c = self.set_cost(table, trial)
                        if c < best[0]:
                            best = (c, trial)
            if best[1] is None:
                return idx
            cur, idx = best


def select_product(records: Sequence[dict], selection: Dict[str, Sequence[int]]
                   ) -> List[dict]:
    """Records (dicts with ``attributes``) whose cell is in ``selection``."""
    keep = {k: set(selection[k]) for k in ProductSetSearch.ORDER}
    return [r for r in records
            if all(r['attributes'][k] in keep[k] for k in keep)]


def random_subset(records: Sequence[dict], n: int, seed: int = 0) -> List[dict]:
    """``n`` records drawn uniformly without replacement (the paper's
    "FineGPR+Random" control at the selected subset's size)."""
    if n > len(records):
        raise ValueError(f'random_subset: {n} images asked, {len(records)} exist')
    idx = np.sort(np.random.default_rng(seed).choice(len(records), n, replace=False))
    return [records[i] for i in idx]
