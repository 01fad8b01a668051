"""VLM captioner: describe images with LLaVA, BLIP-2 or InstructBLIP."""
from __future__ import annotations

import json
import os
import os.path as osp
from typing import Any, Dict, List, Optional, Sequence

import numpy as np
import torch
from PIL import Image

from synthgen.registry import PROMPT_BUILDERS
from synthgen.utils.image import read_rgb

__all__ = ['VLMCaptioner', 'load_json_cache', 'save_json_cache']

_MODEL_CLASSES = {
    'llava': 'LlavaForConditionalGeneration',
    'blip2': 'Blip2ForConditionalGeneration',
    'instructblip': 'InstructBlipForConditionalGeneration',
    'auto': 'AutoModelForImageTextToText',
}


def load_json_cache(path: Optional[str]) -> Dict[str, Any]:
    """Read a JSON object cache (``{}`` when ``path`` is None or missing)."""
    if not path or not osp.isfile(path):
        return {}
    with open(path) as f:
        data = json.load(f)
    if not isinstance(data, dict):
        raise ValueError(f'cache file {path} must hold a JSON object')
    return data


def save_json_cache(path: Optional[str], data: Dict[str, Any]) -> None:
    """Write ``data`` atomically (temporary file, then rename)."""
    if not path:
        return
    os.makedirs(osp.dirname(osp.abspath(path)), exist_ok=True)
    tmp = f'{path}.tmp{os.getpid()}'
    with open(tmp, 'w') as f:
        json.dump(data, f, indent=1, sort_keys=True)
    os.replace(tmp, path)


def _as_pil(img) -> Image.Image:
    if isinstance(img, Image.Image):
        return img.convert('RGB')
    if isinstance(img, (str, os.PathLike)):
        return Image.fromarray(read_rgb(img))
    return Image.fromarray(np.asarray(img, dtype=np.uint8)).convert('RGB')


@PROMPT_BUILDERS.register_module()
class VLMCaptioner:
    """Ask a vision-language model one question about each image (batched).

    As a prompt builder it sets ``request['prompt']`` to
    ``prompt_template.format(caption=...)`` for the request's source image;
    :meth:`caption` answers for a list of images and :meth:`caption_records`
    for source records, cached as JSON keyed by record key (the image id) or,
    with ``relative_to``, by image path relative to a folder (the
    ``{relpath: caption}`` file :class:`~synthgen.finetune.CaptionedImageDataset`
    reads).

    Args:
        pretrained_model_name_or_path (str, optional): Hub id or local folder,
            loaded with ``local_files_only`` unless that is False.
        model, processor (optional): Already built model and processor
            (tests inject tiny random ones this way).
        model_type (str): ``'llava'``, ``'blip2'``, ``'instructblip'`` or
            ``'auto'`` (``AutoModelForImageTextToText``).
        question (str): What to ask; ``''`` (default) asks nothing, a plain
            caption (Vehicle-Diff's BLIP-2 captions). A paper passes its own
            (DLCR's is ``plugins.dlcr.descriptions.VLM_QUESTION``).
        prompt_format (str, optional): Text around the question for models
            without a chat template, with ``{question}``; default by model
            type (LLaVA-1.5: ``'USER: <image>\\n{question} ASSISTANT:'``).
        max_new_tokens (int): Length of each answer.
        batch_size (int): Images per ``generate`` call.
        prompt_template (str): How a caption becomes a prompt.
        cache_file (str, optional): JSON cache of captions (by record key, or
            by relative path, see :meth:`caption_records`).
        dtype (str): ``'fp32'``, ``'fp16'`` or ``'bf16'``.
        device (str, optional): Default ``'cuda'`` when available.
        local_files_only (bool): Never download unless False.
        generate_kwargs (dict, optional): Extra ``generate`` arguments.

    Example:
        >>> cap = VLMCaptioner('llava-hf/llava-1.5-7b-hf', model_type='llava',
        ...                    question='What clothes is the person wearing?',
        ...                    batch_size=16, dtype='fp16',
        ...                    cache_file='work_dirs/prcc/captions.json')
        >>> cap.caption([img])[0]
        'The person is wearing a black jacket, blue jeans and white shoes.'
    """

    def __init__(self, pretrained_model_name_or_path: Optional[str] = None,
                 model=None, processor=None, model_type: str = 'llava',
                 question: str = '',
                 prompt_format: Optional[str] = None,
                 max_new_tokens: int = 64, batch_size: int = 8,
                 prompt_template: str = '{caption}',
                 cache_file: Optional[str] = None, dtype: str = 'fp32',
                 device: Optional[str] = None, local_files_only: bool = True,
                 generate_kwargs: Optional[dict] = None):
        if model_type not in _MODEL_CLASSES:
            raise ValueError(f'model_type must be one of '
                             f'{sorted(_MODEL_CLASSES)}, got {model_type!r}')
        if pretrained_model_name_or_path is None and (model is None or
                                                      processor is None):
            raise ValueError('VLMCaptioner needs pretrained_model_name_or_path '
                             'or both model and processor')
        self.pretrained_model_name_or_path = pretrained_model_name_or_path
        self.model_type = model_type
        self.question = question
        self.prompt_format = prompt_format
        self.max_new_tokens = int(max_new_tokens)
        self.batch_size = int(batch_size)
        self.prompt_template = prompt_template
        self.cache_file = cache_file
        self.dtype = {'fp32': torch.float32, 'fp16': torch.float16,
                      'bf16': torch.bfloat16}[dtype]
        self.device = device or ('cuda' if torch.cuda.is_available() else 'cpu')
        self.local_files_only = local_files_only
        self.generate_kwargs = generate_kwargs or {}
        self._model, self._processor = model, processor
        self._ready = False

    # ----------------------------------------------------------- loading
    def load(self):
        """Load (or move) the model and processor; returns ``(model, processor)``."""
        if self._ready:
            return self._model, self._processor
        if self._model is None:
            import transformers
            cls = getattr(transformers, _MODEL_CLASSES[self.model_type])
            path = self.pretrained_model_name_or_path
            try:
                self._processor = transformers.AutoProcessor.from_pretrained(
                    path, local_files_only=self.local_files_only)
                self._model = cls.from_pretrained(
                    path, dtype=self.dtype,
                    local_files_only=self.local_files_only)
            except (OSError, ValueError) as err:
                raise FileNotFoundError(
                    f'VLMCaptioner: cannot load pretrained_model_name_or_path='
                    f'{path!r} ({err}); download it first (e.g. `hf download '
                    f'{path} --local-dir <folder>`) and point '
                    'pretrained_model_name_or_path to the folder, or set '
                    'local_files_only=False') from err
        self._model = self._model.to(self.device, self.dtype).eval()
        tok = getattr(self._processor, 'tokenizer', None)
        if tok is not None and self.model_type in ('llava', 'auto'):
            tok.padding_side = 'left'  # decoder-only: pad on the left
        self._ready = True
        return self._model, self._processor

    def _text_prompt(self) -> str:
        processor = self._processor
        if self.prompt_format is not None:
            return self.prompt_format.format(question=self.question)
        if self.model_type in ('llava', 'auto'):
            if getattr(processor, 'chat_template', None):
                content = [{'type': 'image'}]
                if self.question:
                    content.append({'type': 'text', 'text': self.question})
                return processor.apply_chat_template(
                    [{'role': 'user', 'content': content}],
                    add_generation_prompt=True)
            return f'USER: <image>\n{self.question} ASSISTANT:'
        if self.model_type == 'blip2':
            return f'Question: {self.question} Answer:' if self.question else ''
        return self.question  # InstructBLIP takes the bare instruction

    # ----------------------------------------------------------- captioning
    @torch.no_grad()
    def caption(self, images: Sequence[Any]) -> List[str]:
        """Answer the question for each image (PIL, HxWx3 uint8 or path)."""
        model, processor = self.load()
        prompt = self._text_prompt()
        answers: List[str] = []
        for start in range(0, len(images), self.batch_size):
            batch = [_as_pil(im) for im in images[start:start +
                                                   self.batch_size]]
            kwargs = dict(images=batch, return_tensors='pt')
            if prompt:
                kwargs.update(text=[prompt] * len(batch), padding=True)
            inputs = processor(**kwargs).to(self.device)
            if 'pixel_values' in inputs:
                inputs['pixel_values'] = inputs['pixel_values'].to(self.dtype)
            out = model.generate(**inputs, max_new_tokens=self.max_new_tokens,
                                 do_sample=False, **self.generate_kwargs)
            ids = inputs.get('input_ids')
            if ids is not None and out.shape[1] >= ids.shape[1] and \
                    torch.equal(out[:, :ids.shape[1]].cpu(), ids.cpu()):
                out = out[:, ids.shape[1]:]  # keep only the answer
            answers += [t.strip() for t in processor.batch_decode(
                out, skip_special_tokens=True)]
        return answers

    def caption_records(self, records: Sequence[Dict[str, Any]],
                        relative_to: Optional[str] = None) -> Dict[str, str]:
        """Captions of source records (``key``, ``source``), cached.

        Args:
            records: Source records (``key`` and ``source`` image path).
            relative_to (str, optional): Key the captions (and the cache) by
                the source path relative to this folder, ``/``-separated,
                instead of by record key: the ``{relpath: caption}`` file
                ``CaptionedImageDataset(data_root=relative_to)`` reads.

        Returns:
            dict: key (or relative path) -> caption, in record order.
        """
        def key_of(r):
            if relative_to is None:
                return str(r['key'])
            if not r.get('source'):
                raise ValueError(f'VLMCaptioner: record {r["key"]!r} has no '
                                 'source image to key by path')
            rel = osp.relpath(osp.abspath(r['source']),
                              osp.abspath(relative_to))
            if rel.startswith('..'):
                raise ValueError(f'VLMCaptioner: {r["source"]} is not inside '
                                 f'relative_to={relative_to!r}')
            return rel.replace(os.sep, '/')

        keys = [key_of(r) for r in records]
        cache = load_json_cache(self.cache_file)
        todo = [(k, r) for k, r in zip(keys, records) if k not in cache]
        if todo:
            missing = [r['key'] for _, r in todo if not r.get('source')]
            if missing:
                raise ValueError(f'VLMCaptioner: records without a source '
                                 f'image: {missing[:5]}')
            for (k, _), text in zip(todo, self.caption([r['source']
                                                        for _, r in todo])):
                cache[k] = text
            save_json_cache(self.cache_file, cache)
        return {k: cache[k] for k in keys}

    def __call__(self, requests: List[Dict[str, Any]]) -> None:
        """Prompt builder: caption each request's source ``image``."""
        todo = [r for r in requests if r.get('image') is not None or
                r.get('source')]
        if len(todo) != len(requests):
            raise KeyError('VLMCaptioner: every request needs a source '
                           '"image" (or "source" path) to caption')
        texts = self.caption([r['image'] if r.get('image') is not None
                              else r['source'] for r in requests])
        for req, text in zip(requests, texts):
            req['prompt'] = self.prompt_template.format(caption=text)
            req.setdefault('meta', {})['caption'] = text
