"""The stages every experiment can use: generate, finetune, train, test.

* :class:`GenerateStage` runs a synthgen ``GenerationPipeline`` (resumable,
  sharded over ranks); its completeness is synthgen's own plan check.
* :class:`FinetuneStage` fine-tunes a text-to-image model (LoRA / textual
  inversion) through mmengine; it writes ``<its work dir>/adapters``.
* :class:`TrainStage` trains the config's re-ID model (mmengine Runner).
* :class:`TestStage` tests the last checkpoint of a train stage and writes
  ``<work_dir>/metrics_<name>.json``.
"""
from __future__ import annotations

import copy
import json
import os
import os.path as osp
import time
from typing import Any, List, Optional

from mmengine.config import Config
from mmengine.registry import DefaultScope

from ..registry import STAGES
from .base import Stage, StageConfigError, atomic_write_text, path_strings, plain

__all__ = ['GenerateStage', 'FinetuneStage', 'TrainStage', 'TestStage',
           'merge_overrides']

#: pipeline keys that do not change what is generated
_NON_SEMANTIC = ('batch_size', 'progress')
_WRITER_NON_SEMANTIC = ('fsync', 'units_per_dir', 'png_compress_level')


def merge_overrides(cfg: Config, overrides: Optional[dict]) -> Config:
    """A deep copy of ``cfg`` with ``overrides`` merged (``_delete_`` works)."""
    out = copy.deepcopy(cfg)
    if overrides:
        out.merge_from_dict(plain(overrides), allow_list_keys=True)
    return out


_RUN_COUNTER = [0]


def unique_run_name(stage: Stage) -> str:
    """mmengine keys loggers and visualizers by experiment name: one each."""
    _RUN_COUNTER[0] += 1
    return f"{stage.name}_{time.strftime('%Y%m%d_%H%M%S')}_{_RUN_COUNTER[0]}"


def _move_aside(path: str) -> Optional[str]:
    from mmengine.dist import is_main_process
    if not osp.exists(path):
        return None
    dest = f"{path.rstrip('/')}.old-{time.strftime('%Y%m%d-%H%M%S')}"
    if is_main_process():
        os.replace(path, dest)
    return dest


@STAGES.register_module()
class GenerateStage(Stage):
    """Make synthetic images with a synthgen ``GenerationPipeline``.

    Args:
        pipeline (dict, optional): a ``generation.pipeline`` config (source,
            prompt_builder, generator, filters, writer, num_variants, seed,
            batch_size).
        generation_key (str, optional): instead of ``pipeline``, the name of
            a top-level config key holding ``dict(pipeline=...)`` (a config
            with only ``generation = dict(pipeline=...)`` uses this).
        progress (bool): live progress bar on rank 0.
        **kwargs: name, cfg, work_dir, depends_on (see :class:`Stage`).

    When the stage's config changed since this experiment made the output,
    the old folder is moved aside (``<out_dir>.old-<time>``), never deleted.

    Example:
        >>> stages = [dict(name='generate', type='GenerateStage',
        ...                pipeline=dict(source=..., generator=...,
        ...                              writer=dict(out_dir='${work_dir}/gen'))),
        ...           dict(name='train', type='TrainStage')]
    """

    def __init__(self, pipeline: Optional[dict] = None,
                 generation_key: Optional[str] = None, progress: bool = True,
                 **kwargs: Any) -> None:
        super().__init__(**kwargs)
        if (pipeline is None) == (generation_key is None):
            raise StageConfigError(
                f"stage '{self.name}' (GenerateStage) needs exactly one of "
                "`pipeline=dict(...)` or `generation_key='generation'`")
        if generation_key is not None:
            section = self.cfg.get(generation_key)
            if section is None:
                raise StageConfigError(
                    f"stage '{self.name}': the config has no "
                    f"'{generation_key}' section")
            from synthgen.apis import pipeline_section
            pipeline = pipeline_section(section, generation_key)
        self.pipeline_cfg = plain(pipeline)
        self.progress = bool(progress)
        self._pipeline = None

    @property
    def pipeline(self):
        if self._pipeline is None:
            from synthgen.pipeline import GenerationPipeline
            self._pipeline = GenerationPipeline.from_cfg(
                self.pipeline_cfg, data_root=self.cfg.get('data_root'),
                work_dir=self.work_dir)
        return self._pipeline

    @property
    def out_dir(self) -> str:
        out = str((self.pipeline_cfg.get('writer') or {}).get('out_dir', ''))
        return out.replace('{work_dir}', self.work_dir)

    def inputs(self) -> List[str]:
        src = dict(self.pipeline_cfg.get('source') or {})
        paths = path_strings(self.pipeline_cfg)
        if src.get('data_root') is None and self.cfg.get('data_root'):
            paths.append(self.cfg.data_root)
        return [p.replace('{work_dir}', self.work_dir) for p in paths
                if p.replace('{work_dir}', self.work_dir) != self.out_dir]

    def outputs(self) -> List[str]:
        return [self.out_dir]

    def fingerprint(self) -> Any:
        spec = {k: v for k, v in self.pipeline_cfg.items()
                if k not in _NON_SEMANTIC}
        if isinstance(spec.get('writer'), dict):
            spec['writer'] = {k: v for k, v in spec['writer'].items()
                              if k not in _WRITER_NON_SEMANTIC}
        return spec

    def is_complete(self) -> bool:
        return self.pipeline.is_complete()

    def reset(self) -> Optional[str]:
        dest = _move_aside(self.out_dir)
        return f'moved the old output aside: {dest}' if dest else None

    def run(self) -> dict:
        from synthgen.apis import run_pipeline
        summary = run_pipeline(self.pipeline, progress=self.progress)
        if not summary.complete:
            raise RuntimeError(f"stage '{self.name}': generation incomplete "
                               f'({summary.units_run} of '
                               f'{summary.units_total} units)')
        return dict(kept=summary.kept, requests=summary.requests,
                    units=summary.units_total)


def _checkpoint_of(work_dir: str) -> Optional[str]:
    """The checkpoint mmengine's ``last_checkpoint`` file points to."""
    marker = osp.join(work_dir, 'last_checkpoint')
    if not osp.isfile(marker):
        return None
    with open(marker, encoding='utf-8') as f:
        path = f.read().strip()
    if path and not osp.isabs(path) and not osp.isfile(path):
        path = osp.join(work_dir, osp.basename(path))
    return path if path and osp.isfile(path) else None


class _RunnerStage(Stage):
    """Shared by the stages that build an mmengine Runner from the config."""

    #: config sections that determine what the stage computes
    sections: tuple = ()

    def __init__(self, overrides: Optional[dict] = None, **kwargs: Any):
        super().__init__(**kwargs)
        self.overrides = plain(overrides or {})

    def stage_cfg(self) -> Config:
        cfg = merge_overrides(self.cfg, self.overrides)
        cfg.work_dir = self.work_dir
        cfg.experiment_name = unique_run_name(self)
        return cfg

    def fingerprint(self) -> Any:
        cfg = merge_overrides(self.cfg, self.overrides)
        return {k: plain(cfg.get(k)) for k in self.sections}


@STAGES.register_module()
class TrainStage(_RunnerStage):
    """Train the config's re-ID model through an mmengine Runner.

    Uses the config's runner keys (``model``, ``train_dataloader``,
    ``optim_wrapper``, ``param_scheduler``, ``train_cfg``, hooks...). Resumes
    from the latest checkpoint after an interruption; starts afresh when its
    config (or an upstream stage) changed.

    Args:
        overrides (dict, optional): merged into a copy of the config for this
            stage (``_delete_=True`` works), e.g. another backbone.
        work_dir (str, optional): this stage's folder (default: the
            experiment's work dir). Several train stages need their own.
        resume_from (str, optional): resume from this checkpoint.
        **kwargs: name, cfg, depends_on (see :class:`Stage`).

    Example:
        >>> stages = [dict(name='train_r50', type='TrainStage',
        ...                work_dir='${work_dir}/r50',
        ...                overrides=dict(model=dict(backbone=dict(depth=50))))]
    """

    sections = ('model', 'train_dataloader', 'train_cfg', 'optim_wrapper',
                'param_scheduler', 'randomness', 'custom_hooks', 'load_from')

    def __init__(self, resume_from: Optional[str] = None, **kwargs: Any):
        super().__init__(**kwargs)
        self.resume_from = resume_from

    def inputs(self) -> List[str]:
        cfg = merge_overrides(self.cfg, self.overrides)
        return path_strings(cfg.get('train_dataloader')) + \
            path_strings({'load_from': cfg.get('load_from')})

    def outputs(self) -> List[str]:
        return [osp.join(self.work_dir, 'last_checkpoint')]

    def fingerprint(self) -> Any:
        fp = super().fingerprint()
        fp['load_from'] = fp.get('load_from')
        return fp

    def describe(self) -> str:
        return f'{self.work_dir}/epoch_*.pth'

    def checkpoint(self) -> Optional[str]:
        return _checkpoint_of(self.work_dir)

    def is_complete(self) -> bool:
        return self.record is not None and self.checkpoint() is not None

    def reset(self) -> Optional[str]:
        marker = osp.join(self.work_dir, 'last_checkpoint')
        if osp.isfile(marker):
            from mmengine.dist import is_main_process
            if is_main_process():
                os.remove(marker)
            return ('training starts afresh (removed last_checkpoint; old '
                    'checkpoints stay until overwritten)')
        return None

    def run(self) -> dict:
        cfg = self.stage_cfg()
        with DefaultScope.overwrite_default_scope(cfg.get('default_scope')):
            return self._run_training(cfg)

    def _run_training(self, cfg) -> dict:
        from ..apis import fill_dataset_counts
        from ..engine.runner import ReIDRunner
        if self.resume_from:
            cfg.resume, cfg.load_from = True, self.resume_from
        elif self.resume:
            cfg.resume = True  # mmengine finds the latest checkpoint
        else:
            cfg.resume = False
        fill_dataset_counts(cfg)
        os.makedirs(cfg.work_dir, exist_ok=True)
        runner = ReIDRunner.from_cfg(cfg)
        self.runner = runner  # for callers in the same process
        runner.train()
        return dict(checkpoint=self.checkpoint(), epochs=runner.epoch,
                    iters=runner.iter)


@STAGES.register_module()
class TestStage(_RunnerStage):
    """Test a trained model with the config's test dataloader and evaluator.

    Args:
        train_stage (str, optional): the train stage whose model, overrides
            and last checkpoint it tests (default: the last ``TrainStage``
            before it).
        checkpoint (str, optional): test this checkpoint instead.
        overrides (dict, optional): merged after the train stage's.
        rank_list (dict, optional): ``dict(dir=..., num=10, topk=10)`` writes
            rank-list images of the worst and best queries.
        print_table (bool): print the metrics table on rank 0.
        **kwargs: name, cfg, work_dir (its folder), depends_on.

    Writes ``<work_dir>/metrics_<name>.json``.

    Example:
        >>> stages = [dict(name='train', type='TrainStage'),
        ...           dict(name='test', type='TestStage')]
    """

    sections = ('model', 'test_dataloader', 'test_evaluator', 'test_cfg')

    def __init__(self, train_stage: Optional[str] = None,
                 checkpoint: Optional[str] = None,
                 rank_list: Optional[dict] = None, print_table: bool = True,
                 **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.train_stage_name = train_stage
        self.checkpoint_path = checkpoint
        self.rank_list = rank_list
        self.print_table = print_table

    def _train(self) -> Optional[TrainStage]:
        if self.checkpoint_path is not None:
            return None
        if self.train_stage_name is not None:
            stage = self.stage(self.train_stage_name)
            if not isinstance(stage, TrainStage):
                raise StageConfigError(
                    f"stage '{self.name}': train_stage '{stage.name}' is a "
                    f'{type(stage).__name__}, not a TrainStage')
            return stage
        names = list(self.others)
        earlier = [self.others[n] for n in names[:names.index(self.name)]]
        trains = [s for s in earlier if isinstance(s, TrainStage)]
        if not trains:
            raise StageConfigError(
                f"stage '{self.name}' (TestStage) has no checkpoint: give "
                'checkpoint=... or put a TrainStage before it')
        return trains[-1]

    def merged_cfg(self) -> Config:
        train = self._train()
        cfg = merge_overrides(self.cfg, train.overrides if train else None)
        return merge_overrides(cfg, self.overrides)

    def fingerprint(self) -> Any:
        cfg = self.merged_cfg()
        fp = {k: plain(cfg.get(k)) for k in self.sections}
        fp['checkpoint'] = self.checkpoint_path
        return fp

    def inputs(self) -> List[str]:
        train = self._train()
        ckpt = [self.checkpoint_path] if self.checkpoint_path else \
            train.outputs()
        return ckpt + path_strings(self.merged_cfg().get('test_dataloader'))

    def metrics_file(self) -> str:
        return osp.join(self.work_dir, f'metrics_{self.name}.json')

    def outputs(self) -> List[str]:
        return [self.metrics_file()]

    def run(self) -> dict:
        train = self._train()
        ckpt = self.checkpoint_path or (train.checkpoint() if train else None)
        if ckpt is None or not osp.isfile(ckpt):
            raise FileNotFoundError(
                f"stage '{self.name}': no checkpoint to test "
                f"({ckpt or osp.join(train.work_dir, 'last_checkpoint')} is "
                'missing); run the train stage first')
        cfg = self.merged_cfg()
        cfg.work_dir = self.work_dir
        cfg.experiment_name = unique_run_name(self)
        cfg.load_from, cfg.resume = ckpt, False
        with DefaultScope.overwrite_default_scope(cfg.get('default_scope')):
            return self._run_test(cfg, ckpt)

    def _run_test(self, cfg, ckpt) -> dict:
        from ..apis import fill_dataset_counts
        from ..engine.runner import ReIDRunner
        from ..utils.table import print_metrics
        if self.rank_list:
            evaluators = cfg.test_evaluator \
                if isinstance(cfg.test_evaluator, list) else [cfg.test_evaluator]
            for ev in evaluators:
                ev.update(rank_list_dir=self.rank_list.get('dir'),
                          rank_list_num=self.rank_list.get('num', 10),
                          rank_list_topk=self.rank_list.get('topk', 10))
        fill_dataset_counts(cfg)
        runner = ReIDRunner.from_cfg(cfg)
        metrics = runner.test()
        metrics = {k: float(v) if isinstance(v, (int, float)) else plain(v)
                   for k, v in (metrics or {}).items()}
        if runner.rank == 0:
            if self.print_table:
                print_metrics(metrics, title=f'test: {self.name} ({ckpt})')
            atomic_write_text(self.metrics_file(),
                              json.dumps(metrics, indent=1, sort_keys=True))
        return metrics


@STAGES.register_module()
class FinetuneStage(Stage):
    """Fine-tune a text-to-image model (LoRA / textual inversion) via mmengine.

    Args:
        config (dict, optional): a fine-tuning config (model,
            train_dataloader, optim_wrapper, param_scheduler, train_cfg,
            hooks), as in ``configs/finetune/``.
        config_file (str, optional): or the path of such a config file.
        overrides (dict, optional): merged into it.
        work_dir (str, optional): its folder; default
            ``<experiment work dir>/<name>``. Adapters go to
            ``<work_dir>/adapters`` (``SaveAdaptersHook``).
        **kwargs: name, cfg, depends_on.

    Example:
        >>> stages = [dict(name='finetune', type='FinetuneStage',
        ...                config_file='configs/finetune/vehicle_diff_lora_sd15.py',
        ...                overrides=dict(train_cfg=dict(max_iters=100)))]
    """

    def __init__(self, config: Optional[dict] = None,
                 config_file: Optional[str] = None,
                 overrides: Optional[dict] = None, **kwargs: Any) -> None:
        given_dir = kwargs.get('work_dir')
        super().__init__(**kwargs)
        self.work_dir = given_dir or osp.join(self.exp_dir, self.name)
        if (config is None) == (config_file is None):
            raise StageConfigError(
                f"stage '{self.name}' (FinetuneStage) needs exactly one of "
                'config=dict(...) or config_file=PATH')
        if config_file is not None:
            from ..utils.config import load_config
            loaded = load_config(config_file, work_dir=self.work_dir)
            loaded.pop('work_dir', None)
            config = loaded.to_dict()
        self.ft_cfg = Config(plain(config))
        if overrides:
            self.ft_cfg.merge_from_dict(plain(overrides), allow_list_keys=True)

    def adapters_dir(self) -> str:
        return osp.join(self.work_dir, 'adapters')

    def inputs(self) -> List[str]:
        return path_strings(self.ft_cfg.get('train_dataloader')) + \
            path_strings({'pretrained_path': self.ft_cfg.get('model', {}).get(
                'pretrained_model_name_or_path')})

    def outputs(self) -> List[str]:
        return [self.adapters_dir()]

    def fingerprint(self) -> Any:
        return {k: plain(self.ft_cfg.get(k)) for k in (
            'model', 'train_dataloader', 'train_cfg', 'optim_wrapper',
            'param_scheduler', 'randomness')}

    def is_complete(self) -> bool:
        return (self.record is not None
                and self.record.get('status') == 'complete'
                and osp.isdir(self.adapters_dir()))

    def reset(self) -> Optional[str]:
        dest = _move_aside(self.work_dir)
        return f'moved the old fine-tuning run aside: {dest}' if dest else None

    def run(self) -> dict:
        import torch
        import torch.distributed as dist
        from ..engine.runner import ReIDRunner
        import synthgen.finetune  # noqa: F401  registers model/dataset/hooks
        cfg = copy.deepcopy(self.ft_cfg)
        cfg.work_dir = self.work_dir
        cfg.experiment_name = unique_run_name(self)
        cfg.launcher = self.cfg.get('launcher', 'none')
        cfg.resume = bool(self.resume)
        if dist.is_available() and dist.is_initialized() and \
                not torch.cuda.is_available():
            cfg.setdefault('env_cfg', {}).setdefault('dist_cfg', {})[
                'backend'] = 'gloo'
            wrapper = dict(cfg.get('model_wrapper_cfg') or {})
            wrapper.setdefault('type', 'MMDistributedDataParallel')
            wrapper['device_ids'] = None  # CPU modules take no device ids
            cfg.model_wrapper_cfg = wrapper
        os.makedirs(cfg.work_dir, exist_ok=True)
        with DefaultScope.overwrite_default_scope(cfg.get('default_scope')):
            runner = ReIDRunner.from_cfg(cfg)
            runner.train()
        return dict(adapters=self.adapters_dir(), iters=runner.iter)

