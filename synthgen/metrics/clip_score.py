"""CLIP score: how well images match their prompts (open_clip)."""
from __future__ import annotations

from typing import Any, Optional, Sequence

import numpy as np
import torch
from PIL import Image

from synthgen.utils.image import read_rgb

__all__ = ['CLIPScore', 'clip_score']


class CLIPScore:
    """Mean ``100 * max(cos(image, text), 0)`` over image-prompt pairs.

    The definition of Hessel et al. (2021) as torchmetrics uses it, computed
    with an open_clip model so it shares weights with
    :class:`~synthgen.filters.clip_attribute.CLIPAttributeFilter`.

    Args:
        model_name (str): open_clip architecture, e.g. ``'ViT-B-32'``.
        pretrained (str, optional): Local open_clip weight file.
        model, preprocess, tokenizer (optional): Already built open_clip parts.
        batch_size (int): Pairs per forward pass.
        device (str, optional): Default ``'cuda'`` when available.
        local_files_only (bool): Never download weights unless False.

    Example:
        >>> score = CLIPScore('ViT-B-32', pretrained='weights/clip_b32.bin')
        >>> score(images, ['a red car', 'a white van'])
        27.9
    """

    def __init__(self, model_name: str = 'ViT-B-32',
                 pretrained: Optional[str] = None, model=None, preprocess=None,
                 tokenizer=None, batch_size: int = 32,
                 device: Optional[str] = None, local_files_only: bool = True):
        self.device = device or ('cuda' if torch.cuda.is_available() else 'cpu')
        if model is None:
            from synthgen.filters.clip_attribute import load_open_clip
            model, preprocess, tokenizer = load_open_clip(
                model_name, pretrained, local_files_only, self.device,
                owner='CLIPScore')
        elif preprocess is None or tokenizer is None:
            raise ValueError('CLIPScore: pass model, preprocess and tokenizer '
                             'together')
        self.model = model.to(self.device).eval()
        self.preprocess = preprocess
        self.tokenizer = tokenizer
        self.batch_size = int(batch_size)

    @torch.no_grad()
    def scores(self, images: Sequence[Any], prompts: Sequence[str]
               ) -> torch.Tensor:
        """Per-pair scores ``(N,)``."""
        if len(images) != len(prompts):
            raise ValueError(f'CLIPScore: {len(images)} images but '
                             f'{len(prompts)} prompts')
        out = []
        for s in range(0, len(images), self.batch_size):
            ims = []
            for im in images[s:s + self.batch_size]:
                if isinstance(im, str):
                    im = Image.fromarray(read_rgb(im))
                if not isinstance(im, Image.Image):
                    im = Image.fromarray(np.asarray(im, dtype=np.uint8))
                ims.append(self.preprocess(im.convert('RGB')))
            img = self.model.encode_image(torch.stack(ims).to(self.device))
            txt = self.model.encode_text(self.tokenizer(
                list(prompts[s:s + self.batch_size])).to(self.device))
            img = img / img.norm(dim=-1, keepdim=True)
            txt = txt / txt.norm(dim=-1, keepdim=True)
            out.append((100 * (img * txt).sum(-1)).clamp(min=0).float().cpu())
        return torch.cat(out)

    def __call__(self, images: Sequence[Any], prompts: Sequence[str]) -> float:
        """Mean CLIP score of the pairs."""
        return float(self.scores(images, prompts).mean())


def clip_score(images: Sequence[Any], prompts: Sequence[str],
               **kwargs) -> float:
    """CLIP score in one call (``kwargs`` as in :class:`CLIPScore`)."""
    return CLIPScore(**kwargs)(images, prompts)
