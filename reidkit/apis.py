"""What tools/train.py and tools/test.py share: config preparation and runner set-up."""
from __future__ import annotations

import copy
import logging
import os
import os.path as osp
from typing import Optional

import torch
from mmengine.config import Config, DictAction  # noqa: F401  (re-exported for tools)
from mmengine.logging import print_log

from .engine import init_distributed, register_checkpoint_safe_globals
from synthgen.utils.plugins import import_plugins

def load_config(path: str, cfg_options: Optional[dict] = None) -> Config:
    """Read a config (``_base_`` inheritance, ``custom_imports``) and apply overrides.

    Args:
        path (str): the config file.
        cfg_options (dict, optional): ``--cfg-options`` key=value overrides.

    Returns:
        Config: the merged config, with installed plugins imported.

    Example:
        >>> cfg = load_config('configs/quickstart/toy_market_bot_r18.py',
        ...                   {'train_cfg.max_epochs': 1})
    """
    if not osp.isfile(path):
        raise FileNotFoundError(f'config file not found: {path}')
    cfg = Config.fromfile(path)
    if cfg_options:
        old = {k: cfg.get(k) for k in cfg_options
               if '.' not in k and isinstance(cfg.get(k), str)}
        cfg.merge_from_dict(cfg_options)
        for key, old_value in old.items():
            if cfg_options[key] != old_value:
                substitute_variable(cfg, old_value, cfg_options[key])
    import_plugins()
    return cfg


def substitute_variable(cfg: Config, old: str, new: str) -> int:
    """Replace a top-level variable's old value wherever the config used it.

    Python configs resolve variables when they are read, so
    ``--cfg-options data_root=/data/prcc`` alone would change only the
    top-level ``data_root``, not the dataloaders (or generation sources) that
    were built from it. This rewrites every string equal to ``old`` and every
    path that starts with ``old + '/'``.

    Args:
        cfg (Config): the config, changed in place.
        old (str): the value the config was written with.
        new (str): the value given on the command line.

    Returns:
        int: how many strings were rewritten.
    """
    count = 0

    def rewrite(value):
        nonlocal count
        if isinstance(value, str) and (value == old
                                       or value.startswith(old.rstrip('/') + '/')):
            count += 1
            return new + value[len(old):]
        if isinstance(value, dict):
            for k in list(value.keys()):
                value[k] = rewrite(value[k])
        elif isinstance(value, list):
            value[:] = [rewrite(v) for v in value]
        elif isinstance(value, tuple):
            return type(value)(rewrite(v) for v in value)
        return value

    for key in list(cfg.keys()):
        cfg[key] = rewrite(cfg[key])
    return count


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


def run_generation_stage(cfg: Config) -> bool:
    """Run ``cfg.generation`` through synthgen when its output is incomplete.

    synthgen is imported only here and only for configs that have a
    ``generation`` section, so plain training never imports the generators
    (and their diffusers dependency).

    Args:
        cfg (Config): a config, possibly with ``generation = dict(...)``.

    Returns:
        bool: True if generation ran, False if there was nothing to do.
    """
    if cfg.get('generation', None) is None:
        return False
    from synthgen.apis import generation_complete, run_generation
    if generation_complete(cfg):
        print_log('generation stage: output complete, skipping',
                  logger='current')
        return False
    run_generation(cfg)
    return True
