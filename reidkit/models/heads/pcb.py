"""PCB (Sun et al., ECCV 2018, "Beyond Part Models"): part-based convolutional baseline.

The backbone's last feature map (B, C, H, W) is cut into ``P`` horizontal
stripes and average-pooled per stripe (``PartPool`` neck): column vectors
``g_p`` (B, C). Each ``g_p`` goes through its own 1x1 convolution (a Linear)
+ BN + ReLU to ``h_p`` (B, 256) and its own identity classifier; training sums
the per-part losses (the paper: "the sum of Cross-Entropy losses over P
ID predictions"). Testing concatenates the P vectors ``g`` (default, the
paper's main setting) or ``h`` (``test_feat='h'``, more compact). The
backbone's last stage should keep stride 1 (the paper removes the last
down-sampling; ``ResNet`` ``strides=(1, 2, 2, 1)``) so a 384x128 input gives
24 rows for 6 stripes.

Config::

    neck=dict(type='PartPool', num_parts=6),
    head=dict(type='PCBHead', in_channels=2048, num_parts=6, reduce_dim=256,
              num_classes=None, losses=[dict(type='CrossEntropyLoss')])
"""
from __future__ import annotations

from typing import Dict, Optional, Sequence

import torch
import torch.nn.functional as F
from torch import nn

from reidkit.registry import HEADS, MODELS
from .bnneck_head import BaseReIDHead, _build_classifier

__all__ = ['PartPool', 'PCBHead']


@MODELS.register_module()
class PartPool(nn.Module):
    """(B, C, H, W) -> (B, C, P): average of each of P horizontal stripes.

    Stripes follow ``adaptive_avg_pool2d`` (equal when ``H % P == 0``).

    Args:
        num_parts (int): P. Defaults to 6.
        pool (str): ``'avg'`` (PCB) or ``'max'``.

    Example:
        >>> PartPool(3)(torch.randn(2, 8, 6, 4)).shape
        torch.Size([2, 8, 3])
    """

    def __init__(self, num_parts: int = 6, pool: str = 'avg') -> None:
        super().__init__()
        if pool not in ('avg', 'max'):
            raise ValueError(f"PartPool: pool must be 'avg' or 'max', got "
                             f'{pool!r}')
        self.num_parts = int(num_parts)
        self.pool = pool

    def forward(self, x):
        if isinstance(x, (tuple, list)):
            x = x[-1]
        if x.dim() != 4:
            raise ValueError(f'PartPool: expected a (B, C, H, W) map, got '
                             f'{tuple(x.shape)}')
        if x.shape[2] < self.num_parts:
            raise ValueError(f'PartPool: the feature map has {x.shape[2]} rows '
                             f'for {self.num_parts} parts; use a taller input '
                             'or a last stage with stride 1')
        fn = F.adaptive_avg_pool2d if self.pool == 'avg' else \
            F.adaptive_max_pool2d
        return fn(x, (self.num_parts, 1)).squeeze(-1)


@HEADS.register_module()
class PCBHead(BaseReIDHead):
    """P part classifiers on stripe features; losses summed over parts.

    Args:
        in_channels (int): C of the part vectors (2048 for ResNet-50).
        num_classes (int): identities (filled by tools/train.py).
        num_parts (int): P. Defaults to 6.
        reduce_dim (int): size of ``h_p``. Defaults to 256.
        losses (list[dict]): applied to every part: ``'logits'`` losses to
            each part's logits, ``'features'`` losses to each ``h_p``; a
            loss's value is the sum over parts.
        classifier (dict, optional): per-part classifier (``LinearClassifier``).
        dropout (float): dropout before each classifier (PCB: 0.5).
        test_feat (str): ``'g'`` (concatenated stripe vectors, P*C) or
            ``'h'`` (concatenated reduced vectors, P*reduce_dim).
        loss_prefix (str): inserted into loss names.

    Example:
        >>> head = PCBHead(16, num_classes=5, num_parts=3, reduce_dim=8)
        >>> head.predict(torch.randn(2, 16, 3)).shape
        torch.Size([2, 48])
    """

    def __init__(self, in_channels: int, num_classes: Optional[int] = None,
                 num_parts: int = 6, reduce_dim: int = 256,
                 losses: Sequence[dict] = (dict(type='CrossEntropyLoss'),),
                 classifier: Optional[dict] = None, dropout: float = 0.5,
                 test_feat: str = 'g', loss_prefix: str = '') -> None:
        super().__init__(losses, loss_prefix)
        if num_classes is None:
            raise ValueError(
                'PCBHead: num_classes is None. Set model.head.num_classes, or '
                "let tools/train.py fill it from the train dataset's "
                "metainfo['num_pids'].")
        if test_feat not in ('g', 'h'):
            raise ValueError(f"PCBHead: test_feat must be 'g' or 'h', got "
                             f'{test_feat!r}')
        self.in_channels = in_channels
        self.num_classes = num_classes
        self.num_parts = int(num_parts)
        self.test_feat = test_feat
        self.reducers = nn.ModuleList([
            nn.Sequential(nn.Linear(in_channels, reduce_dim, bias=False),
                          nn.BatchNorm1d(reduce_dim), nn.ReLU(inplace=True))
            for _ in range(self.num_parts)])
        self.dropout = nn.Dropout(dropout) if dropout > 0 else nn.Identity()
        self.classifiers = nn.ModuleList([
            _build_classifier(classifier, reduce_dim, num_classes)
            for _ in range(self.num_parts)])

    def _check(self, x):
        if x.dim() != 3 or x.shape[1] != self.in_channels or \
                x.shape[2] != self.num_parts:
            raise ValueError(f'PCBHead: expected (B, {self.in_channels}, '
                             f'{self.num_parts}) part features (neck '
                             f"PartPool(num_parts={self.num_parts})), got "
                             f'{tuple(x.shape)}')

    def parts(self, x) -> torch.Tensor:
        """Reduced part vectors ``h``: (B, P, reduce_dim)."""
        return torch.stack([red(x[:, :, p]) for p, red in
                            enumerate(self.reducers)], dim=1)

    def forward_train(self, x, labels) -> Dict[str, torch.Tensor]:
        self._check(x)
        h = self.parts(x)
        pid = labels.get('pid')
        logits = torch.stack([clf(self.dropout(h[:, p]), pid) for p, clf in
                              enumerate(self.classifiers)], dim=1)
        # 'logits' / 'features' hold every part: (B, P, K) and (B, P, D)
        return dict(logits=logits, features=h, g=self._concat(x),
                    h=h.flatten(1))

    @staticmethod
    def _concat(x):
        """(B, C, P) -> [g_1, ..., g_P] as (B, P*C)."""
        return x.transpose(1, 2).flatten(1)

    def loss_from_outputs(self, outs, labels, **extra):
        results = {}
        for loss in self.losses:
            if loss.input_type not in ('logits', 'features'):
                raise KeyError(f'PCBHead: {type(loss).__name__} needs '
                               f'{loss.input_type!r}; PCB gives logits and '
                               'features per part')
            if loss.label_key not in labels:
                raise KeyError(f'{type(loss).__name__} uses label '
                               f'{loss.label_key!r}, missing from the batch')
            per_part = outs[loss.input_type]
            target = labels[loss.label_key]
            results[loss.loss_name] = sum(
                loss(per_part[:, p], target, **extra)
                for p in range(self.num_parts))
        if 'pid' in labels:
            # part logits summed: the identity the parts agree on
            pred = outs['logits'].detach().softmax(-1).sum(1).argmax(1)
            key = (f'acc_{self.loss_prefix}_id' if self.loss_prefix
                   else 'acc_id')
            results[key] = (pred == labels['pid']).float().mean()
        return results

    def predict(self, x) -> torch.Tensor:
        self._check(x)
        if self.test_feat == 'g':
            return self._concat(x)
        return self.parts(x).flatten(1)
