"""AOST Stage II: SPGAN (CycleGAN + Siamese contrastive loss) style transfer.

SPGAN (Deng et al., CVPR 2018, the paper's choice) is CycleGAN (Zhu et al.
2017) whose generators also keep a person's identity: a Siamese network
pulls an image and its translation together (positive pairs ``(x_S, G(x_S))``
and ``(x_T, F(x_T))``) and pushes a translation away from the other domain's
images (negative pairs ``(G(x_S), x_T)`` and ``(F(x_T), x_S)``), with the
contrastive loss ``L_con = i d^2 + (1 - i) max(0, m - d)^2`` (``i`` = 1 for
positive pairs, ``d`` the distance of L2-normalised embeddings, ``m = 2``).
Objective: ``L_adv(G, D_T) + L_adv(F, D_S) + 10 L_cyc + 5 L_ide + 2 L_con``
(SPGAN's weights); the adversarial terms are least squares (CycleGAN's).
``contrastive_weight=0`` is CycleGAN, the ablation.

Training goes through the mmengine Runner (``SPGAN`` is registered in
synthgen's fine-tuning MODELS, :class:`UnpairedImageDataset` in its
DATASETS); ``save_adapters`` writes the source-to-target generator, which
:class:`GANTranslator` (a synthgen GENERATOR) loads to translate images.
Departures from the reference implementations: no image history pool for
the discriminators, a constant learning rate unless the config sets a
scheduler, and the Siamese net updated every step from the start.
"""
from __future__ import annotations

import glob
import json
import os
import os.path as osp
from typing import Dict, List, Optional, Sequence

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
from mmengine.model import BaseModel
from PIL import Image
from torch.utils.data import Dataset

import reidkit.models.optim_constructor  # noqa: F401  ReIDOptimWrapperConstructor
from synthgen.finetune.registry import DATASETS, MODELS
from synthgen.registry import GENERATORS
from synthgen.sources import to_rgb_array

GENERATOR_FILE = 'generator_s2t.pth'
GENERATOR_CFG = 'generator_s2t.json'


# ----------------------------------------------------------------- networks
class _ResBlock(nn.Module):
    def __init__(self, ch):
        super().__init__()
        self.body = nn.Sequential(
            nn.ReflectionPad2d(1), nn.Conv2d(ch, ch, 3), nn.InstanceNorm2d(ch),
            nn.ReLU(True), nn.ReflectionPad2d(1), nn.Conv2d(ch, ch, 3),
            nn.InstanceNorm2d(ch))

    def forward(self, x):
        return x + self.body(x)


class ResnetGenerator(nn.Module):
    """CycleGAN's ResNet generator (c7s1-ngf, two stride-2 downs, ``n_blocks``
    residual blocks, two ups, c7s1-3, tanh); images in [-1, 1].

    ``residual=True`` (beyond CycleGAN, for small, short toy runs) outputs
    ``clamp(x + net(x), -1, 1)`` with the last conv zero-initialised and no
    tanh: the generator starts as the identity and learns the style change,
    instead of first having to learn to reproduce the person from noise.

    Args:
        ngf (int): filters of the first layer (CycleGAN: 64).
        n_blocks (int): residual blocks (CycleGAN: 9 at 256 px, 6 at 128).
        n_down (int): stride-2 downsamplings (2).
        residual (bool): identity-initialised residual output (False:
            CycleGAN's tanh output).

    Example:
        >>> g = ResnetGenerator(ngf=8, n_blocks=1)
        >>> g(torch.zeros(1, 3, 32, 16)).shape
        torch.Size([1, 3, 32, 16])
    """

    def __init__(self, ngf: int = 64, n_blocks: int = 9, n_down: int = 2,
                 residual: bool = False):
        super().__init__()
        self.residual = bool(residual)
        layers = [nn.ReflectionPad2d(3), nn.Conv2d(3, ngf, 7),
                  nn.InstanceNorm2d(ngf), nn.ReLU(True)]
        ch = ngf
        for _ in range(n_down):
            layers += [nn.Conv2d(ch, ch * 2, 3, 2, 1), nn.InstanceNorm2d(ch * 2),
                       nn.ReLU(True)]
            ch *= 2
        layers += [_ResBlock(ch) for _ in range(n_blocks)]
        for _ in range(n_down):
            layers += [nn.ConvTranspose2d(ch, ch // 2, 3, 2, 1, output_padding=1),
                       nn.InstanceNorm2d(ch // 2), nn.ReLU(True)]
            ch //= 2
        last = nn.Conv2d(ch, 3, 7)
        layers += [nn.ReflectionPad2d(3), last]
        if self.residual:
            nn.init.zeros_(last.weight)
            nn.init.zeros_(last.bias)
        else:
            layers.append(nn.Tanh())
        self.net = nn.Sequential(*layers)

    def forward(self, x):
        if self.residual:
            return (x + self.net(x)).clamp(-1.0, 1.0)
        return self.net(x)


class PatchDiscriminator(nn.Module):
    """PatchGAN discriminator (CycleGAN's 70x70 with ``n_layers=3``).

    Args:
        ndf (int): filters of the first layer (64).
        n_layers (int): stride-2 layers after the first.
    """

    def __init__(self, ndf: int = 64, n_layers: int = 3):
        super().__init__()
        layers = [nn.Conv2d(3, ndf, 4, 2, 1), nn.LeakyReLU(0.2, True)]
        ch = ndf
        for i in range(1, n_layers + 1):
            out = ndf * min(2 ** i, 8)
            stride = 2 if i < n_layers else 1
            layers += [nn.Conv2d(ch, out, 4, stride, 1), nn.InstanceNorm2d(out),
                       nn.LeakyReLU(0.2, True)]
            ch = out
        layers += [nn.Conv2d(ch, 1, 4, 1, 1)]
        self.net = nn.Sequential(*layers)

    def forward(self, x):
        return self.net(x)


class SiameseNet(nn.Module):
    """SPGAN's SiaNet: 4 conv + max-pool stages and one FC layer; the
    embedding is L2-normalised (distances lie in [0, 2], hence ``m = 2``).

    Args:
        ch (int): filters of the first conv (doubled per stage, up to 8x).
        dim (int): embedding size (SPGAN: 128).
    """

    def __init__(self, ch: int = 64, dim: int = 128):
        super().__init__()
        layers, c = [], 3
        for i in range(4):
            out = ch * min(2 ** i, 8)
            layers += [nn.Conv2d(c, out, 3, 1, 1), nn.LeakyReLU(0.2, True),
                       nn.MaxPool2d(2)]
            c = out
        self.features = nn.Sequential(*layers)
        self.fc = nn.Linear(c, dim)

    def forward(self, x):
        f = self.features(x).mean((2, 3))
        return F.normalize(self.fc(f), dim=1)


# ----------------------------------------------------------------- losses
def lsgan_loss(pred: torch.Tensor, real: bool) -> torch.Tensor:
    """Least-squares GAN loss: mean ``(pred - 1)^2`` or ``pred^2``."""
    return ((pred - (1.0 if real else 0.0)) ** 2).mean()


def contrastive_loss(e1: torch.Tensor, e2: torch.Tensor,
                     positive: torch.Tensor, margin: float = 2.0) -> torch.Tensor:
    """SPGAN's ``L_con = i d^2 + (1 - i) max(0, m - d)^2`` averaged over
    pairs; ``positive`` is ``i`` (1 for a positive pair)."""
    d = (e1 - e2).norm(dim=1)
    i = positive.to(d.dtype)
    return (i * d ** 2 + (1 - i) * F.relu(margin - d) ** 2).mean()


# ----------------------------------------------------------------- model
def _stack(x):
    if isinstance(x, (list, tuple)):
        return torch.stack(list(x))
    return x


@MODELS.register_module()
class SPGAN(BaseModel):
    """SPGAN / CycleGAN between a source (synthetic) and a target domain.

    ``train_step`` needs an ``OptimWrapperDict`` with ``model`` (the two
    generators), ``discriminator`` and (when ``contrastive_weight > 0``)
    ``siamese``: reidkit's ``ReIDOptimWrapperConstructor`` builds it.
    Batches are dicts with ``source`` and ``target`` image tensors in
    [-1, 1] (see :class:`UnpairedImageDataset`).

    Args:
        generator (dict): :class:`ResnetGenerator` arguments.
        discriminator (dict): :class:`PatchDiscriminator` arguments.
        siamese (dict): :class:`SiameseNet` arguments.
        cycle_weight (float): ``lambda_1`` (10).
        identity_weight (float): ``lambda_2`` (5).
        contrastive_weight (float): ``lambda_3`` (2); 0 = CycleGAN.
        margin (float): contrastive margin ``m`` (2).

    Example:
        >>> model = dict(type='SPGAN', generator=dict(ngf=64, n_blocks=9))
        >>> adam = dict(type='OptimWrapper', optimizer=dict(
        ...     type='Adam', lr=2e-4, betas=(0.5, 0.999)))
        >>> optim_wrapper = dict(constructor='ReIDOptimWrapperConstructor',
        ...                      model=adam, discriminator=adam, siamese=adam)
    """

    def __init__(self, generator: Optional[dict] = None,
                 discriminator: Optional[dict] = None,
                 siamese: Optional[dict] = None, cycle_weight: float = 10.0,
                 identity_weight: float = 5.0, contrastive_weight: float = 2.0,
                 margin: float = 2.0, init_cfg=None):
        super().__init__(init_cfg=init_cfg)
        self.gen_cfg = dict(generator or {})
        self.G = ResnetGenerator(**self.gen_cfg)     # source -> target
        self.F = ResnetGenerator(**self.gen_cfg)     # target -> source
        self.discriminator = nn.ModuleDict(dict(
            T=PatchDiscriminator(**(discriminator or {})),
            S=PatchDiscriminator(**(discriminator or {}))))
        self.cycle_weight = float(cycle_weight)
        self.identity_weight = float(identity_weight)
        self.contrastive_weight = float(contrastive_weight)
        self.margin = float(margin)
        self.siamese = (SiameseNet(**(siamese or {}))
                        if self.contrastive_weight > 0 else None)

    # -- losses on one batch (also used by the tests)
    def pair_embeddings(self, s, t, fake_t, fake_s):
        """Embeddings of the four SPGAN pairs: positives first, then negatives,
        and the ``i`` labels (1, 1, 0, 0 per image)."""
        net = self.siamese
        a = torch.cat([s, t, fake_t, fake_s])
        b = torch.cat([fake_t, fake_s, t, s])
        n = s.shape[0]
        lab = torch.cat([torch.ones(2 * n), torch.zeros(2 * n)]).to(s.device)
        return net(a), net(b), lab

    def generator_losses(self, s, t):
        fake_t, fake_s = self.G(s), self.F(t)
        losses = dict(
            loss_adv=lsgan_loss(self.discriminator['T'](fake_t), True)
            + lsgan_loss(self.discriminator['S'](fake_s), True),
            loss_cyc=self.cycle_weight * ((self.F(fake_t) - s).abs().mean()
                                          + (self.G(fake_s) - t).abs().mean()))
        if self.identity_weight > 0:
            losses['loss_ide'] = self.identity_weight * (
                (self.G(t) - t).abs().mean() + (self.F(s) - s).abs().mean())
        if self.siamese is not None:
            self.siamese.requires_grad_(False)
            e1, e2, lab = self.pair_embeddings(s, t, fake_t, fake_s)
            self.siamese.requires_grad_(True)
            losses['loss_con'] = self.contrastive_weight * contrastive_loss(
                e1, e2, lab, self.margin)
        return losses, fake_t.detach(), fake_s.detach()

    def discriminator_losses(self, s, t, fake_t, fake_s):
        d_t, d_s = self.discriminator['T'], self.discriminator['S']
        return dict(loss_d=0.5 * (lsgan_loss(d_t(t), True)
                                  + lsgan_loss(d_t(fake_t), False))
                    + 0.5 * (lsgan_loss(d_s(s), True)
                             + lsgan_loss(d_s(fake_s), False)))

    def siamese_losses(self, s, t, fake_t, fake_s):
        e1, e2, lab = self.pair_embeddings(s, t, fake_t, fake_s)
        return dict(loss_sia=contrastive_loss(e1, e2, lab, self.margin))

    def _inputs(self, data):
        dev = next(self.parameters()).device
        return (_stack(data['source']).to(dev).float(),
                _stack(data['target']).to(dev).float())

    def _update(self, ow, module, losses_fn, log):
        with ow.optim_context(module):
            total, part = self.parse_losses(losses_fn())
        ow.update_params(total)
        part.pop('loss', None)
        log.update(part)

    def train_step(self, data, optim_wrapper) -> Dict[str, torch.Tensor]:
        s, t = self._inputs(data)
        log, fakes = {}, {}

        def gen_losses():
            self.discriminator.requires_grad_(False)
            losses, fakes['t'], fakes['s'] = self.generator_losses(s, t)
            self.discriminator.requires_grad_(True)
            return losses

        self._update(optim_wrapper['model'], self.G, gen_losses, log)
        self._update(optim_wrapper['discriminator'], self.discriminator,
                     lambda: self.discriminator_losses(s, t, fakes['t'], fakes['s']),
                     log)
        if self.siamese is not None:
            self._update(optim_wrapper['siamese'], self.siamese,
                         lambda: self.siamese_losses(s, t, fakes['t'], fakes['s']),
                         log)
        return log

    def forward(self, inputs, data_samples=None, mode='tensor'):
        return self.G(_stack(inputs))

    def val_step(self, data):
        return self.G(self._inputs(data)[0])

    test_step = val_step

    def save_adapters(self, out_dir: str) -> List[str]:
        """Write the source-to-target generator and its architecture."""
        os.makedirs(out_dir, exist_ok=True)
        tmp = osp.join(out_dir, GENERATOR_FILE + '.tmp')
        torch.save(self.G.state_dict(), tmp)
        os.replace(tmp, osp.join(out_dir, GENERATOR_FILE))
        with open(osp.join(out_dir, GENERATOR_CFG + '.tmp'), 'w') as f:
            json.dump(dict(generator=self.gen_cfg,
                           contrastive_weight=self.contrastive_weight), f)
        os.replace(osp.join(out_dir, GENERATOR_CFG + '.tmp'),
                   osp.join(out_dir, GENERATOR_CFG))
        return [GENERATOR_FILE, GENERATOR_CFG]


# ----------------------------------------------------------------- data
def _to_tensor(img: Image.Image, size, flip: bool) -> torch.Tensor:
    h, w = size
    img = img.convert('RGB').resize((w, h), Image.BICUBIC)
    x = torch.from_numpy(np.asarray(img, np.float32) / 127.5 - 1.0).permute(2, 0, 1)
    return x.flip(2) if flip else x


def _list_images(root: str, pattern: Optional[str], image_list: Optional[str],
                 what: str) -> List[str]:
    if image_list:
        # as given (absolute, or relative to the working directory, as the
        # configs' ``${aost_root}/aost/selected.txt`` is), else under ``root``
        path = (image_list if osp.isfile(image_list)
                else osp.join(root, image_list))
        if not osp.isfile(path):
            raise FileNotFoundError(f'UnpairedImageDataset: {what} image_list '
                                    f'{path} does not exist')
        with open(path, encoding='utf-8') as f:
            files = [osp.join(root, ln.strip()) for ln in f if ln.strip()]
    else:
        files = sorted(glob.glob(osp.join(root, pattern or '**/*.jpg'),
                                 recursive=True))
        files = [p for p in files if not any(
            part.startswith(('_', '.'))
            for part in osp.relpath(p, root).split(os.sep)[:-1])]
    if not files:
        raise FileNotFoundError(f'UnpairedImageDataset: no {what} image under '
                                f'{root} (pattern {pattern!r}, list {image_list!r})')
    return files


@DATASETS.register_module()
class UnpairedImageDataset(Dataset):
    """Source and target images, unpaired, for CycleGAN-style training.

    Item ``i``: source image ``i`` (mod the source count) and a target image
    drawn from a seeded generator, both resized to ``size``, randomly
    flipped and scaled to [-1, 1].

    Args:
        source_root (str): source folder (e.g. FineGPR's root).
        target_root (str): target folder (e.g. Market-1501's root).
        source_pattern / target_pattern (str): globs relative to the roots
            (default ``'**/*.jpg'``; folders starting with ``_`` skipped).
        source_list / target_list (str, optional): text files of paths
            relative to the roots instead of a glob (a selected subset).
        size (tuple): ``(H, W)``.
        flip_prob (float): horizontal flip probability.
        seed (int): pairing seed.

    Example:
        >>> ds = UnpairedImageDataset('data/finegpr', 'data/market1501',
        ...                           target_pattern='bounding_box_train/*.jpg')
        >>> ds[0]['source'].shape
        torch.Size([3, 256, 128])
    """

    def __init__(self, source_root: str, target_root: str,
                 source_pattern: Optional[str] = None,
                 target_pattern: Optional[str] = None,
                 source_list: Optional[str] = None,
                 target_list: Optional[str] = None,
                 size: Sequence[int] = (256, 128), flip_prob: float = 0.5,
                 seed: int = 0):
        self.sources = _list_images(source_root, source_pattern, source_list,
                                    'source')
        self.targets = _list_images(target_root, target_pattern, target_list,
                                    'target')
        self.size = tuple(size)
        self.flip_prob = float(flip_prob)
        self.seed = int(seed)
        self.metainfo = dict(num_sources=len(self.sources),
                             num_targets=len(self.targets))

    def __len__(self):
        return max(len(self.sources), len(self.targets))

    def __getitem__(self, i):
        rng = np.random.default_rng([self.seed, i])
        out = {}
        for key, files, j in (('source', self.sources, i % len(self.sources)),
                              ('target', self.targets,
                               int(rng.integers(len(self.targets))))):
            with Image.open(files[j]) as im:
                out[key] = _to_tensor(im, self.size,
                                      bool(rng.random() < self.flip_prob))
        return out


# ----------------------------------------------------------------- generator
@GENERATORS.register_module()
class GANTranslator:
    """Translate source images with a trained SPGAN / CycleGAN generator.

    Called as ``gen(requests) -> list of dict(image, meta)``; each request's
    ``image`` (HxWx3 uint8, e.g. a FineGPR image given by the source) is
    resized to the training size, translated, and resized back.

    Args:
        checkpoint_dir (str): folder holding ``generator_s2t.pth`` and
            ``generator_s2t.json`` (``SPGAN.save_adapters``; the translator
            stage's ``<work_dir>/adapters``).
        size (tuple): ``(H, W)`` the generator runs at (its training size).
        device (str): torch device.

    Example:
        >>> gen = GENERATORS.build(dict(type='GANTranslator',
        ...                             checkpoint_dir='work_dirs/spgan/adapters'))
        >>> out = gen([dict(image=np.zeros((256, 128, 3), np.uint8))])
    """

    def __init__(self, checkpoint_dir: str, size: Sequence[int] = (256, 128),
                 device: str = 'cpu'):
        weights = osp.join(checkpoint_dir, GENERATOR_FILE)
        arch = osp.join(checkpoint_dir, GENERATOR_CFG)
        if not (osp.isfile(weights) and osp.isfile(arch)):
            raise FileNotFoundError(
                f'GANTranslator: {weights} / {arch} not found (train the '
                'translator first: its stage writes them to <work_dir>/adapters)')
        with open(arch) as f:
            meta = json.load(f)
        self.G = ResnetGenerator(**meta['generator'])
        self.G.load_state_dict(torch.load(weights, map_location='cpu',
                                          weights_only=True))
        self.G.eval().to(device)
        self.device = torch.device(device)
        self.size = tuple(size)
        self.kind = 'spgan' if meta.get('contrastive_weight', 0) > 0 else 'cyclegan'

    def __call__(self, requests):
        if not requests:
            return []
        imgs, shapes = [], []
        for r in requests:
            if r.get('image') is None:
                raise ValueError('GANTranslator: a request has no source image '
                                 '(the source must give image paths)')
            arr = to_rgb_array(r['image'])
            shapes.append(arr.shape[:2])
            imgs.append(_to_tensor(Image.fromarray(arr), self.size, False))
        with torch.no_grad():
            out = self.G(torch.stack(imgs).to(self.device)).cpu()
        res = []
        for y, (h, w) in zip(out, shapes):
            arr = ((y.permute(1, 2, 0).numpy() + 1) * 127.5).clip(0, 255)
            im = Image.fromarray(arr.round().astype(np.uint8))
            if im.size != (w, h):
                im = im.resize((w, h), Image.BICUBIC)
            res.append(dict(image=im, meta=dict(translator=self.kind)))
        return res
