"""Global pooling necks: (B, C, H, W) feature map -> (B, D) vector.

Every neck takes the backbone's last output (or a tuple whose last item is
used), accepts an already pooled (B, C) input unchanged (ViT class token),
and can end with an optional embedding layer (Linear [+ BN] [+ ReLU]).
``out_channels`` gives the output dimension for the head's ``in_channels``.
"""
from __future__ import annotations

from typing import Optional, Sequence, Union

import torch
import torch.nn.functional as F
from torch import nn

from reidkit.registry import MODELS


class _PoolNeck(nn.Module):
    """Shared input handling and the optional embedding layer.

    Args:
        in_channels (int, optional): channels of the feature map, needed only
            with ``embed_dim`` (and to report ``out_channels``).
        embed_dim (int, optional): if given, a Linear layer to this size
            follows the pooling (plus BN1d when ``embed_norm``, ReLU when
            ``embed_act``).
    """

    expansion = 1

    def __init__(self, in_channels: Optional[int] = None,
                 embed_dim: Optional[int] = None, embed_norm: bool = True,
                 embed_act: bool = False) -> None:
        super().__init__()
        self.in_channels = in_channels
        self.embed = None
        if embed_dim is not None:
            if in_channels is None:
                raise ValueError(f'{type(self).__name__}: embed_dim needs '
                                 'in_channels')
            layers = [nn.Linear(in_channels * self.expansion, embed_dim)]
            if embed_norm:
                layers.append(nn.BatchNorm1d(embed_dim))
            if embed_act:
                layers.append(nn.ReLU(inplace=True))
            self.embed = nn.Sequential(*layers)
        self.out_channels = embed_dim if embed_dim is not None else (
            None if in_channels is None else in_channels * self.expansion)

    def pool(self, x: torch.Tensor) -> torch.Tensor:
        raise NotImplementedError

    def forward(self, x: Union[torch.Tensor, Sequence[torch.Tensor]]
                ) -> torch.Tensor:
        if isinstance(x, (tuple, list)):
            x = x[-1]
        if x.dim() == 4:
            x = self.pool(x).flatten(1)
        elif x.dim() != 2:
            raise ValueError(f'{type(self).__name__}: expected a (B, C, H, W)'
                             f' map or (B, C) vector, got {tuple(x.shape)}')
        return self.embed(x) if self.embed is not None else x


@MODELS.register_module()
class GlobalAvgPool(_PoolNeck):
    """Global average pooling (+ optional embedding).

    Example:
        >>> GlobalAvgPool()(torch.randn(2, 2048, 16, 8)).shape
        torch.Size([2, 2048])
    """

    def pool(self, x):
        return F.adaptive_avg_pool2d(x, 1)


@MODELS.register_module()
class GlobalMaxPool(_PoolNeck):
    """Global max pooling (+ optional embedding).

    Example:
        >>> GlobalMaxPool()(torch.randn(2, 2048, 16, 8)).shape
        torch.Size([2, 2048])
    """

    def pool(self, x):
        return F.adaptive_max_pool2d(x, 1)


@MODELS.register_module()
class MaxAvgPool(_PoolNeck):
    """Concatenation ``[max pool, avg pool]`` (CAL): 2C outputs.

    Example:
        >>> MaxAvgPool(in_channels=2048).out_channels
        4096
    """

    expansion = 2

    def pool(self, x):
        return torch.cat([F.adaptive_max_pool2d(x, 1),
                          F.adaptive_avg_pool2d(x, 1)], dim=1)


@MODELS.register_module()
class GeMPool(_PoolNeck):
    """Generalised-mean pooling ``(mean x^p)^(1/p)`` (Radenovic et al.).

    Args:
        p (float): initial power. Defaults to 3.
        learnable (bool): learn ``p`` (True) or keep it fixed. Defaults True.
        eps (float): inputs are clamped to ``>= eps`` first. Defaults 1e-6.
        in_channels, embed_dim, embed_norm, embed_act: see the module doc.

    Example:
        >>> GeMPool(p=3.0, learnable=False)(torch.rand(2, 8, 4, 4)).shape
        torch.Size([2, 8])
    """

    def __init__(self, p: float = 3.0, learnable: bool = True,
                 eps: float = 1e-6, **kwargs) -> None:
        super().__init__(**kwargs)
        p_tensor = torch.tensor([float(p)])
        if learnable:
            self.p = nn.Parameter(p_tensor)
        else:
            self.register_buffer('p', p_tensor)
        self.eps = eps

    def pool(self, x):
        # float32: x^p of small fp16 activations would underflow under AMP
        p = self.p.float()
        pooled = F.adaptive_avg_pool2d(x.float().clamp(min=self.eps).pow(p),
                                       1)
        return pooled.pow(1.0 / p).to(x.dtype)

    def extra_repr(self) -> str:
        learnable = isinstance(self.p, nn.Parameter)
        return f'p={float(self.p.detach()):.3f}, learnable={learnable}'
