"""Generation output problems: an unwritable folder is reported before any
work; a committed image deleted or damaged later is found and its unit re-run.

The tool cases run ``tools/generate.py`` as a user would (subprocess) on a
fake PRCC drawn in tmp_path.
"""
import hashlib
import os
import os.path as osp
import subprocess

import numpy as np
import pytest
from mmengine.config import Config

from synthgen_helpers import PYTHON, REPO, make_fake_prcc, write_config
from synthgen.apis import generation_complete, run_generation
from synthgen.manifest import ManifestError, parse_shard, read_manifest, shard_path
from synthgen.writer import OutputNotWritableError, ShardWriter, check_writable


def _generate(cfg_path):
    env = dict(os.environ)
    env.pop('REIDKIT_TRACEBACK', None)
    # the stage records go beside the config (a work dir of its own, not
    # work_dirs/cfg in the checkout, which every test here would share)
    work_dir = osp.join(osp.dirname(str(cfg_path)), 'work')
    return subprocess.run([PYTHON, osp.join(REPO, 'tools', 'generate.py'),
                           cfg_path, '--no-progress', '--work-dir', work_dir],
                          cwd=REPO, env=env,
                          capture_output=True, text=True, timeout=300)


def _one_error(proc, *needles):
    assert proc.returncode == 2, (proc.returncode, proc.stderr[-2000:])
    assert 'Traceback' not in proc.stderr, proc.stderr[-2000:]
    errors = [ln for ln in proc.stderr.splitlines() if ln.startswith('error:')]
    assert len(errors) == 1, proc.stderr[-2000:]
    for n in needles:
        assert n in errors[0], (n, errors[0])


def test_unwritable_output_stops_before_any_work(tmp_path):
    data = make_fake_prcc(str(tmp_path / 'prcc'), n_pids=2, per_cam=1)
    blocker = tmp_path / 'a_file'
    blocker.write_text('not a folder')
    out = blocker / 'synth'
    cfg = write_config(tmp_path / 'cfg.py', data, out)
    proc = _generate(cfg)
    _one_error(proc, str(out), 'is a file, not a folder')
    assert blocker.read_text() == 'not a folder'
    # nothing written: no plan.json, no stage record
    assert not list(tmp_path.glob('**/plan.json'))
    assert not list(tmp_path.glob('**/stages/*.json'))


@pytest.mark.skipif(os.geteuid() == 0, reason='root writes read-only folders')
def test_read_only_folder_is_reported(tmp_path):
    ro = tmp_path / 'ro'
    ro.mkdir()
    ro.chmod(0o555)
    try:
        with pytest.raises(OutputNotWritableError, match='not writable'):
            check_writable(str(ro / 'gen'))
    finally:
        ro.chmod(0o755)


def test_check_writable_creates_nothing(tmp_path):
    check_writable(str(tmp_path / 'x' / 'y'))
    assert list(tmp_path.iterdir()) == []


def _hashes(out):
    snap = {}
    for r in read_manifest(out):
        with open(osp.join(out, r['path']), 'rb') as f:
            snap[r['path']] = hashlib.sha256(f.read()).hexdigest()
    return snap


def test_missing_or_damaged_image_is_regenerated_on_resume(tmp_path):
    data = make_fake_prcc(str(tmp_path / 'prcc'), n_pids=4, per_cam=1)
    out = str(tmp_path / 'gen')
    cfg_path = write_config(tmp_path / 'cfg.py', data, out, num_variants=2,
                            batch_size=2)
    cfg = Config.fromfile(cfg_path)
    first = run_generation(cfg, progress=False, print_summary=False)
    assert first.complete
    before = _hashes(out)
    records = read_manifest(out)
    assert len(records) >= 4
    gone, damaged = records[0], records[-1]
    assert gone['unit'] != damaged['unit']
    os.remove(osp.join(out, gone['path']))
    with open(osp.join(out, damaged['path']), 'r+b') as f:
        f.truncate(100)
    assert not generation_complete(cfg)   # the plan sees it: not skipped

    proc = _generate(cfg_path)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert 'run again' in proc.stdout + proc.stderr
    assert generation_complete(cfg)
    assert _hashes(out) == before          # the same images, none missing
    state = parse_shard(shard_path(out, 0))
    units = [r['unit'] for r in state.images]
    assert sorted(units) == sorted(r['unit'] for r in records)
    assert sorted(state.done) == list(range(first.units_total))


def test_writer_resume_drops_only_the_broken_units(tmp_path):
    out = str(tmp_path)
    w = ShardWriter(out, img_format='png')
    w.resume()
    for unit in range(4):
        w.commit_unit(unit, [(0, np.full((16, 8, 3), unit, np.uint8),
                              dict(unit=unit, variant=0))], dict(kept=1))
    w.close()
    os.remove(osp.join(out, w.image_relpath(1, 0)))
    w2 = ShardWriter(out, img_format='png')
    assert sorted(w2.resume()) == [0, 2, 3]
    w2.close()
    assert sorted(parse_shard(shard_path(out, 0)).done) == [0, 2, 3]
    assert [r['unit'] for r in read_manifest(out)] == [0, 2, 3]
    # resumed with another world size: unit 3 is now rank 1's, but its block
    # is in rank 0's shard, which rank 1 must not rewrite: it stops, naming it
    os.remove(osp.join(out, w.image_relpath(3, 0)))
    w3 = ShardWriter(out, rank=1, world_size=2, img_format='png')
    with pytest.raises(ManifestError, match='00000003_000.png'):
        w3.resume()
    w3.close()
