"""Helpers for model configs."""
from __future__ import annotations

from typing import Mapping

# config keys filled from the train set's metainfo when left as None
COUNT_KEYS = {'num_classes': 'num_pids', 'num_pids': 'num_pids',
              'num_clothes': 'num_clothes', 'num_cams': 'num_cams'}


def fill_num_classes(model_cfg: dict, metainfo: Mapping) -> dict:
    """Fill class counts left as ``None`` anywhere in a model config.

    Every ``num_classes``/``num_pids`` set to ``None`` (main head, auxiliary
    heads, a third-party loss with class centres ...) becomes
    ``metainfo['num_pids']``, every ``num_clothes`` becomes
    ``metainfo['num_clothes']`` and ``num_cams`` ``metainfo['num_cams']``.
    Values already set are kept. tools/train.py calls this with the training
    set's metainfo before building the model, so one model config serves
    every dataset.

    Args:
        model_cfg (dict): the ``model`` section (changed in place).
        metainfo (Mapping): the train dataset's metainfo.

    Returns:
        dict: the same (modified) config.

    Example:
        >>> cfg = dict(type='ReIDModel', head=dict(num_classes=None))
        >>> fill_num_classes(cfg, dict(num_pids=751))['head']['num_classes']
        751
    """
    def visit(node):
        if isinstance(node, dict):
            for key, value in node.items():
                if key in COUNT_KEYS and value is None:
                    meta_key = COUNT_KEYS[key]
                    if metainfo.get(meta_key) is None:
                        raise KeyError(
                            f'the model config leaves {key}=None but the train '
                            f'dataset metainfo has no {meta_key!r} to fill it')
                    node[key] = int(metainfo[meta_key])
                else:
                    visit(value)
        elif isinstance(node, (list, tuple)):
            for value in node:
                visit(value)

    visit(model_cfg)
    return model_cfg


def needs_dataset_counts(model_cfg: dict) -> bool:
    """True if :func:`fill_num_classes` has something to fill in ``model_cfg``."""
    if isinstance(model_cfg, dict):
        return any((k in COUNT_KEYS and v is None) or needs_dataset_counts(v)
                   for k, v in model_cfg.items())
    if isinstance(model_cfg, (list, tuple)):
        return any(needs_dataset_counts(v) for v in model_cfg)
    return False
