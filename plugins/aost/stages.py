"""AOST as named stages: distances -> regress -> search -> select.

Then the built-in stages carry on: ``train_translator`` (``FinetuneStage``
with the SPGAN config), ``translate`` (``GenerateStage`` with
:class:`FineGPRListSource` and ``GANTranslator``), ``train`` and
:class:`MultiTargetTestStage` (one model tested on several targets, one
table). Every file is written through a temporary name and a rename.
"""
from __future__ import annotations

import hashlib
import json
import os.path as osp
from collections import Counter, defaultdict
from typing import Any, Dict, List, Optional

import numpy as np

from reidkit.registry import DATASETS, STAGES
from reidkit.stages import FinetuneStage, Stage, TestStage
from mmengine.config import Config
from reidkit.stages.base import atomic_write_text, path_strings, plain
from reidkit.stages.builtin import merge_overrides
from synthgen.sources import SOURCES, BaseSource, SourceError

from .distances import DistanceCache, StyleContentDistance
from .search import (FEATURES, AttributeRegressor, ProductSetSearch,
                     cell_table, encode, random_subset, select_product)


def finegpr_records(data_root: str, **kwargs) -> List[dict]:
    """Raw FineGPR records (original pids): ``img_path``, ``rel`` (relative
    to ``data_root``), ``pid``, ``camid``, ``attributes``."""
    from reidkit.datasets.finegpr import FineGPR
    ds = FineGPR(data_root, lazy_init=True, **kwargs)
    recs = ds.parse_split('train')
    for r in recs:
        r['rel'] = osp.relpath(r['img_path'], ds.data_root)
    return recs


def _read_jsonl(path: str) -> List[dict]:
    with open(path, encoding='utf-8') as f:
        return [json.loads(line) for line in f if line.strip()]


def _write_json(path: str, data: Any) -> None:
    atomic_write_text(path, json.dumps(plain(data), indent=1, sort_keys=True))


@STAGES.register_module()
class AOSTDistanceStage(Stage):
    """AOST distances of sampled FineGPR images to the target domain.

    For every setting (viewpoint, weather, illumination, background) up to
    ``per_setting`` images are drawn; each gets the style, content and total
    distance (:class:`~plugins.aost.distances.StyleContentDistance`) to the
    mean of up to ``max_target`` target training images.

    Args:
        source_root (str): FineGPR root.
        target (dict): a reidkit dataset config of the target's images
            (e.g. ``dict(type='Market1501', data_root=..., split='train')``).
        out_file (str): JSON Lines: ``path`` (relative to ``source_root``),
            ``attributes``, ``style``, ``content``, ``total``.
        distance (dict): :class:`StyleContentDistance` arguments
            (``pretrained`` = VGG-19 weights file).
        per_setting (int): images per setting.
        max_target (int): target images used (random, seeded).
        seed (int): sampling seed.
        cache_file (str, optional): per-image cache (default beside
            ``out_file``); kept across config changes.
        **kwargs: name, cfg, work_dir, depends_on.

    Example:
        >>> dict(name='distances', type='AOSTDistanceStage',
        ...      source_root='${data_root}', out_file='${work_dir}/d.jsonl',
        ...      target=dict(type='Market1501', data_root='${target_root}'))
    """

    def __init__(self, source_root: str, target: dict, out_file: str,
                 distance: Optional[dict] = None, per_setting: int = 1,
                 max_target: int = 2000, seed: int = 0,
                 cache_file: Optional[str] = None, **kwargs):
        super().__init__(**kwargs)
        self.source_root, self.target = source_root, plain(target)
        self.out_file = out_file
        self.distance = plain(distance or {})
        self.per_setting, self.max_target = int(per_setting), int(max_target)
        self.seed = int(seed)
        self.cache_file = cache_file or osp.splitext(out_file)[0] + '.cache.jsonl'

    def outputs(self):
        return [self.out_file]

    def fingerprint(self):
        return dict(source_root=self.source_root, target=self.target,
                    distance=self.distance, per_setting=self.per_setting,
                    max_target=self.max_target, seed=self.seed)

    def sample(self) -> List[dict]:
        rng = np.random.default_rng(self.seed)
        groups = defaultdict(list)
        for r in finegpr_records(self.source_root):
            groups[tuple(r['attributes'][k] for k in FEATURES)].append(r)
        out = []
        for key in sorted(groups):
            g = groups[key]
            idx = rng.choice(len(g), min(self.per_setting, len(g)), replace=False)
            out += [g[i] for i in sorted(idx)]
        return out

    def target_paths(self) -> List[str]:
        ds = DATASETS.build(dict(self.target))
        paths = sorted(ds.get_data_info(i)['img_path'] for i in range(len(ds)))
        if len(paths) > self.max_target:
            rng = np.random.default_rng(self.seed)
            paths = [paths[i] for i in sorted(rng.choice(len(paths),
                                                         self.max_target,
                                                         replace=False))]
        return paths

    def run(self):
        from mmengine.dist import is_main_process
        if not is_main_process():
            return None
        sample = self.sample()
        dist = StyleContentDistance(**self.distance)
        tgt = self.target_paths()
        stats = dist.target_stats(tgt)
        fp = dist.fingerprint() + ':' + hashlib.sha1(
            '\n'.join(tgt).encode()).hexdigest()[:12]
        d = DistanceCache(self.cache_file).compute(
            [r['img_path'] for r in sample], dist, stats, fp, log=print)
        lines = [json.dumps(dict(path=r['rel'], attributes=r['attributes'],
                                 style=float(d['style'][i]),
                                 content=float(d['content'][i]),
                                 total=float(d['total'][i])), sort_keys=True)
                 for i, r in enumerate(sample)]
        atomic_write_text(self.out_file, ''.join(x + '\n' for x in lines))
        return dict(images=len(sample), target_images=len(tgt),
                    mean_total=float(d['total'].mean()))


@STAGES.register_module()
class AOSTRegressStage(Stage):
    """Fit the XGBoost regressor from attribute codes to the total distance.

    Args:
        distances_file (str): the distance stage's ``out_file``.
        out_file (str): the regressor (XGBoost JSON).
        regressor (dict): :class:`AttributeRegressor` arguments.
        **kwargs: name, cfg, work_dir, depends_on.
    """

    def __init__(self, distances_file: str, out_file: str,
                 regressor: Optional[dict] = None, **kwargs):
        super().__init__(**kwargs)
        self.distances_file, self.out_file = distances_file, out_file
        self.regressor = plain(regressor or {})

    def outputs(self):
        return [self.out_file]

    def run(self):
        from mmengine.dist import is_main_process
        if not is_main_process():
            return None
        rows = _read_jsonl(self.distances_file)
        x = encode([r['attributes'] for r in rows])
        y = np.array([r['total'] for r in rows])
        reg = AttributeRegressor(**self.regressor).fit(x, y)
        reg.save(self.out_file)
        rmse = float(np.sqrt(np.mean((reg.predict(x) - y) ** 2)))
        return dict(images=len(rows), train_rmse=rmse, d_std=float(y.std()))


def _available(records) -> Dict[str, List[int]]:
    return {k: sorted({r['attributes'][k] for r in records})
            for k in ProductSetSearch.ORDER}


def _background_weights(records) -> Dict[int, float]:
    bg_of = {r['pid']: r['attributes']['background'] for r in records}
    return {int(b): float(n) for b, n in Counter(bg_of.values()).items()}


@STAGES.register_module()
class AOSTSearchStage(Stage):
    """PSO search for the product set of settings with the lowest predicted D.

    The table is over the values present in the FineGPR folder and averaged
    over its identities' backgrounds (weights = identities per background).

    Args:
        source_root (str): FineGPR root.
        regressor_file (str): the regress stage's ``out_file``.
        out_file (str): ``selection.json``: ``viewpoint``, ``weather``,
            ``illumination`` code lists (an ``attribute_filter`` for the
            ``FineGPR`` dataset), ``cost``, ``pso_cost``, ``history``.
        sizes (dict): values per attribute (paper size: 12 x 3 x 3 = 108
            images per identity).
        search (dict): other :class:`ProductSetSearch` arguments.
        **kwargs: name, cfg, work_dir, depends_on.
    """

    def __init__(self, source_root: str, regressor_file: str, out_file: str,
                 sizes: Optional[dict] = None, search: Optional[dict] = None,
                 **kwargs):
        super().__init__(**kwargs)
        self.source_root, self.regressor_file = source_root, regressor_file
        self.out_file = out_file
        self.sizes = plain(sizes or dict(viewpoint=12, weather=3, illumination=3))
        self.search = plain(search or {})

    def outputs(self):
        return [self.out_file]

    def run(self):
        from mmengine.dist import is_main_process
        if not is_main_process():
            return None
        recs = finegpr_records(self.source_root)
        values = _available(recs)
        reg = AttributeRegressor.load(self.regressor_file)
        table = cell_table(reg.predict, _background_weights(recs), values)
        res = ProductSetSearch(self.sizes, values=values, **self.search).run(table)
        res.update(sizes=self.sizes, table_min=float(table.min()),
                   table_mean=float(table.mean()))
        _write_json(self.out_file, res)
        return {k: res[k] for k in ('cost', 'pso_cost', 'table_mean')}


@STAGES.register_module()
class AOSTSelectStage(Stage):
    """Write the selected subset and a random subset of the same size.

    Args:
        source_root (str): FineGPR root.
        selection_file (str): the search stage's ``out_file``.
        out_file (str): image list of the selected subset (paths relative to
            ``source_root``; the ``FineGPR`` dataset's ``image_list``).
        random_file (str): image list of the random control (same size,
            drawn from the whole folder).
        max_ids (int, optional): keep only the first ``max_ids`` identities
            (the paper keeps all 1,150).
        seed (int): seed of the random control.
        **kwargs: name, cfg, work_dir, depends_on.
    """

    def __init__(self, source_root: str, selection_file: str, out_file: str,
                 random_file: str, max_ids: Optional[int] = None, seed: int = 0,
                 **kwargs):
        super().__init__(**kwargs)
        self.source_root, self.selection_file = source_root, selection_file
        self.out_file, self.random_file = out_file, random_file
        self.max_ids = max_ids
        self.seed = int(seed)

    def outputs(self):
        return [self.out_file, self.random_file]

    def run(self):
        from mmengine.dist import is_main_process
        if not is_main_process():
            return None
        recs = finegpr_records(self.source_root)
        if self.max_ids is not None:
            keep = set(sorted({r['pid'] for r in recs})[:int(self.max_ids)])
            recs = [r for r in recs if r['pid'] in keep]
        with open(self.selection_file, encoding='utf-8') as f:
            selection = json.load(f)
        chosen = select_product(recs, selection)
        if not chosen:
            raise ValueError(f'{self.selection_file}: the selection matches no '
                             f'image under {self.source_root}')
        control = random_subset(recs, len(chosen), self.seed)
        for path, part in ((self.random_file, control), (self.out_file, chosen)):
            atomic_write_text(path, ''.join(r['rel'] + '\n' for r in part))
        return dict(selected=len(chosen), ids=len({r['pid'] for r in chosen}),
                    pool=len(recs))


@STAGES.register_module()
class AOSTTranslatorStage(FinetuneStage):
    """Train the SPGAN / CycleGAN translator (a ``FinetuneStage``) and put
    the default registry scope back afterwards.

    The fine-tuning Runner makes ``synthgen`` the current mmengine scope; a
    later stage that builds reidkit types by name before its own Runner
    exists (``TrainStage`` counting the train set's identities) would look
    them up in synthgen's registries. Args: see ``FinetuneStage``; the
    generator is written to ``<work_dir>/adapters``.
    """

    def run(self):
        import time
        from mmengine.registry import DefaultScope
        current = DefaultScope.get_current_instance()
        scope = current.scope_name if current is not None else 'reidkit'
        try:
            return super().run()
        finally:
            DefaultScope.get_instance(f'{self.name}-{time.time_ns()}',
                                      scope_name=scope)


@SOURCES.register_module()
class FineGPRListSource(BaseSource):
    """FineGPR images named in an image list (the selected subset).

    Records keep FineGPR's pid, camera code and attributes; ``source`` is the
    image path, so image-to-image generators (``GANTranslator``) read it.

    Args:
        data_root (str): FineGPR root.
        image_list (str): text file of paths relative to ``data_root``.

    Example:
        >>> src = FineGPRListSource('data/finegpr', 'work_dirs/aost/selected.txt')
    """

    def __init__(self, data_root: str, image_list: str):
        super().__init__(data_root)
        self.image_list = image_list

    def _load(self):
        if not osp.isfile(self.image_list):
            raise SourceError(f'FineGPRListSource: image_list {self.image_list} '
                              'does not exist (run the select stage first)')
        recs = finegpr_records(self.data_root, image_list=self.image_list)
        return [dict(key=r['rel'], source=r['img_path'], mask=None,
                     pid=r['pid'], camid=r['camid'], clothes_id=-1, modality=0,
                     attributes=dict(r['attributes']), extra={})
                for r in recs]

    def describe(self):
        return dict(type=type(self).__name__, image_list=self.image_list)


@STAGES.register_module()
class MultiTargetTestStage(TestStage):
    """Test one trained model on several targets and print one table.

    Args:
        targets (dict): ``{name: overrides}``, each merged into the config
            for that target, e.g. ``dict(duke=dict(test_dataloader=dict(
            dataset=dict(type='DukeMTMC', data_root=...))))`` (domain
            generalisation: Market-1501, DukeMTMC-reID, CUHK03-NP).
        metrics (list): metric names shown (default ``R1``, ``R5``,
            ``mAP``).
        **kwargs: see ``TestStage`` (train_stage, checkpoint, overrides).

    Writes ``<work_dir>/metrics_<name>.json`` with ``<target>/<metric>``
    keys (and one ``metrics_<name>_<target>.json`` per target).

    Example:
        >>> dict(name='test', type='MultiTargetTestStage', targets=dict(
        ...     market=dict(test_dataloader=dict(dataset=dict(
        ...         type='Market1501', data_root='${market_root}')))))
    """

    def __init__(self, targets: dict, metrics=('R1', 'R5', 'mAP'), **kwargs):
        self._kwargs = {k: v for k, v in kwargs.items()
                        if k not in ('name', 'cfg', 'print_table')}
        kwargs['print_table'] = False
        super().__init__(**kwargs)
        if not targets:
            raise ValueError(f"stage '{self.name}': targets is empty")
        self.targets = plain(targets)
        self.metric_names = list(metrics)

    def target_stage(self, tname: str) -> TestStage:
        """A plain ``TestStage`` for one target (same model and checkpoint)."""
        kw = dict(self._kwargs)
        train = self._train()
        if train is not None:
            kw['train_stage'] = train.name
        over = merge_overrides(Config(plain(kw.pop('overrides', None) or {})),
                               self.targets[tname]).to_dict()
        st = TestStage(name=f'{self.name}_{tname}', cfg=self.cfg,
                       overrides=over, print_table=False,
                       **{k: v for k, v in kw.items()})
        st.others = self.others
        return st

    def fingerprint(self):
        fp = super().fingerprint()
        fp['targets'] = self.targets
        return fp

    def inputs(self):
        return super().inputs() + path_strings(self.targets)

    def run(self):
        from mmengine.dist import get_rank
        from reidkit.utils.table import format_table
        out, rows = {}, []
        for tname in self.targets:
            st = self.target_stage(tname)
            # the runner set these on this stage; the per-target copy needs them
            st.work_dir, st.exp_dir = self.work_dir, self.exp_dir
            m = st.run()
            out.update({f'{tname}/{k}': v for k, v in m.items()})
            rows.append([tname] + [_fmt(_find(m, k)) for k in self.metric_names])
        if get_rank() == 0:
            print(format_table(['target'] + self.metric_names, rows,
                               f'test: {self.name} (one model, every target)'),
                  flush=True)
            _write_json(self.metrics_file(), out)
        return out


def _find(metrics: dict, name: str):
    for k, v in metrics.items():
        if k == name or k.endswith('/' + name):
            return v
    return None


def _fmt(v):
    return '-' if v is None else f'{float(v):.1f}'
