"""Checking a config before anything is built: keys, types, syntax.

A misspelled key fails here with the closest valid key instead of being
silently accepted (``--cfg-options no_such_section.x=1``) or ending in a
``TypeError`` traceback deep inside a build. Three checks:

* :func:`read_config` reads the file with mmengine and turns its syntax
  errors (``File "<unknown>"``) and missing ``_base_`` files into a
  :class:`ConfigError` naming the config file, its line, and which config
  included the missing base.
* ``--cfg-options`` keys must exist in the loaded config, unless they add a
  key to a dict that accepts new keys (a plain dict, or a ``type=`` dict
  whose class takes that argument or ``**kwargs``); a new value must have the
  old one's type (``train_cfg.max_epochs=one`` is refused).
* Numeric settings (``max_epochs``, ``batch_size``, ``lr``, ...) anywhere in
  the config must be numbers.

:func:`explain_type_error` turns a ``TypeError`` from calling a class with a
bad keyword (``got an unexpected keyword argument 'lossses'``) into a message
listing the class's closest parameter names (read with ``inspect.signature``);
:func:`reidkit.utils.cli.run_cli` calls it.
"""
from __future__ import annotations

import difflib
import inspect
import re
from typing import Any, Optional

from mmengine.config import Config

from .cli import ReIDInputError

__all__ = ['ConfigError', 'read_config', 'check_cfg_options',
           'check_value_types', 'explain_type_error', 'RUNNER_SECTIONS']

#: top-level keys mmengine's Runner (and reidkit's tools) read
RUNNER_SECTIONS = (
    'model', 'work_dir', 'train_dataloader', 'val_dataloader',
    'test_dataloader', 'train_cfg', 'val_cfg', 'test_cfg', 'auto_scale_lr',
    'optim_wrapper', 'param_scheduler', 'val_evaluator', 'test_evaluator',
    'default_hooks', 'custom_hooks', 'data_preprocessor', 'load_from',
    'resume', 'launcher', 'env_cfg', 'log_processor', 'log_level',
    'visualizer', 'default_scope', 'randomness', 'experiment_name',
    'custom_imports', 'stages', 'generation', 'data_root')

#: settings that must be numbers wherever they appear
NUMERIC_KEYS = {
    'max_epochs': int, 'max_iters': int, 'batch_size': int,
    'num_workers': int, 'val_interval': int, 'num_instances': int,
    'lr': float, 'weight_decay': float, 'momentum': float,
}

#: mmengine builds these sections without a ``type`` key
_LOOPS = {'val_cfg': 'ValLoop', 'test_cfg': 'TestLoop'}


class ConfigError(ReIDInputError, ValueError):
    """A config key, value or file that cannot be used; the message names it."""


def _closest(word: str, choices, n: int = 3) -> str:
    close = difflib.get_close_matches(word, [str(c) for c in choices], n=n,
                                      cutoff=0.6)
    return f' Did you mean {", ".join(repr(c) for c in close)}?' if close \
        else ''


def read_config(path: str, cfg_options: Optional[dict] = None) -> Config:
    """Read ``path`` with mmengine and check ``cfg_options`` against it.

    Args:
        path (str): the config file.
        cfg_options (dict, optional): ``--cfg-options`` overrides (checked,
            not applied).

    Returns:
        Config: the file's config.

    Raises:
        ConfigError: a syntax error (file and line), a missing ``_base_``
            (and which config included it), an unknown key or a wrong type.

    Example:
        >>> cfg = read_config('configs/quickstart/toy_market_bot_r18.py',
        ...                   {'train_cfg.max_epochs': 1})
    """
    try:
        cfg = Config.fromfile(path)
    except (SyntaxError, FileNotFoundError) as exc:
        located = _locate(path)
        if located is None:
            raise
        raise located from exc
    check_value_types(cfg)
    check_loops(cfg)
    if cfg_options:
        check_cfg_options(cfg, cfg_options)
    return cfg


def _locate(path: str, parent: Optional[str] = None,
            seen: Optional[set] = None) -> Optional[ConfigError]:
    """The syntax error or missing ``_base_`` in ``path`` or its bases."""
    import ast
    import os.path as osp
    seen = set() if seen is None else seen
    if path in seen:
        return None
    seen.add(path)
    if not osp.isfile(path):
        return ConfigError(f'{parent}: its _base_ file {path} does not exist'
                           if parent else f'config file not found: {path}')
    if not path.endswith('.py'):
        return None
    with open(path, encoding='utf-8') as f:
        text = f.read()
    try:
        tree = ast.parse(text, filename=path)
    except SyntaxError as exc:
        line = f'\n    {exc.text.rstrip()}' if exc.text else ''
        return ConfigError(f'{path}, line {exc.lineno}: invalid Python in '
                           f'config: {exc.msg}{line}')
    for node in tree.body:
        if isinstance(node, ast.Assign) and any(
                isinstance(t, ast.Name) and t.id == '_base_'
                for t in node.targets):
            try:
                bases = ast.literal_eval(node.value)
            except ValueError:
                return None
            for base in [bases] if isinstance(bases, str) else bases:
                if '::' in base:  # a package's config: mmengine resolves it
                    continue
                found = _locate(osp.normpath(osp.join(osp.dirname(path),
                                                      base)), path, seen)
                if found is not None:
                    return found
    return None


def _accepts(cls_name: Any, key: str, section: str) -> bool:
    """Whether the class named by a ``type`` takes the argument ``key``."""
    cls = cls_name if inspect.isclass(cls_name) else _find_class(cls_name)
    if cls is None:
        return True  # unknown class: cannot tell, let the build decide
    try:
        params = inspect.signature(cls).parameters
    except (TypeError, ValueError):
        return True
    return key in params or any(p.kind is p.VAR_KEYWORD
                                for p in params.values())


def _find_class(name: Any):
    if not isinstance(name, str):
        return None
    import mmengine.runner  # noqa: F401  (registers the loops)
    from mmengine import registry as mm
    import reidkit.registry as rk
    for reg in list(vars(rk).values()) + list(vars(mm).values()):
        get = getattr(reg, 'get', None)
        if get is None or not hasattr(reg, 'module_dict'):
            continue
        try:
            cls = reg.get(name)
        except Exception:  # noqa: BLE001 (a registry that cannot say)
            cls = None
        if cls is not None:
            return cls
    return None


def check_cfg_options(cfg: Config, cfg_options: dict) -> None:
    """Refuse ``--cfg-options`` keys the config does not have, or wrong types.

    Args:
        cfg (Config): the loaded config (before the options are merged).
        cfg_options (dict): ``dotted.key -> value``.

    Example:
        >>> check_cfg_options(Config(dict(train_cfg=dict(max_epochs=2))),
        ...                   {'train_cfg.max_epochz': 3})
        Traceback (most recent call last):
        ConfigError: --cfg-options train_cfg.max_epochz: ...

    ``KEY._delete_=True`` replaces the dict at ``KEY`` by the options under
    it (mmengine's merge): ``KEY`` must exist, and those options are checked
    against their own ``KEY.type``, not against the dict they replace.
    """
    replaced = sorted({d[:-len('._delete_')] for d, v in cfg_options.items()
                       if d.endswith('._delete_') and v is True})
    for dotted, value in cfg_options.items():
        base = next((r for r in replaced if dotted.startswith(r + '.')), None)
        if base is None:
            _check_option(cfg, dotted, value)
            continue
        if dotted == base + '._delete_':
            _check_option(cfg, base, None)  # the replaced key exists
            continue
        key, new_type = dotted[len(base) + 1:], cfg_options.get(base + '.type')
        if key != 'type' and '.' not in key and new_type is not None and \
                not _accepts(new_type, key, base):
            raise ConfigError(
                f'--cfg-options {dotted}: {new_type} has no argument {key!r}')


def _check_option(cfg: Config, dotted: str, value: Any) -> None:
    """One ``--cfg-options`` key against the config (see above)."""
    parts = dotted.split('.')
    node: Any = cfg._cfg_dict
    for i, part in enumerate(parts):
        here = '.'.join(parts[:i + 1])
        if isinstance(node, (list, tuple)) and part.isdigit():
            if int(part) >= len(node):
                raise ConfigError(
                    f'--cfg-options {dotted}: {".".join(parts[:i])} has '
                    f'{len(node)} items, no index {part}')
            node = node[int(part)]
            continue
        if not isinstance(node, dict):
            raise ConfigError(
                f'--cfg-options {dotted}: {".".join(parts[:i])} is a '
                f'{type(node).__name__}, not a dict')
        if part in node:
            node = node[part]
            continue
        if i == 0:
            if part in RUNNER_SECTIONS:
                break
            raise ConfigError(
                f'--cfg-options {dotted}: the config has no key '
                f'{part!r}.{_closest(part, list(node) + list(RUNNER_SECTIONS))}')
        if 'type' not in node:
            break  # a plain dict takes new keys, nested ones too
        if i == len(parts) - 1 and _may_add(node, part, parts[i - 1]):
            break
        raise ConfigError(
            f'--cfg-options {dotted}: {".".join(parts[:i])} has no key '
            f'{part!r}.{_closest(part, node)}')
    else:
        _check_type(f'--cfg-options {dotted}', node, value)


def check_loops(cfg: Config) -> None:
    """Refuse ``train_cfg``/``val_cfg``/``test_cfg`` keys their loop lacks.

    Example:
        >>> check_loops(Config(dict(train_cfg=dict(max_epoch=1))))
        Traceback (most recent call last):
        ConfigError: train_cfg.max_epoch: ... Did you mean 'max_epochs'?
    """
    for section in ('train_cfg', 'val_cfg', 'test_cfg'):
        loop = cfg.get(section)
        if not isinstance(loop, dict):
            continue
        for key in loop:
            if key != 'type' and not _may_add(loop, key, section):
                cls = loop.get('type') or _LOOPS.get(section, 'the loop')
                raise ConfigError(
                    f'{section}.{key}: {cls} has no argument {key!r}.'
                    f'{_closest(key, sorted(set(_params(loop, section)) - {key}))}')


def _params(loop: dict, section: str) -> list:
    import mmengine.runner as runner
    name = loop.get('type') or _LOOPS.get(section) or (
        'EpochBasedTrainLoop' if loop.get('by_epoch', True)
        else 'IterBasedTrainLoop')
    cls = name if inspect.isclass(name) else getattr(runner, str(name), None)
    if cls is None:
        return []
    return [p for p in inspect.signature(cls).parameters
            if p not in ('runner', 'dataloader', 'evaluator')]


def _may_add(node: dict, key: str, section: str) -> bool:
    if 'type' in node:
        return _accepts(node['type'], key, section)
    if section == 'train_cfg':
        from mmengine.runner import EpochBasedTrainLoop, IterBasedTrainLoop
        loop = EpochBasedTrainLoop if node.get('by_epoch', True) \
            else IterBasedTrainLoop
        return key == 'by_epoch' or _accepts(loop, key, section)
    if section in _LOOPS:
        import mmengine.runner as runner
        return _accepts(getattr(runner, _LOOPS[section]), key, section)
    return True  # a plain dict takes new keys


def _check_type(where: str, old: Any, new: Any) -> None:
    if old is None or new is None or isinstance(old, str) and '${' in old:
        return
    numeric = (int, float)
    if isinstance(old, bool) or isinstance(new, bool):
        ok = isinstance(old, bool) == isinstance(new, bool) \
            or not isinstance(old, numeric)
    elif isinstance(old, numeric):
        ok = isinstance(new, numeric)
    else:
        ok = True
    if not ok:
        raise ConfigError(f'{where}={new!r}: expected {_article(type(old))} '
                          f'(the config has {old!r})')


def _article(kind: type) -> str:
    return {int: 'an int', float: 'a number', bool: 'a bool (True/False)'}.get(
        kind, f'a {kind.__name__}')


def check_value_types(cfg: Any, where: str = '') -> None:
    """Refuse a string (or bool) where a setting in :data:`NUMERIC_KEYS` is.

    Example:
        >>> check_value_types(Config(dict(train_cfg=dict(max_epochs='one'))))
        Traceback (most recent call last):
        ConfigError: train_cfg.max_epochs='one': expected an int ...
    """
    items = cfg.items() if isinstance(cfg, dict) or isinstance(cfg, Config) \
        else enumerate(cfg) if isinstance(cfg, (list, tuple)) else ()
    for key, value in items:
        path = f'{where}.{key}' if where else str(key)
        expected = NUMERIC_KEYS.get(key) if isinstance(key, str) else None
        if expected is not None and value is not None and (
                isinstance(value, bool)
                or not isinstance(value, (int, float))
                and not (isinstance(value, str) and '${' in value)):
            raise ConfigError(f'{path}={value!r}: expected '
                              f'{_article(expected)}')
        if isinstance(value, (dict, list, tuple)):
            check_value_types(value, path)


_KWARG = re.compile(r"(?:(\w+)\.)?(\w+)\(\) got an unexpected keyword "
                    r"argument '(\w+)'")
_MISSING = re.compile(r"(?:(\w+)\.)?(\w+)\(\) missing \d+ required "
                      r"(?:positional|keyword-only) arguments?: (.+)")


def explain_type_error(exc: TypeError) -> Optional[str]:
    """A config-level message for a bad keyword or a missing argument.

    Args:
        exc (TypeError): raised by calling a class (a registry build, a
            runner loop) with the config's keywords.

    Returns:
        str | None: the message, or None when ``exc`` is not such an error.

    Example:
        >>> try:
        ...     dict_cls(lossses=1)
        ... except TypeError as e:
        ...     explain_type_error(e)
    """
    text = str(exc)
    match = _KWARG.search(text) or _MISSING.search(text)
    if match is None:
        return None
    owner = match.group(1) or match.group(2)
    cls = _class_in_traceback(exc, owner)
    name = cls.__name__ if cls is not None else owner
    try:
        params = [p for p in inspect.signature(cls).parameters
                  if p not in ('self', 'args', 'kwargs')] if cls else []
    except (TypeError, ValueError):
        params = []
    if match.re is _MISSING:
        return f'{name}: the config does not set {match.group(3)} ' \
               f'(a required argument of {name})'
    bad = match.group(3)
    hint = _closest(bad, params)
    valid = f' Its arguments: {", ".join(params)}.' if params and not hint \
        else ''
    return f"{name} has no argument {bad!r} (check the config section " \
           f"that builds {name}).{hint}{valid}"


def _class_in_traceback(exc: BaseException, name: str):
    """The class called ``name`` that the failing call was building."""
    tb, frames = exc.__traceback__, []
    while tb is not None:
        frames.append(tb.tb_frame)
        tb = tb.tb_next
    for frame in reversed(frames):
        for value in (frame.f_locals.get('obj_cls'), frame.f_locals.get(name),
                      frame.f_globals.get(name)):
            if inspect.isclass(value) and value.__name__ == name:
                return value
    return _find_class(name)
