"""Helpers of the toy ablations: run a config's stages in this process, time, summarise.

A toy ablation trains several configs over several seeds and prints one
table; every plugin's ``toy_ablation`` module uses these so that a run is
the same thing ``tools/train.py CONFIG`` does (the stage machinery, in this
process, quiet) and the table's spreads mean the same everywhere (sample
standard deviation, ddof=1).
"""
from __future__ import annotations

import json
import resource
from typing import Any, Dict, Optional, Sequence

import numpy as np

__all__ = ['run_config_stages', 'cpu_seconds', 'sample_std', 'mean_std']


def run_config_stages(config: str, options: Optional[Dict[str, Any]] = None,
                      work_dir: Optional[str] = None,
                      stages: Optional[Sequence[str]] = None
                      ) -> Dict[str, float]:
    """Run a config's stages here, as ``tools/train.py`` would; return the test metrics.

    Complete stages are skipped (so a shared generation stage runs once);
    the last ``TestStage``'s metrics are returned, read from its metrics
    file when it was complete from an earlier run.

    Args:
        config (str): Config file.
        options (dict, optional): ``--cfg-options`` as a dict (dotted keys).
        work_dir (str, optional): The experiment's work dir.
        stages (Sequence[str], optional): Only these stages (``--stages``).

    Returns:
        dict: The test metrics (``{}`` when the config has no test stage).

    Example:
        >>> m = run_config_stages('configs/cal/toy_prcc_cal.py',
        ...                       {'randomness.seed': 1}, 'work_dirs/s1')
        >>> sorted(m)[:2]
        ['cc/R1', 'cc/mAP']
    """
    from rich.console import Console

    from .apis import load_config, setup_runtime
    from .stages import StageRunner, TestStage, build_stages
    cfg = load_config(config, dict(options or {}), work_dir=work_dir)
    setup_runtime(cfg, 'none')
    built = build_stages(cfg)
    for stage in built:
        if isinstance(stage, TestStage):
            stage.print_table = False
    runner = StageRunner(built, cfg.work_dir, console=Console(quiet=True),
                         only=list(stages) if stages else None)
    results = runner.run()
    tests = [s for s in built if isinstance(s, TestStage)]
    if not tests:
        return {}
    test = tests[-1]
    if test.name not in results:  # complete from an earlier run
        with open(test.metrics_file(), encoding='utf-8') as f:
            return json.load(f)
    return results[test.name]


def cpu_seconds() -> float:
    """User + system CPU seconds of this process and its finished children."""
    own = resource.getrusage(resource.RUSAGE_SELF)
    kids = resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + kids.ru_utime + kids.ru_stime


def sample_std(x: Sequence[float]) -> float:
    """Sample standard deviation (ddof=1); 0 for a single value."""
    x = np.asarray(x, np.float64)
    return float(x.std(ddof=1)) if len(x) > 1 else 0.0


def mean_std(x: Sequence[float], digits: int = 1) -> str:
    """``'mean +- sample std'`` of ``x``, e.g. ``'11.0 +- 1.4'``."""
    x = np.asarray(x, np.float64)
    return f'{x.mean():.{digits}f} +- {sample_std(x):.{digits}f}'
