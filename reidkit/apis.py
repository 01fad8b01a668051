"""What the tools and stages share: config loading, runner set-up, dataset counts."""
from __future__ import annotations

import copy
import logging
import os
import os.path as osp
from typing import Optional

import torch
from mmengine.config import Config  # noqa: F401  (re-exported for tools)
from mmengine.logging import print_log

from .engine import init_distributed, register_checkpoint_safe_globals
from .utils.config import DictAction, load_config  # noqa: F401  (for tools)


def _dataset_metainfo(dataset_cfg) -> dict:
    from .registry import DATASETS
    dataset = DATASETS.build(copy.deepcopy(dataset_cfg))
    return dict(getattr(dataset, 'metainfo', {}) or {})


def fill_dataset_counts(cfg: Config) -> dict:
    """Fill ``num_classes``/``num_clothes``/``num_cams`` left as None in ``cfg.model``.

    Heads need the number of training identities (and CAL the number of
    clothes). Configs leave them as ``None``; this reads them from the train
    set's metainfo (see :func:`reidkit.models.utils.fill_num_classes`).

    Args:
        cfg (Config): a config with ``model`` and ``train_dataloader``.

    Returns:
        dict: the train set's metainfo ({} when nothing needed filling).
    """
    from .models.utils import fill_num_classes, needs_dataset_counts
    if cfg.get('train_dataloader') is None or not needs_dataset_counts(cfg.model):
        return {}
    meta = _dataset_metainfo(cfg.train_dataloader.dataset)
    fill_num_classes(cfg.model, meta)
    return meta


def setup_runtime(cfg: Config, launcher: str = 'none',
                  work_dir: Optional[str] = None, amp: bool = False,
                  resume: Optional[str] = None,
                  config_path: Optional[str] = None) -> Config:
    """Make a config runnable here: work dir, distributed backend, AMP, resume.

    Args:
        cfg (Config): the loaded config (modified in place and returned).
        launcher (str): 'none', 'pytorch' (torchrun) or 'slurm'.
        work_dir (str, optional): overrides ``cfg.work_dir``; default
            ``work_dirs/<config name>``.
        amp (bool): mixed precision (fp16 on GPUs; ignored with a warning on CPU).
        resume (str, optional): 'auto' for the latest checkpoint in the work
            dir, or a checkpoint path.
        config_path (str, optional): used to name the default work dir.

    Returns:
        Config: the same object.
    """
    register_checkpoint_safe_globals()
    cfg.launcher = launcher
    if work_dir is not None:
        cfg.work_dir = work_dir
    elif cfg.get('work_dir', None) is None:
        name = osp.splitext(osp.basename(config_path or 'run'))[0]
        cfg.work_dir = osp.join('work_dirs', name)

    backend = init_distributed(launcher)
    if backend == 'gloo':
        cfg.setdefault('env_cfg', {}).setdefault('dist_cfg', {})['backend'] = 'gloo'
        wrapper = cfg.get('model_wrapper_cfg') or {}
        wrapper.setdefault('type', 'reidkit.ReIDDistributedDataParallel')
        cfg.model_wrapper_cfg = wrapper

    if amp:
        if torch.cuda.is_available():
            cfg.optim_wrapper.type = 'AmpOptimWrapper'
            cfg.optim_wrapper.setdefault('loss_scale', 'dynamic')
        else:
            print_log('--amp needs a GPU; training in fp32 on the CPU.',
                      logger='current', level=logging.WARNING)

    if resume == 'auto':
        cfg.resume, cfg.load_from = True, None
    elif resume:
        if not osp.isfile(resume):
            raise FileNotFoundError(f'--resume checkpoint not found: {resume}')
        cfg.resume, cfg.load_from = True, resume
    os.makedirs(cfg.work_dir, exist_ok=True)
    return cfg
