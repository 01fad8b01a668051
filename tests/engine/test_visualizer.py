"""Visualizer backends: local, TensorBoard and W&B switched on by name."""
import glob
import importlib.util
import json
import os.path as osp

import pytest

from reidkit.apis import load_config
from reidkit.engine import visualizer as vis_mod
from reidkit.engine.visualizer import (MissingExtraError, ReIDVisualizer,
                                       backend_configs)

from .conftest import QUICKSTART, run_tool, write_config


def test_names_become_mmengine_backend_dicts():
    assert backend_configs('local') == [dict(type='LocalVisBackend')]
    assert backend_configs(['local', 'tensorboard']) == [
        dict(type='LocalVisBackend'), dict(type='TensorboardVisBackend')]
    assert backend_configs(['TensorboardVisBackend']) == [
        dict(type='TensorboardVisBackend')]
    given = dict(type='LocalVisBackend', name='mine')
    assert backend_configs([given]) == [given]
    assert backend_configs(None) is None


def test_one_config_line_or_cfg_options_switches_tensorboard_on(tmp_path):
    cfg = load_config(QUICKSTART)
    assert cfg.visualizer == dict(type='ReIDVisualizer', vis_backends=['local'])
    # the documented command-line form (mmengine's DictAction makes the list)
    cfg = load_config(QUICKSTART, {'visualizer.vis_backends':
                                   ['local', 'tensorboard']})
    assert cfg.visualizer == dict(type='ReIDVisualizer',
                                  vis_backends=['local', 'tensorboard'])
    # the documented config line
    child = tmp_path / 'tb.py'
    child.write_text(f"_base_ = [{QUICKSTART!r}]\n"
                     "visualizer = dict(vis_backends=['local', 'tensorboard'])\n")
    cfg = load_config(str(child))
    assert cfg.visualizer == dict(type='ReIDVisualizer',
                                  vis_backends=['local', 'tensorboard'])


def test_missing_extra_is_named(monkeypatch):
    real = importlib.util.find_spec
    monkeypatch.setattr(vis_mod.importlib.util, 'find_spec',
                        lambda name: None if name == 'tensorboard' else real(name))
    with pytest.raises(MissingExtraError, match=r'pip install -e "\.\[tensorboard\]"'):
        backend_configs(['local', 'tensorboard'])
    assert backend_configs(['local']) == [dict(type='LocalVisBackend')]


def test_wandb_backend_is_built_offline_or_names_its_extra(tmp_path, monkeypatch):
    monkeypatch.setenv('WANDB_MODE', 'offline')
    monkeypatch.setenv('WANDB_DIR', str(tmp_path))
    if importlib.util.find_spec('wandb') is None:
        with pytest.raises(MissingExtraError, match=r'"\.\[wandb\]"'):
            ReIDVisualizer(name='wandb_missing', save_dir=str(tmp_path),
                           vis_backends=['local', 'wandb'])
        return
    vis = ReIDVisualizer(name='wandb_offline', save_dir=str(tmp_path),
                         vis_backends=['local', dict(type='WandbVisBackend',
                                                     init_kwargs=dict(project='t'))])
    from mmengine.visualization import WandbVisBackend
    assert isinstance(vis.get_backend('WandbVisBackend'), WandbVisBackend)


def test_tensorboard_writes_the_logged_scalars_in_a_one_epoch_run(tmp_path, toy_market):
    from tensorboard.backend.event_processing.event_accumulator import \
        EventAccumulator
    cfg = write_config(tmp_path / 'cfg.py', toy_market)
    work = tmp_path / 'work'
    out = run_tool(['tools/train.py', cfg, '--work-dir', str(work), '--no-test',
                    '--cfg-options', 'train_cfg.max_epochs=1',
                    'visualizer.vis_backends=[local,tensorboard]'])
    assert out.returncode == 0, out.stderr[-3000:]
    events = glob.glob(str(work / '*' / 'vis_data' / 'events.out.tfevents.*'))
    assert len(events) == 1, events
    # the same scalars the local backend wrote, step by step
    local = [json.loads(line) for line in
             open(osp.join(osp.dirname(events[0]), 'scalars.json'))]
    local = {r['step']: r['loss'] for r in local if 'loss' in r}
    assert len(local) >= 2
    acc = EventAccumulator(events[0])
    acc.Reload()
    assert {'loss', 'lr'} <= set(acc.Tags()['scalars'])
    board = {e.step: e.value for e in acc.Scalars('loss')}
    assert sorted(board) == sorted(local)
    for step, value in local.items():
        assert board[step] == pytest.approx(value, rel=1e-6)
