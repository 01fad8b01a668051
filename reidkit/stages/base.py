"""The ``Stage`` base class: one named step of an experiment, with files on disk.

A stage declares what it reads (:meth:`Stage.inputs`) and writes
(:meth:`Stage.outputs`); the runner (:mod:`reidkit.stages.runner`) uses them
to find which later stages depend on which earlier ones, and a stage's
:meth:`Stage.fingerprint` to notice that its config changed.
"""
from __future__ import annotations

import hashlib
import json
import os
import os.path as osp
from typing import Any, Dict, Iterable, List, Optional, Sequence

from synthgen.pipeline import plain_data as plain

__all__ = ['Stage', 'StageConfigError', 'plain', 'path_strings',
           'fingerprint_hash']


class StageConfigError(KeyError):
    """A stage entry in ``stages = [...]`` is malformed (names the entry)."""

    def __str__(self) -> str:
        return str(self.args[0]) if self.args else ''


def fingerprint_hash(data: Any) -> str:
    """A short stable hash of JSON-able ``data``."""
    text = json.dumps(plain(data), sort_keys=True)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


#: keys whose string values name files or folders (for input discovery)
_PATH_KEYS = ('root', 'dir', 'path', 'file', 'from', 'descriptions')


def path_strings(node: Any, key: str = '') -> List[str]:
    """Strings under path-like keys (``data_root``, ``*_dir``, ``load_from``...)."""
    found: List[str] = []
    if isinstance(node, dict) or hasattr(node, 'items'):
        for k, v in node.items():
            found += path_strings(v, str(k))
    elif isinstance(node, (list, tuple)):
        for v in node:
            found += path_strings(v, key)
    elif isinstance(node, str) and node and any(
            key == p or key.endswith('_' + p) or key.startswith(p + '_')
            for p in _PATH_KEYS):
        found.append(node)
    return found


class Stage:
    """One named step of an experiment (caption, finetune, generate, train...).

    Subclasses are registered in ``reidkit.registry.STAGES`` and named in a
    config's ``stages = [dict(name=..., type=..., **kwargs), ...]``. The
    runner calls, in this order: :meth:`is_complete` (to plan), :meth:`reset`
    (only when the stage's fingerprint changed since its last run), then
    :meth:`run` on every rank. ``run`` must be resumable: when a run was
    interrupted, ``self.resume`` is True and ``run`` is called again.

    Args:
        name (str): the stage's name in the plan (unique in the config).
        cfg (Config): the whole experiment config (references resolved).
            Stages must not change it: copy what they modify.
        work_dir (str, optional): this stage's folder (a stage entry may set
            ``work_dir=...``); default: the experiment's work dir.
        exp_dir (str, optional): the experiment's work dir (given by the
            runner; stage records live in ``<exp_dir>/stages``).
        depends_on (Sequence[str]): names of earlier stages this one needs,
            besides those found from inputs and outputs.

    Subclasses take their own keyword arguments; the runner keeps the
    stage's config entry (without name, type, depends_on) in ``self.spec``,
    the default fingerprint and source of :meth:`inputs`.

    Example:
        >>> @STAGES.register_module()
        ... class CountStage(Stage):
        ...     def __init__(self, out_file, **kwargs):
        ...         super().__init__(**kwargs)
        ...         self.out_file = out_file
        ...     def outputs(self):
        ...         return [self.out_file]
        ...     def run(self):
        ...         atomic_write_text(self.out_file, '42')
        >>> stages = [dict(name='count', type='CountStage',
        ...                out_file='${work_dir}/count.txt')]
    """

    #: shown in plans; subclasses may set a nicer one
    kind: str = ''

    def __init__(self, name: str, cfg: Any, work_dir: Optional[str] = None,
                 exp_dir: Optional[str] = None, depends_on: Sequence[str] = (),
                 **spec: Any) -> None:
        if spec:
            raise StageConfigError(
                f"stage '{name}' ({type(self).__name__}): unknown argument(s) "
                f'{sorted(spec)}')
        self.name = str(name)
        self.cfg = cfg
        self.exp_dir = str(exp_dir or work_dir or cfg.get('work_dir'))
        self.work_dir = str(work_dir or self.exp_dir)
        self.depends_on = list(depends_on)
        self.resume = False
        #: the stage's last record (``<work_dir>/stages/<name>.json``) or None
        self.record: Optional[dict] = None
        self.others: Dict[str, 'Stage'] = {}
        self.spec: Dict[str, Any] = {}

    # --------------------------------------------------------- declarations
    def inputs(self) -> List[str]:
        """Paths this stage reads. Default: path-like strings of its spec."""
        return path_strings(self.spec)

    def outputs(self) -> List[str]:
        """Paths this stage writes (files or folders)."""
        return []

    def fingerprint(self) -> Any:
        """JSON-able data that determines the output. Default: ``self.spec``."""
        return self.spec

    def is_complete(self) -> bool:
        """Whether the outputs are there (the runner also checks its record)."""
        outs = self.outputs()
        return bool(outs) and all(osp.exists(p) for p in outs)

    def describe(self) -> str:
        """One line for the plan: what the stage makes."""
        outs = self.outputs()
        return ', '.join(outs) if outs else ''

    # -------------------------------------------------------------- actions
    def reset(self) -> Optional[str]:
        """Make way for a fresh run after a config change.

        Returns a sentence saying what was moved or removed (printed), or
        None. Default: nothing.
        """
        return None

    def run(self) -> Optional[dict]:
        """Do the work (every rank calls it). Returns optional results."""
        raise NotImplementedError(f'{type(self).__name__}.run')

    # -------------------------------------------------------------- helpers
    def stage(self, name: str) -> 'Stage':
        """Another stage of the same experiment, by name."""
        if name not in self.others:
            raise StageConfigError(
                f"stage '{self.name}' refers to stage '{name}', which the "
                f'config does not have (stages: {sorted(self.others)})')
        return self.others[name]

    def __repr__(self) -> str:
        return f'{type(self).__name__}(name={self.name!r})'


def atomic_write_text(path: str, text: str) -> None:
    """Write ``text`` to ``path`` through a temporary file and a rename."""
    os.makedirs(osp.dirname(osp.abspath(path)), exist_ok=True)
    tmp = f'{path}.tmp{os.getpid()}'
    with open(tmp, 'w', encoding='utf-8') as f:
        f.write(text)
    os.replace(tmp, path)


def overlaps(a: str, b: str) -> bool:
    """Whether two paths are the same or one contains the other."""
    a, b = osp.normpath(osp.abspath(a)), osp.normpath(osp.abspath(b))
    return a == b or a.startswith(b + os.sep) or b.startswith(a + os.sep)


def any_overlap(xs: Iterable[str], ys: Iterable[str]) -> bool:
    ys = list(ys)
    return any(overlaps(x, y) for x in xs for y in ys)


__all__ += ['atomic_write_text', 'overlaps', 'any_overlap']
