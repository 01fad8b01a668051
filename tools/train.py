"""Train (and then test) a re-ID model from a config.

Runs the config's generation stage first when its output is missing or
incomplete, then trains through an mmengine Runner, then tests the final model
and prints a metrics table.

Examples:
    python tools/train.py configs/quickstart/toy_market_bot_r18.py
    python tools/train.py CONFIG --resume            # continue the last run
    python tools/train.py CONFIG --cfg-options train_cfg.max_epochs=2
    torchrun --nproc_per_node=2 tools/train.py CONFIG --launcher pytorch
"""
import argparse
import os.path as osp
import sys

sys.path.insert(0, osp.dirname(osp.dirname(osp.abspath(__file__))))

from mmengine.config import DictAction  # noqa: E402


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description='Train a re-ID model')
    parser.add_argument('config', help='config file')
    parser.add_argument('--work-dir', help='where logs and checkpoints go')
    parser.add_argument(
        '--resume', nargs='?', const='auto', default=None,
        help='resume from CHECKPOINT, or without a value from the latest '
        'checkpoint in the work dir')
    parser.add_argument('--amp', action='store_true',
                        help='mixed-precision training (GPU)')
    parser.add_argument('--no-test', action='store_true',
                        help='skip the test after training')
    parser.add_argument('--skip-generation', action='store_true',
                        help="do not run the config's generation stage")
    parser.add_argument('--cfg-options', nargs='+', action=DictAction,
                        help='override config keys, e.g. train_cfg.max_epochs=2')
    parser.add_argument('--launcher', default='none',
                        choices=['none', 'pytorch', 'slurm'])
    parser.add_argument('--local_rank', '--local-rank', type=int, default=0)
    return parser.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    from reidkit.apis import (fill_dataset_counts, load_config,
                              run_generation_stage, setup_runtime)
    from reidkit.utils.table import print_metrics
    from mmengine.runner import Runner

    cfg = load_config(args.config, args.cfg_options)
    setup_runtime(cfg, args.launcher, args.work_dir, args.amp, args.resume,
                  config_path=args.config)
    if not args.skip_generation:
        run_generation_stage(cfg)
    fill_dataset_counts(cfg)

    runner = Runner.from_cfg(cfg)
    runner.train()
    if not args.no_test and cfg.get('test_dataloader') is not None:
        metrics = runner.test()
        if runner.rank == 0:
            print_metrics(metrics, title=f'test: {osp.basename(args.config)}')
    return runner


if __name__ == '__main__':
    from reidkit.utils.cli import run_cli
    run_cli(main)
