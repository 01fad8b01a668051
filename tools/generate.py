"""Run (or resume) a config's generation stage(s) on their own.

Usage::

    python tools/generate.py CONFIG [--stage NAME] [--work-dir DIR] [--cfg-options k=v ...]
    torchrun --nproc_per_node=2 tools/generate.py CONFIG --launcher pytorch

The stages are the config's ``GenerateStage`` entries (or its ``generation``
section). Rerunning the same command resumes: finished units are skipped,
and a run killed at any moment loses or duplicates nothing.
"""
import argparse
import os.path as osp
import sys

sys.path.insert(0, osp.dirname(osp.dirname(osp.abspath(__file__))))


def parse_args(argv=None):
    from reidkit.utils.config import DictAction
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('config', help='config with GenerateStage stages or '
                        'a `generation` section')
    parser.add_argument('--stage', action='append',
                        help='run this generation stage (repeatable; '
                        'default: all of them)')
    parser.add_argument('--work-dir', help='output root (default: cfg.work_dir '
                        'or work_dirs/<config name>)')
    parser.add_argument('--launcher', choices=['none', 'pytorch', 'slurm'],
                        default='none', help='job launcher')
    parser.add_argument('--no-progress', action='store_true',
                        help='no live progress bar')
    parser.add_argument('--cfg-options', nargs='+', action=DictAction,
                        help='override config keys, e.g. data_root=data/prcc')
    parser.add_argument('--local_rank', '--local-rank', type=int, default=0)
    return parser.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    from mmengine.dist import get_rank
    from rich.console import Console
    from reidkit.apis import load_config, setup_runtime
    from reidkit.stages import (GenerateStage, StageConfigError, StageRunner,
                                build_stages)

    cfg = load_config(args.config, args.cfg_options, work_dir=args.work_dir)
    setup_runtime(cfg, args.launcher)
    stages = build_stages(cfg)
    names = [s.name for s in stages if isinstance(s, GenerateStage)]
    if not names:
        raise StageConfigError(
            f'{args.config} has no generation stage: expected '
            "stages = [dict(type='GenerateStage', ...)] or generation = "
            'dict(pipeline=dict(source=..., generator=..., writer=...))')
    if args.stage:
        bad = [n for n in args.stage if n not in names]
        if bad:
            raise StageConfigError(f'--stage {bad}: the generation stages of '
                                   f'{args.config} are {names}')
        names = args.stage
    for stage in stages:
        if isinstance(stage, GenerateStage):
            stage.progress = not args.no_progress
    runner = StageRunner(stages, cfg.work_dir, only=names,
                         console=Console(highlight=False,
                                         width=None if sys.stdout.isatty()
                                         else 120,
                                         quiet=get_rank() != 0))
    plans = runner.plan()
    runner.print_plan(plans)
    try:
        runner.run(plans)
    finally:
        import torch.distributed as dist
        if dist.is_available() and dist.is_initialized():
            dist.destroy_process_group()
    return 0


if __name__ == '__main__':
    from reidkit.utils.cli import run_cli
    sys.exit(run_cli(main))
