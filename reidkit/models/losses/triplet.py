"""Triplet losses: batch-hard / batch-all (Hermans et al. 2017) and AGW's
weighted regularisation triplet (Ye et al. 2021)."""
from __future__ import annotations

from typing import Optional

import torch
import torch.nn.functional as F

from reidkit.registry import LOSSES
from .base import ReIDLoss, pairwise_distance, same_label_masks


@LOSSES.register_module()
class TripletLoss(ReIDLoss):
    """Triplet loss on embeddings.

    ``hard_mining=True`` (batch-hard): for each anchor the farthest positive
    and the closest negative, ``mean_a [d(a,p*) - d(a,n*) + margin]_+``.
    ``hard_mining=False`` (batch-all): the mean of ``[d_ap - d_an + margin]_+``
    over every valid (a, p, n) triplet, zero terms included. ``margin=None``
    uses the soft margin ``log(1 + exp(d_ap - d_an))``. Anchors without a
    positive or a negative in the batch are skipped.

    Args:
        margin (float | None): hinge margin, or None for the soft margin.
            Defaults to 0.3.
        hard_mining (bool): batch-hard (True) or batch-all. Defaults to True.
        metric (str): ``'euclidean'`` or ``'cosine'`` (``1 - cos``).
        loss_weight, label_key, loss_name: see :class:`ReIDLoss`.

    Example:
        >>> loss = TripletLoss(margin=0.3)
        >>> loss(torch.randn(8, 16), torch.tensor([0, 0, 1, 1, 2, 2, 3, 3]))
    """

    default_name = 'loss_triplet'

    def __init__(self, margin: Optional[float] = 0.3, hard_mining: bool = True,
                 metric: str = 'euclidean', **kwargs) -> None:
        super().__init__(**kwargs)
        if metric not in ('euclidean', 'cosine'):
            raise ValueError("TripletLoss: metric must be 'euclidean' or "
                             f"'cosine', got {metric!r}")
        self.margin = margin
        self.hard_mining = hard_mining
        self.metric = metric

    def _hinge(self, diff):
        if self.margin is None:
            return F.softplus(diff)
        return F.relu(diff + self.margin)

    def compute(self, inputs, labels, **extra):
        dist = pairwise_distance(inputs, self.metric)
        pos, neg = same_label_masks(labels)
        valid = pos.any(1) & neg.any(1)
        if not valid.any():
            return inputs.sum() * 0.0
        if self.hard_mining:
            d_ap = dist.masked_fill(~pos, float('-inf')).max(1).values
            d_an = dist.masked_fill(~neg, float('inf')).min(1).values
            return self._hinge(d_ap[valid] - d_an[valid]).mean()
        # batch-all: (a, p, n) with p a positive and n a negative of a
        diff = dist.unsqueeze(2) - dist.unsqueeze(1)
        mask = pos.unsqueeze(2) & neg.unsqueeze(1)
        return self._hinge(diff[mask]).mean()


@LOSSES.register_module()
class WeightedRegularizationTripletLoss(ReIDLoss):
    """AGW's weighted regularisation triplet (WRT), parameter-free.

    For anchor ``i`` with positives ``P`` and negatives ``N`` (Euclidean
    distances): ``w_ij = exp(d_ij) / sum_{k in P} exp(d_ik)`` for positives,
    ``w_ij = exp(-d_ij) / sum_{k in N} exp(-d_ik)`` for negatives, and
    ``loss_i = log(1 + exp(sum_P w d - sum_N w d))``, averaged over anchors
    (Ye et al., "Deep Learning for Person Re-identification: A Survey and
    Outlook", TPAMI 2021, eq. 9).

    Args:
        loss_weight, label_key, loss_name: see :class:`ReIDLoss`.

    Example:
        >>> loss = WeightedRegularizationTripletLoss()
        >>> loss(torch.randn(8, 16), torch.tensor([0, 0, 1, 1, 2, 2, 3, 3]))
    """

    default_name = 'loss_wrt'

    def compute(self, inputs, labels, **extra):
        dist = pairwise_distance(inputs, 'euclidean')
        pos, neg = same_label_masks(labels)
        valid = pos.any(1) & neg.any(1)
        if not valid.any():
            return inputs.sum() * 0.0
        # masked softmax: weights sum to 1 over each anchor's pos / neg set
        w_ap = torch.softmax(dist.masked_fill(~pos, float('-inf')), dim=1)
        w_an = torch.softmax((-dist).masked_fill(~neg, float('-inf')), dim=1)
        w_ap = torch.nan_to_num(w_ap) * pos
        w_an = torch.nan_to_num(w_an) * neg
        far_pos = (w_ap * dist).sum(1)
        close_neg = (w_an * dist).sum(1)
        return F.softplus(far_pos - close_neg)[valid].mean()
