"""Prompt builders from templates: attribute libraries, fixed lists, clothes swaps."""
from __future__ import annotations

import json
import os.path as osp
import re
import string
from typing import Any, Dict, List, Optional, Sequence

import numpy as np

from synthgen.registry import PROMPT_BUILDERS
from synthgen.sources import read_table

__all__ = ['AttributeTemplatePrompt', 'FixedPrompts', 'ClothesSwapPrompt',
           'DEFAULT_CLOTHES_LIBRARY', 'DEFAULT_CLOTHES_TEMPLATE', 'request_rng']

#: Salt so a builder's random draws do not mirror the generator's (same seed).
_SALT = 0x70524f4d

#: Words a random outfit is drawn from (the toy world's vocabulary).
DEFAULT_CLOTHES_LIBRARY: Dict[str, List[str]] = {
    'upper_color': ['black', 'white', 'gray', 'red', 'orange', 'yellow', 'green',
                    'blue', 'navy', 'purple', 'pink', 'brown', 'beige'],
    'upper_pattern': ['plain', 'plain', 'stripes', 'checks', 'dotted', 'logo'],
    'upper_type': ['shirt', 't-shirt', 'jacket', 'sweater', 'coat', 'top'],
    'lower_color': ['black', 'gray', 'navy', 'blue', 'brown', 'beige', 'white',
                    'green', 'red'],
    'lower_type': ['trousers', 'jeans', 'shorts', 'skirt'],
    'shoes_color': ['black', 'white', 'gray', 'brown', 'red', 'blue'],
}
DEFAULT_CLOTHES_TEMPLATE = ('a person wearing a {upper_color} {upper_pattern} '
                            '{upper_type}, {lower_color} {lower_type} and '
                            '{shoes_color} shoes')


def request_rng(request: Dict[str, Any]) -> np.random.Generator:
    """The builder's random generator for one request (from its ``seed``)."""
    return np.random.default_rng([int(request.get('seed', 0)) & 0xFFFFFFFF,
                                  _SALT])


def _fields(template: str) -> List[str]:
    try:
        names = [f for _, f, _, _ in string.Formatter().parse(template) if f]
    except ValueError as exc:
        raise ValueError(f'bad prompt template {template!r}: {exc}') from exc
    return list(dict.fromkeys(names))


def _tidy(text: str) -> str:
    return re.sub(r'\s+([,.])', r'\1', re.sub(r'\s{2,}', ' ', text)).strip()


def _load_library(library: Any) -> Any:
    if library is None or isinstance(library, (list, dict)):
        return library
    return read_table(str(library))


class _Library:
    """Fills template fields from rows (one coherent row) or word lists."""

    def __init__(self, library: Any, name: str) -> None:
        self.name = name
        self.data = _load_library(library)
        if isinstance(self.data, list) and not self.data:
            raise ValueError(f'attribute library {name} is empty')

    def has(self, field: str) -> bool:
        if self.data is None:
            return False
        if isinstance(self.data, dict):
            return field in self.data
        return field in self.data[0]

    def sample(self, fields: Sequence[str], rng: np.random.Generator
               ) -> Dict[str, Any]:
        if self.data is None:
            return {}
        if isinstance(self.data, dict):
            out = {}
            for f in fields:
                if f in self.data:
                    vals = self.data[f]
                    vals = vals if isinstance(vals, list) else [vals]
                    out[f] = vals[int(rng.integers(len(vals)))]
            return out
        row = self.data[int(rng.integers(len(self.data)))]
        return {f: row[f] for f in fields if f in row}


@PROMPT_BUILDERS.register_module()
class AttributeTemplatePrompt:
    """Fills a ``str.format`` template from attributes.

    Each field is taken from the request's ``attributes`` (when
    ``use_request_attributes``), then ``overrides``, then drawn from the
    ``library`` with the request's seed, then ``defaults``. A field found
    nowhere stops with an error naming it.

    Args:
        template (str): e.g. ``'a photo of a {color} {type} on a {scene}'``.
        library (str | list | dict, optional): CSV/JSON/JSONL file or object:
            rows (one row drawn per request, so its fields stay coherent) or an
            object ``{field: [words]}`` (each field drawn independently).
        use_request_attributes (bool): prefer the source's own attributes.
        overrides (dict, optional): fixed field values (win over the library).
        defaults (dict, optional): values for fields found nowhere else.
        negative_prompt (str, optional): copied to every request.

    Example:
        >>> b = AttributeTemplatePrompt('a {color} car', library={'color': ['red']})
        >>> reqs = [dict(seed=0, attributes={})]
        >>> b(reqs); reqs[0]['prompt']
        'a red car'
    """

    def __init__(self, template: str, library: Any = None,
                 use_request_attributes: bool = True,
                 overrides: Optional[Dict[str, Any]] = None,
                 defaults: Optional[Dict[str, Any]] = None,
                 negative_prompt: Optional[str] = None) -> None:
        self.template = template
        self.fields = _fields(template)
        self.library = _Library(library, str(library)[:80])
        self.use_request_attributes = use_request_attributes
        self.overrides = dict(overrides or {})
        self.defaults = dict(defaults or {})
        self.negative_prompt = negative_prompt

    def values(self, request: Dict[str, Any]) -> Dict[str, Any]:
        """The field values for one request."""
        attrs = request.get('attributes') or {}
        vals = {f: attrs[f] for f in self.fields
                if self.use_request_attributes and f in attrs}
        vals.update({f: v for f, v in self.overrides.items() if f in self.fields})
        missing = [f for f in self.fields if f not in vals]
        if missing:
            vals.update(self.library.sample(missing, request_rng(request)))
        for f in self.fields:
            if f not in vals:
                if f not in self.defaults:
                    raise KeyError(f'prompt template {self.template!r}: field '
                                   f'{f!r} is not in the request attributes '
                                   f'({sorted(attrs)}), the overrides or the '
                                   f'library {self.library.name}')
                vals[f] = self.defaults[f]
        return vals

    def __call__(self, requests: List[Dict[str, Any]]) -> None:
        for req in requests:
            vals = self.values(req)
            req['prompt'] = _tidy(self.template.format(**vals))
            req.setdefault('meta', {})['prompt_attributes'] = vals
            if self.negative_prompt is not None:
                req['negative_prompt'] = self.negative_prompt


@PROMPT_BUILDERS.register_module()
class FixedPrompts:
    """Prompts from a fixed list.

    Args:
        prompts (list[str] | str): the prompts, or a ``.txt`` (one per line) or
            ``.json`` (list) file.
        order (str): ``'cycle'`` (request ``index`` modulo the list length) or
            ``'random'`` (seeded by the request's seed).
        negative_prompt (str, optional): copied to every request.

    Example:
        >>> reqs = [dict(index=0, seed=0), dict(index=1, seed=1)]
        >>> FixedPrompts(['a', 'b'])(reqs); [r['prompt'] for r in reqs]
        ['a', 'b']
    """

    def __init__(self, prompts: Any, order: str = 'cycle',
                 negative_prompt: Optional[str] = None) -> None:
        if isinstance(prompts, str):
            if not osp.isfile(prompts):
                raise FileNotFoundError(f'prompt list {prompts} does not exist')
            with open(prompts, encoding='utf-8') as f:
                if prompts.endswith('.json'):
                    prompts = json.load(f)
                else:
                    prompts = [ln.strip() for ln in f if ln.strip()]
        self.prompts = [str(p) for p in prompts]
        if not self.prompts:
            raise ValueError('FixedPrompts: the prompt list is empty')
        if order not in ('cycle', 'random'):
            raise ValueError(f"FixedPrompts: order must be 'cycle' or 'random', "
                             f'got {order!r}')
        self.order = order
        self.negative_prompt = negative_prompt

    def __call__(self, requests: List[Dict[str, Any]]) -> None:
        n = len(self.prompts)
        for req in requests:
            if self.order == 'cycle':
                i = int(req.get('index', 0)) % n
            else:
                i = int(request_rng(req).integers(n))
            req['prompt'] = self.prompts[i]
            if self.negative_prompt is not None:
                req['negative_prompt'] = self.negative_prompt


@PROMPT_BUILDERS.register_module()
class ClothesSwapPrompt:
    """DLCR-style clothes-change descriptions for inpainting a source image.

    Each request's target outfit is the description (attributes) of another
    clothes id of the dataset (the K variants of a unit get distinct ones while
    there are enough), drawn with the requests' seeds, or, with
    probability ``p_random`` or when no other described clothes id exists, a
    random outfit from ``library``. The template is then filled from it
    (fields the target lacks are drawn from ``library``). The generated image
    keeps the source's pid but gets ``clothes_id = -1`` (a new outfit); the
    manifest records ``source_clothes`` and ``target_clothes`` (-1 = random).

    Args:
        template (str): outfit template (default :data:`DEFAULT_CLOTHES_TEMPLATE`).
        library (str | list | dict, optional): words for random outfits
            (default :data:`DEFAULT_CLOTHES_LIBRARY`).
        p_random (float): probability of a random outfit.
        same_pid (bool): draw target clothes only from the same identity.

    Example:
        >>> b = ClothesSwapPrompt(p_random=1.0)
        >>> reqs = [dict(seed=3, clothes_id=0, pid=0, attributes={})]
        >>> b(reqs); reqs[0]['prompt'].startswith('a person wearing')
        True
    """

    def __init__(self, template: str = DEFAULT_CLOTHES_TEMPLATE,
                 library: Any = None, p_random: float = 0.0,
                 same_pid: bool = False) -> None:
        self.template = template
        self.fields = _fields(template)
        self.library = _Library(DEFAULT_CLOTHES_LIBRARY if library is None
                                else library, 'clothes library')
        self.p_random = float(p_random)
        self.same_pid = same_pid
        self._outfits: Dict[int, Dict[str, Any]] = {}
        self._pid_of: Dict[int, int] = {}
        self._ids: List[int] = []

    def prepare(self, records: List[Dict[str, Any]]) -> None:
        """Collect one description per clothes id (its first record's attributes)."""
        self._outfits, self._pid_of = {}, {}
        for rec in records:
            cid = int(rec.get('clothes_id', -1))
            attrs = rec.get('attributes') or {}
            if cid < 0 or cid in self._outfits:
                continue
            outfit = {f: attrs[f] for f in self.fields if f in attrs}
            if outfit:
                self._outfits[cid] = outfit
                self._pid_of[cid] = int(rec.get('pid', -1))
        self._ids = sorted(self._outfits)

    def _targets(self, requests: List[Dict[str, Any]]) -> List[int]:
        """Target clothes id per request (-1 = random outfit).

        The variants of one unit get distinct targets while there are enough
        candidates (a permutation drawn from the unit's first seed), as DLCR
        samples K different descriptions per image.
        """
        groups: Dict[Any, List[int]] = {}
        for i, req in enumerate(requests):
            groups.setdefault(req.get('unit', ('request', i)), []).append(i)
        targets = [-1] * len(requests)
        for members in groups.values():
            first = requests[members[0]]
            own = int(first.get('clothes_id', -1))
            cands = [c for c in self._ids if c != own and
                     (not self.same_pid or self._pid_of[c] == first.get('pid'))]
            if not cands:
                continue
            seed = min(int(requests[i].get('seed', 0)) for i in members)
            order = np.random.default_rng([seed & 0xFFFFFFFF, _SALT, 1]
                                          ).permutation(len(cands))
            for j, i in enumerate(sorted(members,
                                         key=lambda i: requests[i].get('variant', 0))):
                if request_rng(requests[i]).random() >= self.p_random:
                    targets[i] = cands[order[j % len(cands)]]
        return targets

    def __call__(self, requests: List[Dict[str, Any]]) -> None:
        for req, target in zip(requests, self._targets(requests)):
            # a different stream than _targets' draw, for the library words
            rng = np.random.default_rng([int(req.get('seed', 0)) & 0xFFFFFFFF,
                                         _SALT, 2])
            own = int(req.get('clothes_id', -1))
            vals = dict(self._outfits[target]) if target >= 0 else {}
            missing = [f for f in self.fields if f not in vals]
            vals.update(self.library.sample(missing, rng))
            lacking = [f for f in self.fields if f not in vals]
            if lacking:
                raise KeyError(f'ClothesSwapPrompt: template fields {lacking} are '
                               'in neither the target outfit nor the library')
            req['prompt'] = _tidy(self.template.format(**vals))
            meta = req.setdefault('meta', {})
            meta.update(source_clothes=own, target_clothes=target,
                        prompt_attributes=vals)
            req['clothes_id'] = -1
