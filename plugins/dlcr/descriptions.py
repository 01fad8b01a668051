"""Clothes descriptions per clothes id (Sec. 3.1 of the paper), cached as JSON.

Real data: a VLM (LLaVA) answers "What clothes is the person wearing?" for
every image of a clothes id; an LLM (LLaMA) is asked "Extract the clothing
items from the following text: {text}" for the clothes id's answers; the
extracted items are sorted into body parts (upper body, lower body,
footwear) and, where a part gets several items, the one that occurs in most
of the clothes id's per-image answers is kept (the paper's post-processing).
Toy world: the per-image descriptions come from the rendered attributes
(``attributes.jsonl``), and the same majority vote per part picks the
clothes id's outfit.

Both paths give a :class:`DescriptionBank`: ``{clothes id: prompt}`` plus
the per-part choices, saved as JSON keyed by clothes id.
"""
from __future__ import annotations

import json
import os
import os.path as osp
from typing import Any, Callable, Dict, List, Optional, Sequence

import numpy as np

from synthgen.prompts.summariser import (body_part_of, describe_outfit,
                                         majority_vote, split_clothing_items)

__all__ = ['PARTS', 'PART_WORDS', 'VLM_QUESTION', 'LLM_PROMPT',
           'DescriptionBank', 'majority_by_part', 'part_of_item', 'split_items',
           'toy_part_descriptions', 'ToyAttributeDescriber', 'VLMLLMDescriber',
           'TransformersChat', 'build_describer', 'compose_prompt']

#: The body parts of a DLCR description, in prompt order.
PARTS = ('upper', 'lower', 'shoes')
#: The paper's question to the VLM (LLaVA), for every image.
VLM_QUESTION = 'What clothes is the person wearing?'
#: The paper's instruction to the LLM (LLaMA), with the captions as ``{text}``.
LLM_PROMPT = 'Extract the clothing items from the following text: {text}'

#: DLCR's body-part vocabulary: the words that put a clothing item on a
#: part, checked in this order (shoes, then lower, then upper, so "jean
#: jacket" is upper and "boot-cut jeans" lower). Pass it as ``body_parts`` to
#: synthgen's :class:`~synthgen.prompts.summariser.LLMSummariser`.
PART_WORDS = {
    'shoes': ('shoe', 'shoes', 'sneaker', 'sneakers', 'boot', 'boots',
              'sandal', 'sandals', 'heels', 'loafers', 'slippers', 'trainers',
              'footwear', 'flats'),
    'lower': ('pants', 'trousers', 'jeans', 'shorts', 'skirt', 'leggings',
              'slacks', 'chinos', 'joggers', 'sweatpants', 'capris'),
    'upper': ('shirt', 't-shirt', 'tshirt', 'tee', 'jacket', 'coat', 'sweater',
              'top', 'blouse', 'hoodie', 'vest', 'cardigan', 'dress', 'jumper',
              'sweatshirt', 'blazer', 'suit', 'polo', 'tank', 'parka',
              'pullover', 'uniform', 'jumpsuit', 'overalls'),
}

#: The paper's post-processing vote: the most frequent item per part over a
#: clothes id's images, ties to the first seen (synthgen's
#: :func:`~synthgen.prompts.summariser.majority_vote`).
majority_by_part = majority_vote


def part_of_item(item: str) -> Optional[str]:
    """Body part of a clothing item text under DLCR's :data:`PART_WORDS`
    (``None``: not a garment)."""
    return body_part_of(item, PART_WORDS)


def split_items(text: str) -> List[str]:
    """Clothing items of an LLM answer (synthgen's
    :func:`~synthgen.prompts.summariser.split_clothing_items`)."""
    return split_clothing_items(text)


def compose_prompt(parts: Dict[str, str],
                   template: str = 'a person wearing {items}') -> str:
    """``{'upper': 'red shirt', 'lower': 'blue jeans'}`` -> one prompt."""
    items = describe_outfit(parts, order=PARTS) or 'clothes'
    return template.format(items=items).strip()


class DescriptionBank:
    """Descriptions per clothes id, read from / written to JSON.

    JSON layout::

        {"version": 1, "source": "...",
         "clothes": {"<clothes id>": {"prompt": "...", "parts": {...},
                                      "num_images": n}}}

    Example:
        >>> bank = DescriptionBank({3: dict(prompt='a red shirt', parts={})})
        >>> bank[3]
        'a red shirt'
    """

    VERSION = 1

    def __init__(self, clothes: Dict[int, dict], source: str = '') -> None:
        self.clothes = {int(k): dict(v) for k, v in clothes.items()}
        self.source = source

    def __getitem__(self, cid: int) -> str:
        try:
            return self.clothes[int(cid)]['prompt']
        except KeyError:
            raise KeyError(f'no description for clothes id {cid}; the '
                           f'description bank has {len(self.clothes)} ids '
                           f'({sorted(self.clothes)[:10]}...)') from None

    def __contains__(self, cid) -> bool:
        return int(cid) in self.clothes

    def __len__(self) -> int:
        return len(self.clothes)

    def ids(self) -> List[int]:
        return sorted(self.clothes)

    def save(self, path: str) -> None:
        os.makedirs(osp.dirname(osp.abspath(path)), exist_ok=True)
        tmp = f'{path}.tmp{os.getpid()}'
        with open(tmp, 'w', encoding='utf-8') as f:
            json.dump(dict(version=self.VERSION, source=self.source,
                           clothes={str(k): v for k, v in
                                    sorted(self.clothes.items())}),
                      f, indent=1, ensure_ascii=False)
        os.replace(tmp, path)

    @classmethod
    def load(cls, path: str) -> 'DescriptionBank':
        try:
            with open(path, encoding='utf-8') as f:
                data = json.load(f)
            clothes = data['clothes']
            for k, v in clothes.items():
                int(k)
                if not isinstance(v, dict) or 'prompt' not in v:
                    raise KeyError(k)
        except (OSError, ValueError, KeyError, TypeError) as exc:
            raise ValueError(
                f'{path}: not a DLCR description file ({exc!r}); expected '
                '{"version": 1, "clothes": {"<clothes id>": {"prompt": '
                '"...", "parts": {...}}}}') from None
        return cls({int(k): v for k, v in clothes.items()},
                   data.get('source', ''))


# ----------------------------------------------------------------- toy world
_SLEEVE_GARMENT = {'long': 'shirt', 'short': 't-shirt', 'sleeveless': 'vest'}
_PATTERN_WORD = {'plain': '', 'stripes': 'striped', 'checks': 'checked',
                 'logo': 'logo'}


def toy_part_descriptions(attributes: Dict[str, Any]) -> Dict[str, str]:
    """Per-part words of one toy-world image from its rendered attributes.

    Example:
        >>> toy_part_descriptions(dict(upper_color='red', upper_pattern='plain',
        ...     sleeve='long', lower_color='blue', lower_type='trousers',
        ...     shoes_color='black'))
        {'upper': 'red shirt', 'lower': 'blue trousers', 'shoes': 'black shoes'}
    """
    a = attributes
    out = {}
    if a.get('upper_color'):
        pattern = _PATTERN_WORD.get(a.get('upper_pattern', 'plain'),
                                    a.get('upper_pattern', ''))
        colors = a['upper_color']
        if pattern and a.get('upper_color2'):
            colors = f"{a['upper_color']} and {a['upper_color2']}"
        garment = _SLEEVE_GARMENT.get(a.get('sleeve'), 'shirt')
        out['upper'] = ' '.join(w for w in (colors, pattern, garment) if w)
    if a.get('lower_color') or a.get('lower_type'):
        out['lower'] = ' '.join(w for w in (a.get('lower_color'),
                                            a.get('lower_type', 'trousers'))
                                if w)
    if a.get('shoes_color'):
        out['shoes'] = f"{a['shoes_color']} shoes"
    return out


class ToyAttributeDescriber:
    """Descriptions from the toy world's per-image attributes.

    Every record (a training image with ``attributes`` and a clothes id)
    gives per-part words (:func:`toy_part_descriptions`); the majority per
    part over a clothes id's images is its description.

    Example:
        >>> bank = ToyAttributeDescriber()(records)
    """

    source = 'toy-attributes'

    def __call__(self, records: Sequence[dict]) -> DescriptionBank:
        per_id: Dict[int, List[Dict[str, str]]] = {}
        for r in records:
            cid = _clothes_of(r)
            if cid < 0:
                continue
            attrs = r.get('attributes') or {}
            if not attrs:
                raise ValueError(
                    f"ToyAttributeDescriber: record {r.get('key')!r} has no "
                    'attributes; the toy world writes them to '
                    '<data_root>/_toy_annotations/attributes.jsonl (set the '
                    "source's attributes_file)")
            per_id.setdefault(cid, []).append(toy_part_descriptions(attrs))
        clothes = {}
        for cid, descs in per_id.items():
            parts = majority_by_part(descs)
            clothes[cid] = dict(prompt=compose_prompt(parts), parts=parts,
                                num_images=len(descs))
        return DescriptionBank(clothes, self.source)


def _clothes_of(record: dict) -> int:
    extra = record.get('extra') or {}
    if extra.get('source_clothes') is not None:
        return int(extra['source_clothes'])
    return int(record.get('clothes_id', -1))


# ------------------------------------------------------------- VLM and LLM
class TransformersChat:
    """Batched greedy chat generation with a transformers model.

    Works for text-only causal LMs (LLaMA) and image-text models (LLaVA):
    each message is rendered with the processor's / tokenizer's chat template
    (``{'type': 'image'}`` content entries for images), padded on the left,
    and decoded without the prompt.

    Args:
        model (str | nn.Module): hub id / local folder, or a built model.
        processor (optional): tokenizer or multimodal processor (default:
            loaded from ``model``).
        max_new_tokens (int): answer length.
        batch_size (int): prompts per ``generate`` call.
        device (str, optional): default CUDA when available.
        dtype (str): 'fp32', 'fp16' or 'bf16' for models loaded from a path.
        local_files_only (bool): never download (default True).

    Example:
        >>> llm = TransformersChat('meta-llama/Llama-2-7b-chat-hf')
        >>> llm.generate(['Extract the clothing items from: ...'])
    """

    def __init__(self, model, processor=None, max_new_tokens: int = 64,
                 batch_size: int = 8, device: Optional[str] = None,
                 dtype: str = 'fp32', local_files_only: bool = True,
                 multimodal: Optional[bool] = None) -> None:
        self.model_ref, self.processor_ref = model, processor
        self.max_new_tokens = int(max_new_tokens)
        self.batch_size = max(1, int(batch_size))
        self.device = device
        self.dtype = dtype
        self.local_files_only = local_files_only
        self.multimodal = multimodal
        self._model = None

    def _load(self):
        if self._model is not None:
            return
        import torch
        import transformers as tf
        model, proc = self.model_ref, self.processor_ref
        dtype = dict(fp32=torch.float32, fp16=torch.float16,
                     bf16=torch.bfloat16)[self.dtype]
        try:
            if isinstance(model, str):
                proc = proc or model
                if self.multimodal:
                    model = tf.AutoModelForImageTextToText.from_pretrained(
                        model, torch_dtype=dtype,
                        local_files_only=self.local_files_only)
                else:
                    model = tf.AutoModelForCausalLM.from_pretrained(
                        model, torch_dtype=dtype,
                        local_files_only=self.local_files_only)
            if isinstance(proc, str):
                loader = tf.AutoProcessor if self.multimodal else \
                    tf.AutoTokenizer
                proc = loader.from_pretrained(
                    proc, local_files_only=self.local_files_only)
        except OSError as err:
            raise FileNotFoundError(
                f'TransformersChat: cannot load {self.model_ref!r} ({err}); '
                'download it and point model= at the local folder') from err
        if proc is None:
            raise ValueError('TransformersChat: a built model needs processor=')
        self._device = self.device or ('cuda' if torch.cuda.is_available()
                                       else 'cpu')
        self._model = model.to(self._device).eval()
        self._proc = proc
        tok = getattr(proc, 'tokenizer', proc)
        tok.padding_side = 'left'
        if tok.pad_token is None:
            tok.pad_token = tok.eos_token
        self._tok = tok

    def generate(self, texts: Sequence[str],
                 images: Optional[Sequence[Any]] = None) -> List[str]:
        """One greedy answer per prompt (and image, for VLMs)."""
        import torch
        from PIL import Image
        self._load()
        out: List[str] = []
        for start in range(0, len(texts), self.batch_size):
            chunk = list(texts[start:start + self.batch_size])
            ims = None if images is None else \
                [Image.fromarray(np.asarray(im)) if not hasattr(im, 'mode')
                 else im for im in images[start:start + self.batch_size]]
            prompts = []
            for t in chunk:
                content = ([{'type': 'image'}] if ims is not None else []) + \
                    [{'type': 'text', 'text': t}]
                msgs = [{'role': 'user', 'content': content if ims is not None
                         else t}]
                prompts.append(self._proc.apply_chat_template(
                    msgs, add_generation_prompt=True, tokenize=False))
            if ims is not None:
                enc = self._proc(images=ims, text=prompts, return_tensors='pt',
                                 padding=True)
            else:
                enc = self._tok(prompts, return_tensors='pt', padding=True,
                                add_special_tokens=False)
            enc = {k: v.to(self._device) for k, v in enc.items()}
            with torch.no_grad():
                gen = self._model.generate(
                    **enc, max_new_tokens=self.max_new_tokens, do_sample=False,
                    pad_token_id=self._tok.pad_token_id)
            new = gen[:, enc['input_ids'].shape[1]:]
            out += [s.strip() for s in
                    self._tok.batch_decode(new, skip_special_tokens=True)]
        return out


class VLMLLMDescriber:
    """LLaVA per image, LLaMA per clothes id, majority vote per body part.

    Args:
        vlm (dict | TransformersChat | callable): the visual model; a dict is
            :class:`TransformersChat` arguments (``multimodal=True`` implied);
            a callable takes ``(images, question)`` and returns answers.
        llm (dict | TransformersChat | callable): the language model; a
            callable takes a list of prompts and returns answers.
        question (str): asked for every image (paper's default).
        prompt (str): LLM prompt with ``{text}`` (paper's default).
        max_images (int): captions per clothes id passed to the LLM
            (the first ones in key order; bounds the prompt length).
        load_image (callable): path -> RGB array (default synthgen's).

    Example:
        >>> describer = VLMLLMDescriber(
        ...     vlm=dict(model='llava-hf/llava-1.5-7b-hf', dtype='fp16'),
        ...     llm=dict(model='meta-llama/Llama-2-7b-chat-hf', dtype='fp16'))
        >>> bank = describer(records)
    """

    source = 'vlm+llm'

    def __init__(self, vlm, llm, question: str = VLM_QUESTION,
                 prompt: str = LLM_PROMPT, max_images: int = 8,
                 load_image: Optional[Callable] = None) -> None:
        if '{text}' not in prompt:
            raise ValueError(f'VLMLLMDescriber: prompt must contain {{text}}, '
                             f'got {prompt!r}')
        self.vlm = self._chat(vlm, multimodal=True)
        self.llm = self._chat(llm, multimodal=False)
        self.question = question
        self.prompt = prompt
        self.max_images = int(max_images)
        if load_image is None:
            from synthgen.sources import load_image as _load
            load_image = _load
        self.load_image = load_image

    @staticmethod
    def _chat(obj, multimodal: bool):
        if isinstance(obj, dict):
            obj = dict(obj)
            obj.setdefault('multimodal', multimodal)
            return TransformersChat(**obj)
        return obj

    def caption(self, paths: Sequence[str]) -> List[str]:
        images = [self.load_image(p) for p in paths]
        if isinstance(self.vlm, TransformersChat):
            return self.vlm.generate([self.question] * len(images), images)
        return list(self.vlm(images, self.question))

    def summarise(self, texts: Sequence[str]) -> List[str]:
        prompts = [self.prompt.format(text=t) for t in texts]
        if isinstance(self.llm, TransformersChat):
            return self.llm.generate(prompts)
        return list(self.llm(prompts))

    def __call__(self, records: Sequence[dict]) -> DescriptionBank:
        by_id: Dict[int, List[dict]] = {}
        for r in sorted(records, key=lambda r: r['key']):
            cid = _clothes_of(r)
            if cid >= 0:
                by_id.setdefault(cid, []).append(r)
        chosen = {cid: rs[:self.max_images] for cid, rs in by_id.items()}
        flat = [r for cid in sorted(chosen) for r in chosen[cid]]
        answers = self.caption([r['source'] for r in flat])
        captions: Dict[int, List[str]] = {}
        for r, a in zip(flat, answers):
            captions.setdefault(_clothes_of(r), []).append(a)
        ids = sorted(captions)
        summaries = self.summarise([' '.join(captions[c]) for c in ids])
        clothes = {}
        for cid, summary in zip(ids, summaries):
            parts = self.vote(split_items(summary), captions[cid])
            clothes[cid] = dict(prompt=compose_prompt(parts), parts=parts,
                                num_images=len(captions[cid]),
                                summary=summary, captions=captions[cid])
        return DescriptionBank(clothes, self.source)

    @staticmethod
    def vote(items: Sequence[str], captions: Sequence[str]) -> Dict[str, str]:
        """One item per body part: the one found in most per-image answers."""
        per_part: Dict[str, List[str]] = {}
        for it in items:
            part = part_of_item(it)
            if part is not None and it not in per_part.get(part, []):
                per_part.setdefault(part, []).append(it)
        low = [c.lower() for c in captions]
        out = {}
        for part, cands in per_part.items():
            # paper: keep the most frequent description across the images;
            # ties keep the LLM's order
            out[part] = max(cands, key=lambda it: (
                sum(it in c for c in low), -cands.index(it)))
        return out


def build_describer(cfg):
    """``dict(type='toy')`` / ``dict(type='vlm_llm', vlm=..., llm=...)``."""
    if cfg is None or callable(cfg) and not isinstance(cfg, dict):
        return cfg
    cfg = dict(cfg)
    kind = cfg.pop('type', 'toy')
    if kind in ('toy', 'ToyAttributeDescriber'):
        return ToyAttributeDescriber(**cfg)
    if kind in ('vlm_llm', 'VLMLLMDescriber'):
        return VLMLLMDescriber(**cfg)
    raise KeyError(f"describer type must be 'toy' or 'vlm_llm', got {kind!r}")
