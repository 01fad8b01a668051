"""mmengine's Visualizer with backends named by a word, and optional extras checked.

``configs/_base_/default_runtime.py`` builds ``ReIDVisualizer`` with
``vis_backends=['local']``. A string is easier to switch than mmengine's
list of dicts, which ``--cfg-options`` cannot express::

    --cfg-options "visualizer.vis_backends=[local,tensorboard]"

TensorBoard and Weights & Biases are optional extras of the package
(``pip install -e ".[tensorboard]"``, ``".[wandb]"``); a backend whose
package is missing stops when the visualizer is built, with the extra to
install, instead of at the first logged scalar.
"""
from __future__ import annotations

import copy
import importlib.util
from typing import List, Optional, Sequence, Union

from mmengine.visualization import Visualizer

from ..registry import VISUALIZERS

# short name -> mmengine backend type
BACKEND_ALIASES = {
    'local': 'LocalVisBackend',
    'tensorboard': 'TensorboardVisBackend',
    'wandb': 'WandbVisBackend',
}
# backend type -> (module it imports, the extra of setup.cfg that installs it)
BACKEND_EXTRAS = {
    'TensorboardVisBackend': ('tensorboard', 'tensorboard'),
    'WandbVisBackend': ('wandb', 'wandb'),
}


class MissingExtraError(ImportError):
    """A configured visualizer backend needs an optional extra that is missing."""


def backend_configs(vis_backends: Union[None, str, dict, Sequence[Union[str, dict]]]
                    ) -> Optional[List[dict]]:
    """mmengine backend dicts from names (``'tensorboard'``), type names
    (``'TensorboardVisBackend'``) or dicts (used as they are).

    Raises:
        MissingExtraError: a backend's package is not installed.
    """
    if vis_backends is None:
        return None
    if isinstance(vis_backends, (str, dict)):
        vis_backends = [vis_backends]
    configs = []
    for backend in vis_backends:
        if isinstance(backend, str):
            backend = dict(type=BACKEND_ALIASES.get(backend, backend))
        else:
            backend = copy.deepcopy(dict(backend))
        module, extra = BACKEND_EXTRAS.get(backend.get('type'), (None, None))
        if module and importlib.util.find_spec(module) is None:
            raise MissingExtraError(
                f"visualizer backend {backend['type']} needs the '{module}' "
                f'package: pip install -e ".[{extra}]" (or pip install '
                f'{module}), or drop it from visualizer.vis_backends')
        configs.append(backend)
    return configs


@VISUALIZERS.register_module()
class ReIDVisualizer(Visualizer):
    """mmengine ``Visualizer`` whose ``vis_backends`` may be given by name.

    Args:
        name (str): the instance name (the Runner passes the experiment name).
        vis_backends (str | dict | list, optional): backends, each a short
            name (``'local'``, ``'tensorboard'``, ``'wandb'``), an mmengine
            backend type name or a backend dict such as
            ``dict(type='WandbVisBackend', init_kwargs=dict(project='reid'))``.
        **kwargs: the other arguments of mmengine's ``Visualizer``
            (``save_dir``, ...).

    Example:
        >>> vis = ReIDVisualizer(name='demo', save_dir='work_dirs/demo',
        ...                      vis_backends=['local', 'tensorboard'])
        >>> vis.add_scalars({'loss': 1.0}, step=1)
    """

    def __init__(self, name: str = 'visualizer',
                 vis_backends: Union[None, str, dict,
                                     Sequence[Union[str, dict]]] = None,
                 **kwargs) -> None:
        super().__init__(name=name, vis_backends=backend_configs(vis_backends),
                         **kwargs)
