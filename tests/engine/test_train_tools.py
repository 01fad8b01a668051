"""tools/train.py and tools/test.py as a user runs them: train, kill, resume,
two CPU processes, third-party plugins, clear errors."""
import glob
import os
import os.path as osp
import re
import signal
import subprocess
import sys
import time

import pytest

from .conftest import REPO, run_tool, write_config

PLUGIN_DIR = osp.join(REPO, 'tests', 'fixtures', 'reid_plugin')



def free_port():
    """A port nobody listens on now (fixed ports clash on a shared machine)."""
    import socket
    with socket.socket() as s:
        s.bind(('127.0.0.1', 0))
        return s.getsockname()[1]

def _metrics_table(stdout):
    match = re.search(r'\| all\s+\|\s+([\d.]+)\s+\|', stdout)
    return float(match.group(1)) if match else None


def test_train_then_test_prints_metrics(tmp_path, toy_market):
    cfg = write_config(tmp_path / 'cfg.py', toy_market)
    work = tmp_path / 'work'
    out = run_tool(['tools/train.py', cfg, '--work-dir', str(work),
                    '--cfg-options', 'train_cfg.max_epochs=1'])
    assert out.returncode == 0, out.stderr[-3000:]
    mAP = _metrics_table(out.stdout)
    assert mAP is not None and 0.0 < mAP <= 100.0, out.stdout[-2000:]
    ckpt = work / 'epoch_1.pth'
    assert ckpt.is_file()
    out = run_tool(['tools/test.py', cfg, str(ckpt), '--work-dir',
                    str(tmp_path / 'test_work')])
    assert out.returncode == 0, out.stderr[-3000:]
    assert _metrics_table(out.stdout) == pytest.approx(mAP, abs=1e-6)


def test_killed_run_resumes_from_last_checkpoint(tmp_path, toy_market):
    cfg = write_config(tmp_path / 'cfg.py', toy_market)
    work = tmp_path / 'work'
    args = [sys.executable, 'tools/train.py', cfg, '--work-dir', str(work),
            '--no-test', '--cfg-options', 'train_cfg.max_epochs=3']
    env = dict(os.environ, PYTHONUNBUFFERED='1', OMP_NUM_THREADS='1')
    proc = subprocess.Popen(args, cwd=REPO, env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True)
    deadline = time.time() + 400
    # kill it mid-epoch 2: after epoch 1's checkpoint is complete
    while not (work / 'last_checkpoint').is_file():
        assert proc.poll() is None, proc.stdout.read()[-3000:]
        assert time.time() < deadline, 'no checkpoint written in time'
        time.sleep(0.2)
    time.sleep(1.0)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    assert not (work / 'epoch_3.pth').exists()

    out = run_tool(['tools/train.py', cfg, '--work-dir', str(work), '--resume',
                    '--no-test', '--cfg-options', 'train_cfg.max_epochs=3'])
    log = out.stdout + out.stderr
    assert out.returncode == 0, log[-3000:]
    assert re.search(r'resumed epoch: [12], iter: \d+', log), log[-3000:]
    assert 'Epoch(train) [1]' not in log  # epoch 1 was not trained again
    assert (work / 'epoch_3.pth').is_file()


def test_resume_with_explicit_checkpoint_and_bad_path(tmp_path, toy_market):
    cfg = write_config(tmp_path / 'cfg.py', toy_market)
    work = tmp_path / 'work'
    out = run_tool(['tools/train.py', cfg, '--work-dir', str(work), '--no-test',
                    '--cfg-options', 'train_cfg.max_epochs=1'])
    assert out.returncode == 0, out.stderr[-3000:]
    out = run_tool(['tools/train.py', cfg, '--work-dir', str(work), '--no-test',
                    '--resume', str(work / 'missing.pth')])
    assert out.returncode != 0
    assert 'missing.pth' in out.stderr


def test_two_cpu_processes_with_torchrun(tmp_path, toy_market):
    cfg = write_config(tmp_path / 'cfg.py', toy_market)
    work = tmp_path / 'work'
    out = run_tool(['-m', 'torch.distributed.run', '--nproc_per_node=2',
                    f'--master_port={free_port()}', 'tools/train.py', cfg,
                    '--launcher', 'pytorch', '--work-dir', str(work),
                    '--cfg-options', 'train_cfg.max_epochs=1'])
    log = out.stdout + out.stderr
    assert out.returncode == 0, log[-4000:]
    assert 'ReIDDistributedDataParallel' in log or 'world_size: 2' in log
    assert re.search(r'Distributed launcher: pytorch', log)
    assert _metrics_table(out.stdout) is not None
    assert (work / 'epoch_1.pth').is_file()


def test_custom_imports_plugin_loss_and_sampler(tmp_path, toy_market,
                                                monkeypatch):
    extra = '''
        custom_imports = dict(imports=['reid_plugin'],
                              allow_failed_imports=False)
        model = dict(head=dict(losses=[
            dict(type='CrossEntropyLoss', label_smoothing=0.1),
            dict(type='PluginCenterLoss', num_classes=None, feat_dim=512,
                 loss_weight=0.01)]))
        # update, not re-assign: re-assigning would drop the data_root above
        train_dataloader['sampler'] = dict(
            _delete_=True, type='PluginReversedIdentitySampler',
            batch_size=8, num_instances=4)
    '''
    cfg = write_config(tmp_path / 'cfg.py', toy_market, extra)
    monkeypatch.syspath_prepend(PLUGIN_DIR)
    sys.path.insert(0, REPO)
    from tools.train import main
    stages = main([cfg, '--work-dir', str(tmp_path / 'work'), '--no-test',
                   '--cfg-options', 'train_cfg.max_epochs=1'])
    assert sorted(stages.results) == ['train']  # --no-test left the test out
    runner = stages.stages[0].runner
    sampler = runner.train_dataloader.sampler
    assert type(sampler).__name__ == 'PluginReversedIdentitySampler'
    assert sampler.yielded > 0
    scalars = runner.message_hub.log_scalars
    assert 'train/loss_center' in scalars
    assert scalars['train/loss_center'].current() > 0


def test_unknown_type_in_config_names_registry(tmp_path, toy_market):
    extra = "model = dict(head=dict(losses=[dict(type='TripletLos')]))\n"
    cfg = write_config(tmp_path / 'cfg.py', toy_market, extra)
    out = run_tool(['tools/train.py', cfg, '--work-dir', str(tmp_path / 'w')])
    assert out.returncode != 0
    assert 'TripletLos' in out.stderr and 'TripletLoss' in out.stderr
    assert 'registry' in out.stderr


def test_missing_dataset_stops_with_one_message(tmp_path):
    out = run_tool(['tools/train.py', 'configs/dlcr/prcc_cal.py', '--work-dir',
                    str(tmp_path / 'w'), '--cfg-options',
                    f'data_root={tmp_path}/nowhere/prcc'])
    assert out.returncode == 2
    err = out.stderr.strip().splitlines()
    assert err[0].startswith('error: PRCC:') and 'nowhere/prcc' in err[0]
    assert 'rgb/test/A' in out.stderr          # shows the expected layout
    assert 'Traceback' not in out.stderr
