"""The BNNeck head (Luo et al., bag of tricks) and the base class of heads.

A head owns its classifier and its losses. Each loss declares what it eats
(``input_type``: ``'logits'`` or ``'features'``) and which label it uses
(``label_key``), so a head is a config list::

    head=dict(type='BNNeckHead', in_channels=2048, num_classes=None,
              losses=[dict(type='CrossEntropyLoss', label_smoothing=0.1),
                      dict(type='TripletLoss', margin=0.3)])

``num_classes=None`` is filled before the model is built: tools/train.py sets
``model.head.num_classes`` from the training set's ``metainfo['num_pids']``
(``ReIDModel`` then copies it into auxiliary heads, ``CALModel`` into the
clothes head).
"""
from __future__ import annotations

import copy
from typing import Dict, Optional, Sequence

import torch
from torch import nn

from reidkit.registry import HEADS, LOSSES, MODELS


@MODELS.register_module()
class BNNeck(nn.BatchNorm1d):
    """BatchNorm1d between feature and classifier, bias frozen at 0 by default.

    Args:
        num_features (int): feature size.
        bias_frozen (bool): keep the shift at 0 (bag-of-tricks). True.

    Example:
        >>> BNNeck(16)(torch.randn(4, 16)).shape
        torch.Size([4, 16])
    """

    def __init__(self, num_features: int, bias_frozen: bool = True) -> None:
        super().__init__(num_features)
        nn.init.ones_(self.weight)
        nn.init.zeros_(self.bias)
        if bias_frozen:
            self.bias.requires_grad_(False)


class BaseReIDHead(nn.Module):
    """Builds and applies the losses; subclasses produce the outputs.

    ``forward_train(x, labels)`` returns a dict with ``logits`` and
    ``features`` (what feature losses consume); ``loss`` applies every loss
    to the matching output and names results ``loss_*`` (with
    ``loss_prefix``: ``loss_<prefix>_*``); ``predict`` gives the test feature.
    """

    def __init__(self, losses: Sequence[dict] = (), loss_prefix: str = ''
                 ) -> None:
        super().__init__()
        self.loss_prefix = loss_prefix
        self.losses = nn.ModuleList()
        names = set()
        for cfg in losses:
            loss = LOSSES.build(copy.deepcopy(cfg)) if isinstance(cfg, dict) \
                else cfg
            if not hasattr(loss, 'input_type'):
                raise TypeError(f'{type(self).__name__}: {type(loss).__name__}'
                                ' is not a reidkit loss (no input_type)')
            name = loss.loss_name
            if loss_prefix:
                name = f'loss_{loss_prefix}_{name[len("loss_"):]}' \
                    if name.startswith('loss_') else f'loss_{loss_prefix}'
            base, i = name, 1
            while name in names:  # two losses of one type: loss_ce, loss_ce_1
                name = f'{base}_{i}'
                i += 1
            names.add(name)
            loss.loss_name = name
            self.losses.append(loss)

    def forward_train(self, x, labels) -> Dict[str, torch.Tensor]:
        raise NotImplementedError

    def predict(self, x) -> torch.Tensor:
        raise NotImplementedError

    def forward(self, x):
        return self.predict(x)

    def loss(self, x, labels: Dict[str, torch.Tensor], **extra
             ) -> Dict[str, torch.Tensor]:
        return self.loss_from_outputs(self.forward_train(x, labels), labels,
                                      **extra)

    def loss_from_outputs(self, outs: Dict[str, torch.Tensor],
                          labels: Dict[str, torch.Tensor], **extra
                          ) -> Dict[str, torch.Tensor]:
        """The losses of :meth:`forward_train`'s outputs."""
        results = {}
        for loss in self.losses:
            if loss.input_type not in outs:
                raise KeyError(f'{type(self).__name__}: {type(loss).__name__}'
                               f' needs {loss.input_type!r}, this head gives '
                               f'{sorted(outs)}')
            if loss.label_key not in labels:
                raise KeyError(f'{type(loss).__name__} uses label '
                               f'{loss.label_key!r}, missing from the batch '
                               f'(have {sorted(labels)})')
            results[loss.loss_name] = loss(outs[loss.input_type],
                                           labels[loss.label_key], **extra)
        if 'logits' in outs and 'pid' in labels:
            acc = (outs['logits'].detach().argmax(1) == labels['pid'])
            key = (f'acc_{self.loss_prefix}_id' if self.loss_prefix
                   else 'acc_id')
            results[key] = acc.float().mean()
        return results


def _build_classifier(cfg, in_channels, num_classes):
    cfg = dict(cfg or dict(type='LinearClassifier'))
    cfg.setdefault('in_channels', in_channels)
    cfg.setdefault('num_classes', num_classes)
    return HEADS.build(cfg)


@HEADS.register_module()
class BNNeckHead(BaseReIDHead):
    """Pooled feature -> [dropout] -> [BNNeck] -> classifier, with losses.

    Args:
        in_channels (int): pooled feature size (the neck's output).
        num_classes (int): identities; None only until tools fill it in.
        losses (list[dict]): loss configs (see :class:`ReIDLoss`).
        bnneck (bool): use the BNNeck. Defaults to True.
        bnneck_bias_frozen (bool): freeze the BNNeck shift. Defaults to True.
        classifier (dict): ``LinearClassifier`` (default) or
            ``CosineClassifier`` with a margin.
        metric_feat (str): feature for feature losses: ``'pre_bn'``
            (bag-of-tricks) or ``'post_bn'``. Defaults to ``'pre_bn'``.
        test_feat (str): evaluation feature, ``'post_bn'`` or ``'pre_bn'``.
            Defaults to ``'post_bn'`` (``'pre_bn'`` when bnneck is off).
        dropout (float): dropout before the classifier. Defaults to 0.
        loss_prefix (str): inserted into loss names (aux heads).

    Example:
        >>> head = BNNeckHead(16, 5, losses=[dict(type='CrossEntropyLoss')])
        >>> head.loss(torch.randn(4, 16), {'pid': torch.tensor([0, 1, 2, 3])})
    """

    def __init__(self, in_channels: int, num_classes: Optional[int] = None,
                 losses: Sequence[dict] = (dict(type='CrossEntropyLoss'),),
                 bnneck: bool = True, bnneck_bias_frozen: bool = True,
                 classifier: Optional[dict] = None,
                 metric_feat: str = 'pre_bn', test_feat: Optional[str] = None,
                 dropout: float = 0.0, loss_prefix: str = '') -> None:
        super().__init__(losses, loss_prefix)
        if num_classes is None:
            raise ValueError(
                f'{type(self).__name__}: num_classes is None. Set '
                'model.head.num_classes, or let tools/train.py fill it from '
                "the train dataset's metainfo['num_pids'].")
        for name, value in (('metric_feat', metric_feat),
                            ('test_feat', test_feat)):
            if value not in (None, 'pre_bn', 'post_bn'):
                raise ValueError(f"{type(self).__name__}: {name} must be "
                                 f"'pre_bn' or 'post_bn', got {value!r}")
        self.in_channels = in_channels
        self.num_classes = num_classes
        self.feat_dim = self._feat_dim()
        self.bnneck = BNNeck(self.feat_dim, bnneck_bias_frozen) if bnneck \
            else None
        self.dropout = nn.Dropout(dropout) if dropout > 0 else None
        self.classifier = _build_classifier(classifier, self.feat_dim,
                                            num_classes)
        self.metric_feat = metric_feat
        self.test_feat = test_feat or ('post_bn' if bnneck else 'pre_bn')
        if self.bnneck is None and 'post_bn' in (metric_feat, test_feat):
            raise ValueError(f"{type(self).__name__}: 'post_bn' needs "
                                 'bnneck=True')

    # subclasses transform the pooled feature first (multi-head attention)
    def _feat_dim(self) -> int:
        return self.in_channels

    def embed(self, x: torch.Tensor) -> torch.Tensor:
        return x

    def _check(self, x):
        if x.dim() != 2 or x.shape[1] != self.in_channels:
            raise ValueError(f'{type(self).__name__}: expected (B, '
                             f'{self.in_channels}) features, got '
                             f'{tuple(x.shape)}; check in_channels against '
                             "the neck's output")

    def forward_train(self, x, labels):
        self._check(x)
        feat = self.embed(x)
        bn = self.bnneck(feat) if self.bnneck is not None else feat
        cls_in = self.dropout(bn) if self.dropout is not None else bn
        logits = self.classifier(cls_in, labels.get('pid'))
        metric = bn if self.metric_feat == 'post_bn' else feat
        return dict(logits=logits, features=metric, pre_bn=feat, post_bn=bn)

    def predict(self, x):
        self._check(x)
        feat = self.embed(x)
        if self.test_feat == 'post_bn':
            return self.bnneck(feat)
        return feat


class _PReLUFC(nn.Sequential):
    """Linear + PReLU, the FC unit of GroupFace / the strong vehicle head."""

    def __init__(self, in_channels, out_channels):
        super().__init__(nn.Linear(in_channels, out_channels), nn.PReLU())


@HEADS.register_module()
class MultiHeadAttentionHead(BNNeckHead):
    """Multi-head attention head of the strong vehicle baseline (GroupFace).

    ``v = FC_inst(x)``; a group decision network
    ``p = softmax(FC(FC(v)))`` (hidden ``gdn_channels``) gates ``num_groups``
    group FCs: ``f = v + sum_k p_k FC_k(x)``; then BNNeck and classifier as
    in :class:`BNNeckHead` (each FC is Linear + PReLU, as the authors' code;
    the authors use 32 groups of 2048 channels and feed the post-BN
    feature to SupCon: ``metric_feat='post_bn'``).

    Args:
        feat_channels (int): size of the instance / group features. 2048.
        num_groups (int): number of group FCs. Defaults to 32.
        gdn_channels (int): hidden size of the decision network. 256.
        others: see :class:`BNNeckHead`.

    Example:
        >>> head = MultiHeadAttentionHead(in_channels=16, num_classes=5,
        ...                               feat_channels=8, num_groups=4)
        >>> head.predict(torch.randn(3, 16)).shape
        torch.Size([3, 8])
    """

    def __init__(self, in_channels: int, num_classes: Optional[int] = None,
                 feat_channels: int = 2048, num_groups: int = 32,
                 gdn_channels: int = 256, **kwargs) -> None:
        self._feat_channels = feat_channels
        super().__init__(in_channels, num_classes, **kwargs)
        self.instance_fc = _PReLUFC(in_channels, feat_channels)
        self.group_fcs = nn.ModuleList(
            [_PReLUFC(in_channels, feat_channels) for _ in range(num_groups)])
        self.gdn = nn.Sequential(_PReLUFC(feat_channels, gdn_channels),
                                 _PReLUFC(gdn_channels, num_groups))
        self.num_groups = num_groups

    def _feat_dim(self):
        return self._feat_channels

    def group_probs(self, instance: torch.Tensor) -> torch.Tensor:
        """Softmax over groups from the instance feature, (B, num_groups)."""
        return torch.softmax(self.gdn(instance), dim=1)

    def embed(self, x):
        instance = self.instance_fc(x)
        probs = self.group_probs(instance)
        groups = torch.stack([fc(x) for fc in self.group_fcs], dim=1)
        return instance + (probs.unsqueeze(2) * groups).sum(1)


@HEADS.register_module()
class AuxClassifierHead(nn.Module):
    """A head on an intermediate backbone output (Vehicle-Diff, GoogLeNet).

    Pools backbone output ``in_index`` with its own neck and applies a full
    head (usually the same losses as the main head; loss names get the
    ``aux`` prefix: ``loss_aux_ce``). Used only in training.

    Args:
        in_index (int): which backbone output (the backbone's ``out_indices``
            must include that stage). Defaults to -2.
        neck (dict): pooling neck. Defaults to ``GlobalAvgPool``.
        head (dict): head config; ``num_classes`` None is filled from the
            main head by ``ReIDModel``.
        loss_prefix (str): defaults to ``'aux'``.

    Example:
        >>> aux = AuxClassifierHead(in_index=0, head=dict(
        ...     type='BNNeckHead', in_channels=8, num_classes=3,
        ...     losses=[dict(type='CrossEntropyLoss')]))
        >>> aux.loss((torch.randn(2, 8, 4, 4),), {'pid': torch.tensor([0, 2])})
    """

    def __init__(self, head: dict, in_index: int = -2,
                 neck: Optional[dict] = None, loss_prefix: str = 'aux'
                 ) -> None:
        super().__init__()
        self.in_index = in_index
        self.neck = MODELS.build(dict(neck or dict(type='GlobalAvgPool')))
        head = dict(head)
        head.setdefault('loss_prefix', loss_prefix)
        self.head = HEADS.build(head)
        self.losses = self.head.losses

    def loss(self, feats: Sequence[torch.Tensor], labels, **extra):
        if not -len(feats) <= self.in_index < len(feats):
            raise IndexError(f'AuxClassifierHead: in_index={self.in_index} '
                             f'but the backbone gives {len(feats)} outputs; '
                             "add the stage to the backbone's out_indices")
        return self.head.loss(self.neck(feats[self.in_index]), labels,
                              **extra)
