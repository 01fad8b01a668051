"""Shared fixtures of the DiVE tests: a toy SYSU-MM01 and a toy Market-1501."""
import os
import subprocess
import sys

import pytest
from mmengine.registry import init_default_scope

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__)))))


def _toy(tmp_path_factory, kind, ids):
    out = tmp_path_factory.mktemp(f'dive_{kind}') / kind
    subprocess.run([sys.executable, os.path.join(ROOT, 'tools',
                                                 'make_toy_data.py'),
                    kind, str(out), '--ids', str(ids), '--seed', '0',
                    '--size', '64x32'],
                   check=True, cwd=ROOT, capture_output=True)
    return str(out)


@pytest.fixture(scope='session')
def toy_sysu(tmp_path_factory):
    return _toy(tmp_path_factory, 'sysu_mm01', 8)


@pytest.fixture(scope='session')
def toy_market(tmp_path_factory):
    return _toy(tmp_path_factory, 'market1501', 8)


@pytest.fixture(autouse=True)
def _scope():
    import plugins.dive  # noqa: F401
    import reidkit.datasets  # noqa: F401
    init_default_scope('reidkit')
    yield
