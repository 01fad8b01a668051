"""DLCR's ID-preserving clothes masks (Sec. 3.1): what inpainting may repaint.

A mask provider turns an image path into a *clothes label mask*: an ``HxW``
uint8 array that is 0 on everything that must be kept (background, face,
hair, skin, arms, legs, hat) and, on clothing, a part value the generators
understand: 3 upper body (upper clothes, dress, coat, jumpsuit, scarf,
gloves, sunglasses), 4 lower body (pants, skirt), 5 feet (socks, shoes) --
the toy world's part labels, so :class:`RecolorInpainter` recolours each part
from the prompt and :class:`DiffusersInpainter` repaints ``mask > 0``.

Which labels count as clothing follows the authors' code: every human-parsing
label except background, hat, hair, face, arms and legs. That includes
*sunglasses* (LIP 4, ATR 3): the authors repaint them, and a generated
outfit without the source's sunglasses removes an accessory cue that is not
identity; set ``keep=('sunglasses',)`` to keep them. ATR's ``bag`` and
``belt`` are clothing under the same rule.

Providers cache the parser's full label map as a PNG at
``<cache_dir>/<image path relative to root>.png`` (written atomically), so the
parser runs once per image and changing the clothing set needs no re-parse.
"""
from __future__ import annotations

import hashlib
import os
import os.path as osp
from typing import Dict, List, Optional, Sequence, Union

import numpy as np
from PIL import Image

from synthgen.sources import load_image, load_mask
from synthgen.utils.registry import Registry

__all__ = ['MASK_PROVIDERS', 'LABEL_MAPS', 'HumanParsingMaskProvider',
           'ToyWorldMaskProvider', 'build_mask_provider', 'clothes_lut']

#: Registry of clothes-mask providers (``mask_provider.type`` in configs).
MASK_PROVIDERS = Registry('dlcr mask provider', scope='dlcr')

UPPER, LOWER, FEET = 3, 4, 5

#: Human-parsing label maps: label id -> name.
LABEL_MAPS: Dict[str, Dict[int, str]] = {
    # LIP (Gong et al. 2017), SCHP's LIP model
    'lip': {0: 'background', 1: 'hat', 2: 'hair', 3: 'glove', 4: 'sunglasses',
            5: 'upper-clothes', 6: 'dress', 7: 'coat', 8: 'socks', 9: 'pants',
            10: 'jumpsuits', 11: 'scarf', 12: 'skirt', 13: 'face',
            14: 'left-arm', 15: 'right-arm', 16: 'left-leg', 17: 'right-leg',
            18: 'left-shoe', 19: 'right-shoe'},
    # ATR (Liang et al. 2015), SCHP's ATR model and segformer_b2_clothes
    'atr': {0: 'background', 1: 'hat', 2: 'hair', 3: 'sunglasses',
            4: 'upper-clothes', 5: 'skirt', 6: 'pants', 7: 'dress', 8: 'belt',
            9: 'left-shoe', 10: 'right-shoe', 11: 'face', 12: 'left-leg',
            13: 'right-leg', 14: 'left-arm', 15: 'right-arm', 16: 'bag',
            17: 'scarf'},
}

#: Labels never repainted (the authors' rule); everything else is clothing.
KEEP = ('background', 'hat', 'hair', 'face', 'left-arm', 'right-arm',
        'left-leg', 'right-leg')

#: Clothing label name -> part value of the output mask.
PART_OF = {'upper-clothes': UPPER, 'dress': UPPER, 'coat': UPPER,
           'jumpsuits': UPPER, 'scarf': UPPER, 'glove': UPPER,
           'sunglasses': UPPER, 'bag': UPPER, 'belt': LOWER, 'pants': LOWER,
           'skirt': LOWER, 'socks': FEET, 'left-shoe': FEET,
           'right-shoe': FEET}


def clothes_lut(label_map: Dict[int, str], keep: Sequence[str] = ()
                ) -> np.ndarray:
    """256-entry lookup: parser label -> part value (0 = keep).

    Args:
        label_map (dict): label id -> name (see :data:`LABEL_MAPS`).
        keep (sequence[str]): clothing names to keep as well (e.g.
            ``('sunglasses',)``).
    """
    lut = np.zeros(256, np.uint8)
    kept = set(KEEP) | set(keep)
    for lab, name in label_map.items():
        if name in kept:
            continue
        lut[int(lab)] = PART_OF.get(name, UPPER)
    return lut


class _CachedProvider:
    """Disk cache of label maps keyed by the image path."""

    def __init__(self, cache_dir: Optional[str], root: Optional[str]) -> None:
        self.cache_dir = cache_dir
        self.root = osp.abspath(root) if root else None

    def cache_path(self, path: str) -> Optional[str]:
        if not self.cache_dir:
            return None
        path = osp.abspath(path)
        if self.root and path.startswith(self.root + os.sep):
            rel = osp.relpath(path, self.root)
        else:  # outside the root: a stable name from the full path
            digest = hashlib.sha1(path.encode()).hexdigest()[:16]
            rel = osp.join('_abs', f'{digest}_{osp.basename(path)}')
        return osp.join(self.cache_dir, osp.splitext(rel)[0] + '.png')

    @staticmethod
    def _save(path: str, labels: np.ndarray) -> None:
        os.makedirs(osp.dirname(path), exist_ok=True)
        tmp = f'{path}.tmp{os.getpid()}'
        Image.fromarray(labels.astype(np.uint8)).save(tmp, format='PNG')
        os.replace(tmp, path)


@MASK_PROVIDERS.register_module()
class HumanParsingMaskProvider(_CachedProvider):
    """Clothes masks from a transformers semantic-segmentation human parser.

    Runs ``AutoModelForSemanticSegmentation`` (e.g. a SegFormer or Mask2Former
    checkpoint trained on LIP or ATR) in batches, upsamples the logits to
    each image's size, takes the argmax label map, caches it, and maps it to
    the clothes label mask (see the module docstring).

    Args:
        model (str | nn.Module): hub id / local folder of the parser, or a
            built model (tests pass a tiny random-weight one).
        processor (str | callable, optional): image processor (hub id /
            folder or object); default: loaded from ``model`` when it is a
            path.
        label_map (str | dict): ``'lip'`` (default), ``'atr'`` or a dict
            ``{label id: name}`` using the LIP/ATR names.
        keep (sequence[str]): clothing names to keep (e.g. ``('sunglasses',)``).
        cache_dir (str, optional): where label maps are cached.
        root (str, optional): image paths under it are cached by relative
            path (mirrors the dataset layout).
        batch_size (int): images per forward pass.
        device (str, optional): default CUDA when available.
        local_files_only (bool): never download weights (default True).

    Example:
        >>> provider = HumanParsingMaskProvider(
        ...     'mattmdjaga/segformer_b2_clothes', label_map='atr',
        ...     cache_dir='work_dirs/dlcr/masks', root='data/prcc')
        >>> masks = provider(['data/prcc/rgb/train/001/A_cropped_rgb001.jpg'])
        >>> set(np.unique(masks[0])) <= {0, 3, 4, 5}
        True
    """

    def __init__(self, model: Union[str, object], processor=None,
                 label_map: Union[str, Dict[int, str]] = 'lip',
                 keep: Sequence[str] = (), cache_dir: Optional[str] = None,
                 root: Optional[str] = None, batch_size: int = 16,
                 device: Optional[str] = None,
                 local_files_only: bool = True) -> None:
        super().__init__(cache_dir, root)
        if isinstance(label_map, str):
            if label_map not in LABEL_MAPS:
                raise KeyError(f'HumanParsingMaskProvider: unknown label_map '
                               f'{label_map!r}; expected one of '
                               f'{sorted(LABEL_MAPS)} or a dict id -> name')
            label_map = LABEL_MAPS[label_map]
        label_map = {int(k): str(v) for k, v in label_map.items()}
        known = set(KEEP) | set(PART_OF)
        unknown = sorted(set(label_map.values()) - known)
        if unknown:
            raise ValueError(f'HumanParsingMaskProvider: label names '
                             f'{unknown} are neither kept ({KEEP}) nor '
                             f'clothing ({sorted(PART_OF)})')
        self.label_map = label_map
        self.lut = clothes_lut(label_map, keep)
        self.model_ref, self.processor_ref = model, processor
        self.batch_size = max(1, int(batch_size))
        self.device = device
        self.local_files_only = local_files_only
        self._model = None
        self._processor = None

    # ----------------------------------------------------------- loading
    def _load(self):
        if self._model is not None:
            return self._model, self._processor
        import torch
        from transformers import (AutoImageProcessor,
                                  AutoModelForSemanticSegmentation)
        model, proc = self.model_ref, self.processor_ref
        try:
            if isinstance(model, str):
                if proc is None:
                    proc = model
                model = AutoModelForSemanticSegmentation.from_pretrained(
                    model, local_files_only=self.local_files_only)
            if isinstance(proc, str):
                proc = AutoImageProcessor.from_pretrained(
                    proc, local_files_only=self.local_files_only)
        except OSError as err:
            raise FileNotFoundError(
                f'HumanParsingMaskProvider: cannot load the parser '
                f'{self.model_ref!r} ({err}); download it and point model= at '
                'the local folder') from err
        if proc is None:
            raise ValueError('HumanParsingMaskProvider: a built model needs a '
                             'processor= (e.g. SegformerImageProcessor())')
        n = getattr(getattr(model, 'config', None), 'num_labels', None)
        if n is not None and n < max(self.label_map) + 1:
            raise ValueError(f'HumanParsingMaskProvider: the parser has {n} '
                             f'labels but label_map uses ids up to '
                             f'{max(self.label_map)}')
        device = self.device or ('cuda' if torch.cuda.is_available()
                                 else 'cpu')
        self._model = model.to(device).eval()
        self._processor = proc
        self._device = device
        return self._model, self._processor

    # --------------------------------------------------------------- api
    def parse(self, images: Sequence[np.ndarray]) -> List[np.ndarray]:
        """Label maps (``HxW`` uint8, parser ids) of RGB images."""
        import torch
        import torch.nn.functional as F
        model, proc = self._load()
        out = []
        for start in range(0, len(images), self.batch_size):
            chunk = [Image.fromarray(np.asarray(im)) for im in
                     images[start:start + self.batch_size]]
            inputs = proc(images=chunk, return_tensors='pt')
            pixel_values = inputs['pixel_values'].to(self._device)
            with torch.no_grad():
                logits = model(pixel_values=pixel_values).logits
            for im, lg in zip(chunk, logits):
                up = F.interpolate(lg[None].float(), size=(im.height, im.width),
                                   mode='bilinear', align_corners=False)
                out.append(up[0].argmax(0).to(torch.uint8).cpu().numpy())
        return out

    def labels(self, paths: Sequence[str]) -> List[np.ndarray]:
        """Parser label maps of image files (cached)."""
        result: List[Optional[np.ndarray]] = [None] * len(paths)
        todo = []
        for i, p in enumerate(paths):
            cp = self.cache_path(p)
            if cp and osp.isfile(cp):
                result[i] = load_mask(cp)
            else:
                todo.append(i)
        if todo:
            parsed = self.parse([load_image(paths[i]) for i in todo])
            for i, lab in zip(todo, parsed):
                cp = self.cache_path(paths[i])
                if cp:
                    self._save(cp, lab)
                result[i] = lab
        return result

    def __call__(self, paths: Sequence[str]) -> List[np.ndarray]:
        """Clothes label masks (0 keep; 3/4/5 upper/lower/feet) of images."""
        return [self.lut[lab] for lab in self.labels(list(paths))]


@MASK_PROVIDERS.register_module()
class ToyWorldMaskProvider(_CachedProvider):
    """Clothes masks from the toy world's rendered part masks.

    ``tools/make_toy_data.py`` writes a part-label PNG per image at
    ``<data_root>/_toy_annotations/masks/<image relpath>.png`` with labels
    0 background, 1 skin, 2 hair, 3 upper, 4 lower, 5 shoes, 6 bag/hat.
    Clothing is 3, 4, 5 (kept as they are); label 6 is kept unchanged like
    LIP's hat.

    Args:
        data_root (str): the toy dataset root (images are under it).
        mask_dir (str): folder of the part masks, relative to data_root.
        clothes_labels (sequence[int]): part labels that are clothing.

    Example:
        >>> provider = ToyWorldMaskProvider('data/toy/prcc')
        >>> mask = provider(['data/toy/prcc/rgb/train/001/A_0001.jpg'])[0]
    """

    def __init__(self, data_root: str,
                 mask_dir: str = '_toy_annotations/masks',
                 clothes_labels: Sequence[int] = (UPPER, LOWER, FEET)) -> None:
        super().__init__(osp.join(data_root, mask_dir), data_root)
        self.lut = np.zeros(256, np.uint8)
        for lab in clothes_labels:
            self.lut[int(lab)] = int(lab)

    def labels(self, paths: Sequence[str]) -> List[np.ndarray]:
        out = []
        for p in paths:
            cp = self.cache_path(p)
            if not osp.isfile(cp):
                raise FileNotFoundError(
                    f'ToyWorldMaskProvider: no part mask for {p} (expected '
                    f'{cp}, written by tools/make_toy_data.py under '
                    '<data_root>/_toy_annotations/masks/<image relpath>.png)')
            out.append(load_mask(cp))
        return out

    def __call__(self, paths: Sequence[str]) -> List[np.ndarray]:
        return [self.lut[lab] for lab in self.labels(list(paths))]


def build_mask_provider(cfg, **defaults):
    """Build a provider from a config dict (objects pass through)."""
    if cfg is None or not isinstance(cfg, dict):
        return cfg
    cfg = dict(cfg)
    for k, v in defaults.items():
        if v is not None:
            cfg.setdefault(k, v)
    if 'type' not in cfg:
        raise KeyError(f"mask_provider needs a 'type' (one of "
                       f'{sorted(MASK_PROVIDERS.module_dict)}), got {cfg}')
    # looked up directly: this registry has no counterpart in reidkit's scope
    return MASK_PROVIDERS.get(cfg.pop('type'))(**cfg)
