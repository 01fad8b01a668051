"""Protocols are registered: every benchmark by name, and a plugin's own
protocol from a package outside the repository, through ReIDMetric."""
import sys
import textwrap

import numpy as np
import pytest
import torch
from mmengine.utils import import_modules_from_strings

from reidkit.evaluation import (Protocol, ReIDMetric, build_protocol, rank,
                                settings_of)
from reidkit.registry import METRICS, PROTOCOLS

from .reference import ref_eval

BENCHMARKS = {'market', 'cityflow', 'last', 'cuhk03_sg', 'vehicleid', 'prcc',
              'ltcc', 'vc_clothes', 'ccvid', 'sysu_all', 'sysu_indoor',
              'llcm_v2i', 'llcm_i2v'}

PLUGIN = '''
"""A third-party protocol: cross-camera retrieval, every gallery image taken
by the query's camera is junk whatever its identity."""
import numpy as np

from reidkit.evaluation import Protocol, score_ranking
from reidkit.registry import PROTOCOLS


@PROTOCOLS.register_module(name='tmp_cross_camera')
class CrossCamera(Protocol):
    """Args: exclude_cams (tuple): gallery cameras left out entirely."""

    def __init__(self, exclude_cams=()):
        self.exclude_cams = tuple(exclude_cams)

    def score(self, dist, query, gallery, mode, max_rank):
        q_cam, g_cam = query['camid'], gallery['camid']
        dropped = np.isin(g_cam, self.exclude_cams)

        def keep(start, stop):
            return (q_cam[start:stop, None] != g_cam[None]) & ~dropped[None]
        return score_ranking(dist, query['pid'], gallery['pid'], keep,
                             max_rank)
'''


@pytest.fixture
def plugin_package(tmp_path, monkeypatch):
    pkg = tmp_path / 'tmp_reid_protocol_plugin'
    pkg.mkdir()
    (pkg / '__init__.py').write_text(textwrap.dedent(PLUGIN))
    monkeypatch.syspath_prepend(str(tmp_path))
    yield 'tmp_reid_protocol_plugin'
    PROTOCOLS._module_dict.pop('tmp_cross_camera', None)
    sys.modules.pop('tmp_reid_protocol_plugin', None)


def samples(seed=0):
    rng = np.random.default_rng(seed)
    centers = rng.standard_normal((5, 8))
    out = []
    for i in range(40):
        pid = int(rng.integers(0, 5))
        out.append(dict(feat=torch.tensor(centers[pid] + rng.standard_normal(8),
                                          dtype=torch.float32),
                        pid=pid, camid=int(rng.integers(0, 4)),
                        split='query' if i < 12 else 'gallery'))
    return out


def test_every_benchmark_is_registered():
    assert BENCHMARKS <= set(PROTOCOLS.all_names())
    for name in BENCHMARKS:
        proto = build_protocol(name)
        assert isinstance(proto, Protocol) and proto.name == name
        assert settings_of(name) == proto.settings
    assert build_protocol('llcm_v2i').query_modality == 0
    assert build_protocol('llcm_i2v').query_modality == 1
    assert build_protocol('sysu_all').query_modality == 1
    assert build_protocol('ccvid').needs == ('clothes_id', 'track_id')
    assert build_protocol('vehicleid').whole_set
    assert settings_of('prcc') == ('sc', 'cc')


def test_plugin_protocol_from_outside_the_repo(plugin_package):
    assert 'tmp_cross_camera' not in PROTOCOLS
    # what a config's custom_imports does
    import_modules_from_strings([plugin_package], allow_failed_imports=False)
    data = samples()
    metric = METRICS.build(dict(type='ReIDMetric', protocol=dict(
        type='tmp_cross_camera', exclude_cams=[3]), norm_feat=False))
    for start in range(0, len(data), 8):
        metric.process({}, data[start:start + 8])
    out = metric.evaluate(len(data))
    q = [s for s in data if s['split'] == 'query']
    g = [s for s in data if s['split'] == 'gallery']
    qf = np.stack([s['feat'].numpy().astype(np.float64) for s in q])
    gf = np.stack([s['feat'].numpy().astype(np.float64) for s in g])
    dist = np.sqrt(((qf[:, None] - gf[None]) ** 2).sum(-1))
    qp, gp = np.array([s['pid'] for s in q]), np.array([s['pid'] for s in g])
    qc, gc = np.array([s['camid'] for s in q]), np.array([s['camid'] for s in g])
    cmc, ap, inp = ref_eval(dist, qp, gp, lambda i: (gc == qc[i]) | (gc == 3))
    assert out['mAP'] == pytest.approx(100 * ap, abs=1e-9)
    assert out['mINP'] == pytest.approx(100 * inp, abs=1e-9)
    assert out['R1'] == pytest.approx(100 * cmc[0], abs=1e-9)
    # and through the functional entry point, with the option as a keyword
    res = rank(dist, qp, gp, qc, gc, protocol='tmp_cross_camera',
               exclude_cams=[3])
    assert res['mAP'] == pytest.approx(ap, abs=1e-12)
    market = rank(dist, qp, gp, qc, gc)
    assert market['mAP'] != pytest.approx(ap)


def test_unknown_names_and_options_are_explained():
    with pytest.raises(KeyError, match='Closest registered names: .*sysu_all'):
        ReIDMetric(protocol='sysu_al')
    with pytest.raises(TypeError, match="no option 'seed'.*Did you mean "
                       "'seeds'"):
        ReIDMetric(protocol='sysu_all', seed=1)
    with pytest.raises(TypeError, match='takes no option|options are none'):
        build_protocol('market', num_repeats=3)
    proto = build_protocol(dict(type='prcc', single_shot=True), num_trials=2)
    assert (proto.single_shot, proto.num_trials, proto.seed) == (True, 2, 3)
    assert ReIDMetric(protocol=proto).evaluation_protocol is proto
