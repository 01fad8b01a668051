"""mmpretrain backbones (ResNet, ResNeXt, DenseNet, ...) as re-ID backbones."""
from __future__ import annotations

import copy
from typing import Optional

from torch import nn

from reidkit.registry import MODELS
from .checkpoint import is_local_path, load_backbone_weights


@MODELS.register_module()
class MMPretrainBackbone(nn.Module):
    """Builds ``arch`` from mmpretrain's registry (imported lazily).

    Args:
        arch (dict): an mmpretrain backbone config, e.g.
            ``dict(type='ResNet', depth=50, strides=(1, 2, 2, 1),
            out_indices=(3,))`` (last stride 1),
            ``dict(type='ResNeXt', depth=101, groups=32, width_per_group=4)``
            or ``dict(type='DenseNet', arch='121')``.
        pretrained (str, optional): a local checkpoint (torchvision-named
            ResNets load directly: mmpretrain uses the same layer names) or a
            URL / ``torchvision://resnet50`` handed to mmengine's
            ``load_checkpoint`` at build time. None: random init.
        out_channels (list[int], optional): channels of the outputs, for
            documentation and ``in_channels`` checks.

    Example:
        >>> net = MMPretrainBackbone(dict(type='ResNet', depth=18,
        ...                               out_indices=(3,)))
        >>> net(torch.randn(1, 3, 64, 32))[-1].shape
        torch.Size([1, 512, 2, 1])
    """

    label_keys = ()

    def __init__(self, arch: dict, pretrained: Optional[str] = None,
                 out_channels: Optional[list] = None) -> None:
        super().__init__()
        from synthgen.utils.compat import mmpretrain_without_broken_multimodal
        mmpretrain_without_broken_multimodal()  # pycocotools + transformers 5
        import mmpretrain.models  # noqa: F401  (fills mmpretrain's registry)
        from mmpretrain.registry import MODELS as MMPRETRAIN_MODELS
        arch = copy.deepcopy(arch)
        # build in mmpretrain's scope even when the default scope is reidkit
        arch.setdefault('_scope_', 'mmpretrain')
        self.model = MMPRETRAIN_MODELS.build(arch)
        # apply the backbone's own init_cfg now: mmengine's Runner does not
        # reach modules below this plain nn.Module
        self.model.init_weights()
        self.out_channels = out_channels
        if pretrained:
            if is_local_path(pretrained):
                load_backbone_weights(self.model, pretrained)
            else:
                from mmengine.runner import load_checkpoint
                load_checkpoint(self.model, pretrained, map_location='cpu',
                                strict=False, revise_keys=[(r'^backbone\.',
                                                            '')])

    def forward(self, x):
        out = self.model(x)
        return tuple(out) if isinstance(out, (tuple, list)) else (out,)
