"""CALModel's two optimisers under DDP: two CPU processes (gloo) with torchrun.

Run as a module (``torchrun -m tests.engine.test_ddp_cal OUT``) this file is
the worker of :func:`test_cal_gradients_are_averaged_over_ranks`.
"""
import copy
import math
import os.path as osp
import sys
import textwrap

import torch

from .conftest import REPO, run_tool

CAL_TOY = osp.join(REPO, 'configs', 'cal', 'toy_prcc_cal.py')

PROBE_HOOK = '''
import os.path as osp

import torch
from mmengine.hooks import Hook

from reidkit.registry import HOOKS


@HOOKS.register_module()
class DDPCalProbeHook(Hook):
    """Saves this rank's parameters, losses and set-up after training."""

    def before_train(self, runner):
        clothes = runner.model.module.clothes_classifier
        self.init = {k: v.detach().clone()
                     for k, v in clothes.state_dict().items()}
        self.logs = []

    def after_train_iter(self, runner, batch_idx, data_batch=None,
                         outputs=None):
        self.logs.append({k: float(v) for k, v in outputs.items()})

    def after_train(self, runner):
        torch.save(dict(
            init_clothes=self.init, logs=self.logs,
            params={n: p.detach().clone()
                    for n, p in runner.model.module.named_parameters()},
            wrapper=type(runner.model).__name__,
            optim_wrapper=type(runner.optim_wrapper).__name__),
            osp.join(runner.work_dir, f'rank{runner.rank}.pt'))
'''



def free_port():
    """A port nobody listens on now (fixed ports clash on a shared machine)."""
    import socket
    with socket.socket() as s:
        s.bind(('127.0.0.1', 0))
        return s.getsockname()[1]

def _torchrun(args, port, env_extra=None):
    return run_tool(['-m', 'torch.distributed.run', '--nproc_per_node=2',
                     f'--master_port={free_port()}', *args], env_extra=env_extra,
                    timeout=300)


def _assert_same_params(a, b):
    assert a.keys() == b.keys()
    for name in a:
        assert torch.equal(a[name], b[name]), f'{name} differs across ranks'


# ------------------------------------------------------------ end to end
def test_cal_two_optimisers_train_with_torchrun(tmp_path):
    """tools/train.py, toy PRCC, CAL from epoch 0, 2 ranks: both optimisers
    step and both parameter sets stay identical across ranks."""
    from synthgen.toyworld import make_dataset
    root = tmp_path / 'prcc'
    make_dataset('prcc', str(root), num_ids=8, seed=0, size=(64, 32),
                 workers=1)
    (tmp_path / 'ddp_cal_probe.py').write_text(PROBE_HOOK)
    cfg = tmp_path / 'cfg.py'
    cfg.write_text(textwrap.dedent(f'''
        _base_ = [{CAL_TOY!r}]
        data_root = {str(root)!r}
        custom_imports = dict(imports=['ddp_cal_probe'],
                              allow_failed_imports=False)
        model = dict(clothes_classifier=dict(
            start_epoch=0, adv_loss=dict(start_epoch=0)))
        train_dataloader = dict(
            batch_size=8, sampler=dict(batch_size=8, num_instances=4),
            dataset=dict(data_root=data_root))
        val_dataloader = dict(dataset=dict(data_root=data_root))
        test_dataloader = val_dataloader
        train_cfg = dict(max_epochs=1)
        custom_hooks = [dict(type='EpochToModelHook'),
                        dict(type='DDPCalProbeHook')]
        default_hooks = dict(logger=dict(interval=1),
                             checkpoint=dict(interval=1, save_last=True))
    '''))
    work = tmp_path / 'work'
    out = _torchrun(['tools/train.py', str(cfg), '--launcher', 'pytorch',
                     '--work-dir', str(work), '--no-test'], port=29541,
                    env_extra={'PYTHONPATH': str(tmp_path)})
    log = out.stdout + out.stderr
    assert out.returncode == 0, log[-4000:]
    r0, r1 = (torch.load(work / f'rank{r}.pt') for r in (0, 1))
    assert r0['wrapper'] == 'ReIDDistributedDataParallel'
    assert r0['optim_wrapper'] == 'OptimWrapperDict'
    assert (work / 'epoch_1.pth').is_file()
    _assert_same_params(r0['params'], r1['params'])  # both parameter sets
    clothes_w = r0['params']['clothes_classifier.classifier.weight']
    assert not torch.equal(clothes_w,
                           r0['init_clothes']['classifier.weight'])
    assert len(r0['logs']) >= 2 and len(r0['logs']) == len(r1['logs'])
    for logs in r0['logs'] + r1['logs']:
        assert {'loss_ce', 'loss_cal', 'loss_clothes'} <= set(logs)
        assert all(math.isfinite(v) for v in logs.values()), logs


# ------------------------------------------------- gradient averaging
STEPS = 3


def _tiny_cal_model():
    from reidkit.models import CALModel
    model = CALModel(
        backbone=dict(type='TimmBackbone', model_name='resnet18',
                      last_stride=1),
        neck=dict(type='MaxAvgPool', in_channels=512),
        head=dict(type='BNNeckHead', in_channels=1024, num_classes=4,
                  bnneck_bias_frozen=False,
                  classifier=dict(type='LinearClassifier', bias=True),
                  losses=[dict(type='CrossEntropyLoss', label_smoothing=0.1)]),
        clothes_classifier=dict(
            type='ClothesClassifierHead', in_channels=1024, num_clothes=8,
            start_epoch=0,
            adv_loss=dict(type='ClothesAdversarialLoss', start_epoch=0)))
    model.set_epoch(0)
    return model.train()


def _sgd_wrappers(model, clothes_lr=0.1):
    """Plain SGD: one step moves a parameter by exactly ``-lr * grad``."""
    from mmengine.optim import build_optim_wrapper
    return build_optim_wrapper(model, dict(
        constructor='ReIDOptimWrapperConstructor',
        model=dict(type='OptimWrapper', optimizer=dict(type='SGD', lr=0.1)),
        clothes_classifier=dict(type='OptimWrapper',
                                optimizer=dict(type='SGD', lr=clothes_lr))))


def _batch(rank, step, n=8):
    """Rank ``rank``'s batch at ``step``: own images, shared labels."""
    g = torch.Generator().manual_seed(1000 * step + rank)
    inputs = [torch.randint(0, 256, (3, 32, 16), dtype=torch.uint8,
                            generator=g) for _ in range(n)]
    samples = [dict(pid=i % 4, camid=i % 3,
                    clothes_id=2 * (i % 4) + (i // 4) % 2)
               for i in range(n)]
    return dict(inputs=inputs, data_samples=samples)


def _worker(out_dir):
    """One rank: DDP-wrap a tiny CAL model and train ``STEPS`` steps."""
    import torch.distributed as torch_dist
    from mmengine.registry import init_default_scope

    from reidkit.engine import ReIDDistributedDataParallel
    init_default_scope('reidkit')
    torch_dist.init_process_group('gloo')
    rank = torch_dist.get_rank()
    torch.manual_seed(rank)  # different weights: DDP must broadcast rank 0's
    model = _tiny_cal_model()
    ddp = ReIDDistributedDataParallel(model)
    init = copy.deepcopy(model.state_dict())
    wrappers = _sgd_wrappers(ddp)
    states, logs = [], []
    for step in range(STEPS):
        out = ddp.train_step(_batch(rank, step), wrappers)
        logs.append({k: v.item() for k, v in out.items()})
        states.append({n: p.detach().clone()
                       for n, p in model.named_parameters()})
    # one optimiser for everything (CAL's losses summed): the clothes
    # classifier, outside DDP's reducer, must still be averaged
    from mmengine.optim import OptimWrapper
    single = _tiny_cal_model()
    single_ddp = ReIDDistributedDataParallel(single)
    single_init = copy.deepcopy(single.state_dict())
    single_ddp.train_step(_batch(rank, 0), OptimWrapper(
        torch.optim.SGD(single.parameters(), lr=0.1)))
    torch.save(dict(init=init, first=states[0], last=states[-1], logs=logs,
                    single_init=single_init,
                    single={n: p.detach().clone()
                            for n, p in single.named_parameters()}),
               osp.join(out_dir, f'rank{rank}.pt'))
    torch_dist.destroy_process_group()


def _mean_after_one_step(init, clothes_state=None, clothes_lr=0.1):
    """Mean over the two ranks' batches of the parameters after one
    single-process ``train_step`` from ``init`` (= one step on the mean of
    the two gradients, with SGD)."""
    from mmengine.registry import init_default_scope
    init_default_scope('reidkit')
    total = None
    for rank in (0, 1):
        model = _tiny_cal_model()
        model.load_state_dict(init)
        if clothes_state is not None:
            model.clothes_classifier.load_state_dict(clothes_state)
        model.train_step(_batch(rank, 0), _sgd_wrappers(model, clothes_lr))
        params = {n: p.detach() for n, p in model.named_parameters()}
        total = params if total is None else \
            {n: total[n] + params[n] for n in total}
    return {n: v / 2 for n, v in total.items()}


def test_cal_gradients_are_averaged_over_ranks(tmp_path):
    """Each parameter set moves by the mean of the two ranks' gradients."""
    out = _torchrun(['-m', 'tests.engine.test_ddp_cal', str(tmp_path)],
                    port=29542)
    assert out.returncode == 0, (out.stdout + out.stderr)[-4000:]
    r0, r1 = (torch.load(tmp_path / f'rank{r}.pt') for r in (0, 1))
    _assert_same_params(r0['init'], r1['init'])  # broadcast at wrap time
    _assert_same_params(r0['first'], r1['first'])
    _assert_same_params(r0['last'], r1['last'])
    for logs in r0['logs'] + r1['logs']:
        assert {'loss_ce', 'loss_cal', 'loss_clothes'} <= set(logs)
        assert all(math.isfinite(v) for v in logs.values()), logs
    _assert_same_params(r0['single'], r1['single'])  # one OptimWrapper
    w = 'clothes_classifier.classifier.weight'
    assert not torch.equal(r0['single'][w], r0['single_init'][w])
    ddp = r0['first']
    cc = [n for n in ddp if n.startswith('clothes_classifier.')]
    main = [n for n in ddp if n not in cc]
    assert cc and main
    assert not torch.equal(ddp[cc[0]], r0['init'][cc[0]])
    # 1) clothes classifier: one step on the mean of both ranks' gradients
    expected = _mean_after_one_step(r0['init'])
    for n in cc:
        torch.testing.assert_close(ddp[n], expected[n], rtol=1e-4,
                                   atol=1e-6, msg=n)
    # 2) the main model, with the adversarial loss on the updated (averaged)
    # clothes classifier, which the reference then keeps (lr 0)
    prefix = 'clothes_classifier.'
    clothes_state = {k[len(prefix):]: v for k, v in r0['init'].items()
                     if k.startswith(prefix)}
    clothes_state.update({n[len(prefix):]: ddp[n] for n in cc})
    expected = _mean_after_one_step(r0['init'], clothes_state, clothes_lr=0.0)
    for n in main:
        torch.testing.assert_close(ddp[n], expected[n], rtol=1e-4,
                                   atol=1e-6, msg=n)


def test_wrapper_refuses_ignored_parameters_nobody_averages():
    """A module that keeps parameters out of DDP's reducer must own a step
    that takes the wrapper (and averages them); checked before DDP starts,
    so no process group is needed."""
    import pytest
    from torch import nn

    from reidkit.engine import ReIDDistributedDataParallel

    class Plain(nn.Module):
        def __init__(self):
            super().__init__()
            self.fc = nn.Linear(2, 2)

        def ddp_ignored_parameters(self):
            return ['fc.weight']

        def train_step(self, data, optim_wrapper):
            return {}

    with pytest.raises(TypeError, match='Plain.*model_wrapper'):
        ReIDDistributedDataParallel(Plain())


if __name__ == '__main__':
    sys.path.insert(0, REPO)
    _worker(sys.argv[1])
