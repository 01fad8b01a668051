"""Train DLCR's optional latent discriminator (paper Sec. 12, Eq. 5).

    python -m plugins.dlcr.train_discriminator CONFIG [--work-dir DIR]
           [--cfg-options discriminator_training.iterations=500]

The config (e.g. ``configs/dlcr/prcc_cal_discriminator.py``) holds::

    discriminator = dict(in_channels=4, width=64, num_blocks=3)
    discriminator_training = dict(
        real=dict(type='PRCC', data_root='data/prcc', split='train'),
        generated=dict(type='SyntheticDataset', data_root='{work_dir}/synthetic'),
        vae='runwayml/stable-diffusion-inpainting', vae_subfolder='vae',
        image_size=(768, 256), batch_size=16, iterations=2000, lr=1e-4,
        seed=0, out='{work_dir}/discriminator.pth')

Real and generated images are encoded by the Stable Diffusion VAE, noised at
uniform random timesteps of SD's schedule, and the discriminator learns
real (1) vs generated (0). The checkpoint stores the weights and the
discriminator config; ``DiscriminatorGuidedInpainter(discriminator=...)``
reads it.
"""
from __future__ import annotations

import argparse
import copy
import os
import os.path as osp
import sys
from typing import Optional

import numpy as np
import torch
from PIL import Image

__all__ = ['train_discriminator', 'main']


def _paths(dataset_cfg: dict, work_dir: str) -> list:
    from reidkit.registry import DATASETS
    cfg = copy.deepcopy(dict(dataset_cfg))
    for k, v in list(cfg.items()):
        if isinstance(v, str) and '{work_dir}' in v:
            cfg[k] = v.replace('{work_dir}', work_dir)
    cfg['pipeline'] = []
    ds = DATASETS.build(cfg)
    ds.full_init()
    paths = [ds.get_data_info(i)['img_path'] for i in range(len(ds))]
    if not paths:
        raise ValueError(f'train_discriminator: {cfg.get("type")} at '
                         f'{cfg.get("data_root")} has no image')
    return paths


def _batch(paths, idx, size) -> torch.Tensor:
    h, w = size
    arr = np.stack([np.asarray(Image.open(paths[i]).convert('RGB').resize(
        (w, h), Image.BICUBIC), np.float32) for i in idx])
    return torch.from_numpy(arr).permute(0, 3, 1, 2) / 127.5 - 1.0


def _load_vae(ref, subfolder, device):
    if not isinstance(ref, str):
        return ref
    from diffusers import AutoencoderKL
    try:
        return AutoencoderKL.from_pretrained(ref, subfolder=subfolder,
                                             local_files_only=True).to(device)
    except (OSError, ValueError) as err:
        raise FileNotFoundError(f'train_discriminator: cannot load the VAE '
                                f'{ref!r} ({err}); download it first') from err


def train_discriminator(cfg: dict, work_dir: str, vae=None,
                        log_every: int = 50) -> dict:
    """Train a :class:`LatentDiscriminator` from a config dict.

    Args:
        cfg (dict): ``discriminator`` and ``discriminator_training`` keys
            (see the module docstring).
        work_dir (str): fills ``{work_dir}``.
        vae (optional): a built VAE (default: loaded from
            ``discriminator_training.vae``).

    Returns:
        dict: the checkpoint (``state_dict``, ``config``, ``history``), also
        saved to ``discriminator_training.out``.
    """
    from .discriminator import (LatentDiscriminator, discriminator_loss,
                                sd_alphas_cumprod)
    tcfg = dict(cfg['discriminator_training'])
    dcfg = dict(cfg.get('discriminator') or {})
    device = tcfg.get('device') or ('cuda' if torch.cuda.is_available()
                                    else 'cpu')
    seed = int(tcfg.get('seed', 0))
    torch.manual_seed(seed)
    gen = torch.Generator().manual_seed(seed)
    rng = np.random.default_rng(seed)
    real = _paths(tcfg['real'], work_dir)
    fake = _paths(tcfg['generated'], work_dir)
    vae = _load_vae(vae if vae is not None else tcfg.get('vae'),
                    tcfg.get('vae_subfolder', 'vae'), device)
    vae.eval()
    scale = float(getattr(vae.config, 'scaling_factor', 0.18215))
    dcfg.setdefault('in_channels', int(getattr(vae.config, 'latent_channels',
                                               4)))
    disc = LatentDiscriminator(**dcfg).to(device)
    opt = torch.optim.Adam(disc.parameters(), lr=float(tcfg.get('lr', 1e-4)))
    alphas = sd_alphas_cumprod(int(tcfg.get('num_train_timesteps', 1000)))
    size = tuple(tcfg.get('image_size', (768, 256)))
    bs = int(tcfg.get('batch_size', 16))
    history = []

    def encode(x):
        with torch.no_grad():
            return vae.encode(x.to(device)).latent_dist.sample() * scale

    for it in range(int(tcfg.get('iterations', 2000))):
        xr = encode(_batch(real, rng.integers(0, len(real), bs), size))
        xf = encode(_batch(fake, rng.integers(0, len(fake), bs), size))
        loss, acc = discriminator_loss(disc, xr, xf, alphas.to(device), gen)
        opt.zero_grad()
        loss.backward()
        opt.step()
        history.append((loss.item(), acc.item()))
        if log_every and (it + 1) % log_every == 0:
            lo = np.mean([h[0] for h in history[-log_every:]])
            ac = np.mean([h[1] for h in history[-log_every:]])
            print(f'iter {it + 1}: loss {lo:.4f} acc {ac:.3f}', flush=True)
    ckpt = dict(state_dict={k: v.cpu() for k, v in disc.state_dict().items()},
                config=dcfg, history=history)
    out = str(tcfg.get('out', '{work_dir}/discriminator.pth')).replace(
        '{work_dir}', work_dir)
    os.makedirs(osp.dirname(osp.abspath(out)), exist_ok=True)
    torch.save(ckpt, out)
    print(f'discriminator saved to {out}')
    return ckpt


def main(argv: Optional[list] = None) -> dict:
    from mmengine.config import Config, DictAction
    ap = argparse.ArgumentParser(description='Train the DLCR discriminator')
    ap.add_argument('config')
    ap.add_argument('--work-dir')
    ap.add_argument('--cfg-options', nargs='+', action=DictAction)
    args = ap.parse_args(argv)
    cfg = Config.fromfile(args.config)
    if args.cfg_options:
        cfg.merge_from_dict(args.cfg_options)
    if 'discriminator_training' not in cfg:
        sys.exit(f'{args.config}: no discriminator_training section (see '
                 'python -m plugins.dlcr.train_discriminator --help)')
    work_dir = args.work_dir or cfg.get('work_dir') or osp.join(
        'work_dirs', osp.splitext(osp.basename(args.config))[0])
    import plugins.dlcr  # noqa: F401  (registers the datasets it reads)
    return train_discriminator(cfg.to_dict(), work_dir)


if __name__ == '__main__':
    main()
