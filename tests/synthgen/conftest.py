"""Fixtures of the generation-engine tests (helpers live in synthgen_helpers)."""
import os.path as osp
import sys

import pytest

sys.path.insert(0, osp.dirname(osp.abspath(__file__)))

from synthgen_helpers import make_fake_prcc  # noqa: E402


@pytest.fixture
def fake_prcc(tmp_path):
    """A 3-identity PRCC-layout dataset with toy-style masks and attributes."""
    return make_fake_prcc(str(tmp_path / 'prcc'))
