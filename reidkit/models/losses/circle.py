"""Pairwise circle loss (Sun et al., CVPR 2020)."""
from __future__ import annotations

import torch
import torch.nn.functional as F

from reidkit.registry import LOSSES
from .base import ReIDLoss, same_label_masks


@LOSSES.register_module()
class CircleLoss(ReIDLoss):
    """Circle loss on pairs of embeddings in the batch (cosine similarity).

    For each anchor with positive similarities ``s_p`` and negative ones
    ``s_n`` (paper eq. 6, with ``O_p = 1 + m``, ``O_n = -m``,
    ``Delta_p = 1 - m``, ``Delta_n = m``):
    ``alpha_p = [O_p - s_p]_+``, ``alpha_n = [s_n - O_n]_+`` (no gradient),
    ``loss = log(1 + sum_n exp(gamma alpha_n (s_n - Delta_n))
    * sum_p exp(-gamma alpha_p (s_p - Delta_p)))``, averaged over anchors
    that have both a positive and a negative.

    Args:
        m (float): relaxation margin. Defaults to 0.25.
        gamma (float): scale. Defaults to 256 (the paper's re-ID setting).
        loss_weight, label_key, loss_name: see :class:`ReIDLoss`.

    Example:
        >>> loss = CircleLoss(m=0.25, gamma=64)
        >>> loss(torch.randn(8, 16), torch.tensor([0, 0, 1, 1, 2, 2, 3, 3]))
    """

    default_name = 'loss_circle'

    def __init__(self, m: float = 0.25, gamma: float = 256.0,
                 **kwargs) -> None:
        super().__init__(**kwargs)
        self.m = float(m)
        self.gamma = float(gamma)

    def compute(self, inputs, labels, **extra):
        x = F.normalize(inputs, dim=1)
        sim = x @ x.t()
        pos, neg = same_label_masks(labels)
        valid = pos.any(1) & neg.any(1)
        if not valid.any():
            return inputs.sum() * 0.0
        alpha_p = F.relu(1.0 + self.m - sim.detach())
        alpha_n = F.relu(sim.detach() + self.m)
        logit_p = -self.gamma * alpha_p * (sim - (1.0 - self.m))
        logit_n = self.gamma * alpha_n * (sim - self.m)
        lse_p = torch.logsumexp(logit_p.masked_fill(~pos, float('-inf')), 1)
        lse_n = torch.logsumexp(logit_n.masked_fill(~neg, float('-inf')), 1)
        return F.softplus(lse_p[valid] + lse_n[valid]).mean()
