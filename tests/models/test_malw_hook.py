"""MALWHook against a literal transcription of Algorithm 1 (strong vehicle
baseline), with the convex momentum update of the authors' code."""
import statistics
from types import SimpleNamespace

import pytest
import torch
from mmengine.logging import MessageHub
from torch import nn

from reidkit.hooks import MALWHook, malw_update
from reidkit.models.losses import CrossEntropyLoss, SupConLoss
from reidkit.registry import HOOKS


class FakeModel(nn.Module):
    def __init__(self):
        super().__init__()
        self.ce, self.supcon = CrossEntropyLoss(), SupConLoss()

    def loss_modules(self):
        return {'loss_ce': self.ce, 'loss_supcon': self.supcon}

    def loss_weights(self):
        return {k: m.loss_weight for k, m in self.loss_modules().items()}

    def set_loss_weight(self, name, w):
        self.loss_modules()[name].loss_weight = w


def algorithm_1(raw_id, raw_metric, k, alpha):
    """Algorithm 1, line by line (line 13 as lambda = a*lambda + (1-a)*new)."""
    lam_id, lam_metric = 1.0, 1.0                       # line 2
    s_id, s_metric = [], []                             # line 3
    history = []
    for i in range(len(raw_id)):                        # line 4
        l_id, l_metric = raw_id[i], raw_metric[i]       # line 5
        l_id, l_metric = lam_id * l_id, lam_metric * l_metric  # line 6
        s_id.append(l_id)                               # line 7
        s_metric.append(l_metric)
        if i % k == 0:                                  # line 8
            id_std = statistics.pstdev(s_id)            # line 9
            metric_std = statistics.pstdev(s_metric)
            s_id, s_metric = [], []                     # line 10
            if id_std > metric_std:                     # line 11
                new = 1 - (id_std - metric_std) / id_std  # line 12
                lam_id = alpha * lam_id + (1 - alpha) * new  # line 13
        history.append((lam_id, lam_metric))
    return history


def _run(hook, model, raw_id, raw_metric):
    runner = SimpleNamespace(model=model, iter=0,
                             message_hub=MessageHub.get_instance('malw'))
    hook.before_train(runner)
    history = []
    for i, (a, b) in enumerate(zip(raw_id, raw_metric)):
        runner.iter = i
        w = model.loss_weights()
        outputs = {'loss': torch.tensor(0.0),
                   'loss_ce': torch.tensor(w['loss_ce'] * a),
                   'loss_supcon': torch.tensor(w['loss_supcon'] * b)}
        hook.after_train_iter(runner, i, None, outputs)
        w = model.loss_weights()
        history.append((w['loss_ce'], w['loss_supcon']))
    return history, runner


def test_hook_matches_algorithm_1():
    g = torch.Generator().manual_seed(0)
    n = 37
    raw_id = (6.0 - torch.linspace(0, 3, n)
              + torch.randn(n, generator=g)).tolist()
    raw_metric = (1.0 + 0.1 * torch.randn(n, generator=g)).tolist()
    hook = HOOKS.build(dict(type='MALWHook', interval=5, momentum=0.9))
    ours, runner = _run(hook, FakeModel(), raw_id, raw_metric)
    ref = algorithm_1(raw_id, raw_metric, k=5, alpha=0.9)
    assert len({w for w, _ in ref}) > 3  # the weight really moved
    for (a, b), (c, d) in zip(ours, ref):
        assert a == pytest.approx(c, rel=1e-6) and b == d == 1.0
    logged = runner.message_hub.get_scalar('train/weight_loss_ce')
    assert logged.current() == pytest.approx(ref[-1][0], rel=1e-6)


def test_weight_unchanged_when_metric_varies_more():
    assert malw_update(0.7, [1.0, 1.0, 1.0], [0.0, 2.0, 4.0]) == 0.7
    # std_id = 2, std_metric = 1: new = 0.5 -> 0.9 * 1 + 0.1 * 0.5
    assert malw_update(1.0, [0, 4, 2, 6], [0, 2, 1, 3]) == pytest.approx(
        0.95)


def test_checkpoint_roundtrip_and_bad_names():
    hook = MALWHook(interval=2)
    hook.w_id, hook.id_record, hook.metric_record = 0.8, [1.0], [2.0]
    ckpt = {}
    hook.before_save_checkpoint(None, ckpt)
    other = MALWHook(interval=2)
    other.after_load_checkpoint(None, ckpt)
    assert (other.w_id, other.id_record) == (0.8, [1.0])
    bad = MALWHook(id_losses=['loss_id'])
    runner = SimpleNamespace(model=FakeModel())
    with pytest.raises(KeyError, match='loss_id'):
        bad.before_train(runner)
    with pytest.raises(ValueError, match='interval'):
        MALWHook(interval=0)
