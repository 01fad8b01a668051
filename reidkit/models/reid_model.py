"""``ReIDModel``: data preprocessor -> backbone -> neck -> head(s)."""
from __future__ import annotations

import copy
from typing import Callable, Dict, List, Optional, Sequence, Union

import torch
from mmengine.logging import MessageHub
from mmengine.model import BaseModel
from mmengine.optim import OptimWrapper, OptimWrapperDict
from torch import nn

from reidkit.engine.ddp import update_params
from reidkit.registry import HEADS, MODELS
from .data_preprocessor import collate_labels, uncollate


@MODELS.register_module()
class ReIDModel(BaseModel):
    """A re-ID model on mmengine's ``BaseModel``.

    ``forward(inputs, data_samples=None, mode='tensor', labels=None)``:

    - ``'loss'``: dict of scalar ``loss_*`` (weights applied) and ``acc_*``;
    - ``'predict'``: list of dicts, each input data sample plus ``feat``
      (1-D float tensor on CPU, the head's test feature);
    - ``'tensor'``: (B, D) test features;
    - ``'cal'`` (used by :meth:`cal_train_step`): the head losses (no
      clothes losses) and the clothes classifier's input feature.

    ``labels`` is the batched label dict of :class:`ReIDDataPreprocessor`;
    it is rebuilt from ``data_samples`` when not given. Backbones that
    declare ``label_keys`` (``modality`` for two-stream, ``domain`` for
    MixStyle) receive those labels in every mode.

    Loss weights are the ``loss_weight`` attributes of the loss modules,
    listed by :meth:`loss_modules` (name -> module) so hooks (``MALWHook``)
    can read and change them.

    ``num_classes``: leave ``model.head.num_classes=None`` in a config and
    tools/train.py fills it from the train set's ``metainfo['num_pids']``
    (and ``model.clothes_classifier.num_clothes`` from ``num_clothes``);
    auxiliary heads and the clothes head inherit ``num_classes`` from the
    main head here.

    CAL: with ``clothes_classifier`` set, :meth:`train_step` takes an
    ``OptimWrapperDict`` with keys ``'model'`` and ``'clothes_classifier'``
    (built by ``constructor='ReIDOptimWrapperConstructor'``, see
    configs/_base_/models/cal_r50.py): it first updates the clothes
    classifier on detached features (from its ``start_epoch``), then the rest
    of the model with the head's losses plus the adversarial loss once
    ``epoch >= start_epoch``. The epoch is :attr:`current_epoch`: set by
    ``EpochToModelHook`` (default runtime) or :meth:`set_epoch`, else read
    from mmengine's message hub (``RuntimeInfoHook`` stores it each epoch).
    With a single ``OptimWrapper`` the same losses are summed in one step
    (``loss`` mode returns the identity, clothes and adversarial losses
    together, with disjoint gradients; the classifier then sees its
    pre-update weights in the adversarial loss).

    Distributed CAL: ``ReIDDistributedDataParallel`` keeps the clothes
    classifier's parameters (:meth:`ddp_ignored_parameters`) out of DDP's
    reducer and calls :meth:`cal_train_step` with itself as the forward and
    a function that averages the clothes classifier's gradients over ranks,
    so both optimisers step as in one process, on gradients averaged over
    ranks.

    Args:
        backbone (dict): backbone config.
        neck (dict, optional): pooling neck config. Defaults to
            ``GlobalAvgPool``.
        head (dict): main head config (e.g. ``BNNeckHead``).
        aux_heads (list[dict], optional): ``AuxClassifierHead`` configs.
        clothes_classifier (dict, optional): ``ClothesClassifierHead``.
        data_preprocessor (dict, optional): defaults to
            ``ReIDDataPreprocessor``.
        channels_last (bool): convert the model and inputs to channels_last
            memory format. Defaults to False.
        init_cfg (dict, optional): mmengine init config.

    Example:
        >>> model = ReIDModel(
        ...     backbone=dict(type='TimmBackbone', model_name='resnet18'),
        ...     head=dict(type='BNNeckHead', in_channels=512, num_classes=4,
        ...               losses=[dict(type='CrossEntropyLoss')]))
        >>> model(torch.randn(2, 3, 64, 32)).shape
        torch.Size([2, 512])
    """

    def __init__(self, backbone: dict, head: dict,
                 neck: Optional[dict] = None,
                 aux_heads: Optional[Sequence[dict]] = None,
                 clothes_classifier: Optional[dict] = None,
                 data_preprocessor: Optional[dict] = None,
                 channels_last: bool = False,
                 init_cfg: Optional[dict] = None) -> None:
        if data_preprocessor is None:
            data_preprocessor = dict(type='ReIDDataPreprocessor')
        super().__init__(data_preprocessor=data_preprocessor,
                         init_cfg=init_cfg)
        self.backbone = MODELS.build(copy.deepcopy(backbone))
        self.neck = MODELS.build(copy.deepcopy(
            neck or dict(type='GlobalAvgPool')))
        head = copy.deepcopy(head)
        self.head = HEADS.build(head)
        num_classes = head.get('num_classes')
        self.aux_heads = None
        if aux_heads:
            built = []
            for cfg in aux_heads:
                cfg = copy.deepcopy(cfg)
                inner = cfg.get('head', {})
                if inner.get('num_classes') is None:
                    inner['num_classes'] = num_classes
                built.append(HEADS.build(cfg))
            self.aux_heads = nn.ModuleList(built)
        self.clothes_classifier = None
        if clothes_classifier is not None:
            cfg = copy.deepcopy(clothes_classifier)
            if cfg.get('num_pids') is None:
                cfg['num_pids'] = num_classes
            self.clothes_classifier = HEADS.build(cfg)
        self._backbone_label_keys = tuple(
            getattr(self.backbone, 'label_keys', ()))
        self._epoch: Optional[int] = None
        self.channels_last = channels_last
        if channels_last:
            self.to(memory_format=torch.channels_last)

    # ------------------------------------------------------------------ utils
    @property
    def current_epoch(self) -> int:
        """The epoch CAL compares with its start epochs: the value set by
        ``EpochToModelHook`` / :meth:`set_epoch`, else mmengine's message hub
        (``RuntimeInfoHook`` stores ``'epoch'`` before every epoch)."""
        if self._epoch is not None:
            return self._epoch
        return int(MessageHub.get_current_instance().get_info('epoch', 0)
                   or 0)

    @current_epoch.setter
    def current_epoch(self, epoch: Optional[int]) -> None:
        self._epoch = None if epoch is None else int(epoch)

    def set_epoch(self, epoch: Optional[int]) -> None:
        """Fix the epoch CAL uses (None: read mmengine's message hub)."""
        self.current_epoch = epoch

    def loss_modules(self) -> Dict[str, nn.Module]:
        """``{loss name: loss module}`` of every head (for weight hooks)."""
        heads = [self.head] + list(self.aux_heads or [])
        if self.clothes_classifier is not None:
            heads.append(self.clothes_classifier)
        out = {}
        for head in heads:
            for loss in getattr(head, 'losses', []):
                out[loss.loss_name] = loss
        return out

    def loss_weights(self) -> Dict[str, float]:
        return {k: m.loss_weight for k, m in self.loss_modules().items()}

    def set_loss_weight(self, name: str, weight: float) -> None:
        mods = self.loss_modules()
        if name not in mods:
            raise KeyError(f'no loss named {name!r}; the model has '
                           f'{sorted(mods)}')
        mods[name].loss_weight = float(weight)

    # --------------------------------------------------------------- forward
    @staticmethod
    def _labels(data_samples, labels, device):
        if labels is None:
            labels = collate_labels(data_samples, device)
        return labels

    def extract_feat(self, inputs: torch.Tensor,
                     labels: Optional[Dict[str, torch.Tensor]] = None):
        """Backbone outputs (tuple) and the pooled main feature."""
        if self.channels_last:
            inputs = inputs.contiguous(memory_format=torch.channels_last)
        kwargs = {}
        for key in self._backbone_label_keys:
            if labels and key in labels:
                kwargs[key] = labels[key].to(inputs.device)
        feats = self.backbone(inputs, **kwargs)
        if isinstance(feats, torch.Tensor):
            feats = (feats,)
        return tuple(feats), self.neck(feats[-1])

    def forward(self, inputs: torch.Tensor,
                data_samples: Optional[List[dict]] = None,
                mode: str = 'tensor',
                labels: Optional[Dict[str, torch.Tensor]] = None):
        if isinstance(inputs, (list, tuple)):
            raise TypeError('ReIDModel.forward expects a stacked (B, 3, H, W)'
                            ' float tensor; pass the batch through '
                            'model.data_preprocessor first')
        data_samples = uncollate(data_samples, inputs.shape[0])
        labels = self._labels(data_samples, labels, inputs.device)
        if mode == 'loss':
            return self.loss(inputs, labels)
        if mode == 'predict':
            return self.predict(inputs, data_samples, labels)
        if mode == 'tensor':
            _, pooled = self.extract_feat(inputs, labels)
            return self.head.predict(pooled)
        if mode == 'cal':
            return self._cal_forward(inputs, labels)
        raise ValueError(f"mode must be 'loss', 'predict', 'tensor' or "
                         f"'cal', got {mode!r}")

    def _head_losses(self, feats, pooled, labels):
        """Losses of the main and auxiliary heads, and the main head's
        outputs (one forward, so BN statistics update once per step)."""
        if 'pid' not in labels:
            raise KeyError("mode='loss' needs 'pid' in every data sample")
        outs = self.head.forward_train(pooled, labels)
        losses = dict(self.head.loss_from_outputs(outs, labels))
        for aux in self.aux_heads or []:
            losses.update(aux.loss(feats, labels))
        return losses, outs

    def loss(self, inputs, labels) -> Dict[str, torch.Tensor]:
        feats, pooled = self.extract_feat(inputs, labels)
        losses, outs = self._head_losses(feats, pooled, labels)
        if self.clothes_classifier is not None:
            cfeat = outs[self.clothes_classifier.in_feat]
            clo = self.clothes_classifier.loss_clothes(cfeat, labels)
            if self.current_epoch >= self.clothes_classifier.start_epoch:
                losses.update(clo)
            else:
                losses['acc_clothes'] = clo['acc_clothes']
            if self.current_epoch >= \
                    self.clothes_classifier.adv_loss.start_epoch:
                losses.update(
                    self.clothes_classifier.loss_adversarial(cfeat, labels))
        return losses

    @torch.no_grad()
    def predict(self, inputs, data_samples=None, labels=None) -> List[dict]:
        _, pooled = self.extract_feat(inputs, labels)
        feats = self.head.predict(pooled).float().cpu()
        samples = data_samples or [{} for _ in range(len(feats))]
        if len(samples) != len(feats):
            raise ValueError(f'{len(samples)} data samples for {len(feats)} '
                             'images')
        return [dict(s, feat=f) for s, f in zip(samples, feats)]

    def _cal_forward(self, inputs, labels):
        """The part of CAL's step that trains the main model's parameters:
        head losses and the clothes classifier's input feature."""
        if self.clothes_classifier is None:
            raise TypeError("mode='cal' needs a clothes_classifier")
        feats, pooled = self.extract_feat(inputs, labels)
        losses, outs = self._head_losses(feats, pooled, labels)
        return losses, outs[self.clothes_classifier.in_feat]

    # ------------------------------------------------------------ train step
    def ddp_ignored_parameters(self) -> List[str]:
        """Names of the parameters DDP's reducer must leave alone.

        The clothes classifier's: CAL trains them by a separate backward
        pass on detached features, and DDP's reducer allows one backward
        per forward. ``ReIDDistributedDataParallel`` averages their
        gradients over ranks itself.

        Returns:
            list[str]: full parameter names (empty without CAL).

        Example:
            >>> cal_model.ddp_ignored_parameters()
            ['clothes_classifier.classifier.weight']
        """
        if self.clothes_classifier is None:
            return []
        return [f'clothes_classifier.{n}'
                for n, _ in self.clothes_classifier.named_parameters()]

    def train_step(self, data, optim_wrapper: Union[OptimWrapper,
                                                    OptimWrapperDict]):
        if not isinstance(optim_wrapper, OptimWrapperDict):
            return super().train_step(data, optim_wrapper)
        return self.cal_train_step(data, optim_wrapper)

    def cal_train_step(self, data, optim_wrapper: OptimWrapperDict,
                       model_wrapper: Optional[nn.Module] = None,
                       sync_grads: Optional[Callable[[], None]] = None
                       ) -> Dict[str, torch.Tensor]:
        """CAL's iteration with two optimisers (the authors' order).

        1. Forward (through ``model_wrapper``): head losses and features.
        2. Clothes classifier: its loss on detached features, backward,
           ``sync_grads()``, step of ``optim_wrapper['clothes_classifier']``
           (from ``clothes_classifier.start_epoch``).
        3. Main model: head losses plus the adversarial loss with the
           *updated* classifier (from ``adv_loss.start_epoch``), one
           backward, step of ``optim_wrapper['model']``.

        Args:
            data (dict): a batch from the dataloader.
            optim_wrapper (OptimWrapperDict): keys ``'model'`` and
                ``'clothes_classifier'``.
            model_wrapper (nn.Module, optional): a DDP wrapper of this model;
                the forward runs through it (so DDP averages the main
                gradients) and its ``no_sync`` serves gradient
                accumulation. None: this model.
            sync_grads (callable, optional): averages the clothes
                classifier's gradients over ranks (called before its step).
                None: single process.

        Returns:
            dict[str, torch.Tensor]: logged losses, ``loss_clothes`` and
            ``acc_clothes`` included.

        Example:
            >>> logs = model.cal_train_step(batch, OptimWrapperDict(
            ...     model=main_wrapper, clothes_classifier=clothes_wrapper))
        """
        if self.clothes_classifier is None:
            raise TypeError('ReIDModel got an OptimWrapperDict but has no '
                            'clothes_classifier; use a single optim_wrapper')
        for key in ('model', 'clothes_classifier'):
            if key not in optim_wrapper:
                raise KeyError(f'CAL training needs optim_wrapper keys '
                               f"'model' and 'clothes_classifier', got "
                               f'{list(optim_wrapper.keys())}')
        wrapped = self if model_wrapper is None else model_wrapper
        main = optim_wrapper['model']
        clothes = optim_wrapper['clothes_classifier']
        epoch = self.current_epoch
        with main.optim_context(wrapped):
            data = self.data_preprocessor(data, True)
            labels = data['labels']
            losses, cfeat = wrapped(**data, mode='cal')
        # 1) the clothes classifier, on detached features, its own optimiser
        with clothes.optim_context(self.clothes_classifier):
            clo = self.clothes_classifier.loss_clothes(cfeat.detach(), labels)
        if epoch >= self.clothes_classifier.start_epoch:
            update_params(clothes, clo['loss_clothes'], before_step=sync_grads)
        # 2) the model: identity losses + CAL with the updated classifier
        if epoch >= self.clothes_classifier.adv_loss.start_epoch:
            with main.optim_context(wrapped):
                losses.update(
                    self.clothes_classifier.loss_adversarial(cfeat, labels))
        parsed, log_vars = self.parse_losses(losses)
        main.update_params(parsed)
        log_vars['loss_clothes'] = clo['loss_clothes'].detach()
        log_vars['acc_clothes'] = clo['acc_clothes']
        return log_vars
