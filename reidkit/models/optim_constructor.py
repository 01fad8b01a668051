"""An optimiser constructor giving chosen submodules their own optimiser."""
from __future__ import annotations

import copy
from typing import Optional

from mmengine.model import is_model_wrapper
from mmengine.optim import DefaultOptimWrapperConstructor, OptimWrapperDict
from mmengine.registry import OPTIM_WRAPPER_CONSTRUCTORS
from torch import nn


@OPTIM_WRAPPER_CONSTRUCTORS.register_module()
class ReIDOptimWrapperConstructor:
    """Build an ``OptimWrapperDict``: one wrapper per named submodule, and
    ``'model'`` for every other parameter.

    Used by CAL: ``optim_wrapper=dict(
    constructor='ReIDOptimWrapperConstructor', model=dict(type='OptimWrapper', optimizer=dict(type='Adam', ...)),
    clothes_classifier=dict(type='OptimWrapper', optimizer=...))``; every key
    other than ``'model'`` must be an attribute of the model (a submodule).
    Each part is built by mmengine's ``DefaultOptimWrapperConstructor`` (so
    ``paramwise_cfg`` inside a part works, and ``type='AmpOptimWrapper'`` or
    ``accumulative_counts`` too).

    Args:
        optim_wrapper_cfg (dict): ``{name: optim wrapper config}``.
        paramwise_cfg (dict, optional): default paramwise config of parts.

    Example:
        >>> cfg = dict(model=dict(type='OptimWrapper',
        ...                       optimizer=dict(type='Adam', lr=3.5e-4)),
        ...            clothes_classifier=dict(type='OptimWrapper',
        ...                       optimizer=dict(type='Adam', lr=3.5e-4)))
        >>> wrappers = ReIDOptimWrapperConstructor(cfg)(model)
    """

    def __init__(self, optim_wrapper_cfg: dict,
                 paramwise_cfg: Optional[dict] = None) -> None:
        if 'model' not in optim_wrapper_cfg:
            raise KeyError("ReIDOptimWrapperConstructor: optim_wrapper needs "
                           "a 'model' entry (all parameters not given their "
                           'own optimiser)')
        # `_delete_` (config merging) and other private keys are not parts
        self.cfg = {k: v for k, v in copy.deepcopy(optim_wrapper_cfg).items()
                    if not k.startswith('_')}
        self.paramwise_cfg = paramwise_cfg

    def __call__(self, model: nn.Module) -> OptimWrapperDict:
        if is_model_wrapper(model):
            model = model.module
        wrappers, taken = {}, set()
        for name, cfg in self.cfg.items():
            if name == 'model':
                continue
            sub = getattr(model, name, None)
            if not isinstance(sub, nn.Module):
                raise KeyError(f"optim_wrapper key {name!r} is not a submodule"
                               f' of {type(model).__name__}')
            wrappers[name] = self._build(cfg, sub)
            taken.add(name)
        rest = nn.Module()
        for child_name, child in model.named_children():
            if child_name not in taken:
                rest.add_module(child_name, child)
        wrappers['model'] = self._build(self.cfg['model'], rest)
        return OptimWrapperDict(**wrappers)

    def _build(self, cfg, module):
        cfg = copy.deepcopy(cfg)
        paramwise = cfg.pop('paramwise_cfg', self.paramwise_cfg)
        return DefaultOptimWrapperConstructor(cfg, paramwise)(module)
