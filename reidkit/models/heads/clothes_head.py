"""CAL's clothes classifier (Gu et al., CVPR 2022)."""
from __future__ import annotations

import copy
from typing import Dict, Optional

import torch
import torch.nn.functional as F
from torch import nn

from reidkit.registry import HEADS, LOSSES
from .classifiers import CosineClassifier


@HEADS.register_module()
class ClothesClassifierHead(nn.Module):
    """Cosine clothes classifier plus the clothes-based adversarial loss.

    Two losses, with disjoint gradients:

    - ``loss_clothes``: CE on ``scale * cos(f.detach(), W)``; trains only the
      classifier ``W`` (its own optimiser, see ``CALModel.train_step``);
    - ``loss_cal``: :class:`ClothesAdversarialLoss` on ``cos(f, W.detach())``;
      trains only the backbone / neck / identity head.

    ``pos_mask`` (clothes classes of the sample's identity) comes from a
    ``(num_pids, num_clothes)`` table this head fills from every training
    batch's ``(pid, clothes_id)`` pairs (kept in the state dict and merged
    across ranks); after one epoch it holds every training pair, long before
    CAL starts (epoch 25). :meth:`set_pid2clothes` sets it from the dataset
    instead.

    Args:
        in_channels (int): feature size (CAL: 4096 post-BN features).
        num_clothes (int): clothes classes; None only until tools/train.py
            fills it from ``metainfo['num_clothes']``.
        num_pids (int): identities; None is filled by ``CALModel`` from the
            main head's ``num_classes``.
        scale (float): cosine scale of the clothes CE. Defaults to 16.
        start_epoch (int): first epoch in which the classifier is trained
            (CAL: 25, as the adversarial loss).
        adv_loss (dict): the adversarial loss config.
        in_feat (str): which head output to use, ``'post_bn'`` (CAL) or
            ``'pre_bn'``.

    Example:
        >>> head = ClothesClassifierHead(16, num_clothes=6, num_pids=3)
        >>> f = torch.randn(4, 16)
        >>> labels = {'pid': torch.tensor([0, 0, 1, 2]),
        ...           'clothes_id': torch.tensor([0, 1, 2, 5])}
        >>> head.loss_clothes(f, labels)['loss_clothes']
    """

    def __init__(self, in_channels: int, num_clothes: Optional[int] = None,
                 num_pids: Optional[int] = None, scale: float = 16.0,
                 start_epoch: int = 25,
                 adv_loss: Optional[dict] = None,
                 in_feat: str = 'post_bn') -> None:
        super().__init__()
        if num_clothes is None or num_pids is None:
            raise ValueError(
                'ClothesClassifierHead: num_clothes/num_pids is None. Set '
                'model.clothes_classifier.num_clothes (tools/train.py fills it'
                " from metainfo['num_clothes']) and model.head.num_classes.")
        self.classifier = CosineClassifier(in_channels, num_clothes,
                                           scale=scale)
        self.ce_scale = float(scale)
        self.start_epoch = int(start_epoch)
        self.in_feat = in_feat
        self.adv_loss = LOSSES.build(copy.deepcopy(
            adv_loss or dict(type='ClothesAdversarialLoss')))
        self.losses = nn.ModuleList([self.adv_loss])  # for MALW-style hooks
        self.register_buffer('pid2clothes',
                             torch.zeros(num_pids, num_clothes,
                                         dtype=torch.bool))

    @torch.no_grad()
    def set_pid2clothes(self, table: torch.Tensor) -> None:
        """Set the (num_pids, num_clothes) identity->clothes table."""
        if tuple(table.shape) != tuple(self.pid2clothes.shape):
            raise ValueError('set_pid2clothes: expected shape '
                             f'{tuple(self.pid2clothes.shape)}, got '
                             f'{tuple(table.shape)}')
        self.pid2clothes.copy_(table.bool())

    @torch.no_grad()
    def update_pid2clothes(self, pids: torch.Tensor,
                           clothes: torch.Tensor) -> None:
        valid = (pids >= 0) & (clothes >= 0)
        seen = torch.zeros_like(self.pid2clothes, dtype=torch.float)
        seen[pids[valid], clothes[valid]] = 1.0
        from mmengine.dist import all_reduce, get_world_size
        if get_world_size() > 1:  # identical tables on every rank
            all_reduce(seen, op='sum')
        self.pid2clothes |= seen > 0

    def _labels(self, labels):
        if 'clothes_id' not in labels or (labels['clothes_id'] < 0).any():
            raise ValueError('CAL needs clothes_id >= 0 for every training '
                             'sample (data_samples[i]["clothes_id"])')
        return labels['pid'], labels['clothes_id']

    def loss_clothes(self, feats: torch.Tensor, labels
                     ) -> Dict[str, torch.Tensor]:
        """CE of the clothes classifier on detached features."""
        pids, clothes = self._labels(labels)
        if self.training:
            self.update_pid2clothes(pids, clothes)
        logits = self.classifier(feats.detach())
        loss = F.cross_entropy(logits, clothes)
        acc = (logits.detach().argmax(1) == clothes).float().mean()
        return dict(loss_clothes=loss, acc_clothes=acc)

    def loss_adversarial(self, feats: torch.Tensor, labels
                         ) -> Dict[str, torch.Tensor]:
        """CAL on the features, with the classifier weights detached."""
        pids, clothes = self._labels(labels)
        cos = self.classifier.cosine(feats, detach_weight=True)
        pos_mask = self.pid2clothes[pids].float()
        return {self.adv_loss.loss_name:
                self.adv_loss(cos, clothes, pos_mask=pos_mask)}
