"""Training hooks of the strong vehicle recipe."""
from __future__ import annotations

from mmengine.hooks import Hook
from mmengine.model import is_model_wrapper

from reidkit.registry import HOOKS


@HOOKS.register_module()
class FreezeBackboneHook(Hook):
    """Train only the neck and head for the first ``epochs`` epochs.

    During those epochs the backbone's parameters get ``requires_grad =
    False`` and the backbone runs in eval mode (frozen BatchNorm
    statistics), as the authors' ``frozen_feature_layers``; afterwards
    everything trains. Set again before every iteration, because the train
    loop calls ``model.train()`` after the epoch hooks. Parameters frozen
    by other means stay frozen. Under DDP use
    ``model_wrapper_cfg=dict(find_unused_parameters=True)``.

    Args:
        epochs (int): frozen epochs. Defaults to 1 (the paper: "we first
            frozen the backbone and train multi heads for 1 epoch").
        module (str): the frozen submodule. Defaults to ``'backbone'``.

    Example:
        >>> custom_hooks = [dict(type='FreezeBackboneHook', epochs=1)]
    """

    priority = 'HIGH'

    def __init__(self, epochs: int = 1, module: str = 'backbone') -> None:
        if epochs < 0:
            raise ValueError(f'FreezeBackboneHook: epochs must be >= 0, got '
                             f'{epochs}')
        self.epochs, self.module = epochs, module
        self._frozen = None
        self._trainable = None  # parameters that trained before freezing

    def _target(self, runner):
        model = runner.model.module if is_model_wrapper(runner.model) \
            else runner.model
        if not hasattr(model, self.module):
            raise AttributeError(f'FreezeBackboneHook: the model has no '
                                 f'{self.module!r}')
        return getattr(model, self.module)

    def before_train_iter(self, runner, batch_idx: int,
                          data_batch=None) -> None:
        frozen = runner.epoch < self.epochs
        target = self._target(runner)
        if frozen:
            target.eval()
        if frozen != self._frozen:
            if self._trainable is None:
                self._trainable = [p for p in target.parameters()
                                   if p.requires_grad]
            for p in self._trainable:
                p.requires_grad_(not frozen)
            self._frozen = frozen
