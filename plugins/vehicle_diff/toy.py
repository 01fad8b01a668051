"""The toy world's stand-ins for Vehicle-Diff's models (the toy ablation's parts).

No diffusion model, detector or CLIP weights can be downloaded here, so the
toy ablation (:mod:`plugins.vehicle_diff.toy_ablation`) replaces each model
by something that plays its part in the toy world, and keeps the rest of the
paper path (prompt library, template, stages, the real filter classes,
samplers, training, test) as it is:

* **text-to-image model** -- :class:`ToyVehicleDiffusion`, a GENERATOR that
  reads the paper's prompt ("a red 2010 aurel saloon sedan driving down the
  road.") and draws that vehicle with the toy renderer. Its *style* -- which
  scenes, light, weather, viewpoints and framing it draws -- is
  :data:`BASE_STYLE` (stock-photo like, unlike the target: night and dusk,
  fog and snow, parking lots and bridges, mostly side views, the vehicle
  small in a wide frame) until it is "fine-tuned". Like a real diffusion
  model it fails now and then (``failures``): the wrong colour, a vehicle
  cut off by the frame, an empty road.
* **LoRA fine-tuning on 1 % of the target** -- :class:`ToyStyleFinetuneStage`
  picks the same seeded 1 % of the target's training images as
  ``TargetCaptionStage`` and estimates the style from them (the toy
  annotations of those images stand for what the LoRA learns from their
  pixels: scene, light, weather, viewpoint; the framing from their masks).
* **detector** -- ``DetectionCropFilter(backend='mask')`` (synthgen): the box
  of the rendered vehicle read from the renderer's mask, confidence 1.
* **CLIP colour check** -- :func:`ToyCLIPColorFilter` builds synthgen's
  ``CLIPAttributeFilter`` with :class:`ToyColorCLIP` in place of open_clip
  (a colour-vote image encoder and a one-hot text encoder: there are no CLIP
  weights here).
* **FID features** -- :class:`RandomConvFeatures` (a seeded random-weight
  CNN) in ``FIDStage(features='random_cnn')`` (:mod:`.stages`), in place of
  Inception.
"""
from __future__ import annotations

import json
import os.path as osp
import re
from typing import Any, Dict, List, Optional, Sequence

import numpy as np
import torch
from PIL import Image

from reidkit.stages import STAGES, Stage, atomic_write_text
from synthgen.filters.clip_attribute import CLIPAttributeFilter
from synthgen.registry import FILTERS, GENERATORS
from synthgen.toyworld.generator import ToyWorldRenderer
from synthgen.toyworld.vocab import (ILLUMINATIONS, VEHICLE_BRANDS,
                                     VEHICLE_COLOR_NAMES, VEHICLE_RGB,
                                     VEHICLE_SCENES, VEHICLE_TYPES,
                                     VEHICLE_VIEWPOINTS, WEATHERS)

from .library import TOY_ERA_YEARS
from .target import select_target_images, target_train_images

__all__ = ['BASE_STYLE', 'STYLE_KEYS', 'estimate_style', 'parse_toy_prompt',
           'ToyVehicleDiffusion', 'ToyStyleFinetuneStage', 'ToyColorCLIP',
           'ToyCLIPColorFilter', 'RandomConvFeatures', 'random_cnn_fid']

#: categorical style keys -> their vocabulary
STYLE_KEYS = {'background': VEHICLE_SCENES, 'illumination': ILLUMINATIONS,
              'weather': WEATHERS, 'viewpoint': VEHICLE_VIEWPOINTS}

#: The un-fine-tuned model's look: unlike the toy VeRi-776 (daylight, the
#: five road scenes, every viewpoint, the vehicle filling the frame).
BASE_STYLE = dict(
    background={'parking_lot': 0.6, 'bridge': 0.4},
    illumination={'night': 0.6, 'dusk': 0.4},
    weather={'foggy': 0.5, 'blizzard': 0.3, 'rain': 0.2},
    viewpoint={'side': 0.8, 'oblique': 0.2},
    scale=[0.55, 0.05])

#: How often the generator fails, per image (a diffusion model's misses).
DEFAULT_FAILURES = dict(wrong_color=0.15, partial=0.1, empty=0.1)


# ------------------------------------------------------------------ style
def estimate_style(annotations: Sequence[Dict[str, Any]],
                   masks: Sequence[np.ndarray] = (),
                   smoothing: float = 0.5) -> Dict[str, Any]:
    """A style from target images: category frequencies and the framing.

    Args:
        annotations (Sequence[dict]): the images' toy attributes
            (``background``, ``illumination``, ``weather``, ``viewpoint``).
        masks (Sequence[np.ndarray]): their label masks; the vehicle's box
            gives the framing (``scale``: mean and std of
            ``max(box width / W, box height / H)``).
        smoothing (float): added to every category's count (so a category
            the few images did not show keeps a little mass).

    Returns:
        dict: ``{key: {value: probability}}`` for :data:`STYLE_KEYS`, and
        ``scale: [mean, std]``.

    Example:
        >>> s = estimate_style([dict(background='road', illumination='noon',
        ...                          weather='sunny', viewpoint='side')])
        >>> round(s['background']['road'], 3)      # (1 + 0.5) / (1 + 5 * 0.5)
        0.429
    """
    if not annotations:
        raise ValueError('estimate_style: no target images')
    style: Dict[str, Any] = {}
    for key, vocab in STYLE_KEYS.items():
        counts = {v: float(smoothing) for v in vocab}
        for a in annotations:
            if a.get(key) in counts:
                counts[a[key]] += 1.0
        total = sum(counts.values())
        style[key] = {v: c / total for v, c in counts.items()}
    sides = []
    for m in masks:
        ys, xs = np.nonzero(np.asarray(m) > 0)
        if len(ys):
            h, w = np.asarray(m).shape[:2]
            sides.append(max((xs.max() + 1 - xs.min()) / w,
                             (ys.max() + 1 - ys.min()) / h))
    style['scale'] = ([float(np.mean(sides)), float(np.std(sides)) + 0.01]
                      if sides else list(BASE_STYLE['scale']))
    return style


def _check_style(style: Dict[str, Any], where: str) -> Dict[str, Any]:
    for key, vocab in STYLE_KEYS.items():
        probs = style.get(key)
        if not isinstance(probs, dict) or not probs or \
                not set(probs) <= set(vocab):
            raise ValueError(f'{where}: style key {key!r} must map some of '
                             f'{list(vocab)} to probabilities, got {probs!r}')
    if len(style.get('scale') or ()) != 2:
        raise ValueError(f"{where}: style 'scale' must be [mean, std]")
    return style


def _draw(rng: np.random.Generator, probs: Dict[str, float]) -> str:
    names = list(probs)
    p = np.asarray([probs[n] for n in names], np.float64)
    return names[int(rng.choice(len(names), p=p / p.sum()))]


# ------------------------------------------------------------------ generator
_YEAR = re.compile(r'\b(19|20)\d\d\b')


def parse_toy_prompt(prompt: str) -> Dict[str, Any]:
    """The toy attributes a prompt names: colour, brand, body style, era.

    Words are matched against the toy vocabulary; the production year picks
    the nearest toy era (:data:`~plugins.vehicle_diff.library.TOY_ERA_YEARS`).
    Attributes the prompt does not name are left out (the renderer draws
    them).

    Example:
        >>> parse_toy_prompt('a red 2010 aurel saloon sedan driving down the road.')
        {'color': 'red', 'brand': 'aurel', 'vehicle_type': 'sedan', 'era': 'modern'}
    """
    words = re.findall(r'[a-z]+', str(prompt).lower())
    out: Dict[str, Any] = {}
    for key, vocab in (('color', VEHICLE_COLOR_NAMES),
                       ('brand', VEHICLE_BRANDS),
                       ('vehicle_type', VEHICLE_TYPES)):
        hit = next((w for w in words if w in vocab), None)
        if hit is not None:
            out[key] = hit
    year = _YEAR.search(str(prompt))
    if year:
        y = int(year.group(0))
        out['era'] = min(TOY_ERA_YEARS, key=lambda e: abs(TOY_ERA_YEARS[e] - y))
    return out


@GENERATORS.register_module()
class ToyVehicleDiffusion:
    """The toy stand-in for a (fine-tuned) text-to-image model of vehicles.

    Reads each request's ``prompt`` (:func:`parse_toy_prompt`), draws the
    scene, light, weather, viewpoint and framing from its style and renders
    the vehicle with ``ToyWorldRenderer``; the request's ``pid`` fixes the
    vehicle's marks (one library row = one vehicle). With probabilities
    ``failures`` an image fails as a diffusion model's do: ``wrong_color``
    (the body in another colour), ``partial`` (the vehicle mostly outside
    the frame), ``empty`` (a road without a vehicle). ``meta`` records the
    drawn look and ``failure`` (``'none'`` when the image is what was
    asked), which the filters never read.

    Args:
        size (tuple): ``(H, W)`` of the images.
        style (str | dict, optional): a style (see :func:`estimate_style`) or
            a JSON file of one (what :class:`ToyStyleFinetuneStage` writes);
            None: :data:`BASE_STYLE` (not fine-tuned).
        failures (dict, optional): ``{wrong_color, partial, empty}``
            probabilities (default :data:`DEFAULT_FAILURES`).
        seed (int): the renderer's base seed.
        knobs (dict, optional): toy-world knobs.

    Example:
        >>> gen = ToyVehicleDiffusion(size=(96, 96))
        >>> out = gen([dict(seed=0, pid=3, prompt='a red 2010 aurel saloon '
        ...                 'sedan driving down the road.')])
        >>> out[0]['meta']['adapter']
        'base'
    """

    def __init__(self, size: Sequence[int] = (96, 96),
                 style: Any = None, failures: Optional[dict] = None,
                 seed: int = 0, knobs: Optional[dict] = None) -> None:
        if style is None:
            self.adapter, style = 'base', BASE_STYLE
        elif isinstance(style, str):
            if not osp.isfile(style):
                raise FileNotFoundError(
                    f'ToyVehicleDiffusion: style file {style!r} not found '
                    '(written by the ToyStyleFinetuneStage)')
            with open(style, encoding='utf-8') as f:
                self.adapter, style = 'target', json.load(f)
        else:
            self.adapter = 'target'
        self.style = _check_style(dict(style), 'ToyVehicleDiffusion')
        self.failures = dict(DEFAULT_FAILURES if failures is None
                             else failures)
        bad = set(self.failures) - set(DEFAULT_FAILURES)
        if bad or sum(self.failures.values()) > 1:
            raise ValueError('ToyVehicleDiffusion: failures must be '
                             f'probabilities of {sorted(DEFAULT_FAILURES)} '
                             f'summing to <= 1, got {self.failures}')
        self.size = tuple(int(s) for s in size)
        self.seed = int(seed)
        self.renderer = ToyWorldRenderer('vehicle', self.size, self.seed,
                                         knobs)

    def _request(self, req: Dict[str, Any]):
        rng = np.random.default_rng([self.seed, 17, int(req['seed'])])
        attrs = parse_toy_prompt(req.get('prompt', ''))
        look = {k: _draw(rng, self.style[k]) for k in STYLE_KEYS}
        mu, sd = self.style['scale']
        scale = float(np.clip(rng.normal(mu, sd), 0.3, 0.95))
        kinds = ['none', *self.failures]
        p = [1 - sum(self.failures.values()), *self.failures.values()]
        failure = kinds[int(rng.choice(len(kinds), p=p))]
        frame = dict(scale=scale, cx=0.5 + 0.03 * rng.standard_normal(),
                     cy=0.54 + 0.03 * rng.standard_normal())
        if failure == 'wrong_color':
            others = [c for c in VEHICLE_COLOR_NAMES
                      if c != attrs.get('color')]
            attrs['color'] = others[int(rng.integers(len(others)))]
        elif failure == 'partial':   # at most ~15 % of the length in view
            side = rng.choice([-1.0, 1.0])
            frame['cx'] = 0.5 + side * (0.5 + scale * (0.5 - rng.uniform(
                0.02, 0.15)))
        elif failure == 'empty':     # the vehicle far outside the frame
            frame['cx'] = 5.0
        attributes = dict(attrs, **look, **frame,
                          facing=int(rng.integers(2)))
        if req.get('pid') is not None and int(req['pid']) >= 0:
            attributes['pid'] = int(req['pid'])
        meta = dict(adapter=self.adapter, failure=failure, **look,
                    scale=round(scale, 3))
        return dict(seed=int(req['seed']), attributes=attributes), meta

    def __call__(self, requests: List[Dict[str, Any]]) -> List[dict]:
        if not requests:
            return []
        parts = [self._request(r) for r in requests]
        outs = self.renderer([r for r, _ in parts])
        for out, (_, meta) in zip(outs, parts):
            drawn = out['meta']['attributes']
            out['meta'] = dict(meta, drawn_color=drawn['color'])
        return outs


# ------------------------------------------------------------------ fine-tuning
def _read_toy_annotations(root: str) -> Dict[str, dict]:
    path = osp.join(root, '_toy_annotations', 'attributes.jsonl')
    if not osp.isfile(path):
        raise FileNotFoundError(
            f'ToyStyleFinetuneStage: {path} not found; the target must be a '
            'toy dataset (tools/make_toy_data.py veri776 OUT)')
    with open(path, encoding='utf-8') as f:
        return {d['path']: d for d in map(json.loads, f) if d}


@STAGES.register_module()
class ToyStyleFinetuneStage(Stage):
    """The toy stand-in for LoRA fine-tuning: a style from 1 % of the target.

    Picks the seeded 1 % of the target's training images exactly as
    ``TargetCaptionStage`` does, reads their toy annotations and masks
    (``_toy_annotations/``) and writes :func:`estimate_style` of them to
    ``out_file``, which ``ToyVehicleDiffusion(style=out_file)`` reads.

    Args:
        dataset (dict): reidkit dataset config of the target's train split
            (a toy dataset).
        out_file (str): the style JSON.
        fraction (float): share of the training images (0.01).
        seed (int): selection seed.
        num_images (int, optional): exact count instead of ``fraction``.
        **kwargs: name, cfg, work_dir, depends_on (see ``Stage``).

    Example:
        >>> stages = [dict(name='finetune', type='ToyStyleFinetuneStage',
        ...                dataset=dict(type='VeRi776', data_root='${data_root}',
        ...                             split='train'),
        ...                out_file='${work_dir}/style.json')]
    """

    kind = 'finetune'

    def __init__(self, dataset: dict, out_file: str, fraction: float = 0.01,
                 seed: int = 0, num_images: Optional[int] = None,
                 **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.dataset = dict(dataset)
        self.out_file = str(out_file)
        self.fraction = float(fraction)
        self.seed = int(seed)
        self.num_images = num_images

    def inputs(self) -> List[str]:
        return [str(self.dataset.get('data_root'))]

    def outputs(self) -> List[str]:
        return [self.out_file]

    def run(self) -> dict:
        root = str(self.dataset.get('data_root'))
        chosen = select_target_images(target_train_images(self.dataset),
                                      self.fraction, self.seed,
                                      self.num_images)
        ann = _read_toy_annotations(root)
        rels = [osp.relpath(p, root) for p in chosen]
        missing = [r for r in rels if r not in ann]
        if missing:
            raise FileNotFoundError(f'ToyStyleFinetuneStage: no toy '
                                    f'annotation for {missing[:3]} in {root}')
        masks = []
        for r in rels:
            mp = osp.join(root, '_toy_annotations', 'masks',
                          osp.splitext(r)[0] + '.png')
            if osp.isfile(mp):
                masks.append(np.asarray(Image.open(mp)))
        style = estimate_style([ann[r]['attributes'] for r in rels], masks)
        style['images'] = rels
        atomic_write_text(self.out_file, json.dumps(style, indent=1))
        return dict(images=len(rels), out_file=self.out_file)


# ------------------------------------------------------------------ colour
class ToyColorCLIP(torch.nn.Module):
    """A colour judge with open_clip's interface, for ``CLIPAttributeFilter``.

    ``encode_image`` scales the image so that the median brightness of its
    border (2 pixels; around a detection crop that is mostly the road)
    becomes ``road_brightness`` (undoing the light's gain), then votes each
    pixel of its central part (the crop's centre is the vehicle's body) for
    the nearest toy body colour (:data:`~synthgen.toyworld.vocab.VEHICLE_RGB`);
    the embedding is the vote histogram. Light tints, weather and camera
    casts still shift the votes, and haze (fog, snow, rain, overcast)
    lifts dark and dims light bodies, which a gain cannot undo: on 600
    detection crops of the toy generator in the style fine-tuned on the toy
    ablation's seed-0 1 %, the prompted colour is the first choice for 44 %
    of the correctly drawn vehicles and among the first two for 63 % (80 %
    in sunny or neutral weather, 17-38 % in blizzard, fog and rain), while a
    wrongly coloured vehicle's prompted colour is among the first two for
    17 % (CLIP is better on real photographs).

    Args:
        central (float): side of the central square that votes, as a
            fraction of the image side.
        road_brightness (float): what the border's median brightness is
            scaled to.
    """

    def __init__(self, central: float = 0.4, road_brightness: float = 0.38):
        super().__init__()
        self.central = float(central)
        self.road_brightness = float(road_brightness)
        self.register_buffer('prototypes', torch.from_numpy(VEHICLE_RGB))

    @staticmethod
    def tokenizer(texts: Sequence[str]) -> torch.Tensor:
        """Colour index of each text (-1: no toy colour word)."""
        out = []
        for t in texts:
            words = re.findall(r'[a-z]+', str(t).lower())
            out.append(next((VEHICLE_COLOR_NAMES.index(w) for w in words
                             if w in VEHICLE_COLOR_NAMES), -1))
        return torch.tensor(out, dtype=torch.long)

    @staticmethod
    def preprocess(image: Image.Image) -> torch.Tensor:
        """A PIL image as a ``(3, H, W)`` float tensor in [0, 1]."""
        arr = np.asarray(image.convert('RGB'), np.float32) / 255.0
        return torch.from_numpy(arr.copy()).permute(2, 0, 1)

    def encode_text(self, tokens: torch.Tensor) -> torch.Tensor:
        out = torch.zeros(len(tokens), len(VEHICLE_COLOR_NAMES))
        ok = tokens >= 0
        out[ok, tokens[ok]] = 1.0
        return out

    def encode_image(self, x: torch.Tensor) -> torch.Tensor:
        _, _, h, w = x.shape
        grey = x.mean(1)                                     # (B, H, W)
        border = torch.cat([grey[:, :2].flatten(1), grey[:, -2:].flatten(1),
                            grey[:, :, :2].flatten(1),
                            grey[:, :, -2:].flatten(1)], 1)
        gain = border.median(1).values.clamp_min(1e-3)
        x = x * (self.road_brightness / gain)[:, None, None, None]
        dh = max(1, int(round(h * (1 - self.central) / 2)))
        dw = max(1, int(round(w * (1 - self.central) / 2)))
        px = x[:, :, dh:h - dh, dw:w - dw].flatten(2).transpose(1, 2)
        d = torch.cdist(px, self.prototypes[None].to(px))     # (B, P, C)
        votes = torch.nn.functional.one_hot(d.argmin(-1),
                                            len(VEHICLE_COLOR_NAMES))
        return votes.float().mean(1) + 1e-6


@FILTERS.register_module()
def ToyCLIPColorFilter(vocabulary: Optional[dict] = None,
                       templates: Any = 'a {value} vehicle',
                       central: float = 0.4, **kwargs: Any
                       ) -> CLIPAttributeFilter:
    """synthgen's ``CLIPAttributeFilter`` with :class:`ToyColorCLIP` as its model.

    Args:
        vocabulary (dict, optional): default: every toy colour.
        templates: as ``CLIPAttributeFilter`` (the paper's "a {value} vehicle").
        central (float): see :class:`ToyColorCLIP`.
        **kwargs: other ``CLIPAttributeFilter`` arguments (``top_k``, ``name``).

    Example:
        >>> flt = ToyCLIPColorFilter(name='clip_color')
        >>> type(flt).__name__
        'CLIPAttributeFilter'
    """
    model = ToyColorCLIP(central)
    return CLIPAttributeFilter(
        vocabulary=dict(vocabulary or dict(color=VEHICLE_COLOR_NAMES)),
        templates=templates, model=model, preprocess=model.preprocess,
        tokenizer=model.tokenizer, device='cpu', **kwargs)


# ------------------------------------------------------------------ FID
class RandomConvFeatures(torch.nn.Module):
    """A seeded random-weight CNN: uint8 ``NCHW`` images -> ``(N, dim)`` features.

    The toy FID's feature network (no Inception weights here): three
    stride-2 3x3 convolutions with ReLU, global average pooling. Random
    convolutional features respond to colour, light and layout, so their
    Fréchet distance orders image sets by how alike they look, but the
    values are not comparable with Inception FIDs.

    Args:
        dim (int): feature size.
        seed (int): weight seed.
    """

    def __init__(self, dim: int = 32, seed: int = 0):
        super().__init__()
        gen = torch.Generator().manual_seed(int(seed))
        chans = [3, 16, 32, int(dim)]
        self.convs = torch.nn.ModuleList()
        for cin, cout in zip(chans[:-1], chans[1:]):
            conv = torch.nn.Conv2d(cin, cout, 3, stride=2, padding=1)
            with torch.no_grad():
                conv.weight.copy_(torch.randn(conv.weight.shape, generator=gen)
                                  * (2.0 / (9 * cin)) ** 0.5)
                conv.bias.zero_()
            self.convs.append(conv)
        self.num_features = int(dim)

    @torch.no_grad()
    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = x.float() / 255.0
        for conv in self.convs:
            x = torch.relu(conv(x))
        return x.mean(dim=(2, 3)).double()


def random_cnn_fid(real: Sequence[Any], fake: Sequence[Any],
                   size: Sequence[int], seed: int = 0,
                   batch_size: int = 64) -> float:
    """FID of two image sets on :class:`RandomConvFeatures` (closed form).

    Args:
        real, fake: images (paths, PIL images or HxWx3 uint8 arrays).
        size (Sequence[int]): ``(W, H)`` every image is resized to.
        seed (int): the feature network's seed.
    """
    from synthgen.metrics import frechet_distance
    net = RandomConvFeatures(seed=seed)

    def load(im):
        if isinstance(im, str):
            im = Image.open(im)
        if not isinstance(im, Image.Image):
            im = Image.fromarray(np.asarray(im, np.uint8))
        arr = np.asarray(im.convert('RGB').resize(tuple(size),
                                                  Image.BILINEAR))
        return torch.from_numpy(arr.copy()).permute(2, 0, 1)

    def stats(images):
        feats = torch.cat([net(torch.stack([load(im) for im in
                                            images[i:i + batch_size]]))
                           for i in range(0, len(images), batch_size)])
        f = feats.numpy()
        return f.mean(0), np.cov(f, rowvar=False)
    return frechet_distance(*stats(list(real)), *stats(list(fake)))
