"""Evaluate a trained re-ID model with its benchmark's protocol.

Examples:
    python tools/test.py CONFIG work_dirs/NAME/epoch_60.pth
    python tools/test.py CONFIG CKPT --show-dir vis --show-num 10
    torchrun --nproc_per_node=2 tools/test.py CONFIG CKPT --launcher pytorch
"""
import argparse
import os.path as osp
import sys

sys.path.insert(0, osp.dirname(osp.dirname(osp.abspath(__file__))))

from mmengine.config import DictAction  # noqa: E402


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description='Test a re-ID model')
    parser.add_argument('config', help='config file')
    parser.add_argument('checkpoint', help='checkpoint file')
    parser.add_argument('--work-dir', help='where logs go')
    parser.add_argument('--show-dir', help='write rank-list images here')
    parser.add_argument('--show-num', type=int, default=10,
                        help='rank lists of the N worst and N best queries')
    parser.add_argument('--show-topk', type=int, default=10,
                        help='gallery images per rank list')
    parser.add_argument('--cfg-options', nargs='+', action=DictAction,
                        help='override config keys')
    parser.add_argument('--launcher', default='none',
                        choices=['none', 'pytorch', 'slurm'])
    parser.add_argument('--local_rank', '--local-rank', type=int, default=0)
    return parser.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    from reidkit.apis import fill_dataset_counts, load_config, setup_runtime
    from reidkit.utils.table import print_metrics
    from mmengine.runner import Runner

    if not osp.isfile(args.checkpoint):
        raise FileNotFoundError(f'checkpoint not found: {args.checkpoint}')
    cfg = load_config(args.config, args.cfg_options)
    setup_runtime(cfg, args.launcher, args.work_dir, config_path=args.config)
    cfg.load_from = args.checkpoint
    cfg.resume = False
    if args.show_dir:
        evaluators = cfg.test_evaluator if isinstance(cfg.test_evaluator, list) \
            else [cfg.test_evaluator]
        for evaluator in evaluators:
            evaluator.update(rank_list_dir=args.show_dir,
                             rank_list_num=args.show_num,
                             rank_list_topk=args.show_topk)
    fill_dataset_counts(cfg)
    runner = Runner.from_cfg(cfg)
    metrics = runner.test()
    if runner.rank == 0:
        print_metrics(metrics, title=f'test: {osp.basename(args.config)}')
    return metrics


if __name__ == '__main__':
    from reidkit.utils.cli import run_cli
    run_cli(main)
