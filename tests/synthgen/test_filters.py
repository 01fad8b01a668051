"""Size/aspect and perceptual-hash filters."""
import numpy as np
import pytest

from synthgen.filters import (FilterResult, PHashDuplicateFilter,
                              SizeAspectFilter, hamming, phash)
from synthgen.registry import FILTERS


def _img(seed, h=128, w=64):
    rng = np.random.default_rng(seed)
    small = rng.integers(0, 255, (8, 4, 3)).astype(np.uint8)
    return np.kron(small, np.ones((h // 8, w // 4, 1), np.uint8))


def test_size_aspect():
    flt = FILTERS.build(dict(type='SizeAspectFilter', min_size=(64, 32),
                             max_size=(512, 256), aspect_range=(1.5, 3.0)))
    assert flt(dict(image=np.zeros((128, 64, 3), np.uint8))).keep
    res = flt(dict(image=np.zeros((32, 16, 3), np.uint8)))
    assert isinstance(res, FilterResult) and not res.keep
    assert res.reason == 'too small'
    assert flt(dict(image=np.zeros((1024, 400, 3), np.uint8))).reason == 'too large'
    assert flt(dict(image=np.zeros((100, 100, 3), np.uint8))).reason == \
        'aspect too wide'
    assert flt(dict(image=np.zeros((400, 100, 3), np.uint8))).reason == \
        'aspect too tall'
    with pytest.raises(ValueError, match='pair'):
        SizeAspectFilter(min_size=(1, 2, 3))


def test_phash_properties():
    a = _img(0)
    noisy = np.clip(a.astype(int) + np.random.default_rng(1).integers(
        -6, 7, a.shape), 0, 255).astype(np.uint8)
    assert hamming(phash(a), phash(a)) == 0
    assert hamming(phash(a), phash(noisy)) <= 4
    assert hamming(phash(a), phash(_img(5))) > 12


def test_phash_filter_drops_duplicates_per_unit():
    flt = PHashDuplicateFilter(threshold=4)
    a, b = _img(0), _img(1)
    noisy = np.clip(a.astype(int) + 3, 0, 255).astype(np.uint8)
    flt.reset()
    assert flt(dict(image=a)).keep
    assert flt(dict(image=b)).keep
    res = flt(dict(image=noisy))
    assert not res.keep and res.reason == 'near-duplicate'
    flt.reset()                       # a new unit starts clean
    assert flt(dict(image=a)).keep
    # scope='rank' remembers across units
    wide = PHashDuplicateFilter(threshold=4, scope='rank')
    wide.reset()
    assert wide(dict(image=a)).keep
    wide.reset()
    assert not wide(dict(image=a)).keep


def test_phash_filter_compare_source():
    a = _img(0)
    flt = PHashDuplicateFilter(threshold=2, compare_source=True)
    flt.reset()
    res = flt(dict(image=a.copy(), request=dict(image=a)))
    assert not res.keep and res.reason == 'same as source'
    assert flt(dict(image=_img(3), request=dict(image=a))).keep
