"""Bad input through the real tools: exit code 2, one message, no traceback.

Every case runs a tool as a user would (subprocess, toy data in tmp_path) and
checks the message names the culprit (file, key, closest valid key, expected
type). The malicious-pickle cases also check that nothing was executed, with
``TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD=1`` in the environment.
"""
import os
import os.path as osp
import pickle
import subprocess
import sys

import pytest
import torch

ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))
QUICK = osp.join(ROOT, 'configs/quickstart/toy_market_bot_r18.py')


def run_tool(tool, *args, env=None, timeout=300):
    full_env = dict(os.environ, **(env or {}))
    full_env.pop('REIDKIT_TRACEBACK', None)
    return subprocess.run([sys.executable, osp.join(ROOT, 'tools', tool),
                           *map(str, args)], cwd=ROOT, env=full_env,
                          capture_output=True, text=True, timeout=timeout)


def assert_user_error(proc, *needles):
    assert proc.returncode == 2, (proc.returncode, proc.stderr[-2000:])
    assert 'Traceback' not in proc.stderr, proc.stderr[-2000:]
    errors = [ln for ln in proc.stderr.splitlines() if ln.startswith('error:')]
    assert len(errors) == 1, proc.stderr[-2000:]
    for needle in needles:
        assert needle in errors[0], (needle, errors[0])
    return errors[0]


@pytest.fixture(scope='module')
def toy_market(tmp_path_factory):
    out = tmp_path_factory.mktemp('toy') / 'market1501'
    proc = run_tool('make_toy_data.py', 'market1501', out, '--ids', 6,
                    '--size', '32x16')
    assert proc.returncode == 0, proc.stderr
    return out


def child(tmp_path, body, name='bad.py'):
    path = tmp_path / name
    path.write_text(f"_base_ = [{QUICK!r}]\n{body}\n")
    return path


CONFIG_CASES = [
    # (config body, --cfg-options, words the message must contain)
    ('train_cfg = dict(max_epoch=1)', [], ['train_cfg.max_epoch',
                                           "'max_epochs'"]),
    ('', ['train_cfg.max_epochz=3'], ['train_cfg.max_epochz',
                                      "'max_epochs'"]),
    ('', ['no_such_section.x=1'], ["'no_such_section'"]),
    ('', ['train_cfg.max_epochs=one'], ['train_cfg.max_epochs', 'an int']),
    ('', ['train_dataloader.batch_size=abc'],
     ['train_dataloader.batch_size', 'an int']),
    ('', ['optim_wrapper.optimizer.lr=fast'],
     ['optim_wrapper.optimizer.lr', 'a number']),
    ("train_dataloader = dict(batch_size='abc')", [],
     ['train_dataloader.batch_size', 'an int']),
    ('x = dict(a=1', [], ['bad.py, line 2', 'invalid Python']),
    ("_base_ = ['no_such_base.py']", [], ['bad.py', 'no_such_base.py']),
]


@pytest.mark.parametrize('body,options,needles', CONFIG_CASES,
                         ids=[c[2][0] for c in CONFIG_CASES])
def test_bad_config_dry_run(tmp_path, body, options, needles):
    if body.startswith('_base_'):
        path = tmp_path / 'bad.py'
        path.write_text(f"_base_ = [{QUICK!r}, 'no_such_base.py']\n")
    else:
        path = child(tmp_path, body)
    args = [path, '--dry-run', '--work-dir', tmp_path / 'w']
    if options:
        args += ['--cfg-options', *options]
    assert_user_error(run_tool('train.py', *args), *needles)


def test_debug_shows_traceback(tmp_path):
    proc = run_tool('train.py', QUICK, '--dry-run', '--debug', '--cfg-options',
                    'no_such_section.x=1')
    assert proc.returncode != 0 and 'Traceback' in proc.stderr
    assert 'ConfigError' in proc.stderr


def test_valid_new_loop_key_is_accepted(tmp_path):
    proc = run_tool('train.py', QUICK, '--dry-run', '--work-dir', tmp_path,
                    '--cfg-options', 'train_cfg.val_begin=2')
    assert proc.returncode == 0, proc.stderr[-2000:]


class _Evil:
    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        return (os.system, (f'touch {self.marker}',))


def test_bad_checkpoints_through_test_tool(tmp_path, toy_market):
    marker = tmp_path / 'PWNED'
    evil = tmp_path / 'evil.pth'
    with open(evil, 'wb') as f:
        pickle.dump({'state_dict': _Evil(marker)}, f, protocol=2)
    zero = tmp_path / 'zero.pth'
    zero.write_bytes(b'')
    rand = tmp_path / 'random.pth'
    rand.write_bytes(os.urandom(4096))
    good = tmp_path / 'good.pth'
    torch.save({'state_dict': {'backbone.foo': torch.zeros(2)}}, good)
    truncated = tmp_path / 'truncated.pth'
    truncated.write_bytes(good.read_bytes()[:300])
    opts = ['--cfg-options', f'data_root={toy_market}',
            'test_dataloader.num_workers=0',
            'test_dataloader.persistent_workers=False']
    env = {'TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD': '1'}
    for ckpt, words in [(evil, ['refused', 'posix.system']),
                        (zero, ['empty']), (rand, ['random.pth']),
                        (truncated, ['truncated.pth']),
                        (good, ['does not fit', 'backbone.foo',
                                'missing keys'])]:
        proc = run_tool('test.py', QUICK, ckpt, '--work-dir', tmp_path / 'w',
                        *opts, env=env)
        assert_user_error(proc, str(ckpt), *words)
    assert not marker.exists()
    # the same pickle through --resume of tools/train.py
    proc = run_tool('train.py', QUICK, '--resume', evil, '--stages', 'train',
                    '--work-dir', tmp_path / 'w2', '--cfg-options',
                    f'data_root={toy_market}', 'train_cfg.max_epochs=1',
                    'train_dataloader.num_workers=0',
                    'train_dataloader.persistent_workers=False',
                    'train_dataloader.batch_size=4',
                    'train_dataloader.sampler.batch_size=4',
                    'train_dataloader.sampler.num_instances=2', env=env)
    assert_user_error(proc, str(evil), 'refused')
    assert not marker.exists()


def test_misspelled_component_argument(tmp_path, toy_market):
    cfg = child(tmp_path, 'model = dict(head=dict(lossses=[]))')
    ckpt = tmp_path / 'any.pth'
    torch.save({'state_dict': {}}, ckpt)
    proc = run_tool('test.py', cfg, ckpt, '--work-dir', tmp_path / 'w',
                    '--cfg-options', f'data_root={toy_market}',
                    'test_dataloader.num_workers=0',
                    'test_dataloader.persistent_workers=False')
    assert_user_error(proc, "'lossses'", "'losses'")


@pytest.mark.parametrize('knob,words', [
    ('identity_spread=lots', ['identity_spread', 'a number', "'lots'"]),
    ('lots=1', ["'lots'", 'identity_spread']),
])
def test_bad_toy_knob(tmp_path, knob, words):
    proc = run_tool('make_toy_data.py', 'market1501', tmp_path / 'o',
                    '--knob', knob)
    assert_user_error(proc, *words)


def test_too_few_identities_for_one_batch_is_a_user_error(tmp_path):
    """A P x K batch needs more identities than the training set has: one
    message with the sizes, exit 2, no traceback."""
    import subprocess
    import sys
    root = osp.dirname(osp.dirname(osp.abspath(__file__)))
    data = tmp_path / 'tiny'
    subprocess.run([sys.executable, osp.join(root, 'tools', 'make_toy_data.py'),
                    'market1501', str(data), '--ids', '8', '--seed', '0',
                    '--size', '32x16', '--workers', '1'], check=True,
                   capture_output=True, timeout=300)
    out = subprocess.run(
        [sys.executable, 'tools/train.py',
         'configs/quickstart/toy_market_bot_r18.py', '--work-dir',
         str(tmp_path / 'w'), '--cfg-options', f'data_root={data}',
         'train_dataloader.num_workers=0',
         'train_dataloader.persistent_workers=False'],
        cwd=root, capture_output=True, text=True, timeout=600)
    assert out.returncode == 2, out.stderr[-2000:]
    assert 'identities, fewer than the 8 identities per batch' in out.stderr
    assert 'Traceback' not in out.stderr


# ------------------------------------------------------------ image files
TINY_TRAIN = ['train_cfg.max_epochs=1', 'train_cfg.val_begin=2',
              'train_dataloader.batch_size=4',
              'train_dataloader.sampler.batch_size=4',
              'train_dataloader.sampler.num_instances=2']


def _broken_copy(toy_market, dest):
    """A copy of the toy Market whose first two train images are a zero-byte
    and a truncated JPEG; returns (root, [their paths])."""
    import shutil
    shutil.copytree(toy_market, dest)
    train = sorted((dest / 'bounding_box_train').iterdir())
    train[0].write_bytes(b'')
    train[1].write_bytes(train[1].read_bytes()[:300])
    return dest, [str(train[0]), str(train[1])]


def test_bad_image_stops_train_naming_it(tmp_path, toy_market):
    # a data_root with a space: kept intact through --cfg-options
    root, bad = _broken_copy(toy_market, tmp_path / 'my data')
    proc = run_tool('train.py', QUICK, '--stages', 'train', '--work-dir',
                    tmp_path / 'w', '--cfg-options', f'data_root={root}',
                    'train_dataloader.num_workers=0',
                    'train_dataloader.persistent_workers=False', *TINY_TRAIN)
    assert_user_error(proc, f'bad image {bad[0]}: the file is empty',
                      '(and 1 more)', "on_bad_image='skip'")


def test_bad_image_at_first_read_with_two_workers(tmp_path, toy_market):
    """With the build-time check off, the first read finds it: one message
    from the worker's error, not its traceback."""
    root, bad = _broken_copy(toy_market, tmp_path / 'm')
    proc = run_tool('train.py', QUICK, '--stages', 'train', '--work-dir',
                    tmp_path / 'w', '--cfg-options', f'data_root={root}',
                    'dataset_args.check_images=False',
                    'train_dataloader.num_workers=2', *TINY_TRAIN)
    line = assert_user_error(proc, 'cannot read image')
    assert bad[0] in line or bad[1] in line, line


def test_skip_bad_images_and_warn_degenerate_once(tmp_path, toy_market):
    from PIL import Image
    root, bad = _broken_copy(toy_market, tmp_path / 'm')
    train = sorted((root / 'bounding_box_train').iterdir())
    Image.new('RGB', (1, 1)).save(train[2], 'JPEG')
    Image.new('RGB', (10, 4000)).save(train[3], 'JPEG')
    proc = run_tool('train.py', QUICK, '--stages', 'train', '--work-dir',
                    tmp_path / 'w', '--cfg-options', f'data_root={root}',
                    'dataset_args.on_bad_image=skip',
                    'train_dataloader.num_workers=0',
                    'train_dataloader.persistent_workers=False', *TINY_TRAIN)
    assert proc.returncode == 0, proc.stderr[-2000:]
    out = proc.stdout + proc.stderr
    skipped = [ln for ln in out.splitlines() if 'skipped 2 bad image(s)' in ln]
    assert len(skipped) == 1 and all(b in skipped[0] for b in bad), out[-3000:]
    odd = [ln for ln in out.splitlines() if 'of degenerate size' in ln]
    assert len(odd) == 1 and '(train): 2 image(s)' in odd[0], odd
    assert '(1x1)' in odd[0] and '(10x4000)' in odd[0]
    assert (tmp_path / 'w' / 'epoch_1.pth').exists()


# ------------------------------------------------------- --cfg-options
def test_cfg_options_keep_spaces():
    import argparse
    from reidkit.utils.config import DictAction
    parser = argparse.ArgumentParser()
    parser.add_argument('--cfg-options', nargs='+', action=DictAction)
    opts = parser.parse_args(['--cfg-options', 'data_root=my data',
                              'a=[1, 2]', 'b=(x y, [3,4])', 'c=True',
                              'd=None', 'e=0.5', 'f=a,b', 'g="1, 2"'])
    assert opts.cfg_options == {
        'data_root': 'my data', 'a': [1, 2], 'b': ('x y', [3, 4]),
        'c': True, 'd': None, 'e': 0.5, 'f': ['a', 'b'], 'g': '1, 2'}


def test_missing_data_root_with_a_space_is_named(tmp_path):
    proc = run_tool('train.py', QUICK, '--stages', 'train', '--work-dir',
                    tmp_path / 'w', '--cfg-options', 'data_root=my data')
    assert_user_error(proc, repr(osp.join(ROOT, 'my data')), 'does not exist')
