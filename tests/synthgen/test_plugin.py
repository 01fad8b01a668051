"""A third-party package swaps in its GENERATOR and FILTER via custom_imports."""
import os.path as osp

import numpy as np
import pytest
from mmengine.config import Config
from PIL import Image

from synthgen_helpers import REPO, write_config
from synthgen.apis import run_generation
from synthgen.manifest import read_manifest

PLUGIN_DIR = osp.join(REPO, 'tests', 'fixtures', 'synthgen_plugin')


def test_custom_imports_plugin(tmp_path, fake_prcc, monkeypatch):
    out = tmp_path / 'out'
    kwargs = dict(generator="dict(type='GradientGenerator', size=(40, 20))",
                  filters="[dict(type='DarkCropFilter', min_mean=90, border=2),"
                          " dict(type='SizeAspectFilter', min_size=(30, 10))]")
    # without the import, the config names an unknown type
    cfg = Config.fromfile(write_config(tmp_path / 'plain.py', fake_prcc,
                                       tmp_path / 'none', **kwargs))
    if 'synthgen_plugin' not in __import__('sys').modules:
        with pytest.raises(KeyError, match='not registered.*custom_imports'):
            run_generation(cfg, progress=False, print_summary=False)
        assert not (tmp_path / 'none').exists()

    monkeypatch.syspath_prepend(PLUGIN_DIR)
    path = write_config(
        tmp_path / 'cfg.py', fake_prcc, out, **kwargs,
        extra="custom_imports = dict(imports=['synthgen_plugin'], "
              "allow_failed_imports=False)")
    cfg = Config.fromfile(path)
    summary = run_generation(cfg, progress=False, print_summary=False)
    recs = read_manifest(str(out))
    assert summary.complete and len(recs) == summary.kept
    dark = summary.filters['DarkCropFilter']
    assert dark.dropped > 0 and dark.passed == len(recs)
    assert dark.reasons['too dark'] == dark.dropped
    for r in recs:
        assert r['generator'] == 'GradientGenerator'
        assert r['filters'] == ['DarkCropFilter', 'SizeAspectFilter']
        img = np.asarray(Image.open(osp.join(out, r['path'])))
        assert img.shape == (36, 16, 3)          # cropped by the filter
        assert img.mean() >= 85
