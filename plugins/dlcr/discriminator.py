"""Optional discriminator guidance for DLCR's inpainting (paper Sec. 12).

A small classifier ``d(x_t, t)`` on noisy Stable Diffusion latents is trained
to tell real training images (label 1) from DLCR-generated ones (label 0) at
random timesteps (Eq. 5). During sampling its score

    h = grad_x log(d / (1 - d)) = grad_x logit(x_t, t)          (Eq. 6)

is turned into a noise estimate ``eps_d = -sqrt(1 - alphabar_t) * h`` (Eq. 7)
and added to the UNet's noise prediction, ``eps = eps_unet + w * eps_d``
(Eq. 8), while ``t > t_min`` (200). The correction is added to every row of
the classifier-free-guidance batch, so after CFG the final noise moves by the
same ``w * eps_d``.

The wrapper assumes a scheduler whose model input is the latent itself
(DDIM, PNDM, DPM-Solver; not Euler/LMS, which rescale it).
"""
from __future__ import annotations

import math
from typing import Any, Callable, Optional, Sequence

import torch
import torch.nn.functional as F
from torch import nn

from synthgen.generators.diffusion import DiffusersInpainter
from synthgen.registry import GENERATORS

__all__ = ['LatentDiscriminator', 'guided_noise', 'GuidedUNet',
           'DiscriminatorGuidedInpainter', 'noisy_latents',
           'discriminator_loss', 'sd_alphas_cumprod']


def timestep_embedding(t: torch.Tensor, dim: int) -> torch.Tensor:
    """Sinusoidal embedding of (float) timesteps, ``(B, dim)``."""
    half = dim // 2
    freqs = torch.exp(-math.log(10000.0) * torch.arange(half, dtype=torch.float32,
                                                        device=t.device) / half)
    args = t.float()[:, None] * freqs[None]
    return torch.cat([torch.cos(args), torch.sin(args)], dim=1)


class LatentDiscriminator(nn.Module):
    """Real-vs-generated classifier on noisy latents ``x_t`` and timestep ``t``.

    Strided conv blocks (GroupNorm, SiLU), each shifted and scaled by an MLP
    embedding of ``t``, global average pooling and a linear logit.

    Args:
        in_channels (int): latent channels (SD: 4).
        width (int): channels of the first block (doubled per block).
        num_blocks (int): conv blocks (each halves the resolution).
        time_dim (int): timestep embedding size.

    Example:
        >>> d = LatentDiscriminator()
        >>> d(torch.randn(2, 4, 96, 32), torch.tensor([10, 900])).shape
        torch.Size([2])
    """

    def __init__(self, in_channels: int = 4, width: int = 64,
                 num_blocks: int = 3, time_dim: int = 128) -> None:
        super().__init__()
        self.time_dim = time_dim
        self.time_mlp = nn.Sequential(nn.Linear(time_dim, time_dim), nn.SiLU(),
                                      nn.Linear(time_dim, time_dim))
        self.stem = nn.Conv2d(in_channels, width, 3, padding=1)
        blocks, films, ch = [], [], width
        for _ in range(num_blocks):
            out = ch * 2
            blocks.append(nn.ModuleDict(dict(
                norm=nn.GroupNorm(min(8, ch), ch),
                conv=nn.Conv2d(ch, out, 3, stride=2, padding=1))))
            films.append(nn.Linear(time_dim, 2 * ch))
            ch = out
        self.blocks = nn.ModuleList(blocks)
        self.films = nn.ModuleList(films)
        self.head = nn.Sequential(nn.GroupNorm(min(8, ch), ch), nn.SiLU(),
                                  nn.AdaptiveAvgPool2d(1), nn.Flatten(),
                                  nn.Linear(ch, 1))

    def forward(self, x: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
        """Logit of "real" for every sample, ``(B,)``."""
        if t.dim() == 0:
            t = t.expand(x.shape[0])
        emb = self.time_mlp(timestep_embedding(t.to(x.device), self.time_dim))
        h = self.stem(x)
        for block, film in zip(self.blocks, self.films):
            scale, shift = film(emb).chunk(2, dim=1)
            h = block['norm'](h) * (1 + scale[..., None, None]) + \
                shift[..., None, None]
            h = block['conv'](F.silu(h))
        return self.head(h).squeeze(1)


def sd_alphas_cumprod(num_train_timesteps: int = 1000,
                      beta_start: float = 0.00085,
                      beta_end: float = 0.012) -> torch.Tensor:
    """Stable Diffusion's ``scaled_linear`` cumulative alphas."""
    betas = torch.linspace(beta_start ** 0.5, beta_end ** 0.5,
                           num_train_timesteps, dtype=torch.float64) ** 2
    return torch.cumprod(1.0 - betas, 0).float()


def guided_noise(disc: Callable, x_t: torch.Tensor, t: Any,
                 alphas_cumprod: torch.Tensor, weight: float = 1.0,
                 t_min: int = 200) -> torch.Tensor:
    """``w * eps_d = -w * sqrt(1 - alphabar_t) * grad_x logit d(x_t, t)``.

    Zero when ``t <= t_min``. ``log(d / (1 - d))`` of a sigmoid classifier is
    its logit, so ``h`` is the gradient of the summed logits.

    Args:
        disc: ``(x, t) -> logits (B,)``.
        x_t (Tensor): noisy latents ``(B, C, h, w)``.
        t (int | Tensor): the current timestep.
        alphas_cumprod (Tensor): the scheduler's cumulative alphas.
        weight (float): ``w``.
        t_min (int): guidance only while ``t > t_min``.
    """
    t_int = int(torch.as_tensor(t).reshape(-1)[0].item())
    if t_int <= t_min or weight == 0:
        return torch.zeros_like(x_t)
    with torch.enable_grad():
        x = x_t.detach().float().requires_grad_(True)
        tt = torch.full((x.shape[0],), t_int, device=x.device)
        logit = disc(x, tt)
        (grad,) = torch.autograd.grad(logit.sum(), x)
    sigma = float((1.0 - alphas_cumprod[t_int]).clamp(min=0).sqrt())
    return (-weight * sigma * grad).to(x_t.dtype)


class GuidedUNet(nn.Module):
    """A UNet whose noise prediction gets the discriminator's correction.

    Attributes the pipeline reads (``config``, ``dtype``, ``device``...) are
    those of the wrapped UNet.

    Args:
        unet: the diffusers UNet.
        disc: the discriminator.
        alphas_cumprod (Tensor): the scheduler's cumulative alphas.
        weight (float): guidance weight ``w``.
        t_min (int): guidance only while ``t > t_min``.
        latent_channels (int): the first channels of the UNet input that are
            the noisy latents (an inpainting UNet also gets mask and masked
            image latents).
    """

    def __init__(self, unet: nn.Module, disc: nn.Module,
                 alphas_cumprod: torch.Tensor, weight: float = 1.0,
                 t_min: int = 200, latent_channels: int = 4) -> None:
        super().__init__()
        self.unet = unet
        self.disc = disc
        self.register_buffer('alphas_cumprod', alphas_cumprod.float(),
                             persistent=False)
        self.weight = float(weight)
        self.t_min = int(t_min)
        self.latent_channels = int(latent_channels)

    def __getattr__(self, name: str):
        try:
            return super().__getattr__(name)
        except AttributeError:
            return getattr(super().__getattr__('unet'), name)

    def forward(self, sample, timestep, *args, **kwargs):
        out = self.unet(sample, timestep, *args, **kwargs)
        eps = guided_noise(self.disc, sample[:, :self.latent_channels],
                           timestep, self.alphas_cumprod, self.weight,
                           self.t_min)
        if isinstance(out, tuple):
            return (out[0] + eps.to(out[0].dtype),) + tuple(out[1:])
        out.sample = out.sample + eps.to(out.sample.dtype)
        return out


@GENERATORS.register_module()
class DiscriminatorGuidedInpainter(DiffusersInpainter):
    """:class:`DiffusersInpainter` with discriminator guidance (paper Sec. 12).

    Args:
        discriminator (str | nn.Module): checkpoint written by
            ``python -m plugins.dlcr.train_discriminator`` (or a module).
        guidance_weight (float): ``w`` of Eq. 8. Default 1.0.
        t_min (int): guidance while ``t > t_min``. Default 200.
        discriminator_cfg (dict): :class:`LatentDiscriminator` arguments when
            the checkpoint does not store them.
        *args, **kwargs: see :class:`DiffusersInpainter`.

    Example:
        >>> generator = dict(type='DiscriminatorGuidedInpainter',
        ...     pretrained_model_name_or_path='runwayml/stable-diffusion-inpainting',
        ...     scheduler='ddim', discriminator='work_dirs/dlcr/disc.pth',
        ...     guidance_weight=1.0, height=768, width=256)
    """

    def __init__(self, *args, discriminator=None, guidance_weight: float = 1.0,
                 t_min: int = 200, discriminator_cfg: Optional[dict] = None,
                 **kwargs) -> None:
        super().__init__(*args, **kwargs)
        if discriminator is None:
            raise ValueError('DiscriminatorGuidedInpainter needs discriminator= '
                             '(a checkpoint of plugins.dlcr.train_discriminator)')
        self.discriminator = discriminator
        self.guidance_weight = float(guidance_weight)
        self.t_min = int(t_min)
        self.discriminator_cfg = discriminator_cfg or {}

    def _load_discriminator(self) -> nn.Module:
        disc = self.discriminator
        if isinstance(disc, nn.Module):
            return disc
        try:
            ckpt = torch.load(disc, map_location='cpu', weights_only=True)
        except FileNotFoundError:
            raise FileNotFoundError(
                f'DiscriminatorGuidedInpainter: no discriminator at {disc}; '
                'train one with python -m plugins.dlcr.train_discriminator '
                'CONFIG') from None
        cfg = dict(ckpt.get('config') or self.discriminator_cfg)
        model = LatentDiscriminator(**cfg)
        model.load_state_dict(ckpt['state_dict'])
        return model

    def load(self):
        if self._loaded:
            return self._pipe
        pipe = super().load()
        disc = self._load_discriminator().to(pipe.device).eval()
        for p in disc.parameters():
            p.requires_grad_(False)
        alphas = getattr(pipe.scheduler, 'alphas_cumprod', None)
        if alphas is None:
            raise ValueError(f'DiscriminatorGuidedInpainter: scheduler '
                             f'{type(pipe.scheduler).__name__} has no '
                             'alphas_cumprod; use ddim, pndm or dpm++')
        latent_ch = getattr(pipe.vae.config, 'latent_channels', 4)
        pipe.unet = GuidedUNet(pipe.unet, disc, torch.as_tensor(alphas),
                               self.guidance_weight, self.t_min, latent_ch)
        return pipe

    def _meta(self, req: dict) -> dict:
        meta = super()._meta(req)
        meta.update(discriminator_guidance=self.guidance_weight,
                    guidance_t_min=self.t_min)
        return meta


# ----------------------------------------------------------------- training
def noisy_latents(x0: torch.Tensor, alphas_cumprod: torch.Tensor,
                  generator: Optional[torch.Generator] = None):
    """``x_t ~ q(x_t | x_0)`` at uniform random ``t``: ``(x_t, t)``."""
    t = torch.randint(0, len(alphas_cumprod), (x0.shape[0],),
                      generator=generator)
    ab = alphas_cumprod[t].to(x0)[:, None, None, None]
    noise = torch.randn(x0.shape, generator=generator).to(x0)
    return ab.sqrt() * x0 + (1 - ab).sqrt() * noise, t.to(x0.device)


def discriminator_loss(disc: nn.Module, real: torch.Tensor, fake: torch.Tensor,
                       alphas_cumprod: torch.Tensor,
                       generator: Optional[torch.Generator] = None):
    """Eq. 5: ``-E[log d(x_t) + log(1 - d(x^_t))]`` at random timesteps.

    Returns:
        tuple: ``(loss, accuracy)``.
    """
    xr, tr = noisy_latents(real, alphas_cumprod, generator)
    xf, tf = noisy_latents(fake, alphas_cumprod, generator)
    logits = disc(torch.cat([xr, xf]), torch.cat([tr, tf]))
    target = torch.cat([torch.ones(len(xr)), torch.zeros(len(xf))]).to(logits)
    loss = F.binary_cross_entropy_with_logits(logits, target)
    acc = ((logits > 0).float() == target).float().mean()
    return loss, acc
