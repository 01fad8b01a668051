"""Shared fixtures for the Vehicle-Diff plugin tests: a tiny toy VeRi-776."""
import os

import pytest

os.environ.setdefault('HF_HUB_OFFLINE', '1')
os.environ.setdefault('TRANSFORMERS_OFFLINE', '1')


@pytest.fixture(scope='session')
def toy_veri(tmp_path_factory):
    """A toy VeRi-776 with 8 vehicles at 64x64 (a few seconds)."""
    from synthgen.toyworld.api import make_dataset
    out = tmp_path_factory.mktemp('vdiff_toy') / 'veri776'
    make_dataset('veri776', str(out), num_ids=8, seed=0, size=(64, 64),
                 workers=1)
    return str(out)
