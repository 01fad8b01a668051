"""``CALModel``: a re-ID model with CAL's clothes classifier and its step
(Gu et al., "Clothes-Changing Person Re-identification with RGB Modality
Only", CVPR 2022)."""
from __future__ import annotations

import copy
from typing import Dict, List, Optional, Union

import torch
from mmengine.optim import OptimWrapper, OptimWrapperDict
from torch import nn

from reidkit.registry import HEADS, MODELS
from reidkit.utils.grads import update_params
from .reid_model import ReIDModel


@MODELS.register_module()
class CALModel(ReIDModel):
    """:class:`ReIDModel` plus a clothes classifier trained adversarially.

    Two ways to train, chosen by the optimiser config:

    - ``OptimWrapperDict`` with keys ``'model'`` and ``'clothes_classifier'``
      (``constructor='ReIDOptimWrapperConstructor'``, see
      configs/_base_/models/cal_r50.py; the authors' procedure): each
      :meth:`train_step` first updates the clothes classifier on detached
      features (from ``clothes_classifier.start_epoch``), then the rest of
      the model with the head's losses plus the clothes-adversarial loss
      on the *updated* classifier (from ``adv_loss.start_epoch``).
    - one ``OptimWrapper``: ``mode='loss'`` returns the identity, clothes
      and adversarial losses together (disjoint gradients) and they are
      summed in one step; the classifier then sees its pre-update weights
      in the adversarial loss.

    The epochs compare with :attr:`current_epoch` (``EpochToModelHook``).
    ``forward`` has one mode more than :class:`ReIDModel`: ``'identity'``,
    the head losses (no clothes losses) and the clothes classifier's input
    feature, the part of the step that runs through a distributed wrapper.

    Distributed: the clothes classifier's parameters are
    :meth:`ddp_ignored_parameters` (trained by their own backward pass on
    detached features, which DDP's reducer does not allow); this model
    averages their gradients over ranks before their optimiser steps, so
    both optimisers step as in one process on gradients averaged over
    ranks.

    Args:
        backbone (dict): backbone config.
        head (dict): main head config (e.g. ``BNNeckHead``).
        clothes_classifier (dict): ``ClothesClassifierHead`` (or a subclass,
            e.g. DLCR's); ``num_pids=None`` is taken from the head's
            ``num_classes`` and ``num_clothes=None`` is filled by
            tools/train.py from the train set's ``metainfo['num_clothes']``.
        **kwargs: the other :class:`ReIDModel` arguments (``neck``,
            ``aux_heads``, ``data_preprocessor``, ``channels_last``,
            ``init_cfg``).

    Example:
        >>> model = CALModel(
        ...     backbone=dict(type='TimmBackbone', model_name='resnet18'),
        ...     neck=dict(type='MaxAvgPool', in_channels=512),
        ...     head=dict(type='BNNeckHead', in_channels=1024, num_classes=4,
        ...               losses=[dict(type='CrossEntropyLoss')]),
        ...     clothes_classifier=dict(type='ClothesClassifierHead',
        ...                             in_channels=1024, num_clothes=8))
        >>> model.ddp_ignored_parameters()
        ['clothes_classifier.classifier.weight']
    """

    def __init__(self, backbone: dict, head: dict, clothes_classifier: dict,
                 **kwargs) -> None:
        super().__init__(backbone=backbone, head=head, **kwargs)
        cfg = copy.deepcopy(clothes_classifier)
        if cfg.get('num_pids') is None:
            cfg['num_pids'] = head.get('num_classes')
        self.clothes_classifier = HEADS.build(cfg)

    def loss_heads(self) -> List[nn.Module]:
        return super().loss_heads() + [self.clothes_classifier]

    # --------------------------------------------------------------- forward
    def forward(self, inputs: torch.Tensor,
                data_samples: Optional[List[dict]] = None,
                mode: str = 'tensor',
                labels: Optional[Dict[str, torch.Tensor]] = None):
        if mode != 'identity':
            return super().forward(inputs, data_samples, mode, labels)
        _, labels = self._batch(inputs, data_samples, labels)
        return self._identity(inputs, labels)

    def _identity(self, inputs, labels):
        """Head losses and the clothes classifier's input feature."""
        losses, outs = self.head_losses(inputs, labels)
        return losses, outs[self.clothes_classifier.in_feat]

    def loss(self, inputs, labels) -> Dict[str, torch.Tensor]:
        """Identity, clothes and adversarial losses (one-optimiser CAL)."""
        losses, cfeat = self._identity(inputs, labels)
        head = self.clothes_classifier
        clo = head.loss_clothes(cfeat, labels)
        if self.current_epoch >= head.start_epoch:
            losses.update(clo)
        else:
            losses['acc_clothes'] = clo['acc_clothes']
        if self.current_epoch >= head.adv_loss.start_epoch:
            losses.update(head.loss_adversarial(cfeat, labels))
        return losses

    # ------------------------------------------------------------ train step
    def ddp_ignored_parameters(self) -> List[str]:
        """The clothes classifier's parameter names (see the class doc).

        Example:
            >>> cal_model.ddp_ignored_parameters()
            ['clothes_classifier.classifier.weight']
        """
        return [f'clothes_classifier.{n}'
                for n, _ in self.clothes_classifier.named_parameters()]

    def train_step(self, data, optim_wrapper: Union[OptimWrapper,
                                                    OptimWrapperDict],
                   model_wrapper: Optional[nn.Module] = None
                   ) -> Dict[str, torch.Tensor]:
        """CAL's iteration; with two optimisers, the authors' order.

        1. Forward (through ``model_wrapper``): head losses and features.
        2. Clothes classifier: its loss on detached features, backward,
           gradients averaged over ranks, step of
           ``optim_wrapper['clothes_classifier']`` (from
           ``clothes_classifier.start_epoch``).
        3. Main model: head losses plus the adversarial loss with the
           *updated* classifier (from ``adv_loss.start_epoch``), one
           backward, step of ``optim_wrapper['model']``.

        With one ``OptimWrapper``: :meth:`ReIDModel.train_step` on the
        summed losses of ``mode='loss'``.

        Args:
            data (dict): a batch from the dataloader.
            optim_wrapper (OptimWrapperDict | OptimWrapper): keys
                ``'model'`` and ``'clothes_classifier'``, or one wrapper.
            model_wrapper (nn.Module, optional): a distributed wrapper of
                this model; the forward runs through it (so it averages the
                main gradients) and its ``no_sync`` serves gradient
                accumulation. None: this model.

        Returns:
            dict[str, torch.Tensor]: logged losses, ``loss_clothes`` and
            ``acc_clothes`` included.

        Example:
            >>> logs = model.train_step(batch, OptimWrapperDict(
            ...     model=main_wrapper, clothes_classifier=clothes_wrapper))
        """
        if not isinstance(optim_wrapper, OptimWrapperDict):
            return super().train_step(data, optim_wrapper, model_wrapper)
        for key in ('model', 'clothes_classifier'):
            if key not in optim_wrapper:
                raise KeyError(f'CAL training needs optim_wrapper keys '
                               f"'model' and 'clothes_classifier', got "
                               f'{list(optim_wrapper.keys())}')
        wrapped = self if model_wrapper is None else model_wrapper
        main = optim_wrapper['model']
        clothes = optim_wrapper['clothes_classifier']
        head = self.clothes_classifier
        epoch = self.current_epoch
        with main.optim_context(wrapped):
            data = self.data_preprocessor(data, True)
            labels = data['labels']
            losses, cfeat = wrapped(**data, mode='identity')
        # 1) the clothes classifier, on detached features, its own optimiser
        with clothes.optim_context(head):
            clo = head.loss_clothes(cfeat.detach(), labels)
        if epoch >= head.start_epoch:
            update_params(clothes, clo['loss_clothes'],
                          before_step=self.sync_ignored_grads)
        # 2) the model: identity losses + CAL with the updated classifier
        if epoch >= head.adv_loss.start_epoch:
            with main.optim_context(wrapped):
                losses.update(head.loss_adversarial(cfeat, labels))
        parsed, log_vars = self.parse_losses(losses)
        main.update_params(parsed)
        log_vars['loss_clothes'] = clo['loss_clothes'].detach()
        log_vars['acc_clothes'] = clo['acc_clothes']
        return log_vars
