"""Identity classifiers: linear, and cosine with CosFace / ArcFace / circle
margins. Margin classifiers need the labels in training to place the margin.
"""
from __future__ import annotations

import math
from typing import Optional

import torch
import torch.nn.functional as F
from torch import nn

from reidkit.registry import HEADS


@HEADS.register_module()
class LinearClassifier(nn.Module):
    """``W f (+ b)``, weights N(0, 0.001) as in bag-of-tricks.

    Args:
        in_channels (int): feature size.
        num_classes (int): number of identities.
        bias (bool): add a bias. Defaults to False.

    Example:
        >>> LinearClassifier(16, 5)(torch.randn(2, 16)).shape
        torch.Size([2, 5])
    """

    def __init__(self, in_channels: int, num_classes: int,
                 bias: bool = False) -> None:
        super().__init__()
        self.fc = nn.Linear(in_channels, num_classes, bias=bias)
        nn.init.normal_(self.fc.weight, std=0.001)
        if bias:
            nn.init.zeros_(self.fc.bias)

    def forward(self, x: torch.Tensor,
                labels: Optional[torch.Tensor] = None) -> torch.Tensor:
        return self.fc(x)


@HEADS.register_module()
class CosineClassifier(nn.Module):
    """``s * cos(theta)`` logits with an optional margin on the target class.

    - ``'none'``: ``s cos`` (CAL's clothes classifier: ``s = 16``);
    - ``'cosface'`` (Wang et al. 2018): target ``s (cos - m)``;
    - ``'arcface'`` (Deng et al. 2019): target ``s cos(theta + m)``, with the
      usual ``cos - m sin(m)`` fallback past ``theta > pi - m``;
    - ``'circle'`` (Sun et al. 2020, class-level): target
      ``s [1 + m - cos]_+ (cos - (1 - m))``, others ``s [cos + m]_+ (cos - m)``
      (the ``[.]_+`` weights carry no gradient).

    Margins are applied only when labels are given (training).

    Args:
        in_channels (int): feature size.
        num_classes (int): number of classes.
        scale (float): ``s``. Defaults to 16.
        margin (float): ``m``. Defaults to 0.
        margin_type (str): one of the above. Defaults to ``'none'``.

    Example:
        >>> clf = CosineClassifier(16, 5, scale=30, margin=0.35,
        ...                        margin_type='cosface')
        >>> clf(torch.randn(2, 16), torch.tensor([0, 3])).shape
        torch.Size([2, 5])
    """

    MARGIN_TYPES = ('none', 'cosface', 'arcface', 'circle')

    def __init__(self, in_channels: int, num_classes: int,
                 scale: float = 16.0, margin: float = 0.0,
                 margin_type: str = 'none') -> None:
        super().__init__()
        if margin_type not in self.MARGIN_TYPES:
            raise ValueError(f'CosineClassifier: margin_type must be one of '
                             f'{self.MARGIN_TYPES}, got {margin_type!r}')
        self.weight = nn.Parameter(torch.empty(num_classes, in_channels))
        nn.init.normal_(self.weight, std=0.01)
        self.scale = float(scale)
        self.margin = float(margin)
        self.margin_type = margin_type

    def cosine(self, x: torch.Tensor, detach_weight: bool = False
               ) -> torch.Tensor:
        """Unscaled cosine similarities (B, num_classes)."""
        w = self.weight.detach() if detach_weight else self.weight
        return F.linear(F.normalize(x.float(), dim=1),
                        F.normalize(w.float(), dim=1))

    def forward(self, x: torch.Tensor,
                labels: Optional[torch.Tensor] = None) -> torch.Tensor:
        cos = self.cosine(x)
        if labels is None or self.margin_type == 'none':
            return self.scale * cos
        onehot = F.one_hot(labels.long(), cos.shape[1]).bool()
        m = self.margin
        if self.margin_type == 'cosface':
            out = torch.where(onehot, cos - m, cos)
        elif self.margin_type == 'arcface':
            sin = (1.0 - cos.pow(2)).clamp(min=1e-7).sqrt()
            cos_m = cos * math.cos(m) - sin * math.sin(m)
            cos_m = torch.where(cos > math.cos(math.pi - m), cos_m,
                                cos - m * math.sin(m))
            out = torch.where(onehot, cos_m, cos)
        else:  # circle
            alpha_p = F.relu(1.0 + m - cos.detach())
            alpha_n = F.relu(cos.detach() + m)
            out = torch.where(onehot, alpha_p * (cos - (1.0 - m)),
                              alpha_n * (cos - m))
        return self.scale * out
