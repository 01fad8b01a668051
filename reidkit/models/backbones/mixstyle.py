"""MixStyle (Zhou et al., "Domain Generalization with MixStyle", ICLR 2021)."""
from __future__ import annotations

import copy
from typing import Optional, Sequence

import torch
from torch import nn

from reidkit.registry import MODELS


@MODELS.register_module()
class MixStyle(nn.Module):
    """Mix instance-level feature statistics of pairs of samples.

    With probability ``p`` per batch (training only), each sample ``x`` is
    paired with a partner ``x'`` and, with ``lam ~ Beta(alpha, alpha)`` per
    sample, ``mu_mix = lam mu(x) + (1 - lam) mu(x')`` and likewise ``sigma``;
    the output is ``sigma_mix (x - mu(x)) / sigma(x) + mu_mix``. Statistics
    are per channel over H, W, detached, with ``sigma = sqrt(var + eps)``
    (as Zhou's reference code).

    Partner choice (``mix``):

    - ``'random'``: a random permutation of the batch;
    - ``'crossdomain'``: a random sample of another domain label (needs
      ``domain``); without labels, the reference code's rule for batches
      whose two halves come from two domains (reverse, then shuffle each
      half);
    - ``'halves'``: always the reference code's two-halves rule (its
      ``MixStyle2``, used by the strong vehicle baseline's authors): the
      batch is taken as two equal halves from two domains; the partner of a
      sample is drawn from the other half (reverse the batch, then shuffle
      each half). Domain labels, if any, are ignored;
    - ``'domain_prior'``: only samples outside ``target_domain`` (e.g.
      synthetic, ``domain`` 1) are restyled, each with the statistics of a
      random ``target_domain`` sample (real, 0); target samples are kept.
      This is reidkit's reading of a real-domain prior for synthetic data.

    Args:
        p (float): probability of mixing a batch. Defaults to 0.5.
        alpha (float): Beta parameter. Defaults to 0.1.
        eps (float): variance epsilon. Defaults to 1e-6.
        mix (str): see above. Defaults to ``'random'``.
        target_domain (int): for ``'domain_prior'``. Defaults to 0 (real).

    Example:
        >>> ms = MixStyle(p=1.0, alpha=0.1).train()
        >>> ms(torch.randn(4, 8, 6, 6)).shape
        torch.Size([4, 8, 6, 6])
    """

    MODES = ('random', 'crossdomain', 'halves', 'domain_prior')

    def __init__(self, p: float = 0.5, alpha: float = 0.1, eps: float = 1e-6,
                 mix: str = 'random', target_domain: int = 0) -> None:
        super().__init__()
        if mix not in self.MODES:
            raise ValueError(f'MixStyle: mix must be one of {self.MODES}, '
                             f'got {mix!r}')
        self.p, self.alpha, self.eps = p, alpha, eps
        self.mix = mix
        self.target_domain = target_domain
        # sampled on the CPU (also when the model is built on another device)
        a = torch.tensor(float(alpha), device='cpu')
        self.beta = torch.distributions.Beta(a, a)

    def extra_repr(self):
        return f'p={self.p}, alpha={self.alpha}, mix={self.mix!r}'

    def _partner(self, b: int, domain: Optional[torch.Tensor], device):
        """Partner index per sample, and a mask of samples to restyle."""
        keep_all = torch.ones(b, dtype=torch.bool, device=device)
        if self.mix == 'random':
            return torch.randperm(b, device=device), keep_all
        if domain is None or self.mix == 'halves':
            if self.mix == 'domain_prior':
                raise ValueError("MixStyle(mix='domain_prior') needs the "
                                 "batch's 'domain' labels")
            perm = torch.arange(b - 1, -1, -1, device=device)
            perm_b, perm_a = perm.chunk(2)
            perm_b = perm_b[torch.randperm(perm_b.numel(), device=device)]
            perm_a = perm_a[torch.randperm(perm_a.numel(), device=device)]
            return torch.cat([perm_b, perm_a]), keep_all
        domain = domain.to(device)
        idx = torch.arange(b, device=device)
        partner = idx.clone()
        if self.mix == 'crossdomain':
            mask = keep_all.clone()
            for i in range(b):
                others = idx[domain != domain[i]]
                if others.numel() == 0:  # single-domain batch: random
                    others = idx
                partner[i] = others[torch.randint(others.numel(), (1,))]
            return partner, mask
        target = idx[domain == self.target_domain]
        mask = domain != self.target_domain
        if target.numel() == 0:
            return partner, torch.zeros_like(mask)
        partner[mask] = target[torch.randint(target.numel(),
                                             (int(mask.sum()),),
                                             device=device)]
        return partner, mask

    def forward(self, x: torch.Tensor,
                domain: Optional[torch.Tensor] = None) -> torch.Tensor:
        if not self.training or torch.rand(1).item() > self.p:
            return x
        b = x.shape[0]
        mu = x.mean(dim=(2, 3), keepdim=True)
        sig = (x.var(dim=(2, 3), keepdim=True) + self.eps).sqrt()
        mu, sig = mu.detach(), sig.detach()
        x_normed = (x - mu) / sig
        lam = self.beta.sample((b, 1, 1, 1)).to(x.device, x.dtype)
        partner, mask = self._partner(b, domain, x.device)
        mu_mix = lam * mu + (1 - lam) * mu[partner]
        sig_mix = lam * sig + (1 - lam) * sig[partner]
        mixed = x_normed * sig_mix + mu_mix
        if not bool(mask.all()):
            mixed = torch.where(mask.view(b, 1, 1, 1), mixed, x)
        return mixed


@MODELS.register_module()
class MixStyleBackbone(nn.Module):
    """Any backbone with :class:`MixStyle` after named stages.

    MixStyle is applied to the outputs of the submodules named in
    ``after`` (forward hooks, so it works for :class:`ResNetIBN`, timm and
    mmpretrain backbones alike: ``'layer1'``, ``'model.layer2'`` ...). The
    batch's ``domain`` labels reach it through ``forward(x, domain=...)``,
    which ``ReIDModel`` calls because ``label_keys = ('domain',)``. It is
    active only in training.

    Args:
        backbone (dict): the wrapped backbone config.
        after (sequence[str]): submodule names. Defaults to
            ``('layer1', 'layer2')`` (strong vehicle baseline).
        p, alpha, mix, target_domain: see :class:`MixStyle`.

    Example:
        >>> net = MixStyleBackbone(dict(type='ResNetIBN', depth=50),
        ...                        after=('layer1', 'layer2'), p=0.5)
        >>> net(torch.randn(2, 3, 64, 32))[-1].shape
        torch.Size([2, 2048, 4, 2])
    """

    label_keys = ('domain',)

    def __init__(self, backbone: dict, after: Sequence[str] = ('layer1',
                                                                'layer2'),
                 p: float = 0.5, alpha: float = 0.1, mix: str = 'random',
                 target_domain: int = 0) -> None:
        super().__init__()
        self.backbone = MODELS.build(copy.deepcopy(backbone))
        self.mixstyle = MixStyle(p=p, alpha=alpha, mix=mix,
                                 target_domain=target_domain)
        modules = dict(self.backbone.named_modules())
        self.after = tuple(after)
        for name in self.after:
            if name not in modules:
                close = [n for n in modules if n.endswith(name)][:5]
                raise KeyError(f'MixStyleBackbone: no submodule {name!r} in '
                               f'{type(self.backbone).__name__}'
                               + (f'; did you mean {close}?' if close else ''))
            modules[name].register_forward_hook(self._hook)
        self._domain = None
        for attr in ('out_channels', 'num_features'):
            if hasattr(self.backbone, attr):
                setattr(self, attr, getattr(self.backbone, attr))

    def _hook(self, module, inputs, output):
        return self.mixstyle(output, self._domain)

    def forward(self, x, domain: Optional[torch.Tensor] = None, **labels):
        self._domain = domain
        try:
            inner = getattr(self.backbone, 'label_keys', ())
            return self.backbone(x, **{k: v for k, v in labels.items()
                                       if k in inner})
        finally:
            self._domain = None
