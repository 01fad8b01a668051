"""DEEN backbone (Zhang and Wang, "Diverse Embedding Expansion Network and
Low-Light Cross-Modality Benchmark for Visible-Infrared Person
Re-identification", CVPR 2023), written from the LLCM authors' code
(``ZYK100/LLCM``, ``DEEN/model.py``):

- two-stream ResNet-50 (modality-specific stems, shared ``layer1``-``layer4``,
  last stride 1), as :class:`TwoStreamResNet`;
- a multi-scale feature aggregation (MFA) block after each of ``layer1``,
  ``layer2`` and ``layer3``: a channel non-local step (:class:`CNLBlock`)
  then a spatial non-local step (:class:`PNLBlock`), both attending from the
  stage's output to the stage's input;
- the diverse embedding expansion module (:class:`DEEModule`) after the
  third MFA block: two branches of three dilated 3x3 convolutions make two
  new embeddings of every image, so ``layer4`` sees ``3 B`` images
  ``[original; expansion 1; expansion 2]`` (at test time too).

The backbone returns ``(3B, 2048, h, w)``; :class:`DEENHead` reads the three
thirds.
"""
from __future__ import annotations

from typing import Optional

import torch
import torch.nn.functional as F
from torch import nn

from reidkit.registry import MODELS
from .two_stream import TwoStreamResNet


def _zero_bn(channels: int) -> nn.BatchNorm2d:
    bn = nn.BatchNorm2d(channels)
    nn.init.zeros_(bn.weight)
    nn.init.zeros_(bn.bias)
    return bn


class CNLBlock(nn.Module):
    """Channel non-local step of DEEN's MFA block.

    ``x_h`` (stage output, ``C_h`` channels) attends over the channels of
    ``x_l`` (stage input, ``C_l`` channels, same or twice the resolution):
    ``A = theta(x_h) phi(x_l)^T / C_l`` is a ``C_l x C_l`` affinity,
    ``y = A g(x_l)`` and ``z = x_h + BN(W y)``; ``phi`` and ``W`` have stride
    2 when ``x_l`` is twice the resolution (``downsample=True``). ``W``'s BN
    starts at zero, so a new block is the identity.

    Args:
        high_dim (int): channels of ``x_h``.
        low_dim (int): channels of ``x_l``.
        downsample (bool): ``x_l`` has twice the resolution of ``x_h``.

    Example:
        >>> blk = CNLBlock(32, 16, downsample=True)
        >>> blk(torch.randn(2, 32, 4, 2), torch.randn(2, 16, 8, 4)).shape
        torch.Size([2, 32, 4, 2])
    """

    def __init__(self, high_dim: int, low_dim: int,
                 downsample: bool = False) -> None:
        super().__init__()
        stride = 2 if downsample else 1
        self.low_dim = low_dim
        self.g = nn.Conv2d(low_dim, low_dim, 1)
        self.theta = nn.Conv2d(high_dim, low_dim, 1)
        self.phi = nn.Conv2d(low_dim, low_dim, 1, stride=stride)
        self.W = nn.Sequential(nn.Conv2d(low_dim, high_dim, 1, stride=stride),
                               _zero_bn(high_dim))

    def forward(self, x_h, x_l):
        b, _, h_l, w_l = x_l.shape
        g = self.g(x_l).flatten(2)                       # B, C_l, N_l
        theta = self.theta(x_h).flatten(2)               # B, C_l, N_h
        phi = self.phi(x_l).flatten(2)                   # B, C_l, N_h
        affinity = theta @ phi.transpose(1, 2) / self.low_dim
        y = (affinity @ g).reshape(b, self.low_dim, h_l, w_l)
        return self.W(y) + x_h


class PNLBlock(nn.Module):
    """Spatial non-local step of DEEN's MFA block (the authors' reshapes).

    ``theta(x_h)``, ``phi(x_l)``, ``g(x_l)`` have ``C_l / r`` channels. As in
    the authors' code each is *reshaped* (memory order, no transpose) to
    ``C_l`` rows of ``N / r`` columns before the product, so the affinity is
    ``(N_h / r) x (N_l / r)`` over pairs of half-maps rather than over
    pixels: ``A = theta'^T phi' / (N_l / r)``, ``y = (A g'^T)^T`` reshaped
    back to ``(C_l / r, H_h, W_h)``, ``z = x_h + BN(W y)``. ``N_h`` and
    ``N_l`` must be multiples of ``r``.

    Args:
        high_dim (int): channels of ``x_h``.
        low_dim (int): channels of ``x_l``.
        reduction (int): ``r``. Defaults to 2.

    Example:
        >>> blk = PNLBlock(32, 16)
        >>> blk(torch.randn(2, 32, 4, 2), torch.randn(2, 16, 8, 4)).shape
        torch.Size([2, 32, 4, 2])
    """

    def __init__(self, high_dim: int, low_dim: int, reduction: int = 2
                 ) -> None:
        super().__init__()
        inter = low_dim // reduction
        self.low_dim, self.inter = low_dim, inter
        self.g = nn.Conv2d(low_dim, inter, 1)
        self.theta = nn.Conv2d(high_dim, inter, 1)
        self.phi = nn.Conv2d(low_dim, inter, 1)
        self.W = nn.Sequential(nn.Conv2d(inter, high_dim, 1),
                               _zero_bn(high_dim))

    def forward(self, x_h, x_l):
        b, _, h_h, w_h = x_h.shape
        c = self.low_dim
        g = self.g(x_l).reshape(b, c, -1)                # B, C_l, N_l/r
        theta = self.theta(x_h).reshape(b, c, -1)        # B, C_l, N_h/r
        phi = self.phi(x_l).reshape(b, c, -1)            # B, C_l, N_l/r
        affinity = theta.transpose(1, 2) @ phi / phi.shape[-1]
        y = (affinity @ g.transpose(1, 2)).transpose(1, 2)   # B, C_l, N_h/r
        y = y.reshape(b, self.inter, h_h, w_h)
        return self.W(y) + x_h


class MFABlock(nn.Module):
    """DEEN's multi-scale feature aggregation: :class:`CNLBlock` then
    :class:`PNLBlock`, both reading the stage input ``x_l``.

    Args:
        high_dim (int): stage output channels.
        low_dim (int): stage input channels.
        downsample (bool): the stage halves the resolution.

    Example:
        >>> MFABlock(32, 16, True)(torch.randn(1, 32, 4, 2),
        ...                        torch.randn(1, 16, 8, 4)).shape
        torch.Size([1, 32, 4, 2])
    """

    def __init__(self, high_dim: int, low_dim: int, downsample: bool) -> None:
        super().__init__()
        self.cnl = CNLBlock(high_dim, low_dim, downsample)
        self.pnl = PNLBlock(high_dim, low_dim)

    def forward(self, x_h, x_l):
        return self.pnl(self.cnl(x_h, x_l), x_l)


class DEEModule(nn.Module):
    """Diverse embedding expansion: ``x -> [x; e1(x); e2(x)]`` on the batch.

    Branch ``k``: ``e_k(x) = FC_k(relu(mean_{d=1,2,3} conv3x3_dil=d(x)))``,
    three bias-free dilated 3x3 convolutions to ``C/4`` channels and a 1x1
    convolution (with bias) back to ``C``; the three embeddings are stacked
    on the batch axis and pass a dropout (p=0.01, training only).

    Args:
        channels (int): ``C``.
        dropout (float): Defaults to 0.01 (the authors').

    Example:
        >>> DEEModule(8)(torch.randn(2, 8, 4, 2)).shape
        torch.Size([6, 8, 4, 2])
    """

    def __init__(self, channels: int, dropout: float = 0.01) -> None:
        super().__init__()
        quarter = channels // 4
        self.branches = nn.ModuleList()
        for _ in range(2):
            dilated = nn.ModuleList(
                nn.Conv2d(channels, quarter, 3, padding=d, dilation=d,
                          bias=False) for d in (1, 2, 3))
            fc = nn.Conv2d(quarter, channels, 1)
            for conv in list(dilated) + [fc]:
                nn.init.kaiming_normal_(conv.weight, a=0, mode='fan_in')
            self.branches.append(nn.ModuleDict(dict(dilated=dilated, fc=fc)))
        self.dropout = nn.Dropout(dropout)

    def expand(self, x, k: int):
        """The ``k``-th expansion (0 or 1) of ``x``."""
        branch = self.branches[k]
        mixed = sum(conv(x) for conv in branch['dilated']) / 3
        return branch['fc'](F.relu(mixed))

    def forward(self, x):
        out = torch.cat([x, self.expand(x, 0), self.expand(x, 1)], 0)
        return self.dropout(out)


@MODELS.register_module()
class DEENResNet(TwoStreamResNet):
    """DEEN's backbone: two-stream ResNet + MFA blocks + embedding expansion.

    Samples are routed to the visible / infrared stem by their ``modality``
    label (``label_keys = ('modality',)``). Output: a one-tuple with the
    ``layer4`` map of ``3 B`` images, ``[original; expansion 1; expansion
    2]`` in the input's order (training and test).

    Args:
        depth (int): ResNet depth (50, 101, 152). Defaults to 50.
        last_stride (int): Defaults to 1.
        dropout (float): dropout after the expansion. Defaults to 0.01.
        pretrained (str, optional): a torchvision ResNet checkpoint; its stem
            is copied into both streams (see :class:`TwoStreamResNet`).

    Example:
        >>> net = DEENResNet().eval()
        >>> x, m = torch.randn(2, 3, 64, 32), torch.tensor([0, 1])
        >>> net(x, modality=m)[-1].shape
        torch.Size([6, 2048, 4, 2])
    """

    def __init__(self, depth: int = 50, last_stride: int = 1,
                 dropout: float = 0.01, pretrained: Optional[str] = None
                 ) -> None:
        super().__init__(depth=depth, last_stride=last_stride,
                         non_local=(0, 0, 0, 0), out_indices=(3,),
                         pretrained=pretrained)
        # stage i reads (64 * 4**0 = 64 | 256 * 2**(i-1)) channels and
        # writes 256 * 2**i; stages 2 and 3 halve the resolution
        ins, outs = (64, 256, 512), (256, 512, 1024)
        self.mfa = nn.ModuleList(
            MFABlock(o, i, downsample=k > 0)
            for k, (i, o) in enumerate(zip(ins, outs)))
        self.dee = DEEModule(1024, dropout)

    def stems(self, x, modality: Optional[torch.Tensor] = None):
        """Visible / infrared stem by ``modality`` (0 / 1; None: visible)."""
        if modality is None:
            return self.visible_stem(x)
        ir = modality.to(x.device) == 1
        if bool(ir.all()):
            return self.infrared_stem(x)
        if not bool(ir.any()):
            return self.visible_stem(x)
        vis_out = self.visible_stem(x[~ir])
        out = vis_out.new_empty((x.shape[0],) + vis_out.shape[1:])
        out[~ir] = vis_out
        out[ir] = self.infrared_stem(x[ir])
        return out

    def forward(self, x, modality: Optional[torch.Tensor] = None):
        x_in = self.stems(x, modality)
        for k in range(3):
            x_out = getattr(self.base, f'layer{k + 1}')(x_in)
            x_in = self.mfa[k](x_out, x_in)
        return (self.base.layer4(self.dee(x_in)),)
