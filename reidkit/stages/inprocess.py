"""Run a config's stages inside this process (toy ablations, notebooks).

``tools/train.py`` is the command line; an ablation that trains many configs
over several seeds calls :func:`run_config_stages` instead, which loads the
config with overrides, runs its stages quietly and returns the last test
stage's metrics with the wall and CPU time of every stage that ran.
:func:`cpu_seconds` and :func:`mean_std` are the bookkeeping such tables
share; :func:`parallel_map` runs their independent runs in worker processes.
"""
from __future__ import annotations

import json
import resource
import time
from typing import Callable, Dict, Iterator, Optional, Sequence, Tuple

import numpy as np


def cpu_seconds() -> float:
    """User + system CPU seconds of this process and its waited-for children."""
    own = resource.getrusage(resource.RUSAGE_SELF)
    kids = resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + kids.ru_utime + kids.ru_stime


def sample_std(values: Sequence[float]) -> float:
    """Sample standard deviation (ddof=1); 0 for a single value."""
    x = np.asarray(values, np.float64)
    return float(x.std(ddof=1)) if len(x) > 1 else 0.0


def mean_std(values: Sequence[float], digits: int = 1) -> str:
    """``'mean +- sample std'`` of ``values`` (ddof=1), e.g. ``'2.0 +- 1.0'``
    for ``[1, 2, 3]``."""
    x = np.asarray(values, np.float64)
    return f'{x.mean():.{digits}f} +- {sample_std(x):.{digits}f}'


def parallel_map(fn: Callable, items: Sequence, jobs: int = 1,
                 after: Optional[Sequence[Optional[int]]] = None
                 ) -> Iterator[Tuple[int, object]]:
    """``(index, fn(item))`` for every item, as they finish, in ``jobs``
    worker processes (spawned with ``OMP_NUM_THREADS=1``, so torch runs one
    thread in each); ``jobs=1`` runs them here, in order.
    The workers' CPU time reaches :func:`cpu_seconds` (children) once the
    generator is exhausted (the pool is shut down and waited for).

    Args:
        fn (callable): a module-level function (picklable).
        items (sequence): its arguments, one per call.
        jobs (int): worker processes.
        after (sequence, optional): per item, the index of an earlier item
            that must have finished before it starts (e.g. a run that reads
            what another one writes), or None.

    Example:
        >>> for i, score in parallel_map(train_seed, [0, 1, 2], jobs=2):
        ...     print(i, score)
    """
    after = [None] * len(items) if after is None else list(after)
    if len(after) != len(items) or any(
            a is not None and not 0 <= a < i for i, a in enumerate(after)):
        raise ValueError(f'parallel_map: after={after} must give, per item, '
                         'None or the index of an earlier item')
    if jobs <= 1:
        for i, item in enumerate(items):
            yield i, fn(item)
        return
    import multiprocessing as mp
    import os
    from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
    old = os.environ.get('OMP_NUM_THREADS')
    os.environ['OMP_NUM_THREADS'] = '1'  # inherited by the spawned workers
    pool = ProcessPoolExecutor(jobs, mp_context=mp.get_context('spawn'))
    try:
        waiting, done, running = list(range(len(items))), set(), {}
        while waiting or running:
            for i in [i for i in waiting if after[i] in done or
                      after[i] is None]:
                waiting.remove(i)
                running[pool.submit(fn, items[i])] = i
            finished, _ = wait(running, return_when=FIRST_COMPLETED)
            for fut in finished:
                i = running.pop(fut)
                result = fut.result()
                done.add(i)
                yield i, result
    except BaseException:
        pool.shutdown(wait=True, cancel_futures=True)
        raise
    finally:
        pool.shutdown(wait=True)
        if old is None:
            os.environ.pop('OMP_NUM_THREADS', None)
        else:
            os.environ['OMP_NUM_THREADS'] = old


def run_config_stages(config: str, options: Optional[dict] = None,
                      work_dir: Optional[str] = None, quiet: bool = True,
                      stages: Optional[Sequence[str]] = None
                      ) -> Tuple[Dict[str, float], Dict[str, dict]]:
    """Load ``config`` with ``options`` (``--cfg-options`` keys) and run its
    stages in this process, as ``tools/train.py`` would (complete stages are
    skipped, also those whose outputs an earlier run in another work dir
    made).

    Args:
        config (str): config file.
        options (dict, optional): overrides (dotted keys; a dict value with
            ``_delete_=True`` replaces the key).
        work_dir (str, optional): the run's work dir.
        quiet (bool): silence the stage runner's console and test tables.
        stages (Sequence[str], optional): only these stages (``--stages``).

    Returns:
        tuple: the last test stage's metrics (read back from its file when
        it was already complete) and ``{stage name: {'wall': s, 'cpu': s}}``
        for the stages that ran (CPU = user + system of this process).

    Example:
        >>> metrics, times = run_config_stages(
        ...     'configs/quickstart/toy_market_bot_r18.py',
        ...     {'train_cfg.max_epochs': 1}, work_dir='work_dirs/smoke')
        >>> metrics['mAP'], times['train']['cpu']
    """
    from rich.console import Console

    from reidkit.apis import load_config, setup_runtime
    from . import StageRunner, TestStage, build_stages
    cfg = load_config(config, dict(options or {}), work_dir=work_dir)
    setup_runtime(cfg, 'none')
    built = build_stages(cfg)
    if quiet:
        for stage in built:
            if isinstance(stage, TestStage):
                stage.print_table = False
    runner = StageRunner(built, cfg.work_dir, console=Console(quiet=quiet),
                         only=list(stages) if stages else None)
    results, times = {}, {}
    for plan in runner.plan():
        if not plan.runs:
            continue
        wall, cpu = time.perf_counter(), cpu_seconds()
        results.update(runner.run([plan]))
        times[plan.stage.name] = dict(wall=time.perf_counter() - wall,
                                      cpu=cpu_seconds() - cpu)
    tests = [s for s in built if isinstance(s, TestStage)
             and (not stages or s.name in stages)]
    if not tests:
        return {}, times
    test = tests[-1]
    if test.name not in results:  # complete from an earlier run
        with open(test.metrics_file(), encoding='utf-8') as f:
            return json.load(f), times
    return results[test.name], times
