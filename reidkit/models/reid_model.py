"""``ReIDModel``: data preprocessor -> backbone -> neck -> head(s)."""
from __future__ import annotations

import copy
from typing import Dict, List, Optional, Sequence, Tuple

import torch
from mmengine.logging import MessageHub
from mmengine.model import BaseModel
from mmengine.optim import OptimWrapper, OptimWrapperDict
from torch import nn

from reidkit.registry import HEADS, MODELS
from reidkit.utils.grads import all_reduce_grads, update_params
from .data_preprocessor import collate_labels, uncollate


@MODELS.register_module()
class ReIDModel(BaseModel):
    """A re-ID model on mmengine's ``BaseModel``.

    ``forward(inputs, data_samples=None, mode='tensor', labels=None)``:

    - ``'loss'``: dict of scalar ``loss_*`` (weights applied) and ``acc_*``;
    - ``'predict'``: list of dicts, each input data sample plus ``feat``
      (1-D float tensor on CPU, the head's test feature);
    - ``'tensor'``: (B, D) test features.

    ``labels`` is the batched label dict of :class:`ReIDDataPreprocessor`;
    it is rebuilt from ``data_samples`` when not given. Backbones that
    declare ``label_keys`` (``modality`` for two-stream, ``domain`` for
    MixStyle) receive those labels in every mode.

    Loss weights are the ``loss_weight`` attributes of the loss modules,
    listed by :meth:`loss_modules` (name -> module) so hooks (``MALWHook``)
    can read and change them. Losses that switch on at an epoch read
    :attr:`current_epoch`.

    ``num_classes``: leave ``model.head.num_classes=None`` in a config and
    tools/train.py fills it from the train set's ``metainfo['num_pids']``;
    auxiliary heads inherit ``num_classes`` from the main head here.

    Training step and distributed training (the contract
    ``ReIDDistributedDataParallel`` relies on, for every subclass):
    :meth:`train_step` takes an optional ``model_wrapper``, the distributed
    wrapper whose forward the step runs (so its reducer averages the
    gradients it manages). A subclass may train some parameters outside
    that reducer (e.g. by a second backward pass) by naming them in
    :meth:`ddp_ignored_parameters`; the wrapper then leaves them alone and
    the model averages their gradients itself (:meth:`sync_ignored_grads`)
    before stepping. A model that steps several optimisers
    (``OptimWrapperDict``) overrides :meth:`train_step`; see
    :class:`~reidkit.models.cal.CALModel`.

    Args:
        backbone (dict): backbone config.
        neck (dict, optional): pooling neck config. Defaults to
            ``GlobalAvgPool``.
        head (dict): main head config (e.g. ``BNNeckHead``).
        aux_heads (list[dict], optional): ``AuxClassifierHead`` configs.
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
        self._backbone_label_keys = tuple(
            getattr(self.backbone, 'label_keys', ()))
        self._epoch: Optional[int] = None
        self.channels_last = channels_last
        if channels_last:
            self.to(memory_format=torch.channels_last)

    # ------------------------------------------------------------------ utils
    @property
    def current_epoch(self) -> int:
        """The epoch that epoch-scheduled losses compare with their start
        epochs: the value set by ``EpochToModelHook`` / :meth:`set_epoch`,
        else mmengine's message hub (``RuntimeInfoHook`` stores ``'epoch'``
        before every epoch)."""
        if self._epoch is not None:
            return self._epoch
        return int(MessageHub.get_current_instance().get_info('epoch', 0)
                   or 0)

    @current_epoch.setter
    def current_epoch(self, epoch: Optional[int]) -> None:
        self._epoch = None if epoch is None else int(epoch)

    def set_epoch(self, epoch: Optional[int]) -> None:
        """Fix :attr:`current_epoch` (None: read mmengine's message hub)."""
        self.current_epoch = epoch

    def loss_heads(self) -> List[nn.Module]:
        """The heads whose ``losses`` :meth:`loss_modules` lists: the main
        head and the auxiliary heads (a subclass adds its own)."""
        return [self.head] + list(self.aux_heads or [])

    def loss_modules(self) -> Dict[str, nn.Module]:
        """``{loss name: loss module}`` of every head (for weight hooks)."""
        out = {}
        for head in self.loss_heads():
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
    def _batch(inputs, data_samples, labels):
        """Check ``inputs``; per-sample dicts and the batched labels."""
        if isinstance(inputs, (list, tuple)):
            raise TypeError('ReIDModel.forward expects a stacked (B, 3, H, W)'
                            ' float tensor; pass the batch through '
                            'model.data_preprocessor first')
        data_samples = uncollate(data_samples, inputs.shape[0])
        if labels is None:
            labels = collate_labels(data_samples, inputs.device)
        return data_samples, labels

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
        data_samples, labels = self._batch(inputs, data_samples, labels)
        if mode == 'loss':
            return self.loss(inputs, labels)
        if mode == 'predict':
            return self.predict(inputs, data_samples, labels)
        if mode == 'tensor':
            _, pooled = self.extract_feat(inputs, labels)
            return self.head.predict(pooled)
        raise ValueError(f"mode must be 'loss', 'predict' or 'tensor', got "
                         f'{mode!r}')

    def head_losses(self, inputs, labels) -> Tuple[Dict[str, torch.Tensor],
                                                   Dict[str, torch.Tensor]]:
        """One forward: the losses of the main and auxiliary heads, and the
        main head's outputs (``forward_train``; e.g. ``post_bn``), so a
        subclass adds losses on them without a second forward (BN
        statistics update once per step)."""
        if 'pid' not in labels:
            raise KeyError("mode='loss' needs 'pid' in every data sample")
        feats, pooled = self.extract_feat(inputs, labels)
        outs = self.head.forward_train(pooled, labels)
        losses = dict(self.head.loss_from_outputs(outs, labels))
        for aux in self.aux_heads or []:
            losses.update(aux.loss(feats, labels))
        return losses, outs

    def loss(self, inputs, labels) -> Dict[str, torch.Tensor]:
        return self.head_losses(inputs, labels)[0]

    @torch.no_grad()
    def predict(self, inputs, data_samples=None, labels=None) -> List[dict]:
        _, pooled = self.extract_feat(inputs, labels)
        feats = self.head.predict(pooled).float().cpu()
        samples = data_samples or [{} for _ in range(len(feats))]
        if len(samples) != len(feats):
            raise ValueError(f'{len(samples)} data samples for {len(feats)} '
                             'images')
        return [dict(s, feat=f) for s, f in zip(samples, feats)]

    # ------------------------------------------------------------ train step
    def ddp_ignored_parameters(self) -> List[str]:
        """Names of the parameters a distributed wrapper must keep out of
        its reducer: this model averages their gradients itself
        (:meth:`sync_ignored_grads`). None here; a subclass that trains
        parameters by a separate backward pass names them (DDP's reducer
        allows one backward per forward).

        Returns:
            list[str]: full parameter names.

        Example:
            >>> model.ddp_ignored_parameters()
            []
        """
        return []

    def sync_ignored_grads(self) -> None:
        """Average the gradients of :meth:`ddp_ignored_parameters` over
        ranks (nothing to do in one process)."""
        own = dict(self.named_parameters())
        all_reduce_grads([own[n] for n in self.ddp_ignored_parameters()])

    def train_step(self, data, optim_wrapper: OptimWrapper,
                   model_wrapper: Optional[nn.Module] = None
                   ) -> Dict[str, torch.Tensor]:
        """One iteration with one optimiser: mmengine's ``train_step``, run
        through ``model_wrapper`` when given, and with the gradients of
        :meth:`ddp_ignored_parameters` averaged over ranks before the step.

        Args:
            data (dict): a batch from the dataloader.
            optim_wrapper (OptimWrapper): the optimiser wrapper.
            model_wrapper (nn.Module, optional): a distributed wrapper of
                this model (``ReIDDistributedDataParallel`` passes itself):
                the forward runs through it and its ``no_sync`` serves
                gradient accumulation. None: this model.

        Returns:
            dict[str, torch.Tensor]: the logged losses.

        Example:
            >>> logs = model.train_step(batch, optim_wrapper)
        """
        if isinstance(optim_wrapper, OptimWrapperDict):
            raise TypeError(
                f'{type(self).__name__} steps one OptimWrapper, got an '
                f'OptimWrapperDict with keys {list(optim_wrapper.keys())}; '
                'a model with several optimisers defines its own '
                'train_step (e.g. CALModel)')
        wrapped = self if model_wrapper is None else model_wrapper
        with optim_wrapper.optim_context(wrapped):
            data = self.data_preprocessor(data, True)
            losses = wrapped(**data, mode='loss')
        parsed, log_vars = self.parse_losses(losses)
        sync = self.sync_ignored_grads if self.ddp_ignored_parameters() \
            else None
        update_params(optim_wrapper, parsed, before_step=sync)
        return log_vars
