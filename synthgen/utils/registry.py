"""A registry that also searches its child registries and explains misses.

mmengine's ``Registry.get`` looks in the registry itself and its ancestors. Our
LOSSES and HEADS registries are children of reidkit's MODELS, so a config that
builds a head through MODELS (as mmengine's scope switching does) must also find
names registered in the children. When a name is found nowhere, installed
plugins (the ``reidkit.plugins`` entry-point group) are imported once and the
lookup is retried; if it still fails, the error names the registry and the
closest registered names instead of mmengine's generic message.
"""
from __future__ import annotations

import difflib
from typing import Any, Optional

from mmengine.registry import Registry as _MMRegistry

from .plugins import import_plugins


class UnknownTypeError(KeyError):
    """Raised when a config names a ``type`` that no registry holds."""

    def __str__(self) -> str:  # KeyError quotes its message; keep it readable
        return str(self.args[0]) if self.args else ''


class Registry(_MMRegistry):
    """mmengine ``Registry`` that finds names in child registries too.

    Args:
        name (str): Registry name, shown in error messages.
        build_func, parent, scope, locations: as in ``mmengine.registry.Registry``.

    Example:
        >>> LOSSES = Registry('loss', parent=MODELS, scope='reidkit_losses')
        >>> @LOSSES.register_module()
        ... class MyLoss(torch.nn.Module): ...
        >>> MODELS.get('MyLoss') is MyLoss  # found through the child
        True
    """

    def _get_quiet(self, key: str) -> Optional[type]:
        obj = super().get(key)
        if obj is None and '.' not in key:
            for child in self._children.values():
                getter = getattr(child, '_get_quiet', child.get)
                obj = getter(key)
                if obj is not None:
                    break
        return obj

    def get(self, key: Any) -> Any:
        if not isinstance(key, str):
            return super().get(key)
        obj = self._get_quiet(key)
        if obj is None and import_plugins():
            obj = self._get_quiet(key)
        if obj is None:
            raise UnknownTypeError(self._unknown_message(key))
        return obj

    def __contains__(self, key: Any) -> bool:
        return isinstance(key, str) and self._get_quiet(key) is not None

    def all_names(self) -> list:
        """Names registered here, in child registries and in ancestors."""
        names = set(self._module_dict)
        for child in self._children.values():
            names.update(child.all_names() if hasattr(child, 'all_names')
                         else child._module_dict)
        parent = self.parent
        while parent is not None:
            names.update(parent._module_dict)
            parent = parent.parent
        return sorted(names)

    def _unknown_message(self, key: str) -> str:
        self.import_from_location()
        names = self.all_names()
        short = key.split('.', 1)[-1]
        close = difflib.get_close_matches(short, names, n=5, cutoff=0.5)
        hint = (f' Closest registered names: {", ".join(close)}.' if close
                else f' Registered names: {", ".join(names[:30])}'
                + (' ...' if len(names) > 30 else '') + '.')
        return (f"'{key}' is not registered in the {self.scope}::{self.name} "
                f'registry.{hint} If it comes from your own package, add it to '
                "the config's custom_imports or declare it in the "
                "'reidkit.plugins' entry-point group.")


#: mmengine roots that the Runner builds from by the default scope
_RUNNER_ROOTS = ('EVALUATOR', 'FUNCTIONS', 'INFERENCERS', 'LOG_PROCESSORS',
                 'LOOPS', 'OPTIMIZERS', 'OPTIM_WRAPPERS',
                 'OPTIM_WRAPPER_CONSTRUCTORS', 'PARAM_SCHEDULERS', 'RUNNERS',
                 'RUNNER_CONSTRUCTORS', 'STRATEGIES', 'TASK_UTILS',
                 'VISBACKENDS', 'VISUALIZERS', 'WEIGHT_INITIALIZERS',
                 'DATASETS', 'DATA_SAMPLERS', 'HOOKS', 'METRICS', 'MODELS',
                 'MODEL_WRAPPERS', 'TRANSFORMS')


def add_scope_children(scope: str) -> dict:
    """Give every mmengine root registry a child of ``scope``.

    mmengine resolves a config's ``type`` in the child of the default scope
    and warns ("Failed to search registry with scope ...") for every root
    that has none, as OpenMMLab packages avoid by declaring a child of each
    root. Roots that already have a ``scope`` child keep it.

    Args:
        scope (str): the package's scope ('reidkit', 'synthgen').

    Returns:
        dict: root name -> the child registry.

    Example:
        >>> add_scope_children('reidkit')['LOOPS'].scope
        'reidkit'
    """
    import mmengine.registry as roots
    made = {}
    for name in _RUNNER_ROOTS:
        root = getattr(roots, name)
        child = root._children.get(scope)
        if child is None:
            child = Registry(root.name, parent=root, scope=scope)
        made[name] = child
    return made
