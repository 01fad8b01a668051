"""Shared fixtures for tool-level tests: a tiny toy Market-1501 and configs on it."""
import os
import os.path as osp
import subprocess
import sys
import textwrap

import pytest

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
QUICKSTART = osp.join(REPO, 'configs', 'quickstart', 'toy_market_bot_r18.py')


@pytest.fixture(scope='session')
def toy_market(tmp_path_factory):
    from synthgen.toyworld import make_dataset
    root = tmp_path_factory.mktemp('toy') / 'market1501'
    make_dataset('market1501', str(root), num_ids=16, seed=0, size=(64, 32))
    return str(root)


def write_config(path, toy_root, extra=''):
    """A fast variant of the quickstart config on ``toy_root``."""
    text = f'''
        _base_ = [{QUICKSTART!r}]
        data_root = {toy_root!r}
        img_size = (64, 32)
        train_pipeline = [
            dict(type='LoadReIDImage'),
            dict(type='ReIDResize', size=img_size),
            dict(type='ReIDRandomFlip', prob=0.5),
            dict(type='PackReIDInputs'),
        ]
        test_pipeline = [
            dict(type='LoadReIDImage'),
            dict(type='ReIDResize', size=img_size),
            dict(type='PackReIDInputs'),
        ]
        train_dataloader = dict(
            batch_size=8, num_workers=0, persistent_workers=False,
            sampler=dict(batch_size=8, num_instances=4),
            dataset=dict(data_root=data_root, pipeline=train_pipeline))
        val_dataloader = dict(
            batch_size=32, num_workers=0, persistent_workers=False,
            dataset=dict(data_root=data_root, pipeline=test_pipeline))
        test_dataloader = val_dataloader
        train_cfg = dict(max_epochs=2, val_interval=100)
        default_hooks = dict(logger=dict(interval=1))
    '''
    path.write_text(textwrap.dedent(text) + textwrap.dedent(extra))
    return str(path)


def run_tool(args, env_extra=None, timeout=600, **kwargs):
    env = dict(os.environ, PYTHONUNBUFFERED='1', OMP_NUM_THREADS='1')
    env.update(env_extra or {})
    return subprocess.run([sys.executable, *args], cwd=REPO, env=env,
                          capture_output=True, text=True, timeout=timeout,
                          **kwargs)
