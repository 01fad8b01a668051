"""Momentum adaptive loss weight (MALW) of the strong vehicle baseline."""
from __future__ import annotations

from typing import Dict, List, Optional, Sequence

import numpy as np
import torch
from mmengine.dist import all_reduce
from mmengine.hooks import Hook
from mmengine.model import is_model_wrapper

from reidkit.registry import HOOKS


def malw_update(w_id: float, id_values: Sequence[float],
                metric_values: Sequence[float], momentum: float = 0.9
                ) -> float:
    """One MALW step: the new ID-loss weight from the recorded losses.

    ``if std(S_id) > std(S_metric): w_id = m * w_id + (1 - m) *
    (1 - (std_id - std_metric) / std_id)`` (population std). The paper's
    Algorithm 1 prints ``alpha * w + new``; the authors' public code
    (github.com/cybercore-co-ltd/track2_aicity_2021) uses the convex form
    above.
    """
    std_id = float(np.std(np.asarray(id_values, dtype=np.float64)))
    std_metric = float(np.std(np.asarray(metric_values, dtype=np.float64)))
    if std_id > std_metric:
        new = 1.0 - (std_id - std_metric) / std_id
        w_id = momentum * w_id + (1.0 - momentum) * new
    return w_id


@HOOKS.register_module()
class MALWHook(Hook):
    """Adapt the ID-loss weight every ``interval`` iterations (Algorithm 1).

    After every iteration the hook records the *weighted* ID and metric
    losses (Algorithm 1, line 6; several names per group are summed) from
    the train step's log dict; when ``iter % interval == 0`` it compares
    their standard deviations, updates the ID weight with
    :func:`malw_update` (the metric weight stays as configured, 1 in the
    paper) and empties the records. The new weight is written to the loss
    modules' ``loss_weight`` (``ReIDModel.set_loss_weight``), logged as
    ``train/weight_<loss name>`` every iteration, and stored in checkpoints.
    In distributed training the recorded values are averaged over ranks so
    every rank computes the same weight.

    Args:
        id_losses (sequence[str]): loss names of the ID group.
            Defaults to ``('loss_ce',)``.
        metric_losses (sequence[str]): loss names of the metric group.
            Defaults to ``('loss_supcon',)``.
        interval (int): ``K``. Defaults to 500.
        momentum (float): ``alpha``. Defaults to 0.9.

    Example:
        >>> custom_hooks = [dict(type='MALWHook', interval=500, momentum=0.9,
        ...                      id_losses=['loss_ce'],
        ...                      metric_losses=['loss_supcon'])]
    """

    # before LoggerHook (BELOW_NORMAL), so the logged weight is current
    priority = 'NORMAL'

    def __init__(self, id_losses: Sequence[str] = ('loss_ce',),
                 metric_losses: Sequence[str] = ('loss_supcon',),
                 interval: int = 500, momentum: float = 0.9) -> None:
        if interval < 1:
            raise ValueError(f'MALWHook: interval must be >= 1, got '
                             f'{interval}')
        self.id_losses = list(id_losses)
        self.metric_losses = list(metric_losses)
        self.interval = interval
        self.momentum = momentum
        self.id_record: List[float] = []
        self.metric_record: List[float] = []
        self.w_id: Optional[float] = None

    @staticmethod
    def _model(runner):
        model = runner.model
        return model.module if is_model_wrapper(model) else model

    def before_train(self, runner) -> None:
        model = self._model(runner)
        if not hasattr(model, 'loss_modules'):
            raise TypeError('MALWHook needs a model with loss_modules() '
                            '(reidkit ReIDModel)')
        names = model.loss_modules()
        for name in self.id_losses + self.metric_losses:
            if name not in names:
                raise KeyError(f'MALWHook: loss {name!r} not in the model; '
                               f'it has {sorted(names)}')
        if self.w_id is None:
            self.w_id = names[self.id_losses[0]].loss_weight
        self._apply(model)

    def _apply(self, model) -> None:
        for name in self.id_losses:
            model.set_loss_weight(name, self.w_id)

    def _log(self, runner) -> None:
        weights = self._model(runner).loss_weights()
        for name in self.id_losses + self.metric_losses:
            runner.message_hub.update_scalar(f'train/weight_{name}',
                                             weights[name])

    def after_train_iter(self, runner, batch_idx: int,
                         data_batch=None, outputs: Optional[Dict] = None
                         ) -> None:
        outputs = outputs or {}
        missing = [n for n in self.id_losses + self.metric_losses
                   if n not in outputs]
        if missing:
            raise KeyError(f'MALWHook: {missing} not in the train step '
                           f'outputs {sorted(outputs)}')
        def value(name):
            v = outputs[name]
            return float(v.detach()) if isinstance(v, torch.Tensor) \
                else float(v)

        pair = torch.tensor([sum(value(n) for n in self.id_losses),
                             sum(value(n) for n in self.metric_losses)],
                            dtype=torch.float64)
        all_reduce(pair, op='mean')
        self.id_record.append(float(pair[0]))
        self.metric_record.append(float(pair[1]))
        if runner.iter % self.interval == 0:
            self.w_id = malw_update(self.w_id, self.id_record,
                                    self.metric_record, self.momentum)
            self.id_record, self.metric_record = [], []
            self._apply(self._model(runner))
        self._log(runner)

    def before_save_checkpoint(self, runner, checkpoint: dict) -> None:
        checkpoint['malw'] = dict(w_id=self.w_id, id_record=self.id_record,
                                  metric_record=self.metric_record)

    def after_load_checkpoint(self, runner, checkpoint: dict) -> None:
        state = checkpoint.get('malw')
        if state:
            self.w_id = state['w_id']
            self.id_record = list(state['id_record'])
            self.metric_record = list(state['metric_record'])
