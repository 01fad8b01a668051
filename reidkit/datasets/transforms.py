"""Data transforms for re-ID (registered in ``reidkit.registry.TRANSFORMS``).

Every transform takes and returns the mmengine ``results`` dict; the image is
``results['img']``, an RGB ``uint8`` array of shape (H, W, 3). Randomness
comes from numpy's global RNG (``np.random``), which mmengine seeds per
worker, so a seeded run is reproducible. Nothing here normalises: the
model's data preprocessor subtracts the mean and divides by the std.

The standard bag-of-tricks training pipeline::

    [dict(type='LoadReIDImage'),
     dict(type='ReIDResize', size=(256, 128)),
     dict(type='ReIDRandomFlip', prob=0.5),
     dict(type='ReIDPad', padding=10),
     dict(type='ReIDRandomCrop', size=(256, 128)),
     dict(type='ReIDRandomErasing', prob=0.5),
     dict(type='PackReIDInputs')]
"""
from __future__ import annotations

import math
from typing import Optional, Sequence, Tuple, Union

import cv2
import numpy as np
import torch
from mmcv.transforms import BaseTransform
from PIL import Image, ImageEnhance

from reidkit.registry import TRANSFORMS
from synthgen.utils.image import read_rgb

# bag-of-tricks erases with this (CIFAR) mean; in uint8 pixels
ERASE_MEAN = (0.4914, 0.4822, 0.4465)

_INTERP = dict(nearest=cv2.INTER_NEAREST, bilinear=cv2.INTER_LINEAR,
               bicubic=cv2.INTER_CUBIC, area=cv2.INTER_AREA,
               lanczos=cv2.INTER_LANCZOS4)


def _pair(size: Union[int, Sequence[int]], name: str) -> Tuple[int, int]:
    if isinstance(size, int):
        size = (size, size)
    size = tuple(int(s) for s in size)
    if len(size) != 2 or min(size) <= 0:
        raise ValueError(f'{name}: size must be (height, width) with positive '
                         f'values, got {size!r}')
    return size


def results_image(results: dict, name: str) -> np.ndarray:
    """The HxWx3 uint8 image of a pipeline's ``results`` (for transforms)."""
    img = results.get('img')
    if img is None:
        raise KeyError(f"{name}: results has no 'img'; put LoadReIDImage "
                       'first in the pipeline')
    return img


@TRANSFORMS.register_module()
class LoadReIDImage(BaseTransform):
    """Read ``results['img_path']`` into an RGB uint8 (H, W, 3) array.

    Decoding and conversion are :func:`synthgen.utils.image.read_rgb`'s:
    greyscale (infrared) and palette images become 3 channels, 16-bit images
    are scaled by 255/65535, alpha is dropped. An unreadable or corrupt file
    raises ``ImageError`` (an ``OSError``) naming it. Adds ``img``,
    ``img_shape`` and ``ori_shape``.

    Example:
        >>> LoadReIDImage()(dict(img_path='a.jpg'))['img'].shape
        (128, 64, 3)
    """

    def transform(self, results: dict) -> dict:
        img = read_rgb(results['img_path'])
        results['img'] = np.ascontiguousarray(img)
        results['img_shape'] = img.shape[:2]
        results['ori_shape'] = img.shape[:2]
        return results


@TRANSFORMS.register_module()
class ReIDResize(BaseTransform):
    """Resize the image to ``size`` = (height, width).

    Args:
        size (int | tuple[int, int]): target (H, W).
        interpolation (str): 'bilinear' (default), 'bicubic', 'nearest',
            'area' or 'lanczos'.

    Example:
        >>> ReIDResize((256, 128))(dict(img=np.zeros((50, 20, 3), np.uint8)))
    """

    def __init__(self, size, interpolation: str = 'bilinear'):
        self.size = _pair(size, 'ReIDResize')
        if interpolation not in _INTERP:
            raise ValueError(f'ReIDResize: interpolation must be one of '
                             f'{sorted(_INTERP)}, got {interpolation!r}')
        self.interpolation = interpolation

    def transform(self, results: dict) -> dict:
        img = results_image(results, 'ReIDResize')
        h, w = self.size
        if img.shape[:2] != (h, w):
            img = cv2.resize(img, (w, h),
                             interpolation=_INTERP[self.interpolation])
        results['img'] = img
        results['img_shape'] = img.shape[:2]
        return results

    def __repr__(self):
        return f'{type(self).__name__}(size={self.size})'


@TRANSFORMS.register_module()
class ReIDPad(BaseTransform):
    """Pad every side by ``padding`` pixels (bag-of-tricks uses 10).

    Args:
        padding (int): pixels added on each side.
        fill (int): constant value when ``mode='constant'``.
        mode (str): 'constant' (default), 'edge' or 'reflect'.
    """

    def __init__(self, padding: int = 10, fill: int = 0,
                 mode: str = 'constant'):
        if padding < 0:
            raise ValueError(f'ReIDPad: padding must be >= 0, got {padding}')
        if mode not in ('constant', 'edge', 'reflect'):
            raise ValueError("ReIDPad: mode must be 'constant', 'edge' or "
                             f"'reflect', got {mode!r}")
        self.padding, self.fill, self.mode = int(padding), fill, mode

    def transform(self, results: dict) -> dict:
        img = results_image(results, 'ReIDPad')
        p = self.padding
        width = ((p, p), (p, p), (0, 0))
        if self.mode == 'constant':
            img = np.pad(img, width, mode='constant',
                         constant_values=self.fill)
        else:
            img = np.pad(img, width, mode=self.mode)
        results['img'] = img
        results['img_shape'] = img.shape[:2]
        return results


@TRANSFORMS.register_module()
class ReIDRandomCrop(BaseTransform):
    """Crop a random ``size`` = (height, width) window.

    Example:
        >>> pipeline = [ReIDPad(10), ReIDRandomCrop((256, 128))]
    """

    def __init__(self, size):
        self.size = _pair(size, 'ReIDRandomCrop')

    def transform(self, results: dict) -> dict:
        img = results_image(results, 'ReIDRandomCrop')
        h, w = self.size
        H, W = img.shape[:2]
        if H < h or W < w:
            raise ValueError(f'ReIDRandomCrop: image {W}x{H} (WxH) is smaller'
                             f' than the crop {w}x{h}; resize/pad first '
                             f"({results.get('img_path')})")
        top = np.random.randint(0, H - h + 1)
        left = np.random.randint(0, W - w + 1)
        results['img'] = np.ascontiguousarray(img[top:top + h, left:left + w])
        results['img_shape'] = (h, w)
        results['crop_box'] = (top, left, h, w)
        return results


@TRANSFORMS.register_module()
class ReIDRandomFlip(BaseTransform):
    """Flip the image horizontally with probability ``prob``."""

    def __init__(self, prob: float = 0.5):
        if not 0 <= prob <= 1:
            raise ValueError(f'ReIDRandomFlip: prob must be in [0, 1], got '
                             f'{prob}')
        self.prob = prob

    def transform(self, results: dict) -> dict:
        img = results_image(results, 'ReIDRandomFlip')
        flip = bool(np.random.rand() < self.prob)
        if flip:
            img = np.ascontiguousarray(img[:, ::-1])
        results['img'] = img
        results['flip'] = flip
        return results


@TRANSFORMS.register_module()
class ReIDRandomErasing(BaseTransform):
    """Random erasing (Zhong et al., AAAI 2020), as in bag-of-tricks.

    With probability ``prob``, up to ``max_attempts`` times: draw a target
    area ``uniform(*area) * H * W`` and an aspect ratio
    ``uniform(aspect, 1/aspect)``; if the rectangle ``h = round(sqrt(area *
    ratio))``, ``w = round(sqrt(area / ratio))`` fits strictly inside the
    image, fill it and stop.

    Args:
        prob (float): erasing probability. Default 0.5.
        area (tuple): min and max erased fraction. Default (0.02, 0.4).
        aspect (float): min aspect ratio r1 (max is 1/r1). Default 0.3.
        fill (str): 'mean' (bag-of-tricks' mean colour, in pixels) or
            'random' (uniform noise).
        mean (tuple): the fill colour in [0, 1] for ``fill='mean'``.
        max_attempts (int): Default 100.

    Example:
        >>> t = ReIDRandomErasing(prob=1.0, fill='random')
    """

    def __init__(self, prob: float = 0.5, area=(0.02, 0.4),
                 aspect: float = 0.3, fill: str = 'mean',
                 mean: Sequence[float] = ERASE_MEAN, max_attempts: int = 100):
        if not 0 <= prob <= 1:
            raise ValueError(f'ReIDRandomErasing: prob must be in [0, 1], got'
                             f' {prob}')
        if not 0 < area[0] <= area[1] < 1:
            raise ValueError('ReIDRandomErasing: area must satisfy 0 < min <= '
                             f'max < 1, got {area}')
        if not 0 < aspect <= 1:
            raise ValueError(f'ReIDRandomErasing: aspect must be in (0, 1], '
                             f'got {aspect}')
        if fill not in ('mean', 'random'):
            raise ValueError("ReIDRandomErasing: fill must be 'mean' or "
                             f"'random', got {fill!r}")
        self.prob, self.area, self.aspect = prob, tuple(area), aspect
        self.fill = fill
        self.mean = np.round(np.asarray(mean, np.float64) * 255).astype(
            np.uint8)
        self.max_attempts = max_attempts

    def transform(self, results: dict) -> dict:
        img = results_image(results, 'ReIDRandomErasing')
        results['erase_box'] = None
        if np.random.rand() >= self.prob:
            return results
        H, W = img.shape[:2]
        for _ in range(self.max_attempts):
            target = np.random.uniform(*self.area) * H * W
            ratio = np.random.uniform(self.aspect, 1 / self.aspect)
            h = int(round(math.sqrt(target * ratio)))
            w = int(round(math.sqrt(target / ratio)))
            if 0 < h < H and 0 < w < W:
                top = np.random.randint(0, H - h + 1)
                left = np.random.randint(0, W - w + 1)
                img = img.copy()
                if self.fill == 'mean':
                    img[top:top + h, left:left + w] = self.mean[:img.shape[2]]
                else:
                    img[top:top + h, left:left + w] = np.random.randint(
                        0, 256, (h, w, img.shape[2]), dtype=np.uint8)
                results['img'] = img
                results['erase_box'] = (top, left, h, w)
                break
        return results


@TRANSFORMS.register_module()
class ReIDColorJitter(BaseTransform):
    """Random brightness, contrast, saturation and hue (torchvision-like).

    Each factor is drawn uniformly from ``[max(0, 1 - x), 1 + x]`` (hue: a
    shift in ``[-hue, hue]`` of a full turn, ``hue <= 0.5``), and the four
    adjustments are applied in a random order, with probability ``prob``.

    Args:
        brightness, contrast, saturation (float): jitter strengths.
        hue (float): hue jitter in [0, 0.5].
        prob (float): probability of jittering at all. Default 0.8.

    Example:
        >>> t = ReIDColorJitter(0.2, 0.15, 0.0, 0.0, prob=0.5)
    """

    def __init__(self, brightness: float = 0.2, contrast: float = 0.15,
                 saturation: float = 0.0, hue: float = 0.0,
                 prob: float = 0.8):
        for name, v in dict(brightness=brightness, contrast=contrast,
                            saturation=saturation, hue=hue).items():
            if v < 0:
                raise ValueError(f'ReIDColorJitter: {name} must be >= 0')
        if hue > 0.5:
            raise ValueError(f'ReIDColorJitter: hue must be <= 0.5, got {hue}')
        self.brightness, self.contrast = brightness, contrast
        self.saturation, self.hue, self.prob = saturation, hue, prob

    def transform(self, results: dict) -> dict:
        img = results_image(results, 'ReIDColorJitter')
        if np.random.rand() >= self.prob:
            return results
        pil = Image.fromarray(img)
        for op in np.random.permutation(4):
            if op == 0 and self.brightness > 0:
                f = np.random.uniform(max(0, 1 - self.brightness),
                                      1 + self.brightness)
                pil = ImageEnhance.Brightness(pil).enhance(f)
            elif op == 1 and self.contrast > 0:
                f = np.random.uniform(max(0, 1 - self.contrast),
                                      1 + self.contrast)
                pil = ImageEnhance.Contrast(pil).enhance(f)
            elif op == 2 and self.saturation > 0:
                f = np.random.uniform(max(0, 1 - self.saturation),
                                      1 + self.saturation)
                pil = ImageEnhance.Color(pil).enhance(f)
            elif op == 3 and self.hue > 0:
                shift = np.random.uniform(-self.hue, self.hue)
                hsv = np.array(pil.convert('HSV'))
                hsv[..., 0] = (hsv[..., 0].astype(np.int16) +
                               int(round(shift * 255))) % 256
                pil = Image.fromarray(hsv, 'HSV').convert('RGB')
        results['img'] = np.asarray(pil).copy()
        return results


@TRANSFORMS.register_module()
class PackReIDInputs(BaseTransform):
    """Pack the image and labels for the model.

    Yields ``dict(inputs=<uint8 (3, H, W) RGB tensor>, data_samples=<dict>)``
    where the dict holds ``meta_keys`` (missing label keys get their
    convention defaults: clothes_id/track_id -1, modality/domain 0).

    Args:
        meta_keys (tuple): keys copied into ``data_samples``.
        with_attributes (bool): also copy ``attributes`` (an empty dict when
            absent, so batches keep one set of keys). Default False.

    Example:
        >>> out = PackReIDInputs()(dict(img=np.zeros((4, 2, 3), np.uint8),
        ...                             pid=1, camid=2, img_path='x.jpg'))
        >>> out['inputs'].shape
        torch.Size([3, 4, 2])
    """

    DEFAULTS = dict(clothes_id=-1, modality=0, domain=0, track_id=-1,
                    split='train', sample_idx=-1)

    def __init__(self,
                 meta_keys: Sequence[str] = ('pid', 'camid', 'clothes_id',
                                             'modality', 'domain', 'split',
                                             'track_id', 'sample_idx',
                                             'img_path'),
                 with_attributes: bool = False):
        self.meta_keys = tuple(meta_keys)
        self.with_attributes = with_attributes

    def transform(self, results: dict) -> dict:
        img = results_image(results, 'PackReIDInputs')
        if img.ndim == 2:
            img = np.repeat(img[..., None], 3, axis=2)
        inputs = torch.from_numpy(np.ascontiguousarray(img.transpose(2, 0, 1)))
        samples = {}
        for k in self.meta_keys:
            if k in results:
                samples[k] = results[k]
            elif k in self.DEFAULTS:
                samples[k] = self.DEFAULTS[k]
            else:
                raise KeyError(f'PackReIDInputs: results has no {k!r} '
                               f"(image {results.get('img_path')})")
        if self.with_attributes:
            samples['attributes'] = dict(results.get('attributes') or {})
        return dict(inputs=inputs, data_samples=samples)
