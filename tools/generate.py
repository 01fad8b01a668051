"""Run (or resume) a config's synthetic-data generation stage.

Usage::

    python tools/generate.py CONFIG [--work-dir DIR] [--cfg-options k=v ...]
    torchrun --nproc_per_node=2 tools/generate.py CONFIG --launcher pytorch

Rerunning the same command resumes: finished units are skipped, and a run
killed at any moment loses or duplicates nothing.
"""
import argparse
import os
import os.path as osp
import sys

sys.path.insert(0, osp.dirname(osp.dirname(osp.abspath(__file__))))


def parse_args(argv=None):
    from mmengine.config import DictAction
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('config', help='config file with a `generation` section')
    parser.add_argument('--work-dir', help='output root (default: cfg.work_dir '
                        'or work_dirs/<config name>)')
    parser.add_argument('--launcher', choices=['none', 'pytorch'],
                        default='none', help='job launcher')
    parser.add_argument('--no-progress', action='store_true',
                        help='no live progress bar')
    parser.add_argument('--cfg-options', nargs='+', action=DictAction,
                        help='override config keys, e.g. data_root=data/prcc')
    parser.add_argument('--local_rank', '--local-rank', type=int, default=0)
    return parser.parse_args(argv)


def init_distributed(launcher: str) -> None:
    """Join the torchrun process group: NCCL on GPUs, gloo on CPU."""
    if launcher == 'none':
        if int(os.environ.get('WORLD_SIZE', '1')) > 1:
            raise SystemExit('running under torchrun (WORLD_SIZE='
                             f"{os.environ['WORLD_SIZE']}) without --launcher "
                             'pytorch: every process would do all the work')
        return
    import torch
    import torch.distributed as dist
    if torch.cuda.is_available():
        from mmengine.dist import init_dist
        init_dist(launcher)
    elif not dist.is_initialized():
        # mmengine's init_dist calls torch.cuda.set_device, which fails on CPU
        missing = [k for k in ('RANK', 'WORLD_SIZE', 'MASTER_ADDR', 'MASTER_PORT')
                   if k not in os.environ]
        if missing:
            raise SystemExit(f'--launcher pytorch needs torchrun (missing '
                             f'environment variables {missing})')
        dist.init_process_group('gloo')


def main(argv=None):
    args = parse_args(argv)
    from mmengine.config import Config
    if not osp.isfile(args.config):
        raise SystemExit(f'config file {args.config} does not exist')
    cfg = Config.fromfile(args.config)
    if args.cfg_options:
        cfg.merge_from_dict(args.cfg_options)
    if args.work_dir:
        cfg.work_dir = args.work_dir
    elif cfg.get('work_dir') is None:
        from synthgen.apis import default_work_dir
        cfg.work_dir = default_work_dir(args.config)
    if cfg.get('custom_imports'):
        # Config.fromfile imported them already; import again after
        # --cfg-options in case those changed the list
        from mmengine.utils import import_modules_from_strings
        import_modules_from_strings(**cfg.custom_imports)
    from synthgen.utils.plugins import import_plugins
    import_plugins()

    init_distributed(args.launcher)
    from synthgen.apis import run_generation
    try:
        summary = run_generation(cfg, progress=not args.no_progress)
    finally:
        import torch.distributed as dist
        if dist.is_available() and dist.is_initialized():
            dist.destroy_process_group()
    return 0 if summary.complete else 1


if __name__ == '__main__':
    from reidkit.utils.cli import run_cli
    sys.exit(run_cli(main))
