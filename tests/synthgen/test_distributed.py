"""torchrun with 2 CPU processes (gloo) makes the same images as one process."""
import hashlib
import os
import os.path as osp
import socket
import subprocess

from mmengine.config import Config

from synthgen_helpers import PYTHON, REPO, make_fake_prcc, write_config
from synthgen.apis import run_generation
from synthgen.manifest import parse_shard, read_manifest, shard_paths


def _free_port():
    with socket.socket() as s:
        s.bind(('127.0.0.1', 0))
        return s.getsockname()[1]


def _images(out):
    result = set()
    for r in read_manifest(out):
        with open(osp.join(out, r['path']), 'rb') as f:
            result.add((r['unit'], r['variant'], r['seed'],
                        hashlib.sha256(f.read()).hexdigest()))
    return result


def test_two_ranks_equal_one(tmp_path):
    data = make_fake_prcc(str(tmp_path / 'prcc'), n_pids=3, per_cam=2)
    cfg_path = write_config(tmp_path / 'cfg.py', data, '{work_dir}/synth',
                            num_variants=2, img_format='jpg')
    env = dict(os.environ, OMP_NUM_THREADS='1',
               PYTHONPATH=REPO + os.pathsep + os.environ.get('PYTHONPATH', ''))
    cmd = [PYTHON, '-m', 'torch.distributed.run', '--nproc_per_node=2',
           '--master_addr=127.0.0.1', f'--master_port={_free_port()}',
           osp.join(REPO, 'tools', 'generate.py'), cfg_path,
           '--work-dir', str(tmp_path / 'two'), '--launcher', 'pytorch',
           '--no-progress']
    res = subprocess.run(cmd, cwd=REPO, env=env, capture_output=True,
                         text=True, timeout=300)
    assert res.returncode == 0, res.stdout[-2000:] + res.stderr[-4000:]
    assert 'images/s over 2 rank(s)' in res.stdout

    two = str(tmp_path / 'two' / 'synth')
    shards = shard_paths(two)
    assert [osp.basename(p) for p in shards] == ['manifest.rank0.jsonl',
                                                 'manifest.rank1.jsonl']
    for rank, path in enumerate(shards):
        units = parse_shard(path).done
        assert units and all(u % 2 == rank for u in units)

    cfg = Config.fromfile(cfg_path)
    cfg.work_dir = str(tmp_path / 'one')
    one = run_generation(cfg, progress=False, print_summary=False)
    assert one.units_total == 18
    expected = _images(str(tmp_path / 'one' / 'synth'))
    assert len(expected) == one.kept
    assert _images(two) == expected
