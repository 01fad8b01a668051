"""Shared fixtures for the DLCR plugin tests: a tiny toy PRCC on disk."""
import os
import subprocess
import sys

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__)))))
os.environ.setdefault('HF_HUB_OFFLINE', '1')
os.environ.setdefault('TRANSFORMERS_OFFLINE', '1')


@pytest.fixture(scope='session')
def toy_prcc(tmp_path_factory):
    """``tools/make_toy_data.py prcc`` with 8 identities (a few seconds)."""
    out = tmp_path_factory.mktemp('dlcr_toy') / 'prcc'
    subprocess.run([sys.executable, os.path.join(ROOT, 'tools',
                                                 'make_toy_data.py'),
                    'prcc', str(out), '--ids', '8', '--seed', '0',
                    '--size', '64x32'],
                   check=True, cwd=ROOT, capture_output=True)
    return str(out)
