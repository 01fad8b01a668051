"""The strong vehicle baseline's extra training augmentations.

Their pipeline (``lib/data/transforms/build.py``): resize, flip, pad, crop,
RandomPatch (p 0.25, patches up to 16% of the image), colour jitter (p 0.25,
brightness 0.2, contrast 0.15), AugMix (p 0.25), RandomBlur (p 0.25), then
normalisation and random erasing (p 0.5, max area 0.4). The three below are
written for reidkit's ``results`` dict (RGB uint8 ``img``), with numpy's
global RNG (seeded per worker by mmengine).
"""
from __future__ import annotations

import math
from collections import deque
from typing import Sequence

import cv2
import numpy as np
from mmcv.transforms import BaseTransform
from PIL import Image, ImageOps

from reidkit.datasets.transforms import results_image
from reidkit.registry import TRANSFORMS


def _check_prob(name, prob):
    if not 0.0 <= prob <= 1.0:
        raise ValueError(f'{name}: prob must be in [0, 1], got {prob}')


@TRANSFORMS.register_module()
class ReIDRandomBlur(BaseTransform):
    """Gaussian blur (5x5 kernel, ``sigma``) with probability ``prob``.

    Args:
        prob (float): probability. Defaults to 0.25 (the authors' config).
        sigma (float): Gaussian sigma. Defaults to 1.3.

    Example:
        >>> t = ReIDRandomBlur(prob=0.25)
    """

    def __init__(self, prob: float = 0.25, sigma: float = 1.3) -> None:
        _check_prob('ReIDRandomBlur', prob)
        self.prob, self.sigma = prob, sigma

    def transform(self, results: dict) -> dict:
        img = results_image(results, 'ReIDRandomBlur')
        if np.random.rand() < self.prob:
            results['img'] = cv2.GaussianBlur(img, (5, 5), self.sigma)
        return results


@TRANSFORMS.register_module()
class ReIDRandomPatch(BaseTransform):
    """Random patch occlusion (Zhou et al., OSNet).

    Every image gives a random patch to a pool (``patch_min_area`` to
    ``patch_max_area`` of the image, aspect ratio in
    ``[min_ratio, 1 / min_ratio]``); once the pool holds ``min_pool``
    patches, with probability ``prob`` a random pooled patch (mirrored with
    p 0.5, rotated by up to 10 degrees with p 0.5) is pasted at a random
    position. The pool lives in the transform (one per data worker).

    Args:
        prob (float): probability of pasting. Defaults to 0.25.
        pool_capacity (int): pool size. Defaults to 50000.
        min_pool (int): patches needed before pasting. Defaults to 100.
        patch_min_area, patch_max_area (float): patch area fractions.
            Defaults to 0.01 and 0.16 (the authors' config).
        min_ratio (float): smallest aspect ratio. Defaults to 0.1.

    Example:
        >>> t = ReIDRandomPatch(prob=0.25, patch_max_area=0.16)
    """

    def __init__(self, prob: float = 0.25, pool_capacity: int = 50000,
                 min_pool: int = 100, patch_min_area: float = 0.01,
                 patch_max_area: float = 0.16, min_ratio: float = 0.1
                 ) -> None:
        _check_prob('ReIDRandomPatch', prob)
        if not 0 < patch_min_area <= patch_max_area < 1:
            raise ValueError('ReIDRandomPatch: need 0 < patch_min_area <= '
                             'patch_max_area < 1')
        self.prob = prob
        self.pool = deque(maxlen=pool_capacity)
        self.min_pool = min_pool
        self.area = (patch_min_area, patch_max_area)
        self.min_ratio = min_ratio

    def _patch_size(self, h, w):
        for _ in range(100):
            area = np.random.uniform(*self.area) * h * w
            ratio = np.random.uniform(self.min_ratio, 1.0 / self.min_ratio)
            ph = int(round(math.sqrt(area * ratio)))
            pw = int(round(math.sqrt(area / ratio)))
            if 0 < ph < h and 0 < pw < w:
                return ph, pw
        return None

    def transform(self, results: dict) -> dict:
        img = results_image(results, 'ReIDRandomPatch')
        h, w = img.shape[:2]
        size = self._patch_size(h, w)
        if size is not None:
            ph, pw = size
            y, x = np.random.randint(h - ph + 1), np.random.randint(w - pw + 1)
            self.pool.append(img[y:y + ph, x:x + pw].copy())
        if len(self.pool) < self.min_pool or np.random.rand() >= self.prob:
            return results
        patch = self.pool[np.random.randint(len(self.pool))]
        if np.random.rand() < 0.5:
            patch = patch[:, ::-1]
        if np.random.rand() < 0.5:
            patch = np.asarray(Image.fromarray(np.ascontiguousarray(patch))
                               .rotate(np.random.randint(-10, 11)))
        ph, pw = min(patch.shape[0], h), min(patch.shape[1], w)
        y, x = np.random.randint(h - ph + 1), np.random.randint(w - pw + 1)
        out = img.copy()
        out[y:y + ph, x:x + pw] = patch[:ph, :pw]
        results['img'] = out
        results['patch_box'] = (y, x, ph, pw)
        return results


def _level(severity, maxval):
    return np.random.uniform(0.1, severity) * maxval / 10.0


def _sign(v):
    return -v if np.random.rand() > 0.5 else v


def _affine(img, coeffs):
    return img.transform(img.size, Image.AFFINE, coeffs,
                         resample=Image.BILINEAR)


# AugMix's operations (Hendrycks et al.), on PIL images, severity 1..10
AUGMIX_OPS = {
    'autocontrast': lambda im, s: ImageOps.autocontrast(im),
    'equalize': lambda im, s: ImageOps.equalize(im),
    'posterize': lambda im, s: ImageOps.posterize(im, 4 - int(_level(s, 4))),
    'rotate': lambda im, s: im.rotate(_sign(int(_level(s, 30))),
                                      resample=Image.BILINEAR),
    'solarize': lambda im, s: ImageOps.solarize(im, 256 - int(_level(s,
                                                                     256))),
    'shear_x': lambda im, s: _affine(im, (1, _sign(_level(s, 0.3)), 0,
                                          0, 1, 0)),
    'shear_y': lambda im, s: _affine(im, (1, 0, 0, _sign(_level(s, 0.3)),
                                          1, 0)),
    'translate_x': lambda im, s: _affine(
        im, (1, 0, _sign(int(_level(s, im.size[1] / 3))), 0, 1, 0)),
    'translate_y': lambda im, s: _affine(
        im, (1, 0, 0, 0, 1, _sign(int(_level(s, im.size[1] / 3))))),
}


@TRANSFORMS.register_module()
class ReIDAugMix(BaseTransform):
    """AugMix (Hendrycks et al., ICLR 2020) on one image.

    With probability ``prob``: ``width`` chains of ``depth`` random
    operations, mixed with Dirichlet(``coeff``) weights, then blended with
    the original by ``m ~ Beta(coeff, coeff)``:
    ``(1 - m) img + m sum_i w_i chain_i(img)`` (uint8, truncated as the
    authors' code).

    Args:
        prob (float): probability. Defaults to 0.25.
        coeff (float): Dirichlet / Beta parameter. Defaults to 0.1.
        width (int): chains. Defaults to 3.
        depth (int): operations per chain (<= 0: 1 to 3 at random). 1.
        severity (int): operation strength. Defaults to 1.
        ops (sequence[str]): names from :data:`AUGMIX_OPS`. Defaults to all.

    Example:
        >>> t = ReIDAugMix(prob=0.25)
    """

    def __init__(self, prob: float = 0.25, coeff: float = 0.1,
                 width: int = 3, depth: int = 1, severity: int = 1,
                 ops: Sequence[str] = tuple(AUGMIX_OPS)) -> None:
        _check_prob('ReIDAugMix', prob)
        unknown = [o for o in ops if o not in AUGMIX_OPS]
        if unknown or not ops:
            raise ValueError(f'ReIDAugMix: unknown ops {unknown}; choose from '
                             f'{sorted(AUGMIX_OPS)}')
        self.prob, self.coeff = prob, coeff
        self.width, self.depth, self.severity = width, depth, severity
        self.ops = list(ops)

    def transform(self, results: dict) -> dict:
        img = results_image(results, 'ReIDAugMix')
        if np.random.rand() >= self.prob:
            return results
        ws = np.float32(np.random.dirichlet([self.coeff] * self.width))
        m = np.float32(np.random.beta(self.coeff, self.coeff))
        pil = Image.fromarray(img)
        mix = np.zeros(img.shape, np.float64)
        for i in range(self.width):
            aug = pil.copy()
            depth = self.depth if self.depth > 0 else np.random.randint(1, 4)
            for _ in range(depth):
                op = self.ops[np.random.randint(len(self.ops))]
                aug = AUGMIX_OPS[op](aug, self.severity)
            mix += ws[i] * np.asarray(aug)
        results['img'] = ((1 - m) * img + m * mix).astype(np.uint8)
        return results
