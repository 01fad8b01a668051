"""LLM summariser: per-image captions -> one clothes description per clothes id.

The generic recipe (DLCR's, Sec. 3.1): a VLM describes every image of a
clothes id (:class:`~synthgen.prompts.captioner.VLMCaptioner`), a chat LLM is
given an instruction with each description (batched), and the answers of
all images of the clothes id are merged by keeping, per body part, the most
frequent item (majority vote). Each generated image then gets the
description of another clothes id.

The words are the caller's: the LLM ``instruction`` and the body-part
vocabulary (``body_parts``: ``{part: [words]}``, checked in order) are
required arguments; a paper keeps its own in its plugin (DLCR's:
``plugins/dlcr/descriptions.py``). The mechanism (answer parsing, the vote,
the outfit sentence) lives here.
"""
from __future__ import annotations

import re
from collections import Counter
from typing import Any, Dict, List, Optional, Sequence

import torch

from synthgen.registry import PROMPT_BUILDERS
from .captioner import load_json_cache, save_json_cache

__all__ = ['LLMSummariser', 'split_clothing_items', 'body_part_of',
           'parse_clothing_items', 'majority_vote', 'describe_outfit']

_BULLET = re.compile(r'^[-*\u2022\s]*(?:\d+\s*[.)]\s*)?')
_LEAD = re.compile(
    r'^(?:(?:upper|lower)\s*(?:body)?|top|bottom|'
    r'footwear|shoes|clothing items?|items?)\s*:\s*', re.I)
_FILLER = re.compile(
    r'^(?:the\s+)?(?:person|man|woman|individual|subject|he|she|they)\s+'
    r'(?:(?:is|are|also)\s+)*(?:wearing|wears|wear|dressed in|has on|has)'
    r'\s+|^(?:wearing|a|an|the|some|pair of|a pair of)\s+', re.I)
_WORD = re.compile(r"[a-z][a-z'-]*")


def _clean(item: str) -> str:
    item = _LEAD.sub('', _BULLET.sub('', item.strip()))
    prev = None
    while prev != item:
        prev, item = item, _FILLER.sub('', item.strip())
    return re.sub(r'\s+', ' ', item.strip(' .;:!"\'').lower())


def split_clothing_items(text: str) -> List[str]:
    """The clothing items of an LLM / VLM answer, lower case, in order.

    Items are separated by new lines, bullets, commas, semicolons,
    sentences, "and" or "with"; numbering, labels ("Upper body:"), and a
    leading "The person is wearing" / "He wears" / "a" / "pair of" are
    dropped.

    Example:
        >>> split_clothing_items('The person is wearing a red shirt, blue '
        ...                      'jeans and white sneakers.')
        ['red shirt', 'blue jeans', 'white sneakers']
    """
    items = (_clean(frag) for frag in re.split(
        r'\n|;|,|\band\b|\bwith\b|(?<!\d)\.(?!\d)', text))
    return [item for item in items if item]


def body_part_of(item: str, parts: Dict[str, Sequence[str]]
                 ) -> Optional[str]:
    """The first body part (in ``parts`` order) one of whose words the item
    contains as a whole word; ``None`` when none does.

    Example:
        >>> body_part_of('jean jacket', {'lower': ['jeans'],
        ...                              'upper': ['jacket']})
        'upper'
    """
    words = set(_WORD.findall(item.lower()))
    for part, vocab in parts.items():
        if words & set(vocab):
            return part
    return None


def parse_clothing_items(text: str, parts: Dict[str, Sequence[str]]
                         ) -> Dict[str, str]:
    """Split an LLM answer into ``{body part: item}`` (first item per part).

    Args:
        text (str): the answer (see :func:`split_clothing_items`).
        parts (dict): ``{part: [words]}``, the vocabulary of the caller
            (DLCR's is ``plugins.dlcr.descriptions.PART_WORDS``).

    Example:
        >>> parse_clothing_items('1. Red T-shirt\\n2. blue jeans', dict(
        ...     upper=['t-shirt'], lower=['jeans']))
        {'upper': 'red t-shirt', 'lower': 'blue jeans'}
    """
    found: Dict[str, str] = {}
    for item in split_clothing_items(text):
        part = body_part_of(item, parts)
        if part is not None and part not in found:
            found[part] = item
    return found


def majority_vote(per_image: Sequence[Dict[str, str]]) -> Dict[str, str]:
    """Most frequent item per body part over images (ties: first seen;
    empty items do not vote).

    Example:
        >>> majority_vote([{'upper': 'red shirt'}, {'upper': 'blue shirt'},
        ...                {'upper': 'blue shirt', 'shoes': 'black shoes'}])
        {'upper': 'blue shirt', 'shoes': 'black shoes'}
    """
    votes: Dict[str, Counter] = {}
    for items in per_image:
        for part, item in items.items():
            if item:
                votes.setdefault(part, Counter())[item] += 1
    return {part: c.most_common(1)[0][0] for part, c in votes.items()}


def describe_outfit(items: Dict[str, str],
                    order: Sequence[str] = ('upper', 'lower', 'footwear')
                    ) -> str:
    """``{'upper': 'red t-shirt', 'lower': 'blue jeans'}`` -> ``'red t-shirt and blue jeans'``."""
    words = [items[p] for p in order if items.get(p)]
    words += [v for p, v in items.items() if p not in order and v]
    if len(words) <= 1:
        return ''.join(words)
    return ', '.join(words[:-1]) + ' and ' + words[-1]


@PROMPT_BUILDERS.register_module()
class LLMSummariser:
    """Clothes descriptions per clothes id from a chat LLM, as prompts.

    :meth:`summarise` extracts clothing items from each text with the LLM
    (batched, greedy) and merges them by majority vote per body part.
    As a prompt builder, :meth:`prepare` captions every source image with
    ``captioner``, summarises them per clothes id (cached as JSON keyed by
    clothes id), and ``__call__`` gives each request the description of
    another clothes id drawn with the request's seed (``prompt_template``
    with ``{description}``), sets ``clothes_id = -1`` and records
    ``source_clothes`` / ``target_clothes`` in ``request['meta']``.

    Args:
        pretrained_model_name_or_path (str, optional): Chat causal LM (hub id
            or folder), loaded with ``local_files_only`` unless False.
        model, tokenizer (optional): Already built LM and tokenizer.
        captioner (dict | VLMCaptioner, optional): Describes the source
            images in :meth:`prepare` (a config is built through
            PROMPT_BUILDERS).
        instruction (str): LLM prompt with ``{text}`` (required; DLCR's
            is ``plugins.dlcr.descriptions.LLM_PROMPT``).
        prompt_template (str): Prompt for the generator, with
            ``{description}``.
        body_parts (dict): Words per body part for the vote, checked in
            order (required; DLCR's is ``plugins.dlcr.descriptions.PART_WORDS``).
        max_new_tokens (int), batch_size (int): Generation settings.
        cache_file (str, optional): JSON cache ``{clothes_id: {...}}``.
        same_pid (bool): Draw target clothes of the same identity only.
        dtype (str), device (str), local_files_only (bool): As usual.

    Example:
        >>> builder = LLMSummariser(
        ...     'meta-llama/Llama-2-7b-chat-hf', dtype='fp16',
        ...     instruction='Extract the clothing items from: {text}',
        ...     body_parts=dict(upper=['shirt'], lower=['jeans']),
        ...     captioner=dict(type='VLMCaptioner',
        ...                    pretrained_model_name_or_path='llava-hf/llava-1.5-7b-hf'),
        ...     cache_file='work_dirs/prcc/clothes_descriptions.json')
        >>> builder.summarise({3: ['He wears a red shirt and blue jeans.']})
        {3: 'red shirt and blue jeans'}
    """

    def __init__(self, pretrained_model_name_or_path: Optional[str] = None,
                 model=None, tokenizer=None, captioner=None,
                 instruction: Optional[str] = None,
                 prompt_template: str = 'a person wearing {description}',
                 body_parts: Optional[Dict[str, List[str]]] = None,
                 max_new_tokens: int = 64, batch_size: int = 8,
                 cache_file: Optional[str] = None, same_pid: bool = False,
                 dtype: str = 'fp32', device: Optional[str] = None,
                 local_files_only: bool = True,
                 generate_kwargs: Optional[dict] = None):
        if pretrained_model_name_or_path is None and (model is None or
                                                      tokenizer is None):
            raise ValueError('LLMSummariser needs pretrained_model_name_or_'
                             'path or both model and tokenizer')
        if instruction is None or '{text}' not in instruction:
            raise ValueError(f'LLMSummariser: instruction must be a string '
                             f'with a {{text}} field, got {instruction!r}')
        if not body_parts:
            raise ValueError('LLMSummariser: body_parts is required: '
                             '{body part: [words]} (e.g. DLCR\'s PART_WORDS '
                             'in plugins/dlcr/descriptions.py)')
        self.pretrained_model_name_or_path = pretrained_model_name_or_path
        self.captioner = captioner
        self.instruction = instruction
        self.prompt_template = prompt_template
        self.body_parts = dict(body_parts)
        self.max_new_tokens = int(max_new_tokens)
        self.batch_size = int(batch_size)
        self.cache_file = cache_file
        self.same_pid = same_pid
        self.dtype = {'fp32': torch.float32, 'fp16': torch.float16,
                      'bf16': torch.bfloat16}[dtype]
        self.device = device or ('cuda' if torch.cuda.is_available() else 'cpu')
        self.local_files_only = local_files_only
        self.generate_kwargs = generate_kwargs or {}
        self._model, self._tokenizer = model, tokenizer
        self._ready = False
        self.descriptions: Dict[int, str] = {}
        self._pid_of: Dict[int, int] = {}

    def load(self):
        """Load (or move) the LM and tokenizer; returns ``(model, tokenizer)``."""
        if self._ready:
            return self._model, self._tokenizer
        if self._model is None:
            from transformers import AutoModelForCausalLM, AutoTokenizer
            path = self.pretrained_model_name_or_path
            try:
                self._tokenizer = AutoTokenizer.from_pretrained(
                    path, local_files_only=self.local_files_only)
                self._model = AutoModelForCausalLM.from_pretrained(
                    path, dtype=self.dtype,
                    local_files_only=self.local_files_only)
            except (OSError, ValueError) as err:
                raise FileNotFoundError(
                    f'LLMSummariser: cannot load pretrained_model_name_or_path='
                    f'{path!r} ({err}); download it first (e.g. `hf download '
                    f'{path} --local-dir <folder>`) and point '
                    'pretrained_model_name_or_path to the folder, or set '
                    'local_files_only=False') from err
        self._model = self._model.to(self.device, self.dtype).eval()
        tok = self._tokenizer
        tok.padding_side = 'left'
        if tok.pad_token is None:
            tok.pad_token = tok.eos_token
        self._ready = True
        return self._model, tok

    def _chat(self, text: str) -> str:
        tok = self._tokenizer
        prompt = self.instruction.format(text=text)
        if getattr(tok, 'chat_template', None):
            return tok.apply_chat_template(
                [{'role': 'user', 'content': prompt}],
                add_generation_prompt=True, tokenize=False)
        return prompt

    @torch.no_grad()
    def extract(self, texts: Sequence[str]) -> List[str]:
        """The LLM's answer to the instruction for each text (batched)."""
        model, tok = self.load()
        answers: List[str] = []
        for start in range(0, len(texts), self.batch_size):
            prompts = [self._chat(t) for t in texts[start:start +
                                                    self.batch_size]]
            enc = tok(prompts, return_tensors='pt', padding=True,
                      add_special_tokens=False).to(self.device)
            out = model.generate(**enc, max_new_tokens=self.max_new_tokens,
                                 do_sample=False, pad_token_id=tok.pad_token_id,
                                 **self.generate_kwargs)
            answers += [a.strip() for a in tok.batch_decode(
                out[:, enc['input_ids'].shape[1]:], skip_special_tokens=True)]
        return answers

    def summarise(self, texts_by_id: Dict[Any, Sequence[str]]
                  ) -> Dict[Any, str]:
        """One description per id from the texts (captions) of its images.

        Every text is sent to the LLM; the answers of an id are parsed into
        body-part items and merged by majority vote. An id whose answers name
        no known item keeps its most frequent answer verbatim.
        """
        return {k: v['description'] for k, v in
                self._summarise_full(texts_by_id).items()}

    def _summarise_full(self, texts_by_id):
        keys = list(texts_by_id)
        flat = [(k, str(t)) for k in keys for t in texts_by_id[k]]
        answers = self.extract([t for _, t in flat])
        per_id: Dict[Any, List[str]] = {k: [] for k in keys}
        for (k, _), a in zip(flat, answers):
            per_id[k].append(a)
        out = {}
        for k in keys:
            items = majority_vote([parse_clothing_items(a, self.body_parts)
                                   for a in per_id[k]])
            desc = describe_outfit(items, order=list(self.body_parts))
            if not desc and per_id[k]:
                desc = Counter(per_id[k]).most_common(1)[0][0]
            out[k] = dict(description=desc, items=items, answers=per_id[k])
        return out

    # ----------------------------------------------------------- builder
    def prepare(self, records: List[Dict[str, Any]]) -> None:
        """Caption the records' images and summarise them per clothes id."""
        by_id: Dict[int, List[Dict[str, Any]]] = {}
        self._pid_of = {}
        for rec in records:
            cid = int(rec.get('clothes_id', -1))
            if cid >= 0:
                by_id.setdefault(cid, []).append(rec)
                self._pid_of.setdefault(cid, int(rec.get('pid', -1)))
        cache = load_json_cache(self.cache_file)
        todo = [c for c in sorted(by_id) if str(c) not in cache]
        if todo:
            if self.captioner is None:
                raise ValueError('LLMSummariser.prepare needs captioner (e.g. '
                                 "dict(type='VLMCaptioner', ...)) to describe "
                                 f'clothes ids {todo[:5]} missing from '
                                 f'cache_file={self.cache_file!r}')
            captioner = self.captioner
            if isinstance(captioner, dict):
                captioner = self.captioner = PROMPT_BUILDERS.build(captioner)
            recs = [r for c in todo for r in by_id[c]]
            captions = captioner.caption_records(recs)
            texts = {c: [captions[str(r['key'])] for r in by_id[c]]
                     for c in todo}
            for c, res in self._summarise_full(texts).items():
                cache[str(c)] = dict(res, captions=texts[c])
            save_json_cache(self.cache_file, cache)
        self.descriptions = {c: cache[str(c)]['description'] for c in by_id
                             if cache[str(c)]['description']}

    def __call__(self, requests: List[Dict[str, Any]]) -> None:
        """Give each request another clothes id's description as its prompt."""
        from .templates import request_rng
        ids = sorted(self.descriptions)
        if not ids:
            raise RuntimeError('LLMSummariser: no clothes descriptions; the '
                               'pipeline must call prepare(records) first')
        for req in requests:
            own = int(req.get('clothes_id', -1))
            cands = [c for c in ids if c != own and (
                not self.same_pid or self._pid_of.get(c) == req.get('pid'))]
            if not cands:
                raise ValueError(f'LLMSummariser: no other clothes id to draw '
                                 f'for clothes_id={own} (same_pid='
                                 f'{self.same_pid})')
            target = cands[int(request_rng(req).integers(len(cands)))]
            desc = self.descriptions[target]
            req['prompt'] = self.prompt_template.format(description=desc)
            meta = req.setdefault('meta', {})
            meta.update(source_clothes=own, target_clothes=target,
                        clothes_description=desc)
            req['clothes_id'] = -1
