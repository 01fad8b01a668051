"""Run an experiment: its stages in order (generate, train, test, ...).

A config lists its stages (``stages = [dict(name=..., type=...), ...]``); a
config without ``stages`` runs its ``generation`` section (if any), trains
and tests. Stages whose output is complete are skipped, an interrupted one
resumes, and a stage whose config changed re-runs with everything that
depends on it; the plan is printed first.

Examples:
    python tools/train.py configs/quickstart/toy_market_bot_r18.py
    python tools/train.py CONFIG --dry-run          # print the plan only
    python tools/train.py CONFIG --stages train,test
    python tools/train.py CONFIG --resume            # continue training
    python tools/train.py CONFIG --cfg-options train_cfg.max_epochs=2
    torchrun --nproc_per_node=2 tools/train.py CONFIG --launcher pytorch
"""
import argparse
import os.path as osp
import sys

sys.path.insert(0, osp.dirname(osp.dirname(osp.abspath(__file__))))

from reidkit.utils.config import DictAction  # noqa: E402


def parse_args(argv=None):
    parser = argparse.ArgumentParser(
        description="Run a config's stages (generate, train, test, ...)")
    parser.add_argument('config', help='config file')
    parser.add_argument('--work-dir', help='where logs, checkpoints and '
                        'stage records go (default: work_dirs/<config name>)')
    parser.add_argument('--stages', help='comma-separated stage names to run '
                        '(default: all); see --dry-run for the names')
    parser.add_argument('--dry-run', action='store_true',
                        help='print the stage plan (what would run or be '
                        'skipped, and why) and exit')
    parser.add_argument(
        '--resume', nargs='?', const='auto', default=None,
        help='resume training from CHECKPOINT, or without a value from the '
        'latest checkpoint in the work dir (also after a config change)')
    parser.add_argument('--amp', action='store_true',
                        help='mixed-precision training (GPU)')
    parser.add_argument('--no-test', action='store_true',
                        help='leave out the test stages')
    parser.add_argument('--skip-generation', action='store_true',
                        help='leave out the generation stages')
    parser.add_argument('--cfg-options', nargs='+', action=DictAction,
                        help='override config keys, e.g. train_cfg.max_epochs=2')
    parser.add_argument('--launcher', default='none',
                        choices=['none', 'pytorch', 'slurm'])
    parser.add_argument('--local_rank', '--local-rank', type=int, default=0)
    return parser.parse_args(argv)


def select_stages(stages, names=None, no_test=False, skip_generation=False):
    """The stage names to run, or None for all."""
    from reidkit.stages import GenerateStage, TestStage
    if names is None and not (no_test or skip_generation):
        return None
    chosen = [s.strip() for s in names.split(',') if s.strip()] if names \
        else [s.name for s in stages]
    dropped = {s.name for s in stages
               if (no_test and isinstance(s, TestStage))
               or (skip_generation and isinstance(s, GenerateStage))}
    return [n for n in chosen if n not in dropped or names]


def main(argv=None):
    args = parse_args(argv)
    from mmengine.dist import get_rank
    from rich.console import Console
    from reidkit.apis import load_config, setup_runtime
    from reidkit.stages import StageRunner, TrainStage, build_stages

    cfg = load_config(args.config, args.cfg_options, work_dir=args.work_dir)
    if not args.dry_run:
        setup_runtime(cfg, args.launcher, amp=args.amp)
    stages = build_stages(cfg)
    if args.resume:
        for stage in stages:
            if isinstance(stage, TrainStage) and args.resume != 'auto':
                if not osp.isfile(args.resume):
                    raise FileNotFoundError(
                        f'--resume checkpoint not found: {args.resume}')
                stage.resume_from = args.resume
    only = select_stages(stages, args.stages, args.no_test,
                         args.skip_generation)
    runner = StageRunner(stages, cfg.work_dir, only=only,
                         console=Console(highlight=False,
                                         width=None if sys.stdout.isatty()
                                         else 120,
                                         quiet=get_rank() != 0))
    plans = runner.plan()
    if args.resume:
        for p in plans:
            if isinstance(p.stage, TrainStage) and p.runs:
                p.action, p.reason = 'resume', '--resume'
    runner.print_plan(plans)
    if not args.dry_run:
        runner.run(plans)
    return runner


if __name__ == '__main__':
    from reidkit.utils.cli import run_cli
    run_cli(main)
