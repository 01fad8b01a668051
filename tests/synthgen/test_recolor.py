"""RecolorInpainter: only masked pixels change, colours and patterns land."""
import colorsys

import numpy as np
import pytest

from synthgen.generators.recolor import RecolorInpainter, parse_prompt


def _scene(seed=0, h=128, w=64):
    rng = np.random.default_rng(seed)
    img = np.empty((h, w, 3), np.float32)
    img[:] = rng.integers(40, 220, 3)
    # shading across the width and noise, so luminance varies inside parts
    img += np.linspace(-40, 40, w)[None, :, None] + rng.normal(0, 5, (h, w, 3))
    img = np.clip(img, 0, 255).astype(np.uint8)
    mask = np.zeros((h, w), np.uint8)
    mask[30:70, 16:48] = 3
    mask[70:115, 16:48] = 4
    mask[115:124, 16:48] = 5
    return img, mask


def _hue(pixels):
    r, g, b = (pixels.astype(np.float64) / 255).mean(0)
    return colorsys.rgb_to_hsv(r, g, b)


def test_parse_prompt_assigns_words_to_garments():
    parts, glob = parse_prompt('a man in a light blue striped shirt and black jeans')
    assert parts['upper'].colors == ['light blue']
    assert parts['upper'].pattern == 'stripes'
    assert parts['lower'].colors == ['black'] and glob is None
    parts, _ = parse_prompt('trousers in navy, red and white checked jacket')
    assert parts['lower'].colors == ['navy']
    assert parts['upper'].colors == ['red', 'white']
    assert parts['upper'].pattern == 'checks'
    parts, glob = parse_prompt('something green')
    assert parts == {} and glob.colors == ['green']
    parts, _ = parse_prompt('white sneakers, a dotted pink dress')
    assert parts['shoes'].colors == ['white']
    assert parts['upper'].pattern == 'dots'


def test_only_masked_pixels_change_and_colours_land():
    img, mask = _scene()
    out = RecolorInpainter()([dict(image=img, mask=mask, seed=3,
                                   prompt='a red shirt and blue trousers')])[0]
    res = out['image']
    assert res.shape == img.shape and res.dtype == np.uint8
    changed = (res != img).any(-1)
    assert not changed[mask == 0].any()
    # shoes are not named: untouched
    assert (res[mask == 5] == img[mask == 5]).all()
    assert changed[mask == 3].mean() > 0.9 and changed[mask == 4].mean() > 0.9
    h_up, s_up, _ = _hue(res[mask == 3])
    h_lo, s_lo, _ = _hue(res[mask == 4])
    assert (h_up < 0.05 or h_up > 0.95) and s_up > 0.5       # red
    assert 0.55 < h_lo < 0.72 and s_lo > 0.5                  # blue
    assert set(np.unique(out['mask'])) == {0, 3, 4}
    attrs = out['meta']['attributes']
    assert attrs['upper_color'] == 'red' and attrs['lower_color'] == 'blue'


def test_shading_is_kept():
    img, mask = _scene(1)
    res = RecolorInpainter()([dict(image=img, mask=mask, seed=0,
                                   prompt='green shirt')])[0]['image']
    lum = lambda a: a.astype(np.float64) @ [0.299, 0.587, 0.114]  # noqa: E731
    sel = mask == 3
    corr = np.corrcoef(lum(img)[sel], lum(res)[sel])[0, 1]
    assert corr > 0.9
    assert lum(res)[sel].std() > 0.5 * lum(img)[sel].std()  # not a flat fill


@pytest.mark.parametrize('pattern', ['striped', 'checked', 'dotted', 'logo'])
def test_pattern_present(pattern):
    img, mask = _scene(2)
    gen = RecolorInpainter(shading=0.0, jitter=0.0)
    plain = gen([dict(image=img, mask=mask, seed=5,
                      prompt='a plain red shirt')])[0]['image']
    pat = gen([dict(image=img, mask=mask, seed=5,
                    prompt=f'a {pattern} red and white shirt')])[0]['image']
    up = mask == 3
    # plain with no shading is one colour; the pattern adds white pixels
    assert len(np.unique(plain[up].reshape(-1, 3), axis=0)) == 1
    colours, counts = np.unique(pat[up].reshape(-1, 3), axis=0,
                                return_counts=True)
    assert len(colours) == 2
    white = colours[colours.sum(1).argmax()]
    assert white.min() > 200
    frac = counts[colours.sum(1).argmax()] / up.sum()
    assert 0.03 < frac < 0.7
    if pattern == 'striped':  # rows are uniform
        rows = pat[30:70, 16:48].reshape(40, -1)
        assert all(len(np.unique(r)) <= 3 for r in rows)


def test_deterministic_per_seed_and_varied_across_seeds():
    img, mask = _scene(3)
    gen = RecolorInpainter()
    a = gen([dict(image=img, mask=mask, seed=11, prompt='')])[0]['image']
    b = gen([dict(image=img, mask=mask, seed=11, prompt='')])[0]['image']
    c = gen([dict(image=img, mask=mask, seed=12, prompt='')])[0]['image']
    assert (a == b).all() and (a != c).any()
    # batch composition does not matter
    batch = gen([dict(image=img, mask=mask, seed=s, prompt='') for s in (12, 11)])
    assert (batch[1]['image'] == a).all()


def test_binary_mask_and_no_mask():
    img, mask = _scene(4)
    binary = (mask > 0).astype(np.uint8) * 255
    res = RecolorInpainter()([dict(image=img, mask=binary, seed=0,
                                   prompt='yellow')])[0]['image']
    assert not (res != img).any(-1)[binary == 0].any()
    h, s, _ = _hue(res[binary > 0])
    assert 0.1 < h < 0.2 and s > 0.5
    whole = RecolorInpainter()([dict(image=img, seed=0, prompt='purple')])[0]
    assert (whole['image'] != img).any(-1).mean() > 0.9


def test_errors_are_clear():
    img, mask = _scene()
    with pytest.raises(ValueError, match='source image'):
        RecolorInpainter()([dict(prompt='red shirt', seed=0)])
    with pytest.raises(ValueError, match='mask shape'):
        RecolorInpainter()([dict(image=img, mask=mask[:10], seed=0)])
