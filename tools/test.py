"""Evaluate a trained re-ID model with its benchmark's protocol.

Runs the config's test as one ``TestStage`` on the given checkpoint.

Examples:
    python tools/test.py CONFIG work_dirs/NAME/epoch_60.pth
    python tools/test.py CONFIG CKPT --show-dir vis --show-num 10
    torchrun --nproc_per_node=2 tools/test.py CONFIG CKPT --launcher pytorch
"""
import argparse
import os.path as osp
import sys

sys.path.insert(0, osp.dirname(osp.dirname(osp.abspath(__file__))))

from reidkit.utils.config import DictAction  # noqa: E402


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
    parser.add_argument('--non-strict', action='store_true',
                        help='load a checkpoint whose keys or shapes do not '
                        'all fit the model (default: stop and list them)')
    parser.add_argument('--cfg-options', nargs='+', action=DictAction,
                        help='override config keys')
    parser.add_argument('--launcher', default='none',
                        choices=['none', 'pytorch', 'slurm'])
    parser.add_argument('--local_rank', '--local-rank', type=int, default=0)
    return parser.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    from reidkit.apis import load_config, setup_runtime
    from reidkit.stages import TestStage

    if not osp.isfile(args.checkpoint):
        raise FileNotFoundError(f'checkpoint not found: {args.checkpoint}')
    cfg = load_config(args.config, args.cfg_options, work_dir=args.work_dir)
    setup_runtime(cfg, args.launcher)
    if args.non_strict:
        from reidkit.engine.checkpoint import set_strict_loading
        set_strict_loading(False)
    rank_list = dict(dir=args.show_dir, num=args.show_num,
                     topk=args.show_topk) if args.show_dir else None
    stage = TestStage(name='test', cfg=cfg, checkpoint=args.checkpoint,
                      rank_list=rank_list)
    return stage.run()


if __name__ == '__main__':
    from reidkit.utils.cli import run_cli
    run_cli(main)
