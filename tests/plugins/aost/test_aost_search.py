"""AOST Stage I search: quiet pyswarms, XGBoost regressor, PSO product sets."""
import logging
import os
import subprocess
import sys

import numpy as np
import pytest

from plugins.aost.search import (VALUES, AttributeRegressor, ProductSetSearch,
                                 cell_table, encode, random_subset,
                                 select_product)

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__)))))


def test_pyswarms_writes_no_report_log(tmp_path):
    code = (
        'import logging, sys; sys.path.insert(0, %r)\n'
        'before = list(logging.getLogger().handlers)\n'
        'from plugins.aost.search import import_pyswarms\n'
        'ps = import_pyswarms()\n'
        'import numpy as np\n'
        'opt = ps.single.GlobalBestPSO(5, 2, dict(c1=.5, c2=.3, w=.9))\n'
        'opt.optimize(lambda x: (x ** 2).sum(1), iters=3, verbose=False)\n'
        'assert logging.getLogger().handlers == before, logging.getLogger().handlers\n'
        'print("ok")\n' % ROOT)
    out = subprocess.run([sys.executable, '-c', code], cwd=tmp_path,
                         capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == 'ok'
    assert os.listdir(tmp_path) == []
    # the plain import does write it (what the wrapper prevents)
    subprocess.run([sys.executable, '-c', 'import pyswarms'], cwd=tmp_path,
                   check=True, capture_output=True)
    assert 'report.log' in os.listdir(tmp_path)


def _additive_table():
    rng = np.random.default_rng(0)
    fv, fw, fl = rng.random(36), rng.random(7), rng.random(7)
    return fv, fw, fl, fv[:, None, None] + fw[None, :, None] + fl[None, None, :]


def test_pso_finds_the_best_product_set_of_an_additive_table():
    fv, fw, fl, table = _additive_table()
    sizes = dict(viewpoint=12, weather=3, illumination=3)
    res = ProductSetSearch(sizes, n_particles=30, iters=150, seed=0).run(table)
    # for an additive D the optimum keeps the k smallest values of each term
    want_v = sorted(VALUES['viewpoint'][i] for i in np.argsort(fv)[:12])
    assert sorted(res['viewpoint']) == want_v
    assert res['weather'] == sorted(int(i) + 1 for i in np.argsort(fw)[:3])
    assert res['illumination'] == sorted(int(i) + 1 for i in np.argsort(fl)[:3])
    best = np.sort(fv)[:12].mean() + np.sort(fw)[:3].mean() + np.sort(fl)[:3].mean()
    assert res['cost'] == pytest.approx(best)
    h = res['history']
    assert all(b <= a + 1e-12 for a, b in zip(h, h[1:]))
    assert res['pso_cost'] == pytest.approx(h[-1]) and res['pso_cost'] >= res['cost']
    # without the polish: a valid set whose cost is what the swarm reported
    raw = ProductSetSearch(sizes, n_particles=30, iters=150, polish=False).run(table)
    idx = [[VALUES['viewpoint'].index(v) for v in raw['viewpoint']],
           [w - 1 for w in raw['weather']], [l - 1 for l in raw['illumination']]]
    assert len(idx[0]) == 12 and raw['cost'] >= best - 1e-12
    assert raw['cost'] == pytest.approx(table[np.ix_(*idx)].mean())
    # deterministic for a seed
    again = ProductSetSearch(sizes, n_particles=30, iters=150, seed=0).run(table)
    assert again['cost'] == res['cost'] and again['weather'] == res['weather']


def test_sizes_are_checked():
    with pytest.raises(ValueError, match='weather'):
        ProductSetSearch(dict(viewpoint=12, weather=8, illumination=3))


def _cells(n_ids=4, bg_effect=0.5):
    recs = []
    for pid in range(1, n_ids + 1):
        bg = pid % 9 + 1
        for v in VALUES['viewpoint']:
            for w in range(1, 8):
                for l in range(1, 8):
                    recs.append(dict(pid=pid, attributes=dict(
                        viewpoint=v, weather=w, illumination=l, background=bg)))
    return recs


def test_regressor_learns_the_attribute_effects_and_table_averages_backgrounds():
    recs = _cells()
    x = encode([r['attributes'] for r in recs])
    y = (np.abs(((x[:, 0] + 180) % 360) - 180) / 180      # viewpoint: 0 deg best
         + 0.3 * (x[:, 1] != 1) + 0.2 * x[:, 2] + 0.5 * (x[:, 3] == 2))
    reg = AttributeRegressor(n_estimators=300, max_depth=4).fit(x, y)
    pred = reg.predict(x)
    assert np.sqrt(np.mean((pred - y) ** 2)) < 0.02
    t1 = cell_table(reg.predict, {2: 1.0})
    t2 = cell_table(reg.predict, {3: 1.0})
    tm = cell_table(reg.predict, {2: 1.0, 3: 3.0})
    assert (t1 - t2).mean() == pytest.approx(0.5, abs=0.03)
    np.testing.assert_allclose(tm, (t1 + 3 * t2) / 4, rtol=1e-6)
    # c28 (0 deg) x w01 x l01 is the best cell
    assert np.unravel_index(t2.argmin(), t2.shape) == (27, 0, 0)


def test_regressor_round_trips(tmp_path):
    recs = _cells(2)
    x = encode([r['attributes'] for r in recs])
    y = x[:, 1] * 1.0
    reg = AttributeRegressor(n_estimators=20).fit(x, y)
    reg.save(str(tmp_path / 'reg.json'))
    np.testing.assert_allclose(AttributeRegressor.load(str(tmp_path / 'reg.json'))
                               .predict(x), reg.predict(x))


def test_selected_and_random_subsets():
    recs = _cells(3)
    sel = dict(viewpoint=list(VALUES['viewpoint'][:12]), weather=[1, 2, 3],
               illumination=[5, 6, 7])
    sub = select_product(recs, sel)
    assert len(sub) == 3 * 108
    assert all(r['attributes']['weather'] in (1, 2, 3) for r in sub)
    ctrl = random_subset(recs, len(sub), seed=1)
    assert len(ctrl) == len(sub) and len({id(r) for r in ctrl}) == len(sub)
    assert ctrl == random_subset(recs, len(sub), seed=1)
    assert ctrl != sub
    with pytest.raises(ValueError, match='exist'):
        random_subset(recs, len(recs) + 1)
