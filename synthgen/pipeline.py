"""GenerationPipeline: source -> prompt builder -> generator -> filters -> writer.

Work is planned deterministically from the config: the source's records, sorted
by key, are numbered ``0..N-1`` (one *unit* each) and every unit makes
``num_variants`` images. Unit ``u`` is processed by rank ``u % world_size``;
image ``k`` of unit ``u`` uses ``seed = (base_seed + u) * num_variants + k``.
So the same config gives the same images on any number of ranks, and a rerun
resumes: finished units (those with a ``unit_done`` record in a manifest shard)
are skipped. See :mod:`synthgen.writer` for the commit order.
"""
from __future__ import annotations

import copy
import hashlib
import json
import os.path as osp
import time
from collections import Counter, OrderedDict
from dataclasses import dataclass, field
from typing import Any, Dict, List, Optional, Sequence


from synthgen.manifest import parse_shard, shard_paths
from synthgen.registry import FILTERS, GENERATORS, PROMPT_BUILDERS
from synthgen.sources import SOURCES, BaseSource, to_rgb_array
from synthgen.writer import ShardWriter, broken_images, check_writable

__all__ = ['GenerationPipeline', 'GenerationSummary', 'Unit', 'build_component',
           'plain_data']

#: writer / pipeline keys that do not change what is generated
_NON_SEMANTIC = {'batch_size', 'fsync', 'units_per_dir', 'out_dir',
                 'png_compress_level', 'progress'}


def _import_locations(registry) -> None:
    """Import a registry's locations, tolerating only a location that is absent.

    mmengine imports every location on first lookup and fails if one is
    missing; a location package that does not exist (yet) holds nothing to find.
    """
    if getattr(registry, '_imported', True):
        return
    from importlib import import_module
    for loc in registry._locations:
        try:
            import_module(loc)
        except ModuleNotFoundError as exc:
            if exc.name != loc:
                raise
    registry._imported = True


def build_component(registry, cfg: Any, what: str) -> Any:
    """Build ``cfg`` (a dict with ``type``) from ``registry``; objects pass through."""
    if cfg is None or not isinstance(cfg, dict):
        return cfg
    if 'type' not in cfg:
        raise KeyError(f"generation.pipeline.{what} needs a 'type' key, got "
                       f'{dict(cfg)}')
    _import_locations(registry)
    cfg = dict(cfg)
    if isinstance(cfg['type'], str):
        obj_type = registry.get(cfg['type'])  # clear error for unknown names
        cfg['type'] = obj_type
    return registry.build(cfg)


def plain_data(obj: Any) -> Any:
    """Config objects -> plain JSON-able data (for fingerprints)."""
    if hasattr(obj, 'to_dict'):
        obj = obj.to_dict()
    if isinstance(obj, dict):
        return {str(k): plain_data(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [plain_data(v) for v in obj]
    if isinstance(obj, type):
        return f'{obj.__module__}.{obj.__qualname__}'
    if isinstance(obj, (str, int, float, bool)) or obj is None:
        return obj
    return f'<{type(obj).__name__}>'


def _name(obj: Any) -> str:
    return getattr(obj, 'name', None) or type(obj).__name__


@dataclass
class Unit:
    """One deterministic piece of work: a source record and its image seeds."""
    id: int
    key: str
    seed: int
    record: Dict[str, Any]


@dataclass
class FilterStats:
    passed: int = 0
    dropped: int = 0
    reasons: Counter = field(default_factory=Counter)


@dataclass
class GenerationSummary:
    """Counts of one run (merged over ranks by :meth:`merge`)."""
    units_total: int = 0
    units_before: int = 0
    units_run: int = 0
    requests: int = 0
    kept: int = 0
    elapsed: float = 0.0
    world_size: int = 1
    out_dir: str = ''
    filters: 'OrderedDict[str, FilterStats]' = field(default_factory=OrderedDict)

    @property
    def images_per_s(self) -> float:
        return self.kept / self.elapsed if self.elapsed > 0 else 0.0

    @property
    def complete(self) -> bool:
        return self.units_before + self.units_run >= self.units_total

    @classmethod
    def merge(cls, parts: Sequence['GenerationSummary']) -> 'GenerationSummary':
        out = copy.deepcopy(parts[0])
        for p in parts[1:]:
            out.units_run += p.units_run
            out.requests += p.requests
            out.kept += p.kept
            out.elapsed = max(out.elapsed, p.elapsed)
            for name, st in p.filters.items():
                dst = out.filters.setdefault(name, FilterStats())
                dst.passed += st.passed
                dst.dropped += st.dropped
                dst.reasons.update(st.reasons)
        return out

    def table(self):
        """A rich Table: kept/dropped per filter, then throughput."""
        from rich.table import Table
        t = Table(title=f'generation: {self.out_dir}')
        t.add_column('stage')
        t.add_column('in', justify='right')
        t.add_column('kept', justify='right')
        t.add_column('dropped', justify='right')
        t.add_column('top reasons')
        t.add_row('generator', str(self.requests), str(self.requests), '0', '')
        for name, st in self.filters.items():
            reasons = ', '.join(f'{r} ({n})' for r, n in st.reasons.most_common(3))
            t.add_row(name, str(st.passed + st.dropped), str(st.passed),
                      str(st.dropped), reasons)
        t.add_row('written', str(self.requests), str(self.kept),
                  str(self.requests - self.kept), '', style='bold')
        t.caption = (f'units: {self.units_run} run now, {self.units_before} done '
                     f'before, {self.units_total} planned '
                     f"({'complete' if self.complete else 'INCOMPLETE'}) | "
                     f'{self.images_per_s:.1f} images/s over {self.world_size} '
                     f'rank(s), {self.elapsed:.1f} s')
        return t


class GenerationPipeline:
    """Plans, shards, generates, filters and writes a synthetic dataset.

    Args:
        source (dict | BaseSource): where units come from (``SOURCES``); a dict
            without ``data_root`` gets the ``data_root`` argument.
        generator (dict | callable): a ``GENERATORS`` config or object.
        prompt_builder (dict | callable, optional): a ``PROMPT_BUILDERS`` config
            or object; None leaves prompts empty.
        filters (list): ``FILTERS`` configs or objects, applied in order.
        writer (dict): :class:`~synthgen.writer.ShardWriter` arguments; needs
            ``out_dir`` (may contain ``{work_dir}``).
        num_variants (int): images per unit (K).
        seed (int): base seed.
        batch_size (int): requests per generator call (does not change results).
        data_root (str, optional): default ``source.data_root``.
        work_dir (str, optional): fills ``{work_dir}`` in ``writer.out_dir``.

    Components given as configs are built on first use, so
    :meth:`is_complete` never loads a generator.

    Example:
        >>> pipe = GenerationPipeline(
        ...     source=dict(type='PRCCSource', data_root='data/toy/prcc'),
        ...     prompt_builder=dict(type='ClothesSwapPrompt'),
        ...     generator=dict(type='RecolorInpainter'),
        ...     filters=[dict(type='PHashDuplicateFilter')],
        ...     writer=dict(out_dir='work_dirs/recolor/synth'), num_variants=4)
        >>> summary = pipe.run()
    """

    def __init__(self, source: Any, generator: Any, prompt_builder: Any = None,
                 filters: Sequence[Any] = (), writer: Optional[dict] = None,
                 num_variants: int = 1, seed: int = 0, batch_size: int = 16,
                 data_root: Optional[str] = None,
                 work_dir: Optional[str] = None) -> None:
        writer = dict(writer or {})
        if 'out_dir' not in writer:
            raise KeyError("generation.pipeline.writer needs 'out_dir' (where "
                           'manifest.rank*.jsonl and images/ go)')
        out_dir = str(writer['out_dir'])
        if '{work_dir}' in out_dir:
            if not work_dir:
                raise ValueError(f'writer.out_dir {out_dir!r} uses {{work_dir}} '
                                 'but no work dir is set (--work-dir or '
                                 'cfg.work_dir)')
            out_dir = out_dir.replace('{work_dir}', str(work_dir))
        writer['out_dir'] = out_dir
        if int(num_variants) < 1:
            raise ValueError(f'num_variants must be >= 1, got {num_variants}')
        if isinstance(source, dict):
            source = dict(source)
            if source.get('data_root') is None and data_root is not None:
                source['data_root'] = data_root
        self._cfg = dict(source=source, generator=generator,
                         prompt_builder=prompt_builder, filters=list(filters))
        self._built: Dict[str, Any] = {}
        self.writer_cfg = writer
        self.out_dir = out_dir
        self.num_variants = int(num_variants)
        self.seed = int(seed)
        self.batch_size = max(1, int(batch_size))
        self._units: Optional[List[Unit]] = None

    @classmethod
    def from_cfg(cls, cfg: Any, data_root: Optional[str] = None,
                 work_dir: Optional[str] = None) -> 'GenerationPipeline':
        """Build from a ``generation.pipeline`` config dict."""
        cfg = _plain_cfg(cfg)
        allowed = {'source', 'generator', 'prompt_builder', 'filters', 'writer',
                   'num_variants', 'seed', 'batch_size', 'data_root'}
        unknown = set(cfg) - allowed
        if unknown:
            raise KeyError(f'generation.pipeline: unknown key(s) {sorted(unknown)}; '
                           f'expected some of {sorted(allowed)}')
        for key in ('source', 'generator'):
            if key not in cfg:
                raise KeyError(f"generation.pipeline needs '{key}'")
        data_root = cfg.pop('data_root', None) or data_root
        return cls(data_root=data_root, work_dir=work_dir, **cfg)

    # ------------------------------------------------------------ components
    def _get(self, what: str) -> Any:
        if what not in self._built:
            cfg = self._cfg[what]
            if what == 'filters':
                self._built[what] = [build_component(FILTERS, c, 'filters')
                                     for c in cfg]
            else:
                reg = dict(source=SOURCES, generator=GENERATORS,
                           prompt_builder=PROMPT_BUILDERS)[what]
                self._built[what] = build_component(reg, cfg, what)
        return self._built[what]

    @property
    def source(self) -> BaseSource:
        return self._get('source')

    @property
    def generator(self):
        return self._get('generator')

    @property
    def prompt_builder(self):
        return self._get('prompt_builder')

    @property
    def filters(self) -> list:
        return self._get('filters')

    # ------------------------------------------------------------------ plan
    def plan(self) -> List[Unit]:
        """All units of the run, in order (identical on every rank)."""
        if self._units is None:
            records = self.source.load()
            self._units = [Unit(i, r['key'], self.seed + i, r)
                           for i, r in enumerate(records)]
        return self._units

    def fingerprint(self) -> Dict[str, Any]:
        """What identifies the planned output (stored as ``plan.json``)."""
        spec = plain_data(self._cfg)
        if isinstance(spec.get('source'), dict):
            spec['source'].pop('data_root', None)
        else:  # a source object: what it says identifies it
            spec['source'] = plain_data(self.source.describe())
        spec['writer'] = {k: v for k, v in plain_data(self.writer_cfg).items()
                          if k not in _NON_SEMANTIC}
        spec.update(num_variants=self.num_variants, seed=self.seed)
        h = hashlib.sha256(json.dumps(spec, sort_keys=True).encode())
        for u in self.plan():
            h.update(f'{u.id}\t{u.key}\n'.encode())
        units = self.plan()
        return dict(fingerprint=h.hexdigest()[:20], num_units=len(units),
                    num_variants=self.num_variants,
                    num_images_planned=len(units) * self.num_variants,
                    spec=spec)

    def image_seed(self, unit: Unit, variant: int) -> int:
        return unit.seed * self.num_variants + variant

    def is_complete(self) -> bool:
        """Whether every planned unit is committed under this plan, with
        every committed image file still there and readable."""
        plan_path = osp.join(self.out_dir, 'plan.json')
        if not osp.isfile(plan_path):
            return False
        try:
            with open(plan_path, encoding='utf-8') as f:
                if json.load(f).get('fingerprint') != \
                        self.fingerprint()['fingerprint']:
                    return False
        except ValueError:
            return False
        done = set()
        for path in shard_paths(self.out_dir):
            state = parse_shard(path)
            if broken_images(self.out_dir, state.images):
                return False
            done.update(state.done)
        return all(u.id in done for u in self.plan())

    # ------------------------------------------------------------------- run
    def run(self, rank: Optional[int] = None, world_size: Optional[int] = None,
            progress: bool = True) -> GenerationSummary:
        """Process this rank's unfinished units; returns this rank's summary."""
        if rank is None or world_size is None:
            from mmengine.dist import get_dist_info
            rank, world_size = get_dist_info()
        # an output that cannot be written stops the run before any work
        check_writable(self.out_dir, 'generation output (writer.out_dir)')
        units = self.plan()
        # build everything before touching the output folder: a config typo
        # must not leave a plan.json behind
        filters = self.filters
        builder = self.prompt_builder
        generator = self.generator
        gen_name = _name(generator)
        writer = ShardWriter(rank=rank, world_size=world_size, **self.writer_cfg)
        writer.check_plan(self.fingerprint())
        done = writer.resume()
        todo = [u for u in units if writer.owns(u.id) and u.id not in done]
        summary = GenerationSummary(
            units_total=len(units), units_before=len(done),
            world_size=world_size, out_dir=self.out_dir)
        names = _unique_names(filters)
        for n in names:
            summary.filters[n] = FilterStats()
        if builder is not None and hasattr(builder, 'prepare'):
            builder.prepare([u.record for u in units])

        bar = _Progress(len(todo), rank == 0 and progress,
                        f'rank {rank}/{world_size}' if world_size > 1 else '')
        start = time.perf_counter()
        warned_same = self.num_variants < 2
        try:
            for batch in self._batches(todo):
                requests = self._requests(batch)
                self._build_prompts(builder, requests)
                outputs = generator(requests)
                if len(outputs) != len(requests):
                    raise RuntimeError(f'generator {gen_name} returned '
                                       f'{len(outputs)} outputs for '
                                       f'{len(requests)} requests')
                k = self.num_variants
                if not warned_same:
                    warned_same = self._warn_identical(outputs, k, gen_name)
                commits = [self._filter(unit, requests[i * k:(i + 1) * k],
                                        outputs[i * k:(i + 1) * k], filters,
                                        names, gen_name, summary)
                           for i, unit in enumerate(batch)]
                writer.commit_units(commits)
                for _, kept, _ in commits:
                    summary.units_run += 1
                    summary.requests += k
                    summary.kept += len(kept)
                    summary.elapsed = time.perf_counter() - start
                    bar.advance(summary)
        finally:
            bar.close()
            writer.close()
        summary.elapsed = time.perf_counter() - start
        return summary

    @staticmethod
    def _warn_identical(outputs, k: int, gen_name: str) -> bool:
        """Warn (once) when a unit's K outputs are the same image: the
        generator ignores the request's seed/variant, and a near-duplicate
        filter would keep 1 of K. Returns whether it warned."""
        for i in range(0, len(outputs), k):
            images = [to_rgb_array(o['image']) for o in outputs[i:i + k]
                      if isinstance(o, dict) and 'image' in o]
            if len(images) == k and all(
                    im.shape == images[0].shape and (im == images[0]).all()
                    for im in images[1:]):
                from mmengine.logging import print_log
                import logging
                print_log(f'generator {gen_name} returned {k} identical '
                          'images for the variants of one unit: it ignores '
                          "the request's seed/variant, and a near-duplicate "
                          f'filter will keep only 1 of the {k}',
                          logger='current', level=logging.WARNING)
                return True
        return False

    def _batches(self, units: List[Unit]):
        per = max(1, self.batch_size // self.num_variants)
        for i in range(0, len(units), per):
            yield units[i:i + per]

    def _requests(self, batch: List[Unit]) -> List[Dict[str, Any]]:
        requests = []
        for unit in batch:
            rec = unit.record
            inputs = self.source.read(rec)
            extra = dict(rec.get('extra') or {})
            cameras = extra.pop('cameras', None)
            for k in range(self.num_variants):
                camid = cameras[k % len(cameras)] if cameras else rec['camid']
                requests.append(dict(
                    unit=unit.id, variant=k,
                    index=unit.id * self.num_variants + k,
                    seed=self.image_seed(unit, k), prompt='',
                    pid=rec['pid'], camid=camid, clothes_id=rec['clothes_id'],
                    modality=rec['modality'],
                    attributes=dict(rec.get('attributes') or {}),
                    source=rec.get('source'), record=rec, extra=extra,
                    image=inputs.get('image'), mask=inputs.get('mask'),
                    meta={}))
        return requests

    @staticmethod
    def _build_prompts(builder, requests: List[Dict[str, Any]]) -> None:
        if builder is None:
            return
        out = builder(requests)
        if out is not None:
            out = list(out)
            if len(out) != len(requests):
                raise RuntimeError(f'prompt builder {_name(builder)} returned '
                                   f'{len(out)} prompts for {len(requests)} '
                                   'requests')
            for req, prompt in zip(requests, out):
                req['prompt'] = str(prompt)

    def _filter(self, unit: Unit, requests, outputs, filters, names,
                gen_name, summary: GenerationSummary):
        """Run the filter chain on a unit's outputs -> (unit, kept, done)."""
        for flt in filters:
            if hasattr(flt, 'reset'):
                flt.reset()
        kept_images = []
        dropped: Counter = Counter()
        for req, out in zip(requests, outputs):
            if not isinstance(out, dict) or 'image' not in out:
                raise RuntimeError(f'generator {gen_name} must return dicts with '
                                   f"'image', got {type(out).__name__}")
            item = dict(image=to_rgb_array(out['image']), mask=out.get('mask'),
                        request=req, meta=dict(out.get('meta') or {}))
            passed = []
            for flt, name in zip(filters, names):
                res = flt(item)
                stats = summary.filters[name]
                if not res.keep:
                    stats.dropped += 1
                    stats.reasons[res.reason or 'dropped'] += 1
                    dropped[name] += 1
                    break
                stats.passed += 1
                passed.append(name)
                if res.image is not None:
                    item['image'] = to_rgb_array(res.image)
            else:
                kept_images.append((req['variant'], item['image'],
                                    self._record(req, item, gen_name, passed)))
        done = dict(key=unit.key, seed=unit.seed, requests=len(requests),
                    kept=len(kept_images), dropped=dict(dropped))
        return unit.id, kept_images, done

    @staticmethod
    def _record(req, item, gen_name: str, passed: List[str]) -> Dict[str, Any]:
        meta = item['meta']
        attributes = dict(req['attributes'])
        attributes.update(meta.get('attributes') or {})
        rec = dict(req.get('extra') or {})
        rec.update(req.get('meta') or {})
        rec.update(
            pid=int(req['pid']), camid=int(req['camid']),
            clothes_id=int(req['clothes_id']), modality=int(req['modality']),
            domain=1, unit=int(req['unit']), variant=int(req['variant']),
            generator=gen_name, prompt=req.get('prompt', ''),
            seed=int(req['seed']), source=req.get('source'),
            filters=list(passed), attributes=attributes)
        if req.get('negative_prompt'):
            rec['negative_prompt'] = req['negative_prompt']
        if req.get('adapter'):
            rec['adapter'] = req['adapter']
        gen_meta = {k: v for k, v in meta.items() if k != 'attributes'}
        if gen_meta:
            rec['generator_meta'] = gen_meta
        return rec


def _unique_names(objs: Sequence[Any]) -> List[str]:
    names, seen = [], Counter()
    for obj in objs:
        n = _name(obj)
        seen[n] += 1
        names.append(n if seen[n] == 1 else f'{n}#{seen[n]}')
    return names


def _plain_cfg(cfg: Any) -> Dict[str, Any]:
    if hasattr(cfg, 'to_dict'):
        cfg = cfg.to_dict()
    if not isinstance(cfg, dict):
        raise TypeError(f'generation.pipeline must be a dict, got '
                        f'{type(cfg).__name__}')
    return copy.deepcopy(cfg)


class _Progress:
    """A rich progress bar on rank 0 (no-op elsewhere)."""

    def __init__(self, total: int, enabled: bool, label: str) -> None:
        self._p = None
        if not enabled:
            return
        from rich.progress import (BarColumn, MofNCompleteColumn, Progress,
                                   TextColumn, TimeElapsedColumn,
                                   TimeRemainingColumn)
        self._p = Progress(
            TextColumn(f'generating {label}'.strip()), BarColumn(),
            MofNCompleteColumn(), TextColumn('units'), TimeElapsedColumn(),
            TimeRemainingColumn(), TextColumn('{task.fields[info]}'))
        self._task = self._p.add_task('gen', total=total, info='')
        self._p.start()

    def advance(self, summary: GenerationSummary) -> None:
        if self._p is not None:
            self._p.update(self._task, advance=1,
                           info=f'{summary.kept} kept, '
                                f'{summary.images_per_s:.1f} img/s')

    def close(self) -> None:
        if self._p is not None:
            self._p.stop()
            self._p = None
