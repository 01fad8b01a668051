"""tools/train.py's generation stage: runs when the output is missing, then is skipped."""
import os.path as osp
import sys

from reidkit.apis import load_config, run_generation_stage

sys.path.insert(0, osp.join(osp.dirname(osp.dirname(osp.abspath(__file__))),
                            'synthgen'))
from synthgen_helpers import make_fake_prcc, write_config  # noqa: E402


def test_generation_stage_runs_once_then_skips(tmp_path):
    data = make_fake_prcc(str(tmp_path / 'prcc'), n_pids=3, per_cam=1)
    out = tmp_path / 'gen'
    cfg_path = write_config(tmp_path / 'cfg.py', data, str(out), num_variants=2)
    cfg = load_config(cfg_path)
    assert run_generation_stage(cfg) is True          # output missing: runs
    manifests = list(out.glob('manifest*.jsonl'))
    assert manifests and manifests[0].stat().st_size > 0
    images = sorted(p for p in out.rglob('*.png'))
    assert images
    assert run_generation_stage(load_config(cfg_path)) is False  # complete
    assert sorted(p for p in out.rglob('*.png')) == images


def test_config_without_generation_has_no_stage(tmp_path):
    path = tmp_path / 'plain.py'
    path.write_text("model = dict(type='X')\n")
    assert run_generation_stage(load_config(str(path))) is False
