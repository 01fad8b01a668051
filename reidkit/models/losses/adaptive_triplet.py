"""CAJ's adaptive weighted triplet loss (Ye et al., "Channel Augmentation for
Visible-Infrared Re-Identification", TPAMI 2023; written from the copy of
the authors' ``TripletLoss_ADP`` in BorgDiven/DiVE ``Re-ID_model/CAJ/loss.py``
and its defaults in ``main.sh``: ``alpha=1, gamma=1, square=1``)."""
from __future__ import annotations

import torch
import torch.nn.functional as F

from reidkit.registry import LOSSES
from .base import ReIDLoss, pairwise_distance


@LOSSES.register_module()
class AdaptiveWeightedTripletLoss(ReIDLoss):
    """Weighted triplet with hardness scale ``alpha`` and squared difference.

    Anchor ``i``: positives weighted ``softmax_P(alpha d_ij)``, negatives
    ``softmax_N(-alpha d_ij)``; ``fp_i = sum w d`` over positives,
    ``cn_i = sum w d`` over negatives (Euclidean distances). Then

    - ``square=False``: ``log(1 + exp(-gamma (cn - fp)))`` (AGW's WRT when
      ``alpha = gamma = 1``);
    - ``square=True`` (CAJ's default): ``s = min(gamma (fp - cn)^2, 88)``
      and ``log(1 + exp(s))`` when ``fp > cn`` (a violated triplet), else
      ``log(1 + exp(-s))``,

    averaged over anchors with a positive and a negative. With
    ``self_positive=True`` (the authors) the anchor counts among its own
    positives at distance ~0 (their ``is_pos`` includes the diagonal).

    Args:
        alpha (float): hardness of the weighting. Defaults to 1.
        gamma (float): scale of the difference. Defaults to 1.
        square (bool): squared difference (CAJ). Defaults to True.
        self_positive (bool): the anchor is one of its positives. Defaults
            to True (the authors' code).
        loss_weight, label_key, loss_name: see :class:`ReIDLoss`.

    Example:
        >>> loss = AdaptiveWeightedTripletLoss()
        >>> loss(torch.randn(6, 8), torch.tensor([0, 0, 1, 1, 2, 2]))
    """

    default_name = 'loss_adp'

    def __init__(self, alpha: float = 1.0, gamma: float = 1.0,
                 square: bool = True, self_positive: bool = True,
                 **kwargs) -> None:
        super().__init__(**kwargs)
        self.alpha, self.gamma = float(alpha), float(gamma)
        self.square = bool(square)
        self.self_positive = bool(self_positive)

    def compute(self, inputs, labels, **extra):
        dist = pairwise_distance(inputs, 'euclidean')
        same = labels.unsqueeze(0) == labels.unsqueeze(1)
        eye = torch.eye(len(labels), dtype=torch.bool, device=labels.device)
        neg = ~same
        pos = same if self.self_positive else same & ~eye
        valid = (same & ~eye).any(1) & neg.any(1)
        if not valid.any():
            return inputs.sum() * 0.0
        w_ap = torch.softmax(
            (self.alpha * dist).masked_fill(~pos, float('-inf')), dim=1)
        w_an = torch.softmax(
            (-self.alpha * dist).masked_fill(~neg, float('-inf')), dim=1)
        fp = (torch.nan_to_num(w_ap) * pos * dist).sum(1)[valid]
        cn = (torch.nan_to_num(w_an) * neg * dist).sum(1)[valid]
        if not self.square:
            return F.softplus(-self.gamma * (cn - fp)).mean()
        s = (self.gamma * (fp - cn).pow(2)).clamp(max=88)
        sign = torch.where(fp > cn, 1.0, -1.0)
        return F.softplus(sign * s).mean()
