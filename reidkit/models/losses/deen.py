"""DEEN's losses (Zhang and Wang, CVPR 2023; the LLCM authors' code,
``ZYK100/LLCM`` ``DEEN/loss.py`` and ``DEEN/model.py``): the center-guided
pair mining loss (CPM) and the orthogonal loss between the two expanded
embeddings. Both read features of ``3 B`` images ordered ``[original;
expansion 1; expansion 2]`` as :class:`DEENResNet` makes them."""
from __future__ import annotations

import torch
import torch.nn.functional as F

from reidkit.registry import LOSSES
from .base import ReIDLoss, pairwise_distance


def _centers(feats, pids, modality, keep):
    """Mean feature per identity in ``keep`` (sorted), per modality."""
    out = []
    for m in (0, 1):
        rows = [feats[(pids == p) & (modality == m)].mean(0) for p in keep]
        out.append(torch.stack(rows))
    return out


def _min_off_diagonal(d):
    eye = torch.eye(d.shape[0], dtype=torch.bool, device=d.device)
    return d.masked_fill(eye, float('inf')).min(1).values


@LOSSES.register_module()
class CenterPairMiningLoss(ReIDLoss):
    """DEEN's center-guided pair mining loss (CPM).

    For each expansion ``e`` (1 and 2) the identity centers of four sets
    are taken: ``c1`` original visible, ``c2`` original
    infrared, ``c3`` expanded visible, ``c4`` expanded infrared, over the
    identities present in both modalities. With Euclidean distances
    ``d_ab(i) = ||c_a(i) - c_b(i)||`` and ``n_a(i) = min_{j != i}
    ||c_a(i) - c_a(j)||``, margin ``m`` and ``[.]_+`` the hinge (means over
    identities)::

        L_3 = [d_23 - sg(d_13) + m]_+ + ([d_23 - n_3 + m]_+ + [d_23 - n_1 + m]_+) / 2
        L_4 = [d_14 - sg(d_24) + m]_+ + ([d_14 - n_4 + m]_+ + [d_14 - n_2 + m]_+) / 2
        CPM_e = (L_3 + L_4) / 2

    (``sg``: stop-gradient): an expanded visible embedding moves towards the
    infrared center, further than from its own visible center, and stays
    closer to it than any other identity's center; likewise for the
    infrared. The loss is ``CPM_1 + CPM_2`` (the authors' training script
    multiplies the sum by ``lambda_1 = 0.8``: ``loss_weight``).

    The authors chunk the batch by position (it must be
    ``[visible; infrared]`` with aligned identities); here identities are
    grouped by their ``pid`` and ``modality`` labels, which is the same on
    their batches and works for any order.

    Args:
        margin (float): Defaults to 0.2.
        num_branches (int): thirds of the batch, original first. 3.
        loss_weight, label_key, loss_name: see :class:`ReIDLoss`
            (default weight 0.8, the authors' lambda_1).

    ``forward(feats, pids, modality=...)``: ``feats`` (3B, D), ``pids`` and
    ``modality`` (3B,) (the labels repeated per branch).

    Example:
        >>> loss = CenterPairMiningLoss()
        >>> f, p = torch.randn(12, 8), torch.tensor([0, 0, 1, 1] * 3)
        >>> loss(f, p, modality=torch.tensor([0, 1] * 6))
    """

    default_name = 'loss_cpm'

    def __init__(self, margin: float = 0.2, num_branches: int = 3,
                 loss_weight: float = 0.8, **kwargs) -> None:
        super().__init__(loss_weight=loss_weight, **kwargs)
        self.margin = float(margin)
        self.num_branches = int(num_branches)

    def _pair(self, orig, expd, pids, modality):
        both = set(pids[modality == 0].tolist()) & \
            set(pids[modality == 1].tolist())
        keep = sorted(both)
        if len(keep) < 2:
            return orig.sum() * 0.0
        c1, c2 = _centers(orig, pids, modality, keep)
        c3, c4 = _centers(expd, pids, modality, keep)
        def dist(a, b):
            return (a - b).pow(2).sum(1).clamp(min=1e-12).sqrt()

        def hinge(ap, an):
            return F.relu(ap - an + self.margin).mean()

        n = {k: _min_off_diagonal(pairwise_distance(c)) for k, c in
             ((1, c1), (2, c2), (3, c3), (4, c4))}
        d23, d13 = dist(c2, c3), dist(c1, c3).detach()
        d14, d24 = dist(c1, c4), dist(c2, c4).detach()
        loss3 = hinge(d23, d13) + (hinge(d23, n[3]) + hinge(d23, n[1])) / 2
        loss4 = hinge(d14, d24) + (hinge(d14, n[4]) + hinge(d14, n[2])) / 2
        return (loss3 + loss4) / 2

    def compute(self, inputs, labels, modality=None, **extra):
        if modality is None:
            raise KeyError('CenterPairMiningLoss needs modality= (the '
                           'modality label of every row)')
        k = self.num_branches
        if inputs.shape[0] % k:
            raise ValueError(f'CenterPairMiningLoss: {inputs.shape[0]} rows '
                             f'are not {k} branches of one batch')
        feats = inputs.chunk(k)
        b = feats[0].shape[0]
        pids, mod = labels[:b], modality[:b].to(labels.device)
        return sum(self._pair(feats[0], feats[e], pids, mod)
                   for e in range(1, k))


@LOSSES.register_module()
class ExpansionOrthogonalLoss(ReIDLoss):
    """DEEN's orthogonal loss between an image's two expanded embeddings.

    ``sum_b <f1_b, f2_b> / (3 B)`` for pooled features of ``3 B`` images
    ``[original; expansion 1; expansion 2]`` (the authors' ``loss_ort``:
    the strict upper triangle of the per-image Gram matrix of the two
    expansions, summed and divided by the number of rows; their script
    weights it by ``lambda_2 = 0.01``: ``loss_weight``).

    Args:
        loss_weight, label_key, loss_name: see :class:`ReIDLoss` (default
            weight 0.01).

    Example:
        >>> ExpansionOrthogonalLoss()(torch.ones(6, 4), torch.zeros(6))
        tensor(0.0133)
    """

    default_name = 'loss_ort'

    def __init__(self, loss_weight: float = 0.01, **kwargs) -> None:
        super().__init__(loss_weight=loss_weight, **kwargs)

    def compute(self, inputs, labels, **extra):
        if inputs.shape[0] % 3:
            raise ValueError(f'ExpansionOrthogonalLoss: {inputs.shape[0]} '
                             'rows are not 3 branches of one batch')
        _, f1, f2 = inputs.chunk(3)
        return (f1 * f2).sum() / inputs.shape[0]
