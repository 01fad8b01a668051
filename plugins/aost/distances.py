"""Gatys-style style and content distances to a target domain (AOST Eq. 1-3).

The paper follows Gatys et al. (2016) with an ImageNet VGG-19:

* content  ``D_content = 1/2 sum_ij (F^l_ij - P^l_ij)^2``   (Eq. 1)
* style    ``D_style = sum_l w_l / (4 N_l^2 M_l^2) sum_ij (G^l_ij - A^l_ij)^2``
  with Gram matrices ``G^l = F^l F^l^T`` of the ``N_l x M_l`` feature map
  (``N_l`` filters, ``M_l = H_l * W_l`` positions)                   (Eq. 2)
* total    ``D = alpha D_style + beta D_content``, alpha 0.9, beta 1 (Eq. 3)

Gatys' layers: style ``relu1_1 .. relu5_1`` with ``w_l = 0.2`` (the paper's
value), content ``relu4_2``. The paper compares synthetic with *real* images
but does not say how sets are compared; here each synthetic image is compared
with the target domain's mean (the mean Gram matrix and the mean content map
over the target images), so a distance is one number per synthetic image,
cacheable and batched, and a setting's distance is the mean over its images.
"""
from __future__ import annotations

import hashlib
import json
import os
import os.path as osp
from typing import Dict, Iterable, List, Optional, Sequence, Tuple

import numpy as np
import torch
import torch.nn as nn
from PIL import Image

#: torchvision ``vgg19().features`` index of each ReLU output.
VGG19_RELU = {
    'relu1_1': 1, 'relu1_2': 3, 'relu2_1': 6, 'relu2_2': 8,
    'relu3_1': 11, 'relu3_2': 13, 'relu3_3': 15, 'relu3_4': 17,
    'relu4_1': 20, 'relu4_2': 22, 'relu4_3': 24, 'relu4_4': 26,
    'relu5_1': 29, 'relu5_2': 31, 'relu5_3': 33, 'relu5_4': 35,
}
STYLE_LAYERS = ('relu1_1', 'relu2_1', 'relu3_1', 'relu4_1', 'relu5_1')
CONTENT_LAYERS = ('relu4_2', )
IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)


class VGG19Features(nn.Module):
    """torchvision's VGG-19 convolutional part returning named ReLU maps.

    Args:
        layers (sequence of str): names from :data:`VGG19_RELU`.
        pretrained (str, optional): path of torchvision's ImageNet VGG-19
            state dict (``vgg19-dcbb9e9d.pth``, downloaded by the user);
            ``None`` keeps torchvision's random initialisation (tests).

    Example:
        >>> vgg = VGG19Features(('relu1_1', 'relu4_2'), pretrained=None)
        >>> out = vgg(torch.zeros(1, 3, 64, 32))
        >>> out['relu4_2'].shape
        torch.Size([1, 512, 8, 4])
    """

    def __init__(self, layers: Sequence[str], pretrained: Optional[str] = None):
        super().__init__()
        bad = [n for n in layers if n not in VGG19_RELU]
        if bad:
            raise ValueError(f'VGG19Features: unknown layer(s) {bad}; expected '
                             f'names from {list(VGG19_RELU)}')
        from torchvision.models.vgg import cfgs, make_layers
        # the convolutional part only: the classifier (120M parameters) is
        # never used, and initialising it costs seconds
        features = make_layers(cfgs['E'], batch_norm=False)
        if pretrained:
            if not osp.isfile(pretrained):
                raise FileNotFoundError(
                    f'VGG-19 weights {pretrained!r} not found: download '
                    'https://download.pytorch.org/models/vgg19-dcbb9e9d.pth '
                    'there or set the config key to another path')
            state = torch.load(pretrained, map_location='cpu', weights_only=True)
            features.load_state_dict({k[len('features.'):]: v
                                      for k, v in state.items()
                                      if k.startswith('features.')})
        self.layers = tuple(layers)
        last = max(VGG19_RELU[n] for n in layers)
        self.features = features[:last + 1].eval().requires_grad_(False)
        for m in self.features:   # in-place ReLUs would overwrite taps
            if isinstance(m, nn.ReLU):
                m.inplace = False
        self._index = {VGG19_RELU[n]: n for n in layers}
        self.register_buffer('mean', torch.tensor(IMAGENET_MEAN).view(1, 3, 1, 1))
        self.register_buffer('std', torch.tensor(IMAGENET_STD).view(1, 3, 1, 1))

    def forward(self, x: torch.Tensor) -> Dict[str, torch.Tensor]:
        """``x``: RGB in [0, 1], ``(B, 3, H, W)``."""
        x = (x - self.mean) / self.std
        out = {}
        for i, m in enumerate(self.features):
            x = m(x)
            if i in self._index:
                out[self._index[i]] = x
        return out


def gram(f: torch.Tensor) -> torch.Tensor:
    """Gram matrices ``F F^T`` of feature maps ``(B, N, H, W)`` -> ``(B, N, N)``
    (unnormalised, as in Gatys et al.; Eq. 2 carries the normalisation)."""
    b, n = f.shape[:2]
    f = f.reshape(b, n, -1)
    return f @ f.transpose(1, 2)


def style_distance(feats: Dict[str, torch.Tensor],
                   target_grams: Dict[str, torch.Tensor],
                   weights: Dict[str, float]) -> torch.Tensor:
    """Eq. 2 per image: ``sum_l w_l/(4 N^2 M^2) ||G^l - A^l||^2`` -> ``(B,)``."""
    total = 0.0
    for name, w in weights.items():
        f = feats[name]
        n, m = f.shape[1], f.shape[2] * f.shape[3]
        diff = gram(f) - target_grams[name].unsqueeze(0)
        total = total + w * diff.pow(2).sum((1, 2)) / (4.0 * n * n * m * m)
    return total


def content_distance(feats: Dict[str, torch.Tensor],
                     target_maps: Dict[str, torch.Tensor]) -> torch.Tensor:
    """Eq. 1 per image: ``1/2 sum (F^l - P^l)^2`` summed over content layers."""
    total = 0.0
    for name, p in target_maps.items():
        total = total + 0.5 * (feats[name] - p.unsqueeze(0)).pow(2).sum((1, 2, 3))
    return total


def load_batch(paths: Sequence[str], size: Tuple[int, int]) -> torch.Tensor:
    """RGB images resized to ``size`` (H, W), as a float tensor in [0, 1]."""
    h, w = size
    arr = []
    for p in paths:
        with Image.open(p) as im:
            arr.append(np.asarray(im.convert('RGB').resize((w, h), Image.BILINEAR)))
    x = torch.from_numpy(np.stack(arr)).permute(0, 3, 1, 2).float() / 255.0
    return x


class StyleContentDistance:
    """Per-image AOST distances of synthetic images to a target domain.

    Args:
        pretrained (str, optional): VGG-19 ImageNet weights (torchvision
            state dict); ``None`` = random weights (tests, toy world).
        style_layers (sequence of str): Gram layers (Gatys': relu1_1-5_1).
        style_weight (float): ``w_l`` of every style layer (paper: 0.2).
        content_layers (sequence of str): content layers (Gatys': relu4_2).
        alpha (float): style factor of Eq. 3 (paper: 0.9).
        beta (float): content factor of Eq. 3 (paper: 1.0).
        size (tuple): ``(H, W)`` every image is resized to (so ``M_l``
            agrees between the synthetic and target images).
        batch_size (int): images per VGG forward pass.
        device (str): torch device.

    Example:
        >>> dist = StyleContentDistance(pretrained=None, size=(64, 32))
        >>> stats = dist.target_stats(target_paths)
        >>> d = dist(synthetic_paths, stats)   # dict of (N,) arrays
        >>> d['total'] == 0.9 * d['style'] + 1.0 * d['content']
    """

    def __init__(self, pretrained: Optional[str] = None,
                 style_layers: Sequence[str] = STYLE_LAYERS,
                 style_weight: float = 0.2,
                 content_layers: Sequence[str] = CONTENT_LAYERS,
                 alpha: float = 0.9, beta: float = 1.0,
                 size: Tuple[int, int] = (256, 128), batch_size: int = 32,
                 device: str = 'cpu'):
        self.style_weights = {n: float(style_weight) for n in style_layers}
        self.content_layers = tuple(content_layers)
        self.alpha, self.beta = float(alpha), float(beta)
        self.size = tuple(size)
        self.batch_size = int(batch_size)
        self.device = torch.device(device)
        self.pretrained = pretrained
        layers = tuple(dict.fromkeys(tuple(style_layers) + self.content_layers))
        self.vgg = VGG19Features(layers, pretrained).to(self.device)

    def fingerprint(self) -> str:
        """Hash of everything a distance depends on except the images."""
        w = sum(float(p.double().sum()) for p in self.vgg.parameters())
        key = json.dumps(dict(style=self.style_weights, content=self.content_layers,
                              alpha=self.alpha, beta=self.beta, size=self.size,
                              weights=self.pretrained, wsum=round(w, 6)),
                         sort_keys=True)
        return hashlib.sha1(key.encode()).hexdigest()[:16]

    def _batches(self, paths):
        for s in range(0, len(paths), self.batch_size):
            x = load_batch(paths[s:s + self.batch_size], self.size)
            with torch.no_grad():
                yield self.vgg(x.to(self.device))

    def target_stats(self, paths: Sequence[str]) -> Dict[str, torch.Tensor]:
        """Mean Gram matrix (style layers) and mean feature map (content
        layers) over the target images, in float64."""
        if not paths:
            raise ValueError('StyleContentDistance: no target image given')
        sums: Dict[str, torch.Tensor] = {}
        for feats in self._batches(list(paths)):
            for n in self.style_weights:
                g = gram(feats[n]).double().sum(0)
                sums['gram:' + n] = sums.get('gram:' + n, 0) + g
            for n in self.content_layers:
                sums['map:' + n] = sums.get('map:' + n, 0) + feats[n].double().sum(0)
        return {k: v / len(paths) for k, v in sums.items()}

    def __call__(self, paths: Sequence[str],
                 stats: Dict[str, torch.Tensor]) -> Dict[str, np.ndarray]:
        """``style``, ``content`` and ``total`` distance of each image."""
        grams = {n: stats['gram:' + n] for n in self.style_weights}
        maps = {n: stats['map:' + n] for n in self.content_layers}
        out = dict(style=[], content=[])
        for feats in self._batches(list(paths)):
            feats = {k: v.double() for k, v in feats.items()}
            out['style'].append(style_distance(feats, grams, self.style_weights))
            out['content'].append(content_distance(feats, maps))
        res = {k: (torch.cat(v).cpu().numpy() if v else np.zeros(0))
               for k, v in out.items()}
        res['total'] = self.alpha * res['style'] + self.beta * res['content']
        return res


class DistanceCache:
    """Per-image distances on disk, keyed by path, size and modification time.

    A JSON Lines file; each line holds ``path``, ``key`` (file size and
    mtime), ``fp`` (the distance's fingerprint and the target's) and the
    three distances. Lines for other keys or fingerprints are ignored and
    rewritten, so a changed image or target is recomputed, nothing else.

    Args:
        path (str): the cache file.

    Example:
        >>> cache = DistanceCache('work_dirs/aost/distances.jsonl')
        >>> d = cache.compute(paths, dist, stats, fingerprint='abc')
    """

    def __init__(self, path: str):
        self.path = path

    @staticmethod
    def _key(p):
        st = os.stat(p)
        return f'{st.st_size}:{st.st_mtime_ns}'

    def load(self) -> Dict[str, dict]:
        rows = {}
        if osp.isfile(self.path):
            with open(self.path, encoding='utf-8') as f:
                for line in f:
                    if line.strip():
                        r = json.loads(line)
                        rows[r['path']] = r
        return rows

    def compute(self, paths: Sequence[str], dist: StyleContentDistance,
                stats: Dict[str, torch.Tensor], fingerprint: str,
                log=None) -> Dict[str, np.ndarray]:
        """Distances of ``paths`` (``style``/``content``/``total`` arrays in
        the order of ``paths``), computing only the images not cached."""
        rows = self.load()
        keys = {p: self._key(p) for p in paths}
        todo = [p for p in paths if p not in rows or rows[p]['key'] != keys[p]
                or rows[p]['fp'] != fingerprint]
        if log is not None:
            log(f'distances: {len(paths) - len(todo)} cached, {len(todo)} to compute')
        step = max(dist.batch_size * 8, 1)
        for s in range(0, len(todo), step):
            part = todo[s:s + step]
            d = dist(part, stats)
            for i, p in enumerate(part):
                rows[p] = dict(path=p, key=keys[p], fp=fingerprint,
                               style=float(d['style'][i]),
                               content=float(d['content'][i]))
            self._write(rows)   # progress survives an interruption
        return dict(
            style=np.array([rows[p]['style'] for p in paths]),
            content=np.array([rows[p]['content'] for p in paths]),
            total=np.array([dist.alpha * rows[p]['style']
                            + dist.beta * rows[p]['content'] for p in paths]))

    def _write(self, rows: Dict[str, dict]) -> None:
        os.makedirs(osp.dirname(osp.abspath(self.path)), exist_ok=True)
        tmp = self.path + '.tmp'
        with open(tmp, 'w', encoding='utf-8') as f:
            for r in rows.values():
                f.write(json.dumps(r, sort_keys=True) + '\n')
        os.replace(tmp, self.path)


def setting_means(settings: Iterable[tuple], values: np.ndarray) -> Dict[tuple, float]:
    """Mean of ``values`` per attribute setting (a setting's distance)."""
    acc: Dict[tuple, List[float]] = {}
    for s, v in zip(settings, values):
        acc.setdefault(tuple(s), []).append(float(v))
    return {k: float(np.mean(v)) for k, v in acc.items()}


def set_style_distance(dist: StyleContentDistance, paths: Sequence[str],
                       stats: Dict[str, torch.Tensor]) -> float:
    """Eq. 2 between two *sets*: the mean Gram matrix of ``paths`` against
    the target's mean Gram (``stats`` from :meth:`StyleContentDistance.target_stats`).

    Stage I scores one image against the target's mean Gram, so its value
    has a floor: the target's own images are far from their mean when the
    target mixes looks (a toy MSMT17 filmed at night and in the morning is
    as far from its mean Gram as the whole source is). Comparing the sets'
    mean Grams removes that floor: two halves of one target score near 0.
    """
    mine = dist.target_stats(paths)
    with torch.no_grad():
        shapes = {k: v.shape for k, v in dist.vgg(
            torch.zeros(1, 3, *dist.size, device=dist.device)).items()}
    total = 0.0
    for n, w in dist.style_weights.items():
        c, m = shapes[n][1], shapes[n][2] * shapes[n][3]
        diff = mine['gram:' + n] - stats['gram:' + n]
        total += w * float(diff.pow(2).sum()) / (4.0 * c * c * m * m)
    return total


def colour_stats(paths: Sequence[str], size: Tuple[int, int]) -> np.ndarray:
    """Per-channel mean and standard deviation (population) of each image's
    pixels in [0, 1], averaged over the images: ``(mean R, G, B, std R, G, B)``."""
    x = load_batch(list(paths), size).double()
    return torch.cat([x.mean((2, 3)), x.std((2, 3), unbiased=False)], 1
                     ).mean(0).numpy()


def colour_distance(paths: Sequence[str], target: Sequence[str],
                    size: Tuple[int, int]) -> float:
    """A second, simple style measure beside the Gram one: the L2 distance
    between the two sets' :func:`colour_stats` (a colour cast moves the
    means, fog and low light the standard deviations)."""
    return float(np.linalg.norm(colour_stats(paths, size)
                                - colour_stats(target, size)))


def translation_distances(dist: StyleContentDistance, sources: Sequence[str],
                          translated: Sequence[str], target: Sequence[str],
                          seed: int = 0) -> Dict[str, float]:
    """Does a translator translate? Style distances before and after, and
    the content kept.

    Returns, for the ``sources`` (``*_source``) and their translations
    (``*_translated``, same order as ``sources``), three style distances to
    the ``target`` images:

    * ``style_*``: Stage I's measure, the mean over images of Eq. 2 against
      the target's mean Gram (it has a floor, see :func:`set_style_distance`);
    * ``set_style_*``: Eq. 2 between the set's and the target's mean Grams;
    * ``colour_*``: :func:`colour_distance` of the sets;

    with ``set_style_floor`` / ``colour_floor``, the same two measures
    between two halves of the target (seeded split: what "as close as the
    target is to itself" means), and the content distance (Eq. 1, summed
    over the content layers) of each translation to its own source
    (``content_own``) and to another source image drawn by a seeded
    derangement (``content_other``, the scale of a content change). A
    translator moves the style towards the target (``*_translated <
    *_source``) and keeps the person (``content_own < content_other``).

    Example:
        >>> d = translation_distances(StyleContentDistance(size=(32, 16)),
        ...                           selected, translated, target_train)
        >>> d['set_style_translated'] < d['set_style_source']
    """
    if len(sources) != len(translated) or len(sources) < 2:
        raise ValueError('translation_distances: need >= 2 sources and one '
                         f'translation each, got {len(sources)} / {len(translated)}')
    stats = dist.target_stats(target)
    out = {}
    for k, p in (('source', sources), ('translated', translated)):
        out['style_' + k] = float(dist(list(p), stats)['style'].mean())
        out['set_style_' + k] = set_style_distance(dist, p, stats)
        out['colour_' + k] = colour_distance(p, target, dist.size)
    if len(target) >= 2:
        perm = np.random.default_rng([seed, 1]).permutation(len(target))
        half_a = [target[i] for i in perm[:len(target) // 2]]
        half_b = [target[i] for i in perm[len(target) // 2:]]
        out['set_style_floor'] = set_style_distance(
            dist, half_a, dist.target_stats(half_b))
        out['colour_floor'] = colour_distance(half_a, half_b, dist.size)
    n = len(sources)
    other = (np.arange(n) + np.random.default_rng(seed).integers(1, n)) % n
    own, far = [], []
    for s in range(0, n, dist.batch_size):
        idx = np.arange(s, min(n, s + dist.batch_size))
        with torch.no_grad():
            ft = dist.vgg(load_batch([translated[i] for i in idx], dist.size))
            fs = dist.vgg(load_batch([sources[i] for i in idx], dist.size))
            fo = dist.vgg(load_batch([sources[i] for i in other[idx]], dist.size))
        for ref, acc in ((fs, own), (fo, far)):
            acc.append(sum(0.5 * (ft[k].double() - ref[k].double()).pow(2).sum(
                (1, 2, 3)) for k in dist.content_layers))
    out.update(content_own=float(torch.cat(own).mean()),
               content_other=float(torch.cat(far).mean()))
    return out
