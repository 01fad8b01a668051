"""Cross-entropy with label smoothing (Szegedy et al.; Luo et al. 2019)."""
from __future__ import annotations

import torch.nn.functional as F

from reidkit.registry import LOSSES
from .base import ReIDLoss


@LOSSES.register_module()
class CrossEntropyLoss(ReIDLoss):
    """Softmax cross-entropy on logits, with optional label smoothing.

    With smoothing ``eps`` and ``N`` classes the target distribution is
    ``q_y = 1 - (N - 1) / N * eps`` and ``q_i = eps / N`` otherwise (eq. 5 of
    the strong vehicle baseline; the same as bag-of-tricks).

    Args:
        label_smoothing (float): ``eps`` in [0, 1). Defaults to 0.
        loss_weight, label_key, loss_name: see :class:`ReIDLoss`.

    Example:
        >>> loss = CrossEntropyLoss(label_smoothing=0.1)
        >>> loss(torch.randn(4, 10), torch.tensor([0, 1, 2, 3]))
    """

    input_type = 'logits'
    default_name = 'loss_ce'

    def __init__(self, label_smoothing: float = 0.0, **kwargs) -> None:
        super().__init__(**kwargs)
        if not 0.0 <= label_smoothing < 1.0:
            raise ValueError('CrossEntropyLoss: label_smoothing must be in '
                             f'[0, 1), got {label_smoothing}')
        self.label_smoothing = float(label_smoothing)

    def compute(self, inputs, labels, **extra):
        if labels.min() < 0 or labels.max() >= inputs.shape[1]:
            raise ValueError(
                f'CrossEntropyLoss: labels must be in [0, {inputs.shape[1]}) '
                f'(num_classes of the head), got range '
                f'[{int(labels.min())}, {int(labels.max())}]')
        return F.cross_entropy(inputs, labels,
                               label_smoothing=self.label_smoothing)
