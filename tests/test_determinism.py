"""One seed on one machine gives the same result table twice.

Runs the quickstart (``tools/train.py``: train, then test) twice as a user
would, with the config's 2 data-loader workers, on a small toy Market, and
compares the printed metric table byte for byte, the metrics at full
precision, and the trained weights bit for bit.
"""
import json
import os
import os.path as osp
import subprocess
import sys

import torch

from reidkit.engine import register_checkpoint_safe_globals

ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))
QUICK = osp.join(ROOT, 'configs/quickstart/toy_market_bot_r18.py')


def _tool(*args):
    env = dict(os.environ)
    env.pop('REIDKIT_TRACEBACK', None)
    return subprocess.run([sys.executable, *map(str, args)], cwd=ROOT,
                          env=env, capture_output=True, text=True,
                          timeout=600)


def _table(stdout):
    """The lines of the printed metric table."""
    return '\n'.join(ln for ln in stdout.splitlines()
                     if ln.startswith(('+-', '| ')))


def test_same_seed_same_table(tmp_path):
    data = tmp_path / 'market'
    proc = _tool(osp.join(ROOT, 'tools', 'make_toy_data.py'), 'market1501',
                 data, '--ids', 6, '--size', '32x16', '--workers', 1)
    assert proc.returncode == 0, proc.stderr[-2000:]
    register_checkpoint_safe_globals()
    runs = []
    for i in range(2):
        work = tmp_path / f'w{i}'
        proc = _tool(osp.join(ROOT, 'tools', 'train.py'), QUICK,
                     '--work-dir', work, '--cfg-options', f'data_root={data}',
                     'randomness.seed=3', 'train_cfg.max_epochs=1',
                     'train_cfg.val_begin=2', 'train_dataloader.batch_size=4',
                     'train_dataloader.sampler.batch_size=4',
                     'train_dataloader.sampler.num_instances=2',
                     'train_dataloader.num_workers=2',
                     'test_dataloader.num_workers=0',
                     'test_dataloader.persistent_workers=False')
        assert proc.returncode == 0, proc.stderr[-3000:]
        table = _table(proc.stdout)
        assert 'mAP' in table, proc.stdout[-3000:]
        with open(work / 'metrics_test.json') as f:
            metrics = json.load(f)
        state = torch.load(work / 'epoch_1.pth', map_location='cpu',
                           weights_only=True)['state_dict']
        runs.append((table, metrics, state))
    (t0, m0, s0), (t1, m1, s1) = runs
    assert t0 == t1
    assert m0 == m1
    assert s0.keys() == s1.keys()
    differ = [k for k in s0 if not torch.equal(s0[k], s1[k])]
    assert not differ, differ[:5]
