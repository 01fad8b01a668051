"""Named stages: an experiment as ordered steps with files on disk.

A config lists its stages (``stages = [dict(name=..., type=...), ...]``);
``tools/train.py CONFIG`` plans them (skip what is complete, resume what was
interrupted, re-run what changed and everything downstream of it) and runs
them in order under the launcher. See ``docs/plugins.md`` for writing one.
"""
from ..registry import STAGES
from .base import Stage, StageConfigError, atomic_write_text, path_strings
from .builtin import (FinetuneStage, GenerateStage, TestStage, TrainStage,
                      merge_overrides)
from .runner import StagePlan, StageRunner, build_stages, default_stages

__all__ = ['STAGES', 'Stage', 'StageConfigError', 'StagePlan', 'StageRunner',
           'build_stages', 'default_stages', 'GenerateStage', 'FinetuneStage',
           'TrainStage', 'TestStage', 'atomic_write_text', 'path_strings',
           'merge_overrides']
