"""Embedding similarity: keep an image whose features stay close to its source.

Any feature extractor works: a callable, a ``torch.nn.Module``, or a config
built through mmengine's root MODELS registry (so a re-ID model such as
``dict(type='reidkit.ReIDModel', ...)`` checks identity consistency without
synthgen importing reidkit: the scope's ``<scope>.registry`` module is
imported on demand, as mmengine's own scope switching does).
"""
from __future__ import annotations

import importlib
from typing import Any, Callable, Dict, Optional, Sequence, Union

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image

from synthgen.registry import FILTERS
from synthgen.utils.image import read_rgb
from .basic import FilterResult

__all__ = ['EmbeddingSimilarityFilter']


def _build_extractor(cfg: dict, checkpoint: Optional[str]):
    from mmengine.registry import MODELS
    type_name = cfg.get('type')
    if isinstance(type_name, str) and '.' in type_name:
        scope = type_name.split('.')[0]
        try:  # register the scope's modules (mmengine's convention)
            importlib.import_module(f'{scope}.registry')
            importlib.import_module(scope)
        except ImportError as err:
            raise ImportError(f'EmbeddingSimilarityFilter: extractor type '
                              f'{type_name!r} needs the package {scope!r} '
                              f'({err})') from err
    model = MODELS.build(cfg)
    if checkpoint:
        from mmengine.runner import load_checkpoint
        load_checkpoint(model, checkpoint, map_location='cpu')
    return model


@FILTERS.register_module()
class EmbeddingSimilarityFilter:
    """Cosine similarity between the generated image and a reference image.

    The reference is ``request[reference_key]`` (default the source image the
    generator edited). The image is kept when
    ``min_similarity <= cos <= max_similarity``; the upper bound drops
    near-copies. Reference features are cached per source until
    :meth:`reset` (called by the pipeline at every work unit).

    How images reach the extractor:

    * an mmengine ``BaseModel`` (e.g. a re-ID model): uint8 CHW tensors
      resized to ``input_size`` go through its ``data_preprocessor`` and
      ``model(..., mode='tensor')``;
    * another ``nn.Module``: a float NCHW batch normalised by ``mean``/``std``;
    * any other callable: the list of HxWx3 uint8 arrays; it returns ``(N, D)``.

    Args:
        extractor (callable | nn.Module | dict): The feature extractor, or a
            config for mmengine's MODELS (scoped names like
            ``'reidkit.ReIDModel'`` work).
        checkpoint (str, optional): Weights for a built extractor.
        min_similarity (float): Lowest cosine similarity kept.
        max_similarity (float, optional): Highest cosine similarity kept.
        reference_key (str): Request key of the reference image.
        input_size (Sequence[int]): ``(height, width)`` fed to a module.
        mean, std (Sequence[float]): 0-255 normalisation for plain modules.
        device (str, optional): Default ``'cuda'`` when available.
        name (str, optional): Name in the summary table / manifest.

    Example:
        >>> flt = EmbeddingSimilarityFilter(
        ...     extractor=dict(type='reidkit.ReIDModel', backbone=...),
        ...     checkpoint='work_dirs/cal_prcc/best.pth', min_similarity=0.6)
        >>> flt(dict(image=generated, request=dict(image=source))).keep
        True
    """

    def __init__(self, extractor: Union[Callable, torch.nn.Module, dict],
                 checkpoint: Optional[str] = None,
                 min_similarity: float = 0.5,
                 max_similarity: Optional[float] = None,
                 reference_key: str = 'image',
                 input_size: Sequence[int] = (256, 128),
                 mean: Sequence[float] = (123.675, 116.28, 103.53),
                 std: Sequence[float] = (58.395, 57.12, 57.375),
                 device: Optional[str] = None, name: Optional[str] = None):
        if isinstance(extractor, dict):
            extractor = _build_extractor(dict(extractor), checkpoint)
        elif not callable(extractor):
            raise TypeError('EmbeddingSimilarityFilter: extractor must be a '
                            'callable, an nn.Module or a model config dict')
        self.device = device or ('cuda' if torch.cuda.is_available() else 'cpu')
        if isinstance(extractor, torch.nn.Module):
            extractor = extractor.to(self.device).eval()
        self.extractor = extractor
        self.min_similarity = float(min_similarity)
        self.max_similarity = None if max_similarity is None else float(
            max_similarity)
        self.reference_key = reference_key
        self.input_size = (int(input_size[0]), int(input_size[1]))
        self.mean = torch.tensor(mean, dtype=torch.float32).view(1, 3, 1, 1)
        self.std = torch.tensor(std, dtype=torch.float32).view(1, 3, 1, 1)
        if name is not None:
            self.name = name
        self._cache: Dict[Any, torch.Tensor] = {}

    def reset(self) -> None:
        """Forget cached reference features (new work unit)."""
        self._cache = {}

    def _arrays(self, images) -> list:
        out = []
        for im in images:
            if isinstance(im, str):
                im = read_rgb(im)
            if isinstance(im, Image.Image):
                im = np.asarray(im.convert('RGB'))
            out.append(np.asarray(im, dtype=np.uint8)[..., :3])
        return out

    @torch.no_grad()
    def features(self, images: Sequence[Any]) -> torch.Tensor:
        """L2-normalised features ``(N, D)`` of images (arrays, PIL or paths)."""
        arrays = self._arrays(images)
        ext = self.extractor
        if not isinstance(ext, torch.nn.Module):
            feats = torch.as_tensor(np.asarray(ext(arrays)), dtype=torch.float32)
        else:
            h, w = self.input_size
            batch = torch.stack([torch.from_numpy(np.asarray(
                Image.fromarray(a).resize((w, h), Image.BILINEAR)).copy())
                .permute(2, 0, 1) for a in arrays])
            from mmengine.model import BaseModel
            if isinstance(ext, BaseModel):
                data = ext.data_preprocessor(
                    dict(inputs=list(batch),
                         data_samples=[{} for _ in arrays]), False)
                if isinstance(data['inputs'], (list, tuple)):
                    # mmengine's BaseDataPreprocessor does not stack
                    data['inputs'] = torch.stack(list(data['inputs']))
                feats = ext(**data, mode='tensor')
            else:
                x = (batch.float() - self.mean) / self.std
                feats = ext(x.to(self.device))
            if isinstance(feats, (tuple, list)):
                feats = feats[0]
        feats = feats.float().reshape(len(arrays), -1).cpu()
        return F.normalize(feats, dim=1)

    def __call__(self, item: Dict[str, Any]) -> FilterResult:
        request = item.get('request') or {}
        ref = request.get(self.reference_key)
        if ref is None:
            return FilterResult(True, f'no reference {self.reference_key!r}')
        key = request.get('source') or id(ref)
        if key in self._cache:
            gen_f = self.features([item['image']])[0]
            ref_f = self._cache[key]
        else:
            gen_f, ref_f = self.features([item['image'], ref])
            self._cache[key] = ref_f
        sim = float(gen_f @ ref_f)
        if sim < self.min_similarity:
            return FilterResult(False, f'similarity {sim:.3f} < '
                                f'{self.min_similarity}')
        if self.max_similarity is not None and sim > self.max_similarity:
            return FilterResult(False, f'similarity {sim:.3f} > '
                                f'{self.max_similarity} (near copy)')
        return FilterResult(True, f'similarity {sim:.3f}')
