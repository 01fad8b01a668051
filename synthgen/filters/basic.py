"""Cheap filters: size/aspect and perceptual-hash near-duplicates."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Dict, List, Optional, Sequence

import numpy as np
from PIL import Image

from synthgen.registry import FILTERS
from synthgen.sources import to_rgb_array

__all__ = ['FilterResult', 'SizeAspectFilter', 'PHashDuplicateFilter', 'phash',
           'hamming']


@dataclass
class FilterResult:
    """A filter's verdict on one generated image.

    Args:
        keep (bool): keep the image.
        reason (str): why it was dropped (or a note when kept); counted in the
            run's summary table.
        image (optional): a replacement image (e.g. a crop) for the next
            filters and the writer; None keeps the image as it is.
    """
    keep: bool
    reason: str = ''
    image: Any = None


@FILTERS.register_module()
class SizeAspectFilter:
    """Drops images outside a size range or an aspect-ratio range.

    Args:
        min_size (tuple[int, int], optional): minimum ``(height, width)``.
        max_size (tuple[int, int], optional): maximum ``(height, width)``.
        aspect_range (tuple[float, float], optional): allowed ``height / width``.

    Example:
        >>> flt = SizeAspectFilter(min_size=(64, 32), aspect_range=(1.5, 3.0))
        >>> flt(dict(image=np.zeros((128, 64, 3), np.uint8))).keep
        True
    """

    def __init__(self, min_size: Optional[Sequence[int]] = None,
                 max_size: Optional[Sequence[int]] = None,
                 aspect_range: Optional[Sequence[float]] = None) -> None:
        for name, val in (('min_size', min_size), ('max_size', max_size),
                          ('aspect_range', aspect_range)):
            if val is not None and len(val) != 2:
                raise ValueError(f'SizeAspectFilter: {name} must be a pair, '
                                 f'got {val!r}')
        self.min_size = min_size
        self.max_size = max_size
        self.aspect_range = aspect_range

    def __call__(self, item: Dict[str, Any]) -> FilterResult:
        h, w = _hw(item['image'])
        if self.min_size is not None and (h < self.min_size[0]
                                          or w < self.min_size[1]):
            return FilterResult(False, 'too small')
        if self.max_size is not None and (h > self.max_size[0]
                                          or w > self.max_size[1]):
            return FilterResult(False, 'too large')
        if self.aspect_range is not None:
            aspect = h / max(w, 1)
            if aspect < self.aspect_range[0]:
                return FilterResult(False, 'aspect too wide')
            if aspect > self.aspect_range[1]:
                return FilterResult(False, 'aspect too tall')
        return FilterResult(True)


def _hw(image: Any):
    if isinstance(image, Image.Image):
        return image.height, image.width
    return np.asarray(image).shape[:2]


def _dct_matrix(n: int) -> np.ndarray:
    k = np.arange(n)[:, None]
    x = np.arange(n)[None, :]
    m = np.cos(np.pi * (2 * x + 1) * k / (2 * n)) * np.sqrt(2.0 / n)
    m[0] /= np.sqrt(2.0)
    return m.astype(np.float64)


_DCT = {}


def phash(image: Any, hash_size: int = 8, highfreq_factor: int = 4) -> int:
    """Perceptual hash: sign of the low DCT frequencies of a grey thumbnail.

    Args:
        image: PIL image or HxWx3 uint8 array.
        hash_size (int): the hash has ``hash_size ** 2`` bits.
        highfreq_factor (int): the thumbnail is ``hash_size * factor`` square.

    Returns:
        int: the hash bits as a Python int.
    """
    n = hash_size * highfreq_factor
    if n not in _DCT:
        _DCT[n] = _dct_matrix(n)
    d = _DCT[n]
    pil = image if isinstance(image, Image.Image) else \
        Image.fromarray(to_rgb_array(image))
    grey = np.asarray(pil.convert('L').resize((n, n), Image.BILINEAR),
                      np.float64)
    coeffs = (d @ grey @ d.T)[:hash_size, :hash_size].ravel()
    bits = coeffs > np.median(coeffs[1:])
    return int.from_bytes(np.packbits(bits).tobytes(), 'big')


def hamming(a: int, b: int) -> int:
    """Number of differing bits."""
    return bin(a ^ b).count('1')


@FILTERS.register_module()
class PHashDuplicateFilter:
    """Drops near-duplicates by perceptual hash (Hamming distance <= threshold).

    An image is compared with the images already kept in the same scope and,
    optionally, with its source image (a failed edit that left the source as
    it was). ``scope='unit'`` (default) compares the images of one work unit
    (e.g. the K variants of one source image): the result does not depend on
    how units are sharded or resumed. ``scope='rank'`` compares with every
    image this process kept in this run: wider, but it depends on the world
    size and is forgotten on resume.

    Args:
        threshold (int): maximum Hamming distance counted as a duplicate.
        hash_size (int): hash side (``hash_size ** 2`` bits).
        scope (str): ``'unit'`` or ``'rank'``.
        compare_source (bool): also drop images too close to the source image.

    Example:
        >>> flt = PHashDuplicateFilter(threshold=4)
        >>> flt.reset()
        >>> flt(dict(image=img)).keep, flt(dict(image=img)).keep
        (True, False)
    """

    def __init__(self, threshold: int = 4, hash_size: int = 8,
                 scope: str = 'unit', compare_source: bool = False) -> None:
        if scope not in ('unit', 'rank'):
            raise ValueError(f"PHashDuplicateFilter: scope must be 'unit' or "
                             f"'rank', got {scope!r}")
        self.threshold = int(threshold)
        self.hash_size = int(hash_size)
        self.scope = scope
        self.compare_source = compare_source
        self._seen: List[int] = []

    def reset(self) -> None:
        """Called by the pipeline at the start of every unit."""
        if self.scope == 'unit':
            self._seen = []

    def __call__(self, item: Dict[str, Any]) -> FilterResult:
        h = phash(item['image'], self.hash_size)
        if self.compare_source:
            src = (item.get('request') or {}).get('image')
            if src is not None and \
                    hamming(h, phash(src, self.hash_size)) <= self.threshold:
                return FilterResult(False, 'same as source')
        for other in self._seen:
            if hamming(h, other) <= self.threshold:
                return FilterResult(False, 'near-duplicate')
        self._seen.append(h)
        return FilterResult(True)
