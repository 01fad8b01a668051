"""Reading an experiment config: inheritance, overrides, late references.

Python configs resolve their variables when a file is read, so a base that
writes ``dataset=dict(data_root=data_root)`` keeps *its* ``data_root`` even
when a child config (or ``--cfg-options data_root=X``) sets another one. Two
mechanisms, both applied here and nowhere else, fix that:

* **Late references.** A string ``'${name}'`` (or ``'${name}/sub'``,
  ``'${a.b}'``) is replaced by the value of the config key ``name`` *after*
  all ``_base_`` files are merged and ``--cfg-options`` are applied. A whole
  string ``'${name}'`` takes the value itself (a dict, a list, a number);
  inside a longer string it is formatted in. Bases write references, so a
  per-dataset config only sets ``data_root = 'data/x'``. ``${work_dir}`` is
  the run's work dir. A dict with ``_merge_='${name}'`` also takes the keys
  of the dict ``name`` that it does not set itself (extra arguments of a
  dataset class, say).
* **Overridden variables.** For configs that build paths in Python
  (``dlcr_root + '/masks'``), ``--cfg-options NAME=VALUE`` on a top-level
  string variable also rewrites every string equal to the old value or under
  it (``old + '/...'``).
"""
from __future__ import annotations

import copy
import difflib
import os.path as osp
import re
from typing import Any, Optional

from mmengine.config import Config, ConfigDict
from mmengine.config import DictAction as _MMDictAction

__all__ = ['ConfigReferenceError', 'DictAction', 'load_config', 'resolve_references',
           'substitute_variable', 'default_work_dir']

_REF = re.compile(r'\$\{([A-Za-z_][\w.]*)\}')


class ConfigReferenceError(KeyError):
    """A ``${name}`` reference names no key, or references form a cycle."""

    def __str__(self) -> str:
        return str(self.args[0]) if self.args else ''


class DictAction(_MMDictAction):
    """``--cfg-options KEY=VALUE ...``: mmengine's parsing, spaces kept.

    mmengine's ``DictAction`` deletes every space of a value, so
    ``data_root="my data"`` became ``'mydata'``. Here a value keeps its inner
    spaces; only the spaces around list/tuple elements (``[a, b]``) and
    around the whole value go. Lists, tuples, numbers, booleans and ``None``
    parse as in mmengine.

    Example:
        >>> parser.add_argument('--cfg-options', nargs='+', action=DictAction)
        >>> # --cfg-options data_root='my data' model.size=[256, 128]
    """

    @staticmethod
    def _parse_iterable(val: str) -> Any:
        val = val.strip()
        if len(val) >= 2 and val[0] == val[-1] and val[0] in '\'"':
            return val[1:-1]  # a quoted value is a string, kept as written
        if val[:1] + val[-1:] in ('()', '[]'):
            items, is_tuple = val[1:-1], val[0] == '('
        elif ',' in val:
            items, is_tuple = val, False
        else:
            return _MMDictAction._parse_int_float_bool(val)
        values = [DictAction._parse_iterable(v) for v in _split_top(items)]
        return tuple(values) if is_tuple else values


def _split_top(text: str) -> list:
    """``text`` split at the commas outside brackets (empty parts dropped)."""
    if text.count('(') != text.count(')') or \
            text.count('[') != text.count(']'):
        raise ValueError(f'--cfg-options: unbalanced brackets in {text!r}')
    parts, depth, start = [], 0, 0
    for i, ch in enumerate(text):
        if ch in '([':
            depth += 1
        elif ch in ')]':
            depth -= 1
        elif ch == ',' and depth == 0:
            parts.append(text[start:i])
            start = i + 1
    parts.append(text[start:])
    return [p for p in parts if p.strip()]


def default_work_dir(config_path: str) -> str:
    """mmengine's convention: ``work_dirs/<config file stem>``."""
    return osp.join('work_dirs', osp.splitext(osp.basename(config_path))[0])


def load_config(path: str, cfg_options: Optional[dict] = None,
                work_dir: Optional[str] = None) -> Config:
    """Read a config, apply overrides, resolve ``${...}`` references.

    Args:
        path (str): the config file.
        cfg_options (dict, optional): ``--cfg-options`` key=value overrides.
            ``custom_imports`` given here are imported too.
        work_dir (str, optional): the run's work dir (``--work-dir``);
            default: the config's ``work_dir``, else ``work_dirs/<stem>``.

    Returns:
        Config: the merged config, references resolved, plugins imported.

    Example:
        >>> cfg = load_config('configs/quickstart/toy_market_bot_r18.py',
        ...                   {'train_cfg.max_epochs': 1})
        >>> cfg.work_dir
        'work_dirs/toy_market_bot_r18'
    """
    if not osp.isfile(path):
        raise FileNotFoundError(f'config file not found: {path}')
    from .config_check import read_config
    cfg = read_config(path, cfg_options)
    if cfg_options:
        old = {k: cfg.get(k) for k in cfg_options
               if '.' not in k and isinstance(cfg.get(k), str)
               and '${' not in cfg.get(k)}
        cfg.merge_from_dict(cfg_options)
        for key, old_value in old.items():
            if cfg_options[key] != old_value:
                substitute_variable(cfg, old_value, cfg_options[key])
    if work_dir is not None:
        cfg.work_dir = work_dir
    elif cfg.get('work_dir') is None:
        cfg.work_dir = default_work_dir(path)
    resolve_references(cfg)
    set_code_formatting(cfg, False)
    if cfg.get('custom_imports'):
        # Config.fromfile imported the file's own list; --cfg-options may
        # have changed it
        from mmengine.utils import import_modules_from_strings
        import_modules_from_strings(**cfg.custom_imports)
    from synthgen.utils.plugins import import_plugins
    import_plugins()
    return cfg


def set_code_formatting(cfg: Config, on: bool) -> Config:
    """Whether ``cfg.pretty_text`` runs yapf over the config text.

    mmengine's Runner calls ``pretty_text`` about four times per build (the
    environment log, the config dump, the visualizer, ``RuntimeInfoHook``),
    and yapf takes seconds on a large config (10 s for the strong vehicle
    toy config's 19 KB on the shared 2-core machine): :func:`load_config`
    turns it off, so the dumped and logged configs are valid but
    unformatted Python (``tools/print_config.py`` turns it back on). The
    flag survives ``copy.deepcopy`` (the Runner's copy).
    """
    object.__setattr__(cfg, '_format_python_code', bool(on))
    return cfg


def resolve_references(cfg: Any) -> Any:
    """Replace every ``${name}`` string in ``cfg`` (in place) and return it.

    Args:
        cfg (Config | dict): the merged config.

    Returns:
        the same object.

    Example:
        >>> cfg = Config(dict(root='data/x', ds=dict(data_root='${root}/train')))
        >>> resolve_references(cfg).ds.data_root
        'data/x/train'
    """
    resolving = []

    def lookup(name: str, where: str) -> Any:
        if name in resolving:
            chain = ' -> '.join(resolving + [name])
            raise ConfigReferenceError(f'config references form a cycle: {chain}')
        node: Any = cfg._cfg_dict if isinstance(cfg, Config) else cfg
        for part in name.split('.'):
            if isinstance(node, (dict, Config)) and part in node:
                node = node[part]
            else:
                top = [k for k in cfg.keys() if not k.startswith('_')]
                close = difflib.get_close_matches(name.split('.')[0], top, n=3)
                hint = f' Did you mean {", ".join(close)}?' if close else ''
                raise ConfigReferenceError(
                    f"'{where}' refers to '${{{name}}}', but the config has no "
                    f"key '{name}'.{hint}")
        resolving.append(name)
        try:
            return visit(copy.deepcopy(node), name)
        finally:
            resolving.pop()

    def visit(value: Any, where: str) -> Any:
        if isinstance(value, str) and '${' in value:
            whole = _REF.fullmatch(value)
            if whole:
                return lookup(whole.group(1), where)

            def fmt(match):
                found = lookup(match.group(1), where)
                if not isinstance(found, (str, int, float)):
                    raise ConfigReferenceError(
                        f"'{where}' formats '${{{match.group(1)}}}' into a "
                        f'string, but it is a {type(found).__name__}')
                return str(found)
            return _REF.sub(fmt, value)
        if isinstance(value, dict):
            for k in list(value.keys()):
                value[k] = visit(value[k], f'{where}.{k}' if where else str(k))
            if '_merge_' in value:
                merge_in(value, value.pop('_merge_'), where)
        elif isinstance(value, list):
            value[:] = [visit(v, f'{where}[{i}]') for i, v in enumerate(value)]
        elif isinstance(value, tuple):
            return type(value)(visit(v, f'{where}[{i}]')
                               for i, v in enumerate(value))
        return value

    def merge_in(target: dict, extra: Any, where: str) -> None:
        for part in (extra if isinstance(extra, (list, tuple)) else [extra]):
            if not isinstance(part, dict):
                raise ConfigReferenceError(
                    f"'{where}._merge_' must refer to a dict (or a list of "
                    f'dicts), got a {type(part).__name__}')
            for k, v in part.items():
                if k not in target:
                    target[k] = copy.deepcopy(v)

    for key in list(cfg.keys()):
        resolved = visit(cfg[key], key)
        if isinstance(resolved, dict) and not isinstance(resolved, ConfigDict):
            resolved = ConfigDict(resolved)
        cfg[key] = resolved
    return cfg


def substitute_variable(cfg: Any, old: str, new: str) -> int:
    """Replace a top-level variable's old value wherever the config used it.

    Rewrites every string equal to ``old`` and every path that starts with
    ``old + '/'`` (see the module docstring for when this is needed).

    Args:
        cfg (Config): the config, changed in place.
        old (str): the value the config was written with.
        new (str): the value given on the command line.

    Returns:
        int: how many strings were rewritten.

    Example:
        >>> cfg = Config(dict(root='data/x', ds=dict(data_root='data/x/train')))
        >>> substitute_variable(cfg, 'data/x', 'data/y')
        2
    """
    count = 0

    def rewrite(value):
        nonlocal count
        if isinstance(value, str) and (value == old
                                       or value.startswith(old.rstrip('/') + '/')):
            count += 1
            return new + value[len(old):]
        if isinstance(value, dict):
            for k in list(value.keys()):
                value[k] = rewrite(value[k])
        elif isinstance(value, list):
            value[:] = [rewrite(v) for v in value]
        elif isinstance(value, tuple):
            return type(value)(rewrite(v) for v in value)
        return value

    for key in list(cfg.keys()):
        cfg[key] = rewrite(cfg[key])
    return count
