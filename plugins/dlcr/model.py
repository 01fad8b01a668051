"""CAL's clothes classifier restricted to the real half of a DLCR batch.

DLCR's batches hold real images and their generated variants; the identity
losses use all of them, while the clothes classifier and the
clothes-adversarial loss use only the real images (authors' code): a
generated image wears another identity's outfit and has no clothes label of
its own (DLCR manifests write ``clothes_id = -1``).

The head is the ``clothes_classifier`` of reidkit's ``CALModel``
(configs/_base_/models/cal_r50.py), whose training step calls its
``loss_clothes`` and ``loss_adversarial``; DLCR needs no model class of its
own.
"""
from __future__ import annotations

from typing import Dict, Optional, Tuple

import torch

from reidkit.models.heads.clothes_head import ClothesClassifierHead
from reidkit.registry import HEADS

__all__ = ['DLCRClothesClassifierHead', 'real_subset']


def real_subset(feats: torch.Tensor, labels: Dict[str, torch.Tensor],
                domains: Tuple[int, ...] = (0,)
                ) -> Tuple[torch.Tensor, Dict[str, torch.Tensor]]:
    """Features and labels of the samples whose ``domain`` is in ``domains``.

    Samples without a clothes label (``clothes_id < 0``) are dropped too.
    """
    n = feats.shape[0]
    keep = torch.ones(n, dtype=torch.bool, device=feats.device)
    if 'domain' in labels:
        dom = labels['domain'].to(feats.device)
        keep &= torch.isin(dom, torch.tensor(domains, device=feats.device))
    if 'clothes_id' in labels:
        keep &= labels['clothes_id'].to(feats.device) >= 0
    sub = {k: (v[keep.to(v.device)] if torch.is_tensor(v) and v.dim() > 0
               and v.shape[0] == n else v) for k, v in labels.items()}
    return feats[keep], sub


@HEADS.register_module()
class DLCRClothesClassifierHead(ClothesClassifierHead):
    """:class:`ClothesClassifierHead` on the real images of the batch only
    (the ``clothes_classifier`` of a ``CALModel``).

    Args:
        domains (tuple[int]): domains that carry clothes labels (0 = real).
        **kwargs: see :class:`ClothesClassifierHead` (``in_channels``,
            ``num_clothes``, ``scale``, ``start_epoch``, ``adv_loss``).

    Example:
        >>> model = dict(type='CALModel', clothes_classifier=dict(
        ...     type='DLCRClothesClassifierHead', in_channels=4096,
        ...     num_clothes=None, start_epoch=25))
    """

    def __init__(self, *args, domains=(0,), **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.domains = tuple(int(d) for d in domains)

    def loss_clothes(self, feats: torch.Tensor, labels
                     ) -> Dict[str, torch.Tensor]:
        f, sub = real_subset(feats, labels, self.domains)
        if f.shape[0] == 0:  # no real image: a zero loss on the classifier
            if self.training:  # every rank joins the table's all-reduce
                self.update_pid2clothes(sub['pid'], sub['clothes_id'])
            zero = self.classifier(feats.detach()).sum() * 0.0
            return {'loss_clothes': zero, 'acc_clothes': zero.detach()}
        return super().loss_clothes(f, sub)

    def loss_adversarial(self, feats: torch.Tensor, labels
                         ) -> Dict[str, torch.Tensor]:
        f, sub = real_subset(feats, labels, self.domains)
        if f.shape[0] == 0:  # keeps the graph (DDP) with no real image
            return {self.adv_loss.loss_name: feats.sum() * 0.0}
        return super().loss_adversarial(f, sub)
