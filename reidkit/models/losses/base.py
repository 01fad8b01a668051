"""Base class shared by every reidkit loss."""
from __future__ import annotations

from typing import Optional

import torch
from torch import nn


class ReIDLoss(nn.Module):
    """A loss that says what it consumes, which label it uses and its weight.

    Heads route inputs by two class attributes:

    - ``input_type``: ``'logits'`` (classifier outputs) or ``'features'``
      (embeddings), so a head knows what to pass without per-loss code;
    - ``default_name``: the key in the model's loss dict (``loss_ce`` ...).

    ``forward(inputs, labels, **extra)`` returns ``loss_weight * value``; the
    weight is a plain attribute so hooks (e.g. :class:`MALWHook`) can change it
    while training. Half-precision inputs are computed in float32 (AMP-safe).

    Args:
        loss_weight (float): multiplier of the loss. Defaults to 1.0.
        label_key (str): which entry of the batched label dict the head
            passes as ``labels`` (``'pid'``, ``'clothes_id'``, ...).
            Defaults to ``'pid'``.
        loss_name (str, optional): key in the loss dict; must start with
            ``'loss'``. Defaults to the class's ``default_name``.
    """

    input_type = 'features'
    default_name = 'loss'

    def __init__(self, loss_weight: float = 1.0, label_key: str = 'pid',
                 loss_name: Optional[str] = None) -> None:
        super().__init__()
        self.loss_weight = float(loss_weight)
        self.label_key = label_key
        name = loss_name or self.default_name
        if not name.startswith('loss'):
            raise ValueError(f"{type(self).__name__}: loss_name must start "
                             f"with 'loss' (mmengine sums those keys), got "
                             f'{name!r}')
        self.loss_name = name

    def forward(self, inputs: torch.Tensor, labels: torch.Tensor,
                **extra) -> torch.Tensor:
        _check_batch(type(self).__name__, inputs, labels)
        if inputs.dtype in (torch.float16, torch.bfloat16):
            inputs = inputs.float()  # losses stay in fp32 under AMP
        value = self.compute(inputs, labels.long(), **extra)
        return self.loss_weight * value

    def compute(self, inputs: torch.Tensor, labels: torch.Tensor,
                **extra) -> torch.Tensor:
        """The unweighted loss (subclasses implement this)."""
        raise NotImplementedError

    def extra_repr(self) -> str:
        return (f'loss_weight={self.loss_weight}, label_key={self.label_key!r}'
                f', loss_name={self.loss_name!r}')


def _check_batch(name: str, inputs, labels, ndim: int = 2) -> None:
    if not isinstance(inputs, torch.Tensor) or inputs.dim() != ndim:
        shape = tuple(inputs.shape) if isinstance(inputs, torch.Tensor) \
            else type(inputs).__name__
        raise ValueError(f'{name}: expected inputs of shape (B, D), got '
                         f'{shape}')
    if not isinstance(labels, torch.Tensor) or labels.dim() != 1 \
            or labels.numel() != inputs.shape[0]:
        shape = tuple(labels.shape) if isinstance(labels, torch.Tensor) \
            else type(labels).__name__
        raise ValueError(f'{name}: expected labels of shape '
                         f'({inputs.shape[0]},), got {shape}')


def pairwise_distance(x: torch.Tensor, metric: str = 'euclidean'
                      ) -> torch.Tensor:
    """(B, B) distance matrix: ``'euclidean'`` or ``'cosine'`` (1 - cos)."""
    if metric == 'euclidean':
        sq = x.pow(2).sum(1, keepdim=True)
        d2 = sq + sq.t() - 2.0 * x @ x.t()
        # clamp keeps sqrt differentiable at 0 (the diagonal)
        return d2.clamp(min=1e-12).sqrt()
    if metric == 'cosine':
        xn = nn.functional.normalize(x, dim=1)
        return 1.0 - xn @ xn.t()
    raise ValueError(f"metric must be 'euclidean' or 'cosine', got {metric!r}")


def same_label_masks(labels: torch.Tensor):
    """Positive mask (same label, not self) and negative mask (other label)."""
    same = labels.unsqueeze(0) == labels.unsqueeze(1)
    eye = torch.eye(labels.numel(), dtype=torch.bool, device=labels.device)
    return same & ~eye, ~same
