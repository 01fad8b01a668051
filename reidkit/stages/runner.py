"""Plan and run an experiment's stages in order.

For each stage, in config order, the plan says one of:

* ``skip``: complete, with the same fingerprint as when it was made;
* ``run``: never ran (or its output is missing);
* ``resume``: an earlier run was interrupted (same fingerprint);
* ``re-run``: its config changed since it ran (the changed keys are named),
  or a stage it depends on runs: then everything downstream runs too;
* ``not selected``: left out by ``--stages``.

A stage depends on an earlier one when one of its inputs lies in (or
contains) one of the earlier stage's outputs, or when it names it in
``depends_on``. The record of each stage (fingerprint, status) is kept in
``<work_dir>/stages/<name>.json``, written atomically on rank 0.
"""
from __future__ import annotations

import copy
import json
import os.path as osp
import time
from dataclasses import dataclass, field
from typing import Any, Dict, List, Optional, Sequence

from .base import (Stage, StageConfigError, any_overlap, atomic_write_text,
                   fingerprint_hash, plain)

__all__ = ['StageRunner', 'StagePlan', 'build_stages', 'default_stages',
           'splice_stage_lists']


def default_stages(cfg: Any) -> List[dict]:
    """The stages of a config without ``stages``: generate, train, test.

    A config with only ``generation = dict(pipeline=...)`` plus the runner
    keys keeps working: its generation becomes a ``GenerateStage``.
    """
    stages = []
    if cfg.get('generation') is not None:
        stages.append(dict(name='generate', type='GenerateStage',
                           generation_key='generation'))
    if cfg.get('train_dataloader') is not None and cfg.get('train_cfg'):
        stages.append(dict(name='train', type='TrainStage'))
    if cfg.get('test_dataloader') is not None and \
            cfg.get('test_evaluator') is not None:
        stages.append(dict(name='test', type='TestStage'))
    return stages


def splice_stage_lists(entries: Sequence[Any]) -> List[Any]:
    """``entries`` with every entry that is itself a list spliced in.

    So a config can join stage lists that live in different bases through
    late references: ``stages = ['${prepare_stages}', '${train_stages}']``
    (mmengine forbids one key in two bases, and a reference to a list is one
    entry).

    Example:
        >>> splice_stage_lists([dict(name='a'), [dict(name='b'), [dict(name='c')]]])
        [{'name': 'a'}, {'name': 'b'}, {'name': 'c'}]
    """
    out: List[Any] = []
    for entry in entries:
        if isinstance(entry, (list, tuple)):
            out += splice_stage_lists(entry)
        else:
            out.append(entry)
    return out


def build_stages(cfg: Any, work_dir: Optional[str] = None) -> List[Stage]:
    """Build the stages a config declares (or :func:`default_stages`).

    An entry of ``stages`` that is a list of stage dicts is spliced in
    (:func:`splice_stage_lists`).

    Args:
        cfg (Config): the loaded config (references resolved).
        work_dir (str, optional): default ``cfg.work_dir``.

    Returns:
        list[Stage]: in run order.
    """
    from ..registry import STAGES
    work_dir = work_dir or cfg.get('work_dir')
    entries = cfg.get('stages')
    if entries is None:
        entries = default_stages(cfg)
    if not isinstance(entries, (list, tuple)):
        raise StageConfigError(
            f'`stages` must be a list of dict(name=..., type=...), got '
            f'{type(entries).__name__}')
    entries = splice_stage_lists(entries)
    stages: List[Stage] = []
    seen = set()
    for i, entry in enumerate(entries):
        entry = plain(entry)
        if not isinstance(entry, dict) or 'type' not in entry:
            raise StageConfigError(
                f'stages[{i}] must be a dict with a type, got {entry!r}')
        spec = {k: v for k, v in entry.items()
                if k not in ('name', 'type', 'depends_on', 'work_dir')}
        name = entry.get('name') or entry['type']
        if name in seen:
            raise StageConfigError(f"stages[{i}]: the name '{name}' is used "
                                   'twice; give each stage its own name')
        seen.add(name)
        stage_cls = STAGES.get(entry['type'])
        try:
            stage = stage_cls(name=name, cfg=cfg,
                              work_dir=entry.get('work_dir'), exp_dir=work_dir,
                              depends_on=entry.get('depends_on', ()),
                              **copy.deepcopy(spec))
        except TypeError as exc:
            raise StageConfigError(
                f"stages[{i}] '{name}' ({entry['type']}): {exc}") from exc
        stage.spec = spec
        stages.append(stage)
    by_name = {s.name: s for s in stages}
    for s in stages:
        s.others = by_name
        for dep in s.depends_on:
            if dep not in by_name:
                raise StageConfigError(
                    f"stage '{s.name}' depends_on '{dep}', which is not a "
                    f'stage of this config (stages: {list(by_name)})')
    return stages


@dataclass
class StagePlan:
    """The decision for one stage."""
    stage: Stage
    action: str            # skip | run | resume | re-run | not selected
    reason: str
    fingerprint: str
    depends: List[str] = field(default_factory=list)

    @property
    def runs(self) -> bool:
        return self.action in ('run', 'resume', 're-run')


def _changed_keys(old: Any, new: Any, prefix: str = '') -> List[str]:
    if isinstance(old, dict) and isinstance(new, dict):
        keys = []
        for k in sorted(set(old) | set(new)):
            where = f'{prefix}.{k}' if prefix else k
            if k not in old or k not in new:
                keys.append(where)
            else:
                keys += _changed_keys(old[k], new[k], where)
        return keys
    return [] if old == new else [prefix or '(value)']


class StageRunner:
    """Plans and runs stages; prints each decision.

    Args:
        stages (list[Stage]): from :func:`build_stages`.
        work_dir (str): where ``stages/<name>.json`` records go.
        only (Sequence[str], optional): run only these stages (``--stages``).
        console: a ``rich`` console (default: a new one on stdout).

    Example:
        >>> runner = StageRunner(build_stages(cfg), cfg.work_dir)
        >>> runner.print_plan(runner.plan())
        >>> results = runner.run()
    """

    def __init__(self, stages: Sequence[Stage], work_dir: str,
                 only: Optional[Sequence[str]] = None, console=None) -> None:
        self.stages = list(stages)
        self.work_dir = work_dir
        names = [s.name for s in self.stages]
        if only is not None:
            unknown = [n for n in only if n not in names]
            if unknown:
                raise StageConfigError(
                    f'--stages: unknown stage(s) {unknown}; this config has '
                    f'{names}')
        self.only = list(only) if only is not None else None
        if console is None:
            from rich.console import Console
            console = Console(highlight=False)
        self.console = console
        #: what the stages run so far returned, by name
        self.results: Dict[str, Any] = {}

    # ---------------------------------------------------------------- state
    def record_path(self, stage: Stage) -> str:
        return osp.join(self.work_dir, 'stages', f'{stage.name}.json')

    def read_record(self, stage: Stage) -> Optional[dict]:
        path = self.record_path(stage)
        if not osp.isfile(path):
            return None
        try:
            with open(path, encoding='utf-8') as f:
                return json.load(f)
        except ValueError:
            return None  # a torn record is no record

    def write_record(self, stage: Stage, status: str, fp: str,
                     extra: Optional[dict] = None) -> None:
        from mmengine.dist import is_main_process
        if not is_main_process():
            return
        record = dict(name=stage.name, type=type(stage).__name__,
                      status=status, fingerprint=fp,
                      spec=plain(stage.fingerprint()),
                      outputs=list(stage.outputs()), time=time.time())
        if extra:
            record['result'] = plain(extra)
        atomic_write_text(self.record_path(stage),
                          json.dumps(record, indent=1, sort_keys=True))

    # ----------------------------------------------------------------- plan
    def dependencies(self, index: int) -> List[str]:
        """Names of the earlier stages that stage ``index`` needs."""
        stage = self.stages[index]
        inputs = stage.inputs()
        deps = []
        for earlier in self.stages[:index]:
            if earlier.name in stage.depends_on or \
                    any_overlap(inputs, earlier.outputs()):
                deps.append(earlier.name)
        return deps

    def plan(self) -> List[StagePlan]:
        """Decide, for every stage, whether it runs and why."""
        plans: List[StagePlan] = []
        running = set()
        for i, stage in enumerate(self.stages):
            fp = fingerprint_hash(stage.fingerprint())
            deps = self.dependencies(i)
            record = self.read_record(stage)
            stage.record = record
            upstream = [d for d in deps if d in running]
            if self.only is not None and stage.name not in self.only:
                plans.append(StagePlan(stage, 'not selected',
                                       'not in --stages', fp, deps))
                continue
            if upstream:
                action = 're-run' if record is not None else 'run'
                reason = f"upstream {', '.join(upstream)} runs"
            elif record is not None and record.get('fingerprint') != fp:
                changed = _changed_keys(record.get('spec'),
                                        plain(stage.fingerprint()))
                shown = ', '.join(changed[:4]) + (' ...' if len(changed) > 4
                                                  else '')
                action, reason = 're-run', f'config changed: {shown or "?"}'
            else:
                complete, why = self._check_complete(stage)
                if complete and (record is None
                                 or record.get('status') == 'complete'):
                    action = 'skip'
                    reason = ('complete' if record is not None else
                              'output complete (made by an earlier run)')
                elif record is not None and record.get('status') == 'running':
                    action, reason = 'resume', 'interrupted run'
                elif record is not None:
                    action, reason = 'run', f'output missing{why}'
                else:
                    action, reason = 'run', f'not run yet{why}'
            if action != 'skip':
                running.add(stage.name)
                missing = self._missing_inputs(i)
                if missing:
                    reason += f" (missing: {', '.join(missing[:3])})"

            plans.append(StagePlan(stage, action, reason, fp, deps))
        return plans

    def _missing_inputs(self, index: int) -> List[str]:
        """Inputs of stage ``index`` that neither exist nor come from an
        earlier stage (a run would fail on them)."""
        made = [p for s in self.stages[:index] for p in s.outputs()]
        return [p for p in dict.fromkeys(self.stages[index].inputs())
                if not osp.exists(p) and not any_overlap([p], made)]

    @staticmethod
    def _check_complete(stage: Stage):
        """(complete, ' (why not)'): input errors count as 'not complete'."""
        try:
            return bool(stage.is_complete()), ''
        except Exception as exc:  # noqa: BLE001  a dry run must not fail here
            return False, f' ({type(exc).__name__}: {exc})'

    def print_plan(self, plans: Sequence[StagePlan]) -> None:
        from rich.table import Table
        table = Table(title=f'stages ({self.work_dir})', title_justify='left')
        for col in ('#', 'stage', 'type', 'action'):  # names stay whole
            table.add_column(col, no_wrap=True)
        for col in ('why', 'needs', 'writes'):
            table.add_column(col, overflow='fold')
        style = {'skip': 'dim', 'not selected': 'dim', 're-run': 'yellow',
                 'resume': 'cyan', 'run': 'green'}
        for i, p in enumerate(plans, 1):
            table.add_row(str(i), p.stage.name, type(p.stage).__name__,
                          p.action, p.reason, ', '.join(p.depends),
                          p.stage.describe(), style=style.get(p.action))
        self.console.print(table)

    # ------------------------------------------------------------------ run
    def run(self, plans: Optional[Sequence[StagePlan]] = None
            ) -> Dict[str, Any]:
        """Run the stages the plan runs, in order; return their results."""
        from mmengine.dist import barrier

        from synthgen.writer import check_writable
        plans = list(plans) if plans is not None else self.plan()
        # an output that cannot be written stops the run before any stage
        # starts (not after hours of the stages before it)
        check_writable(self.work_dir, 'work dir')
        for p in plans:
            if p.runs:
                for out in p.stage.outputs():
                    check_writable(out, f"output of stage '{p.stage.name}'",
                                   folder=False)
        results: Dict[str, Any] = {}
        total = len(plans)
        for i, p in enumerate(plans, 1):
            stage = p.stage
            if not p.runs:
                continue
            self.console.rule(f'[bold]stage {i}/{total}: {stage.name}[/] '
                              f'({type(stage).__name__}, {p.action}: '
                              f'{p.reason})')
            if p.action == 're-run':
                note = stage.reset()
                if note:
                    self.console.print(f'  {note}')
            stage.resume = p.action == 'resume'
            self.write_record(stage, 'running', p.fingerprint)
            barrier()
            start = time.perf_counter()
            result = stage.run()
            barrier()
            self.write_record(stage, 'complete', p.fingerprint, result)
            results[stage.name] = result
            self.results = results
            self.console.print(f'  stage {stage.name} done in '
                               f'{time.perf_counter() - start:.1f} s')
        return results
