"""Helpers for dataset configs."""
from __future__ import annotations

from typing import Any, Optional

DATALOADER_KEYS = ('train_dataloader', 'val_dataloader', 'test_dataloader')


def set_data_root(cfg: Any, data_root: str,
                  old_root: Optional[str] = None) -> int:
    """Point the datasets of a config at another ``data_root``.

    Python configs resolve ``data_root`` when they are read, so overriding
    the top-level variable alone (``--cfg-options data_root=...``) does not
    reach the dataloaders. This replaces every ``data_root`` inside the
    train/val/test dataloaders that equals ``old_root`` (default: the
    config's current ``data_root``) and sets ``cfg.data_root``. Datasets
    with another root (e.g. a synthetic set mixed in) are left alone.

    Args:
        cfg: an mmengine ``Config`` (or dict).
        data_root (str): the new root.
        old_root (str, optional): the root to replace.

    Returns:
        int: how many dataset entries were changed.

    Example:
        >>> cfg = Config.fromfile('configs/_base_/datasets/market1501.py')
        >>> set_data_root(cfg, '/data/Market-1501-v15.09.15')  # train, val, test
        3
    """
    old = old_root if old_root is not None else cfg.get('data_root')
    changed = 0

    def visit(node):
        nonlocal changed
        if isinstance(node, dict):
            if 'data_root' in node and node['data_root'] == old:
                node['data_root'] = data_root
                changed += 1
            for v in node.values():
                visit(v)
        elif isinstance(node, (list, tuple)):
            for v in node:
                visit(v)

    seen = set()
    for key in DATALOADER_KEYS:
        node = cfg.get(key)
        if node is not None and id(node) not in seen:
            seen.add(id(node))
            visit(node)
    cfg['data_root'] = data_root
    return changed
