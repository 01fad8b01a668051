"""Fine-tune a text-to-image generator (LoRA / textual inversion) from a config.

The config is a fine-tuning config (``configs/finetune/``); it runs as one
``FinetuneStage`` through mmengine's Runner, so it is distributed like re-ID
training. The trained adapters are written by ``SaveAdaptersHook`` to
``<work_dir>/adapters`` in the formats the synthgen generators load. Inside
an experiment, use ``dict(type='FinetuneStage', config_file=...)``.

Examples:
    python tools/finetune.py configs/finetune/vehicle_diff_lora_sd15.py
    python tools/finetune.py CONFIG --cfg-options model.lora.rank=8
    torchrun --nproc_per_node=2 tools/finetune.py CONFIG --launcher pytorch
"""
import argparse
import os.path as osp
import sys

sys.path.insert(0, osp.dirname(osp.dirname(osp.abspath(__file__))))

from reidkit.utils.config import DictAction  # noqa: E402


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


def main(argv=None):
    args = parse_args(argv)
    from mmengine.config import Config
    from reidkit.apis import load_config
    from reidkit.engine import init_distributed
    from reidkit.stages import FinetuneStage, StageRunner

    cfg = load_config(args.config, args.cfg_options, work_dir=args.work_dir)
    init_distributed(args.launcher)
    ft = cfg.to_dict()
    work_dir = ft.pop('work_dir')
    if args.amp:
        ft.setdefault('optim_wrapper', {})['type'] = 'AmpOptimWrapper'
    exp = Config(dict(work_dir=work_dir, launcher=args.launcher))
    stage = FinetuneStage(name='finetune', cfg=exp, work_dir=work_dir,
                          exp_dir=work_dir, config=ft)
    stage.spec = stage.fingerprint()
    runner = StageRunner([stage], work_dir)
    plans = runner.plan()
    if args.resume and plans[0].action != 'skip':
        plans[0].action, plans[0].reason = 'resume', '--resume'
    runner.print_plan(plans)
    runner.run(plans)
    return stage


if __name__ == '__main__':
    from reidkit.utils.cli import run_cli
    run_cli(main)
