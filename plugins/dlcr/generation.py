"""DLCR data generation (Sec. 3.1) on synthgen's GenerationPipeline.

* :class:`DLCRSource` (a synthgen source): one unit per image of a reidkit
  dataset split (training images for training data, query images for
  test-time refinement). Its records carry the image path, the identity,
  ``clothes_id = -1`` (a generated image wears another outfit, so it gives the
  clothes classifier no label) and ``extra.source_clothes``;
  :meth:`DLCRSource.read` returns the image and its clothes label mask from a
  mask provider (:mod:`plugins.dlcr.masks`).
* :class:`DLCRPromptBuilder` (PROMPT_BUILDERS): for variant ``k`` of a unit,
  the target clothes id is entry ``k`` of a seeded random permutation of the
  *other* clothes ids (uniform, and distinct across the unit's first
  ``|C| - 1`` variants); the prompt is that clothes id's description
  (:mod:`plugins.dlcr.descriptions`, built in :meth:`prepare` or read from its
  JSON cache). ``source_clothes``, ``target_clothes`` and ``variant`` go into
  every manifest line.

The generator is any synthgen inpainter: ``DiffusersInpainter`` (SD
inpainting, 768x256, 50 steps, guidance 7.5) for real data,
``RecolorInpainter`` on the toy world, or :class:`DiscriminatorGuidedInpainter`.
"""
from __future__ import annotations

import os.path as osp
import zlib
from typing import Any, Dict, List, Optional, Sequence

import numpy as np

from synthgen.registry import PROMPT_BUILDERS
from synthgen.sources import SOURCES, BaseSource, SourceError, load_image

from .descriptions import DescriptionBank, build_describer
from .masks import build_mask_provider

__all__ = ['DLCRSource', 'DLCRPromptBuilder', 'target_permutation',
           'sample_target_clothes']


def target_permutation(key: str, source_clothes: int,
                       clothes_ids: Sequence[int], seed: int = 0
                       ) -> np.ndarray:
    """The other clothes ids in a random order fixed by ``(seed, key)``.

    Args:
        key (str): the unit key (image path relative to the data root).
        source_clothes (int): the image's own clothes id (excluded).
        clothes_ids (sequence[int]): all clothes ids that have a description.
        seed (int): the run's seed.

    Returns:
        np.ndarray: a permutation of ``clothes_ids`` minus ``source_clothes``.
    """
    ids = np.asarray(sorted(set(int(c) for c in clothes_ids)), np.int64)
    others = ids[ids != int(source_clothes)]
    if len(others) == 0:
        raise ValueError(f'DLCR: no clothes id other than {source_clothes} '
                         'to draw a target outfit from')
    rng = np.random.default_rng([int(seed) & 0xFFFFFFFF,
                                 zlib.crc32(key.encode())])
    return rng.permutation(others)


def sample_target_clothes(key: str, source_clothes: int,
                          clothes_ids: Sequence[int], k: int, seed: int = 0
                          ) -> List[int]:
    """``k`` target clothes ids for one image: uniform among the OTHER ids.

    Without replacement while ``k < |C|`` (the paper's "K different clothes
    IDs"), cycling the permutation beyond.

    Example:
        >>> t = sample_target_clothes('rgb/train/001/A_1.jpg', 3, range(20), 10)
        >>> len(set(t)), 3 in t
        (10, False)
    """
    perm = target_permutation(key, source_clothes, clothes_ids, seed)
    return [int(perm[i % len(perm)]) for i in range(int(k))]


@SOURCES.register_module()
class DLCRSource(BaseSource):
    """Images of a reidkit dataset split, with their clothes masks.

    Args:
        dataset (dict): a reidkit dataset config (``type='PRCC'``,
            ``split='train'`` or ``'query'``...); ``data_root`` defaults to the
            source's.
        mask_provider (dict): a :data:`MASK_PROVIDERS` config
            (``ToyWorldMaskProvider`` / ``HumanParsingMaskProvider``);
            ``data_root`` / ``root`` default to the dataset root.
        data_root (str, optional): the dataset root.
        attributes_file (str, optional): JSON Lines of per-image
            ``attributes`` (the toy world's
            ``_toy_annotations/attributes.jsonl``, relative to data_root);
            ignored when missing.
        limit (int, optional): keep ``limit`` evenly spaced images (smoke
            runs).

    Example:
        >>> src = DLCRSource(dict(type='PRCC', split='train'),
        ...                  dict(type='ToyWorldMaskProvider'),
        ...                  data_root='data/toy/prcc')
        >>> rec = src.load()[0]; src.read(rec)['mask'].max() <= 5
        True
    """

    def __init__(self, dataset: dict, mask_provider: Optional[dict] = None,
                 data_root: Optional[str] = None,
                 attributes_file: Optional[str] =
                 '_toy_annotations/attributes.jsonl',
                 limit: Optional[int] = None) -> None:
        dataset = dict(dataset)
        data_root = data_root or dataset.get('data_root')
        if not data_root:
            raise SourceError('DLCRSource: set data_root (or dataset.data_root)')
        dataset.setdefault('data_root', data_root)
        super().__init__(osp.abspath(dataset['data_root']))
        self.dataset_cfg = dataset
        self.mask_cfg = mask_provider
        self.attributes_file = attributes_file
        self.limit = limit
        self._provider = None

    @property
    def provider(self):
        if self._provider is None:
            if self.mask_cfg is None:
                raise SourceError('DLCRSource: no mask_provider configured')
            cfg = dict(self.mask_cfg)
            if cfg.get('type') == 'ToyWorldMaskProvider':
                cfg.setdefault('data_root', self.data_root)
            else:
                cfg.setdefault('root', self.data_root)
            self._provider = build_mask_provider(cfg)
        return self._provider

    def _attributes(self) -> Dict[str, dict]:
        if not self.attributes_file:
            return {}
        path = self.attributes_file if osp.isabs(self.attributes_file) else \
            osp.join(self.data_root, self.attributes_file)
        if not osp.isfile(path):
            return {}
        import json
        out = {}
        with open(path, encoding='utf-8') as f:
            for n, line in enumerate(f, 1):
                if line.strip():
                    try:
                        row = json.loads(line)
                        out[osp.normpath(row['path'])] = row.get(
                            'attributes') or {}
                    except (ValueError, KeyError) as exc:
                        raise SourceError(f'{path}:{n}: expected a JSON object '
                                          f"with 'path' ({exc})") from None
        return out

    def _load(self) -> List[Dict[str, Any]]:
        from reidkit.registry import DATASETS
        cfg = dict(self.dataset_cfg)
        cfg['pipeline'] = []
        dataset = DATASETS.build(cfg)
        dataset.full_init()
        attrs = self._attributes()
        records = []
        for i in range(len(dataset)):
            s = dataset.get_data_info(i)
            path = osp.abspath(s['img_path'])
            rel = osp.relpath(path, self.data_root)
            cid = int(s.get('clothes_id', -1))
            records.append(dict(
                key=rel, source=path, mask=None, pid=int(s['pid']),
                camid=int(s['camid']), clothes_id=-1,
                modality=int(s.get('modality', 0)),
                attributes=dict(attrs.get(osp.normpath(rel))
                                or s.get('attributes') or {}),
                extra=dict(source_clothes=cid,
                           source_pid=int(s.get('orig_pid', s['pid'])),
                           split=s.get('split'))))
        if self.limit is not None and len(records) > int(self.limit):
            # evenly spaced, so a smoke run still sees several outfits
            records = sorted(records, key=lambda r: r['key'])
            idx = np.linspace(0, len(records) - 1, int(self.limit))
            records = [records[int(round(i))] for i in idx]
        return records

    def read(self, record: Dict[str, Any]) -> Dict[str, Any]:
        image = load_image(record['source'])
        mask = self.provider([record['source']])[0]
        if mask.shape != image.shape[:2]:
            raise SourceError(f"DLCRSource: mask of {record['source']} is "
                              f'{mask.shape}, the image {image.shape[:2]}')
        return dict(image=image, mask=mask)

    def describe(self) -> Dict[str, Any]:
        ds = {k: v for k, v in self.dataset_cfg.items() if k != 'data_root'}
        return dict(type=type(self).__name__, dataset=ds, limit=self.limit,
                    mask_provider=self.mask_cfg)


@PROMPT_BUILDERS.register_module()
class DLCRPromptBuilder:
    """Target outfit descriptions for DLCR's inpainting requests.

    Args:
        descriptions (str): JSON file of the description bank (read when it
            exists and covers the needed clothes ids; written otherwise).
        describer (dict): how to build the bank when the file is missing:
            ``dict(type='toy')`` (toy-world attributes) or
            ``dict(type='vlm_llm', vlm=dict(model=...), llm=dict(model=...))``
            (LLaVA + LLaMA, see :class:`VLMLLMDescriber`).
        seed (int): seed of the target draws.
        targets (str): ``'others'`` (training data: any clothes id of the
            source records except the image's own) or ``'bank'`` (query
            variants: any clothes id of the bank, which is the training set's;
            the query's own outfit is not a training id).
        template (str, optional): wraps the description, e.g.
            ``'{description}, high quality photo'``.

    Example:
        >>> builder = DLCRPromptBuilder('work_dirs/dlcr/descriptions.json',
        ...                             describer=dict(type='toy'))
    """

    name = 'DLCRPromptBuilder'

    def __init__(self, descriptions: Optional[str] = None,
                 describer: Optional[dict] = None, seed: int = 0,
                 targets: str = 'others', template: Optional[str] = None,
                 bank: Optional[DescriptionBank] = None) -> None:
        if targets not in ('others', 'bank'):
            raise ValueError("DLCRPromptBuilder: targets must be 'others' or "
                             f"'bank', got {targets!r}")
        if descriptions is None and bank is None and describer is None:
            raise ValueError('DLCRPromptBuilder needs descriptions (a JSON '
                             'path), a describer, or a bank')
        self.descriptions = descriptions
        self.describer_cfg = describer
        self.seed = int(seed)
        self.targets = targets
        self.template = template
        self.bank = bank
        self.clothes_ids: Optional[List[int]] = None

    def prepare(self, records: Sequence[dict]) -> None:
        """Load or build the description bank; fix the target clothes set."""
        needed = sorted({int((r.get('extra') or {}).get(
            'source_clothes', r.get('clothes_id', -1))) for r in records})
        needed = [c for c in needed if c >= 0]
        if self.bank is None and self.descriptions and \
                osp.isfile(self.descriptions):
            bank = DescriptionBank.load(self.descriptions)
            if self.targets == 'bank' or all(c in bank for c in needed):
                self.bank = bank
        if self.bank is None:
            if self.targets == 'bank':
                raise FileNotFoundError(
                    f'DLCRPromptBuilder: description file {self.descriptions} '
                    'does not exist; query variants use the training '
                    "descriptions (run the training generation stage first)")
            describer = build_describer(self.describer_cfg)
            if describer is None:
                raise FileNotFoundError(
                    f'DLCRPromptBuilder: {self.descriptions} is missing or '
                    'lacks clothes ids and no describer is configured')
            self.bank = describer(records)
            if self.descriptions:
                self.bank.save(self.descriptions)
        self.clothes_ids = self.bank.ids() if self.targets == 'bank' else \
            [c for c in needed if c in self.bank]

    def target_of(self, request: dict) -> int:
        rec = request.get('record') or {}
        extra = rec.get('extra') or request.get('extra') or {}
        src = int(extra.get('source_clothes', rec.get('clothes_id', -1)))
        key = str(rec.get('key', request.get('unit')))
        exclude = src if self.targets == 'others' else -10 ** 9
        perm = target_permutation(key, exclude, self.clothes_ids, self.seed)
        return int(perm[int(request['variant']) % len(perm)])

    def __call__(self, requests: Sequence[dict]) -> List[str]:
        if self.clothes_ids is None:
            self.prepare([r['record'] for r in requests])
        prompts = []
        for req in requests:
            target = self.target_of(req)
            src = int((req.get('extra') or {}).get('source_clothes', -1))
            req.setdefault('meta', {}).update(
                source_clothes=src, target_clothes=target)
            # kept by SyntheticDataset (attributes), read by the sampler
            req.setdefault('attributes', {}).update(
                dlcr_variant=int(req['variant']), target_clothes=target)
            text = self.bank[target]
            prompts.append(self.template.format(description=text)
                           if self.template else text)
        return prompts
