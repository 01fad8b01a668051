"""Clothes-based adversarial loss (CAL; Gu et al., CVPR 2022)."""
from __future__ import annotations

import torch

from reidkit.registry import LOSSES
from .base import ReIDLoss


@LOSSES.register_module()
class ClothesAdversarialLoss(ReIDLoss):
    """CAL: push a sample towards *all* clothes classes of its identity.

    ``inputs`` are cosine clothes logits (before scaling) of the clothes
    classifier, ``labels`` the clothes ids, ``pos_mask`` a (B, C) 0/1 matrix
    marking the clothes classes of each sample's identity. With
    ``x = scale * inputs`` (paper eq. 5-6):
    ``log_prob_c = x_c - log(exp(x_c) + sum_{c' not in S_i} exp(x_c'))``,
    target ``q = (1 - eps) [c = y] + eps / |S_i| [c in S_i]`` and
    ``loss = mean_i -sum_c q_c log_prob_c``.

    The loss is switched on by the model once ``epoch >= start_epoch``
    (25 in CAL); before that it is neither computed nor logged.

    Args:
        scale (float): ``s``. Defaults to 16.
        epsilon (float): weight spread over the identity's clothes. 0.1.
        start_epoch (int): first (0-based) epoch that uses the loss. 25.
        loss_weight, label_key, loss_name: see :class:`ReIDLoss`
            (``label_key`` defaults to ``'clothes_id'``).

    Example:
        >>> loss = ClothesAdversarialLoss()
        >>> logits = torch.randn(2, 3).tanh()
        >>> pos = torch.tensor([[1., 1., 0.], [0., 0., 1.]])
        >>> loss(logits, torch.tensor([0, 2]), pos_mask=pos)
    """

    input_type = 'clothes_logits'
    default_name = 'loss_cal'

    def __init__(self, scale: float = 16.0, epsilon: float = 0.1,
                 start_epoch: int = 25, label_key: str = 'clothes_id',
                 **kwargs) -> None:
        super().__init__(label_key=label_key, **kwargs)
        self.scale = float(scale)
        self.epsilon = float(epsilon)
        self.start_epoch = int(start_epoch)

    def compute(self, inputs, labels, pos_mask=None, **extra):
        if pos_mask is None or tuple(pos_mask.shape) != tuple(inputs.shape):
            got = None if pos_mask is None else tuple(pos_mask.shape)
            raise ValueError('ClothesAdversarialLoss: pos_mask must have the '
                             f'shape of the logits {tuple(inputs.shape)}, '
                             f'got {got}')
        if labels.min() < 0 or labels.max() >= inputs.shape[1]:
            raise ValueError('ClothesAdversarialLoss: clothes_id must be in '
                             f'[0, {inputs.shape[1]}) (num_clothes), got '
                             f'[{int(labels.min())}, {int(labels.max())}]')
        pos = pos_mask.float()
        x = self.scale * inputs
        onehot = torch.zeros_like(x).scatter_(1, labels.unsqueeze(1), 1.0)
        pos = torch.maximum(pos, onehot)  # a sample's own clothes is positive
        # log(exp(x_c) + sum_neg exp(x_n)) via a detached row max for safety
        row_max = x.detach().max(1, keepdim=True).values
        e = torch.exp(x - row_max)
        neg_sum = (e * (1.0 - pos)).sum(1, keepdim=True)
        log_prob = x - (torch.log(e + neg_sum) + row_max)
        target = (1 - self.epsilon) * onehot \
            + self.epsilon * pos / pos.sum(1, keepdim=True)
        return -(target * log_prob).sum(1).mean()
