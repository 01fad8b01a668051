"""Entry points for tools: run a config's generation stage, or ask if it is done.

A config carries ``generation = dict(pipeline=dict(source=..., prompt_builder=...,
generator=..., filters=[...], writer=dict(out_dir=...), num_variants=K,
seed=S))``. ``writer.out_dir`` may contain ``{work_dir}``; a source without
``data_root`` takes the config's top-level ``data_root`` (so
``--cfg-options data_root=...`` reaches it).
"""
from __future__ import annotations

import os.path as osp
from typing import Any, Optional

from synthgen.pipeline import GenerationPipeline, GenerationSummary

__all__ = ['build_pipeline', 'generation_out_dir', 'generation_complete',
           'run_generation', 'run_pipeline', 'pipeline_section']


def pipeline_section(gen: Any, key: str = 'generation') -> dict:
    """The ``pipeline`` of a ``<key> = dict(pipeline=...)`` config section."""
    if gen is None:
        raise KeyError(f'the config has no `{key}` section; expected '
                       f'{key} = dict(pipeline=dict(source=..., '
                       'generator=..., writer=dict(out_dir=...)))')
    if 'pipeline' not in gen:
        raise KeyError(f'{key}: expected a `pipeline` key, got {sorted(gen)}')
    extra = set(gen) - {'pipeline'}
    if extra:
        raise KeyError(f'{key}: unknown key(s) {sorted(extra)}; put '
                       f'pipeline settings under {key}.pipeline')
    return gen['pipeline']


def _section(cfg: Any) -> dict:
    gen = cfg.get('generation') if hasattr(cfg, 'get') else None
    return dict(pipeline=pipeline_section(gen))


def build_pipeline(cfg: Any, work_dir: Optional[str] = None
                   ) -> GenerationPipeline:
    """Build the :class:`GenerationPipeline` of a config's generation stage.

    Args:
        cfg: an mmengine ``Config`` (or dict) with a ``generation`` section.
        work_dir (str, optional): defaults to ``cfg.work_dir``.
    """
    gen = _section(cfg)
    work_dir = work_dir or cfg.get('work_dir')
    return GenerationPipeline.from_cfg(gen['pipeline'],
                                       data_root=cfg.get('data_root'),
                                       work_dir=work_dir)


def generation_out_dir(cfg: Any, work_dir: Optional[str] = None) -> str:
    """The folder the generation stage writes (manifests + images)."""
    return build_pipeline(cfg, work_dir).out_dir


def generation_complete(cfg: Any, work_dir: Optional[str] = None) -> bool:
    """True when every planned unit of the config is committed in its output.

    Lists the source (cheap) but builds no generator. False when the output is
    missing, partial, or was made by a different plan.
    """
    return build_pipeline(cfg, work_dir).is_complete()


def run_generation(cfg: Any, work_dir: Optional[str] = None,
                   progress: bool = True, print_summary: bool = True
                   ) -> GenerationSummary:
    """Run (or resume) the generation stage on this process's shard.

    Under torch.distributed every rank calls it; each processes its units and
    the returned summary is merged over ranks (and printed by rank 0). Returns
    after all ranks finished.
    """
    return run_pipeline(build_pipeline(cfg, work_dir), progress=progress,
                        print_summary=print_summary)


def run_pipeline(pipeline: GenerationPipeline, progress: bool = True,
                 print_summary: bool = True) -> GenerationSummary:
    """Run a built pipeline on this rank's shard; the merged summary."""
    from mmengine.dist import all_gather_object, get_dist_info
    rank, world_size = get_dist_info()
    summary = pipeline.run(rank, world_size, progress=progress)
    if world_size > 1:
        summary = GenerationSummary.merge(all_gather_object(summary))
    if rank == 0 and print_summary:
        from rich.console import Console
        Console().print(summary.table())
    return summary
