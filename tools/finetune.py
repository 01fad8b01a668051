"""Fine-tune a text-to-image generator (LoRA / textual inversion) from a config.

Training runs through mmengine's Runner, so it is distributed like re-ID
training; the trained adapters are written by ``SaveAdaptersHook`` to
``<work_dir>/adapters`` in the formats the synthgen generators load.

Examples:
    python tools/finetune.py configs/finetune/vehicle_diff_lora_sd15.py
    python tools/finetune.py CONFIG --cfg-options model.lora.rank=8
    torchrun --nproc_per_node=2 tools/finetune.py CONFIG --launcher pytorch
"""
import argparse
import os
import os.path as osp
import sys

sys.path.insert(0, osp.dirname(osp.dirname(osp.abspath(__file__))))

from mmengine.config import Config, DictAction  # noqa: E402


def parse_args(argv=None):
    parser = argparse.ArgumentParser(
        description='Fine-tune a text-to-image model (LoRA / textual inversion)')
    parser.add_argument('config', help='config file')
    parser.add_argument('--work-dir', help='where logs and adapters go')
    parser.add_argument('--resume', action='store_true',
                        help='resume from the latest checkpoint in work_dir')
    parser.add_argument('--amp', action='store_true',
                        help='mixed-precision training (GPU)')
    parser.add_argument('--cfg-options', nargs='+', action=DictAction,
                        help='override config keys, e.g. train_cfg.max_iters=10')
    parser.add_argument('--launcher', default='none',
                        choices=['none', 'pytorch', 'slurm'])
    parser.add_argument('--local_rank', '--local-rank', type=int, default=0)
    return parser.parse_args(argv)


def _init_cpu_distributed(launcher: str) -> None:
    """Start a gloo process group ourselves when there is no GPU.

    mmengine's ``init_dist`` calls ``torch.cuda.set_device``, which fails on
    CPU-only machines; the Runner skips it when a group already exists.
    """
    import torch.distributed as dist
    if dist.is_initialized():
        return
    if launcher == 'slurm':
        os.environ.setdefault('RANK', os.environ['SLURM_PROCID'])
        os.environ.setdefault('WORLD_SIZE', os.environ['SLURM_NTASKS'])
        os.environ.setdefault('LOCAL_RANK', os.environ['SLURM_LOCALID'])
    for key in ('RANK', 'WORLD_SIZE', 'MASTER_ADDR', 'MASTER_PORT'):
        if key not in os.environ:
            raise RuntimeError(f'--launcher {launcher} needs the environment '
                               f'variable {key}; start with torchrun or srun')
    dist.init_process_group(backend='gloo')


def main(argv=None):
    args = parse_args(argv)
    import torch
    from mmengine.runner import Runner
    import synthgen.finetune  # noqa: F401  registers model/dataset/hooks

    if not osp.isfile(args.config):
        raise FileNotFoundError(f'config file {args.config!r} not found')
    cfg = Config.fromfile(args.config)
    if args.cfg_options:
        cfg.merge_from_dict(args.cfg_options)
    cfg.launcher = args.launcher
    if args.work_dir:
        cfg.work_dir = args.work_dir
    elif cfg.get('work_dir') is None:
        cfg.work_dir = osp.join('work_dirs', osp.splitext(
            osp.basename(args.config))[0])
    cfg.resume = bool(args.resume)
    if args.amp:
        cfg.optim_wrapper.type = 'AmpOptimWrapper'
    if args.launcher != 'none' and not torch.cuda.is_available():
        _init_cpu_distributed(args.launcher)
        cfg.env_cfg = cfg.get('env_cfg', {})
        cfg.env_cfg.setdefault('dist_cfg', {})['backend'] = 'gloo'
        wrapper = dict(cfg.get('model_wrapper_cfg') or {})
        wrapper.setdefault('type', 'MMDistributedDataParallel')
        wrapper['device_ids'] = None  # CPU modules take no device ids
        cfg.model_wrapper_cfg = wrapper
    runner = Runner.from_cfg(cfg)
    runner.train()
    return runner


if __name__ == '__main__':
    from reidkit.utils.cli import run_cli
    run_cli(main)
