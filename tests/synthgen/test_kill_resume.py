"""A generation run SIGKILLed at random moments, then resumed, ends exactly right."""
import hashlib
import json
import os
import os.path as osp
import random
import signal
import subprocess
import time

from mmengine.config import Config
from PIL import Image

from synthgen_helpers import PYTHON, REPO, make_fake_prcc, write_config
from synthgen.apis import generation_complete, run_generation
from synthgen.manifest import read_done_units, read_manifest, shard_paths


def _snapshot(out):
    """(unit, variant, seed) -> sha256 of the image file, from the manifest."""
    snap = {}
    for r in read_manifest(out):
        with open(osp.join(out, r['path']), 'rb') as f:
            key = (r['unit'], r['variant'], r['seed'])
            assert key not in snap, f'duplicate image {key}'
            snap[key] = hashlib.sha256(f.read()).hexdigest()
    return snap


def _shard_bytes(out):
    return sum(osp.getsize(p) for p in shard_paths(out))


def test_sigkill_and_resume(tmp_path):
    data = make_fake_prcc(str(tmp_path / 'prcc'), n_pids=12, per_cam=2)
    out = str(tmp_path / 'killed')
    cfg_path = write_config(tmp_path / 'cfg.py', data, out, num_variants=3,
                            batch_size=3)
    # the reference: one uninterrupted run in this process
    ref_cfg = Config.fromfile(cfg_path)
    ref_cfg.generation.pipeline.writer.out_dir = str(tmp_path / 'ref')
    ref = run_generation(ref_cfg, progress=False, print_summary=False)
    expected = _snapshot(str(tmp_path / 'ref'))
    assert ref.complete and len(expected) == ref.kept

    rng = random.Random(1234)
    cmd = [PYTHON, osp.join(REPO, 'tools', 'generate.py'), cfg_path,
           '--no-progress']
    kills = 0
    done_at_kill = []
    for attempt in range(8):
        before = _shard_bytes(out) if osp.isdir(out) else 0
        proc = subprocess.Popen(cmd, cwd=REPO, stdout=subprocess.DEVNULL,
                                stderr=subprocess.PIPE)
        deadline = time.time() + 120
        if attempt == 0:
            time.sleep(rng.uniform(0.2, 1.0))   # somewhere in start-up
        else:   # once this run committed something, at a random moment
            while proc.poll() is None and time.time() < deadline and \
                    (not osp.isdir(out) or _shard_bytes(out) <= before):
                time.sleep(0.005)
            # up to a tenth of the whole run's time, wherever that lands
            # (small enough that several kills land before the run ends,
            # even on an idle machine where the run is fast)
            time.sleep(rng.uniform(0.0, 0.1) * ref.elapsed)
        if proc.poll() is None:
            proc.send_signal(signal.SIGKILL)
            kills += 1
        proc.wait()
        proc.stderr.close()
        if proc.returncode == -signal.SIGKILL and osp.isdir(out):
            done_at_kill.append(len(read_done_units(out)))
        if proc.returncode == 0 or kills >= 5:
            break
    assert kills >= 3, 'the run finished before it could be killed'
    # the kills landed mid-run, each after more work was committed
    mid = [n for n in done_at_kill if 0 < n < ref.units_total]
    assert len(set(mid)) >= 3, done_at_kill

    res = subprocess.run(cmd, cwd=REPO, capture_output=True, text=True,
                         timeout=300)
    assert res.returncode == 0, res.stderr[-3000:]

    # every manifest line is valid JSON, ending with a newline
    for path in shard_paths(out):
        with open(path, 'rb') as f:
            raw = f.read()
        assert raw.endswith(b'\n')
        for line in raw.decode().splitlines():
            json.loads(line)
    got = _snapshot(out)
    assert got == expected        # none missing, none extra, same bytes
    # no temp files, no unreferenced images, no truncated image
    referenced = {r['path'] for r in read_manifest(out)}
    on_disk = set()
    for root, _, names in os.walk(osp.join(out, 'images')):
        on_disk |= {osp.relpath(osp.join(root, n), out) for n in names}
    assert on_disk == referenced
    for rel in on_disk:
        with Image.open(osp.join(out, rel)) as img:
            img.load()
    assert generation_complete(Config.fromfile(cfg_path))
