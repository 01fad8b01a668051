"""Supervised contrastive loss (Khosla et al., NeurIPS 2020)."""
from __future__ import annotations

import torch
import torch.nn.functional as F

from reidkit.registry import LOSSES
from .base import ReIDLoss, same_label_masks


@LOSSES.register_module()
class SupConLoss(ReIDLoss):
    """SupCon ``L^sup_out`` over the batch (the strong vehicle baseline's).

    Embeddings are L2-normalised; for anchor ``i`` with positives ``P(i)``
    (same label, not ``i``) and ``A(i)`` every other sample:
    ``l_i = -1/|P(i)| sum_{p in P(i)} log(exp(z_i.z_p / t) /
    sum_{a in A(i)} exp(z_i.z_a / t))``. The loss is the mean of ``l_i`` over
    anchors with at least one positive (the paper's eq. 2 sums; Khosla's
    reference code averages, and so do we). With ``temperature=0.07`` the
    reference code's ``t / base_t`` factor is 1.

    ``normalize=False`` uses the embeddings as given: the strong vehicle
    baseline's code feeds the un-normalised post-BN feature to SupCon
    (``lib/layers/metric_learning.py``), unlike Khosla et al.

    Args:
        temperature (float): ``t``. Defaults to 0.07.
        normalize (bool): L2-normalise the embeddings first. Defaults to
            True (Khosla et al.).
        loss_weight, label_key, loss_name: see :class:`ReIDLoss`.

    Example:
        >>> loss = SupConLoss(temperature=0.07)
        >>> loss(torch.randn(8, 16), torch.tensor([0, 0, 1, 1, 2, 2, 3, 3]))
    """

    default_name = 'loss_supcon'

    def __init__(self, temperature: float = 0.07, normalize: bool = True,
                 **kwargs) -> None:
        super().__init__(**kwargs)
        if temperature <= 0:
            raise ValueError(f'SupConLoss: temperature must be > 0, got '
                             f'{temperature}')
        self.temperature = float(temperature)
        self.normalize = bool(normalize)

    def compute(self, inputs, labels, **extra):
        z = F.normalize(inputs, dim=1) if self.normalize else inputs
        logits = z @ z.t() / self.temperature
        pos, _ = same_label_masks(labels)
        eye = torch.eye(len(labels), dtype=torch.bool, device=z.device)
        log_prob = logits - torch.logsumexp(
            logits.masked_fill(eye, float('-inf')), dim=1, keepdim=True)
        n_pos = pos.sum(1)
        valid = n_pos > 0
        if not valid.any():
            return inputs.sum() * 0.0
        per_anchor = -(log_prob * pos).sum(1)[valid] / n_pos[valid]
        return per_anchor.mean()
