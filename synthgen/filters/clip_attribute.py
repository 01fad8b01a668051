"""CLIP attribute agreement: keep an image when CLIP sees what the prompt asked for."""
from __future__ import annotations

import json
import os
import os.path as osp
from typing import Any, Dict, List, Optional, Sequence, Union

import numpy as np
import torch
from PIL import Image

from synthgen.registry import FILTERS
from .basic import FilterResult

__all__ = ['CLIPAttributeFilter', 'load_open_clip']


def load_open_clip(model_name: str, pretrained: Optional[str] = None,
                   local_files_only: bool = True, device: str = 'cpu',
                   owner: str = 'open_clip'):
    """``(model, preprocess, tokenizer)`` from open_clip without surprises.

    With ``local_files_only`` the weights must be a local file; an open_clip
    tag (``'openai'``, ``'laion2b_s34b_b79k'``) is only fetched when
    ``local_files_only=False``.
    """
    import open_clip
    if pretrained is None:
        raise ValueError(
            f'{owner}: set pretrained to a local open_clip weight file (e.g. '
            'open_clip_pytorch_model.bin of timm/vit_base_patch32_clip_224.'
            'openai on the Hugging Face hub), or pass model/preprocess/'
            'tokenizer')
    if local_files_only and not osp.isfile(str(pretrained)):
        raise FileNotFoundError(
            f'{owner}: pretrained={pretrained!r} is not a local file. Download '
            f'the {model_name} weights (e.g. `hf download timm/vit_base_'
            'patch32_clip_224.openai open_clip_pytorch_model.bin`) and set '
            'pretrained to the file, or set local_files_only=False to let '
            'open_clip fetch the tag')
    model, _, preprocess = open_clip.create_model_and_transforms(
        model_name, pretrained=pretrained, device=device)
    return model.eval(), preprocess, open_clip.get_tokenizer(model_name)


def _attribute_values(item: Dict[str, Any]) -> Dict[str, Any]:
    """The prompt's attribute words: the builder's, else the request's."""
    request = item.get('request') or {}
    meta = request.get('meta') or {}
    values = dict(request.get('attributes') or {})
    values.update(meta.get('prompt_attributes') or {})
    return values


@FILTERS.register_module()
class CLIPAttributeFilter:
    """Zero-shot CLIP check that each prompted attribute value is visible.

    For every attribute of ``vocabulary`` that the prompt set (the prompt
    builder's ``request['meta']['prompt_attributes']``, else
    ``request['attributes']``), the image is classified among that
    attribute's values with open_clip; the image is kept when the predicted
    value equals the prompt's (or is within the ``top_k`` best). Values the
    vocabulary does not list are not checked.

    Args:
        vocabulary (dict | str): ``{attribute: [values]}`` or a JSON file.
        templates (str | list | dict): Text prompt(s) per attribute with
            ``{value}`` (and optionally ``{attribute}``); a list is averaged
            (prompt ensembling). Default ``'a photo of a {value} object'``.
        model_name (str): open_clip architecture, e.g. ``'ViT-B-32'``.
        pretrained (str, optional): Local open_clip weight file.
        model, preprocess, tokenizer (optional): Already built open_clip parts.
        top_k (int): Keep when the prompt's value is among the top k.
        device (str, optional): Default ``'cuda'`` when available.
        local_files_only (bool): Never download weights unless False.
        name (str, optional): Name in the summary table / manifest.

    Example:
        >>> flt = CLIPAttributeFilter(
        ...     vocabulary=dict(color=['red', 'blue', 'white', 'black']),
        ...     templates='a photo of a {value} car',
        ...     model_name='ViT-B-32', pretrained='weights/clip_b32.bin')
        >>> flt(dict(image=img, request=dict(attributes=dict(color='red'))))
        FilterResult(keep=True, reason='', image=None)
    """

    def __init__(self, vocabulary: Union[Dict[str, Sequence[str]], str],
                 templates: Union[str, Sequence[str], Dict[str, Any]] =
                 'a photo of a {value} object',
                 model_name: str = 'ViT-B-32', pretrained: Optional[str] = None,
                 model=None, preprocess=None, tokenizer=None, top_k: int = 1,
                 device: Optional[str] = None, local_files_only: bool = True,
                 name: Optional[str] = None):
        if isinstance(vocabulary, (str, os.PathLike)):
            if not osp.isfile(vocabulary):
                raise FileNotFoundError(f'CLIPAttributeFilter: vocabulary file '
                                        f'{vocabulary!r} not found')
            with open(vocabulary) as f:
                vocabulary = json.load(f)
        if not isinstance(vocabulary, dict) or not vocabulary or any(
                len(v) < 2 for v in vocabulary.values()):
            raise ValueError('CLIPAttributeFilter: vocabulary must map each '
                             'attribute to at least two values')
        self.vocabulary = {str(k): [str(v) for v in vals]
                           for k, vals in vocabulary.items()}
        self.templates = templates
        self.top_k = int(top_k)
        self.device = device or ('cuda' if torch.cuda.is_available() else 'cpu')
        if name is not None:
            self.name = name
        if model is None:
            model, preprocess, tokenizer = load_open_clip(
                model_name, pretrained, local_files_only, self.device,
                owner='CLIPAttributeFilter')
        elif preprocess is None or tokenizer is None:
            raise ValueError('CLIPAttributeFilter: pass model, preprocess and '
                             'tokenizer together')
        self.model = model.to(self.device).eval()
        self.preprocess = preprocess
        self.tokenizer = tokenizer
        self._text: Dict[str, torch.Tensor] = {}

    def _templates_for(self, attribute: str) -> List[str]:
        tpl = self.templates
        if isinstance(tpl, dict):
            tpl = tpl.get(attribute, tpl.get('default',
                                             'a photo of a {value} object'))
        return [tpl] if isinstance(tpl, str) else list(tpl)

    @torch.no_grad()
    def text_features(self, attribute: str) -> torch.Tensor:
        """Normalised text embeddings of ``attribute``'s values, ``(V, D)``."""
        if attribute not in self._text:
            feats = []
            for tpl in self._templates_for(attribute):
                texts = [tpl.format(value=v, attribute=attribute)
                         for v in self.vocabulary[attribute]]
                f = self.model.encode_text(self.tokenizer(texts).to(self.device))
                feats.append(f / f.norm(dim=-1, keepdim=True))
            f = torch.stack(feats).mean(0)
            self._text[attribute] = f / f.norm(dim=-1, keepdim=True)
        return self._text[attribute]

    @torch.no_grad()
    def image_features(self, image) -> torch.Tensor:
        """Normalised image embedding, ``(D,)``."""
        if not isinstance(image, Image.Image):
            image = Image.fromarray(np.asarray(image, dtype=np.uint8))
        x = self.preprocess(image.convert('RGB'))[None].to(self.device)
        f = self.model.encode_image(x)[0]
        return f / f.norm()

    def predict(self, image, attribute: str) -> List[str]:
        """The attribute's values, best first."""
        sims = self.text_features(attribute) @ self.image_features(image)
        order = torch.argsort(sims, descending=True).tolist()
        return [self.vocabulary[attribute][i] for i in order]

    def __call__(self, item: Dict[str, Any]) -> FilterResult:
        wanted = _attribute_values(item)
        checks = [(a, str(wanted[a])) for a in self.vocabulary
                  if a in wanted and str(wanted[a]) in self.vocabulary[a]]
        if not checks:
            return FilterResult(True, 'no vocabulary attribute in the prompt')
        img_f = self.image_features(item['image'])
        for attribute, value in checks:
            sims = self.text_features(attribute) @ img_f
            order = torch.argsort(sims, descending=True).tolist()
            ranked = [self.vocabulary[attribute][i] for i in order]
            if value not in ranked[:self.top_k]:
                return FilterResult(
                    False, f'{attribute}: CLIP sees {ranked[0]!r}, prompt '
                    f'says {value!r}')
        return FilterResult(True, '')
