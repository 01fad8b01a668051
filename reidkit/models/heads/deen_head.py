"""DEEN's head: BNNeck + classifier over the three embeddings of every image,
plus the CPM and orthogonal losses (Zhang and Wang, CVPR 2023; the LLCM
authors' code ``ZYK100/LLCM`` ``DEEN/model.py`` and ``DEEN/train.py``)."""
from __future__ import annotations

import copy
from typing import Dict, Optional, Sequence

import torch
import torch.nn.functional as F

from reidkit.registry import HEADS, LOSSES
from .bnneck_head import BNNeckHead


def repeat_labels(labels: Dict[str, torch.Tensor], times: int
                  ) -> Dict[str, torch.Tensor]:
    """Every per-image label tensor repeated ``times`` along the batch."""
    return {k: v.repeat(times) if isinstance(v, torch.Tensor) and v.dim() == 1
            else v for k, v in labels.items()}


@HEADS.register_module()
class DEENHead(BNNeckHead):
    """BNNeck head over ``[original; expansion 1; expansion 2]`` features.

    Input: pooled features of ``3 B`` images from :class:`DEENResNet`
    (through a ``GlobalAvgPool`` neck, as the authors). Training: the
    ``losses`` list (the authors: CE on the BNNeck logits + batch-hard
    triplet, margin 0.3, on the pre-BN feature) sees all ``3 B`` rows with
    the labels repeated three times; then ``cpm_loss``
    (:class:`CenterPairMiningLoss`, weight 0.8) on the pre-BN features and
    ``ort_loss`` (:class:`ExpansionOrthogonalLoss`, weight 0.01) on the
    pooled features.

    Test feature (``test_feat='all'``, the authors' ``distmat7``): the
    L2-normalised pre-BN and post-BN features of the three embeddings,
    concatenated, ``(B, 6 C)``; their inner product is the sum of the six
    cosine similarities the authors add (so ``dist_metric='cosine'`` ranks
    as they do). ``'pre_bn'`` / ``'post_bn'``: the original embedding only
    (their ``distmat1`` / ``distmat2``), L2-normalised.

    Args:
        in_channels, num_classes, losses, classifier: see :class:`BNNeckHead`.
        cpm_loss (dict, optional): Defaults to ``CenterPairMiningLoss``.
            None disables it.
        ort_loss (dict, optional): Defaults to ``ExpansionOrthogonalLoss``.
            None disables it.
        test_feat (str): ``'all'`` (default), ``'pre_bn'`` or ``'post_bn'``.
        num_branches (int): embeddings per image. Defaults to 3.

    Example:
        >>> head = DEENHead(16, 4)
        >>> labels = dict(pid=torch.tensor([0, 0, 1, 1]),
        ...               modality=torch.tensor([0, 1, 0, 1]))
        >>> sorted(head.loss(torch.rand(12, 16), labels))
        ['acc_id', 'loss_ce', 'loss_cpm', 'loss_ort', 'loss_triplet']
        >>> head.eval().predict(torch.rand(12, 16)).shape
        torch.Size([4, 96])
    """

    def __init__(self, in_channels: int, num_classes: Optional[int] = None,
                 losses: Sequence[dict] = (
                     dict(type='CrossEntropyLoss'),
                     dict(type='TripletLoss', margin=0.3)),
                 cpm_loss: Optional[dict] = dict(type='CenterPairMiningLoss'),
                 ort_loss: Optional[dict] = dict(
                     type='ExpansionOrthogonalLoss'),
                 test_feat: str = 'all', num_branches: int = 3,
                 **kwargs) -> None:
        if test_feat not in ('all', 'pre_bn', 'post_bn'):
            raise ValueError("DEENHead: test_feat must be 'all', 'pre_bn' or "
                             f"'post_bn', got {test_feat!r}")
        super().__init__(in_channels, num_classes, losses=losses,
                         metric_feat='pre_bn', test_feat='post_bn', **kwargs)
        self.test_feat = test_feat
        self.num_branches = int(num_branches)
        self.cpm_loss = LOSSES.build(copy.deepcopy(cpm_loss)) \
            if cpm_loss else None
        self.ort_loss = LOSSES.build(copy.deepcopy(ort_loss)) \
            if ort_loss else None

    def _split(self, x):
        if x.shape[0] % self.num_branches:
            raise ValueError(f'DEENHead: {x.shape[0]} features are not '
                             f'{self.num_branches} embeddings per image; use '
                             'the DEENResNet backbone')

    def forward_train(self, x, labels):
        self._split(x)
        outs = super().forward_train(x, repeat_labels(labels,
                                                      self.num_branches))
        outs['pooled'] = x
        return outs

    def loss_from_outputs(self, outs, labels, **extra):
        n = outs['pre_bn'].shape[0]
        if labels and next(iter(labels.values())).shape[0] != n:
            labels = repeat_labels(labels, self.num_branches)
        results = super().loss_from_outputs(outs, labels, **extra)
        if self.cpm_loss is not None:
            if 'modality' not in labels:
                raise KeyError("DEENHead: the CPM loss needs 'modality' in "
                               'every data sample')
            results[self.cpm_loss.loss_name] = self.cpm_loss(
                outs['pre_bn'], labels['pid'], modality=labels['modality'])
        if self.ort_loss is not None:
            results[self.ort_loss.loss_name] = self.ort_loss(
                outs['pooled'], labels['pid'])
        return results

    def predict(self, x):
        self._check(x)
        self._split(x)
        bn = self.bnneck(x)
        if self.test_feat != 'all':
            b = x.shape[0] // self.num_branches
            feat = x if self.test_feat == 'pre_bn' else bn
            return F.normalize(feat[:b], dim=1)
        parts = []
        for pre, post in zip(x.chunk(self.num_branches),
                             bn.chunk(self.num_branches)):
            parts += [F.normalize(pre, dim=1), F.normalize(post, dim=1)]
        return torch.cat(parts, 1)
