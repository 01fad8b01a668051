"""AOST distances (Eq. 1-3) against a hand-worked case and a slow version."""
import os
import os.path as osp

import numpy as np
import pytest
import torch
from torchvision.models.vgg import cfgs, make_layers
from PIL import Image

from plugins.aost.distances import (DistanceCache, StyleContentDistance,
                                    content_distance, gram, style_distance)


def test_hand_worked_style_and_content():
    # one image, N=2 filters, M=2 positions: F = [[1, 2], [3, 4]]
    f = torch.tensor([[1., 2.], [3., 4.]]).view(1, 2, 1, 2)
    assert gram(f)[0].tolist() == [[5., 11.], [11., 25.]]
    # target Gram 0: (25 + 121 + 121 + 625) / (4 * 2^2 * 2^2) = 13.9375, x 0.2
    d = style_distance(dict(a=f), dict(a=torch.zeros(2, 2)), dict(a=0.2))
    assert d.item() == pytest.approx(0.2 * 892 / 64)
    # target map of ones: 1/2 (0 + 1 + 4 + 9) = 7
    c = content_distance(dict(a=f), dict(a=torch.ones(2, 1, 2)))
    assert c.item() == pytest.approx(7.0)


def _images(root, n, seed):
    rng = np.random.default_rng(seed)
    paths = []
    for i in range(n):
        p = osp.join(root, f'{seed}_{i}.png')
        base = rng.integers(0, 255, 3)
        arr = np.clip(base + rng.normal(0, 40, (32, 16, 3)), 0, 255)
        Image.fromarray(arr.astype(np.uint8)).save(p)
        paths.append(p)
    return paths


def _slow(paths, target, state):
    """One image at a time through torchvision's vgg19().features by index,
    float64 numpy Grams, the paper's sums written out."""
    feats_net = make_layers(cfgs['E']).eval()
    feats_net.load_state_dict({k[len('features.'):]: v for k, v in state.items()})
    style_idx, content_idx = [1, 6, 11, 20, 29], 22
    mean = np.array([0.485, 0.456, 0.406]).reshape(3, 1, 1)
    std = np.array([0.229, 0.224, 0.225]).reshape(3, 1, 1)

    def maps(p):
        x = np.asarray(Image.open(p).convert('RGB'), np.float64) / 255.0
        x = (x.transpose(2, 0, 1) - mean) / std
        t = torch.tensor(x, dtype=torch.float32)[None]
        out = {}
        with torch.no_grad():
            for i, m in enumerate(feats_net[:30]):
                t = m(t)
                out[i] = t[0].double().numpy().copy()
        return out

    tmaps = [maps(p) for p in target]
    A = {l: sum(m[l].reshape(m[l].shape[0], -1) @ m[l].reshape(m[l].shape[0], -1).T
                for m in tmaps) / len(target) for l in style_idx}
    P = sum(m[content_idx] for m in tmaps) / len(target)
    res = []
    for p in paths:
        m = maps(p)
        s = 0.0
        for l in style_idx:
            F = m[l].reshape(m[l].shape[0], -1)
            N, M = F.shape
            G = F @ F.T
            s += 0.2 * ((G - A[l]) ** 2).sum() / (4 * N ** 2 * M ** 2)
        c = 0.5 * ((m[content_idx] - P) ** 2).sum()
        res.append((s, c, 0.9 * s + 1.0 * c))
    return np.array(res)


def test_batched_distances_match_slow_version(tmp_path):
    torch.manual_seed(0)
    # a random "ImageNet" file in torchvision's key layout (features.N.*)
    state = {f'features.{k}': v for k, v in make_layers(cfgs['E']).state_dict().items()}
    torch.save(state, tmp_path / 'vgg19.pth')
    dist = StyleContentDistance(pretrained=str(tmp_path / 'vgg19.pth'),
                                size=(32, 16), batch_size=3)
    syn = _images(str(tmp_path), 5, 1)
    tgt = _images(str(tmp_path), 4, 2)
    stats = dist.target_stats(tgt)
    d = dist(syn, stats)
    ref = _slow(syn, tgt, state)
    np.testing.assert_allclose(d['style'], ref[:, 0], rtol=1e-4)
    np.testing.assert_allclose(d['content'], ref[:, 1], rtol=1e-4)
    np.testing.assert_allclose(d['total'], ref[:, 2], rtol=1e-4)
    assert d['style'].min() > 0 and d['content'].min() > 0
    # an image of the target set is closer to the target than a far-off one
    assert dist(tgt[:1], stats)['total'][0] < d['total'].max()


def test_cache_computes_only_new_or_changed_images(tmp_path):
    dist = StyleContentDistance(pretrained=None, size=(32, 16), batch_size=4)
    syn = _images(str(tmp_path), 4, 3)
    stats = dist.target_stats(_images(str(tmp_path), 2, 4))
    cache = DistanceCache(str(tmp_path / 'cache.jsonl'))
    calls = []
    real = dist.__call__

    class Counting:
        batch_size, alpha, beta = dist.batch_size, dist.alpha, dist.beta

        def __call__(self, paths, st):
            calls.append(list(paths))
            return real(paths, st)

    counted = Counting()
    first = cache.compute(syn, counted, stats, 'fp1')
    again = cache.compute(syn, counted, stats, 'fp1')
    assert calls == [syn]
    np.testing.assert_array_equal(first['total'], again['total'])
    # rewriting one image (new size / mtime) recomputes that image only
    Image.fromarray(np.zeros((32, 16, 3), np.uint8)).save(syn[2])
    os.utime(syn[2], ns=(1, 1))
    cache.compute(syn, counted, stats, 'fp1')
    assert calls[-1] == [syn[2]]
    # another fingerprint (other weights or target) recomputes everything
    cache.compute(syn, counted, stats, 'fp2')
    assert calls[-1] == syn


def test_missing_weights_file_is_named():
    with pytest.raises(FileNotFoundError, match='vgg19-dcbb9e9d'):
        StyleContentDistance(pretrained='/nonexistent/vgg19.pth')


class _PixelFeatures(torch.nn.Module):
    """A stand-in VGG whose style and content 'features' are the pixels."""

    def forward(self, x):
        return dict(relu1_1=x, relu4_2=x)


def _solid(root, name, rgb):
    p = osp.join(root, name)
    Image.fromarray(np.full((2, 1, 3), rgb, np.uint8)).save(p)
    return p


def test_translation_distances_by_hand(tmp_path):
    from plugins.aost.distances import translation_distances
    dist = StyleContentDistance(style_layers=('relu1_1',),
                                content_layers=('relu4_2',), size=(2, 1))
    dist.vgg = _PixelFeatures()
    src = [_solid(str(tmp_path), 's0.png', (255, 0, 0)),
           _solid(str(tmp_path), 's1.png', (0, 0, 255))]
    tgt = [_solid(str(tmp_path), 't0.png', (0, 255, 0))]
    # the identity "translation": style unchanged, content distance 0 to its
    # own source; to the other source: 1/2 * (1^2 + 1^2) * 2 pixels = 2
    d = translation_distances(dist, src, src, tgt)
    assert d['style_source'] == d['style_translated']
    assert d['content_own'] == 0 and d['content_other'] == pytest.approx(2.0)
    # Gram of a solid (r, g, b) image over M = 2 pixels is 2 v v^T; vs the
    # green target: red differs in (0,0) by 2 and (1,1) by -2 ->
    # 0.2 * 8 / (4 * 3^2 * 2^2) = 1/90, blue the same
    assert d['style_source'] == pytest.approx(1 / 90)
    # the set measures: the sources' mean Gram is diag(1, 0, 1) against the
    # target's diag(0, 2, 0): 0.2 * (1 + 4 + 1) / (4 * 3^2 * 2^2) = 1/120;
    # colour: channel means (0.5, 0, 0.5) vs (0, 1, 0), all stds 0
    assert d['set_style_source'] == pytest.approx(1 / 120)
    assert d['set_style_translated'] == d['set_style_source']
    assert d['colour_source'] == pytest.approx(np.sqrt(1.5))
    # one target image: its two halves cannot be formed
    assert 'set_style_floor' not in d
    # translating into the target: style distance 0, content moved by
    # 1/2 * (1 + 1) * 2 = 2 from each source
    d = translation_distances(dist, src, [tgt[0], tgt[0]], tgt)
    assert d['style_translated'] == 0 and d['content_own'] == pytest.approx(2.0)
    assert d['set_style_translated'] == 0 and d['colour_translated'] == 0
    # a target of two colours: its halves (one image each) differ by the
    # Gram 2 e_g e_g^T - 2 e_b e_b^T and the channel means (0, 1, -1)
    tgt2 = tgt + [src[1]]
    d = translation_distances(dist, src, src, tgt2)
    assert d['set_style_floor'] == pytest.approx(0.2 * 8 / 144)
    assert d['colour_floor'] == pytest.approx(np.sqrt(2))
    with pytest.raises(ValueError, match='need >= 2 sources'):
        translation_distances(dist, src[:1], src[:1], tgt)
