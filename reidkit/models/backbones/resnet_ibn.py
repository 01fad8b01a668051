"""ResNet / ResNeXt with IBN-a (Pan et al., "Two at Once: Enhancing Learning
and Generalization Capacities via IBN-Net", ECCV 2018).

IBN-a replaces the BN after the first 1x1 conv of every bottleneck in
``layer1``-``layer3`` by IBN: InstanceNorm (affine) on the first half of
the channels, BatchNorm on the rest; ``layer4`` and the stem stay plain BN.
Layer names follow torchvision and the IBN-Net release
(``layer1.0.bn1.IN.weight``), so both checkpoints load without renaming.
"""
from __future__ import annotations

from typing import Optional, Sequence

import torch
from torch import nn

from reidkit.registry import MODELS
from .checkpoint import load_backbone_weights


class IBN(nn.Module):
    """Instance-batch normalisation: IN on ``int(C * ratio)`` channels, BN
    on the rest.

    Args:
        channels (int): input channels.
        ratio (float): fraction normalised by IN. Defaults to 0.5.
    """

    def __init__(self, channels: int, ratio: float = 0.5) -> None:
        super().__init__()
        self.half = int(channels * ratio)
        self.IN = nn.InstanceNorm2d(self.half, affine=True)
        self.BN = nn.BatchNorm2d(channels - self.half)

    def forward(self, x):
        a, b = torch.split(x, [self.half, x.shape[1] - self.half], dim=1)
        return torch.cat([self.IN(a.contiguous()), self.BN(b.contiguous())],
                         dim=1)


class Bottleneck(nn.Module):
    """torchvision-style bottleneck (stride on the 3x3 conv), optional IBN."""

    expansion = 4

    def __init__(self, inplanes, planes, stride=1, downsample=None,
                 groups=1, width_per_group=64, ibn=None):
        super().__init__()
        width = int(planes * (width_per_group / 64.0)) * groups
        self.conv1 = nn.Conv2d(inplanes, width, 1, bias=False)
        self.bn1 = IBN(width) if ibn == 'a' else nn.BatchNorm2d(width)
        self.conv2 = nn.Conv2d(width, width, 3, stride, 1, groups=groups,
                               bias=False)
        self.bn2 = nn.BatchNorm2d(width)
        self.conv3 = nn.Conv2d(width, planes * 4, 1, bias=False)
        self.bn3 = nn.BatchNorm2d(planes * 4)
        self.relu = nn.ReLU(inplace=True)
        self.downsample = downsample

    def forward(self, x):
        identity = x if self.downsample is None else self.downsample(x)
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.relu(self.bn2(self.conv2(out)))
        out = self.bn3(self.conv3(out))
        return self.relu(out + identity)


@MODELS.register_module()
class ResNetIBN(nn.Module):
    """ResNet-50/101/152 or ResNeXt with optional IBN-a, for re-ID.

    Args:
        depth (int): 50, 101 or 152.
        ibn (sequence): per stage ``'a'`` or None. Defaults to IBN-a
            ``('a', 'a', 'a', None)``; ``(None,) * 4`` is a plain ResNet.
        groups (int): ResNeXt cardinality (32 for ResNeXt-101 32x4d).
        width_per_group (int): ResNeXt base width (4 for 32x4d; 64 ResNet).
        last_stride (int): stride of ``layer4`` (1 for re-ID). Defaults 1.
        out_indices (sequence[int]): stages (0-3) whose outputs are returned
            (a tuple, last = deepest). Defaults to (3,).
        pretrained (str, optional): local checkpoint (torchvision / IBN-Net
            release / timm); never downloaded.
        with_stem (bool): build conv1/bn1 (False for two-stream models).

    Example:
        >>> net = ResNetIBN(depth=50)
        >>> net(torch.randn(1, 3, 64, 32))[-1].shape
        torch.Size([1, 2048, 4, 2])
    """

    arch_settings = {50: (3, 4, 6, 3), 101: (3, 4, 23, 3), 152: (3, 8, 36, 3)}
    label_keys = ()

    def __init__(self, depth: int = 50,
                 ibn: Sequence[Optional[str]] = ('a', 'a', 'a', None),
                 groups: int = 1, width_per_group: int = 64,
                 last_stride: int = 1, out_indices: Sequence[int] = (3,),
                 pretrained: Optional[str] = None, with_stem: bool = True
                 ) -> None:
        super().__init__()
        if depth not in self.arch_settings:
            raise ValueError(f'ResNetIBN: depth must be one of '
                             f'{sorted(self.arch_settings)}, got {depth}')
        if len(ibn) != 4 or any(v not in (None, 'a') for v in ibn):
            raise ValueError("ResNetIBN: ibn must be 4 entries of 'a' or None"
                             f', got {ibn}')
        self.groups, self.width_per_group = groups, width_per_group
        self.out_indices = tuple(out_indices)
        self.inplanes = 64
        if with_stem:
            self.conv1 = nn.Conv2d(3, 64, 7, 2, 3, bias=False)
            self.bn1 = nn.BatchNorm2d(64)
            self.relu = nn.ReLU(inplace=True)
            self.maxpool = nn.MaxPool2d(3, 2, 1)
        self.with_stem = with_stem
        blocks = self.arch_settings[depth]
        strides = (1, 2, 2, last_stride)
        for i, (n, s) in enumerate(zip(blocks, strides)):
            setattr(self, f'layer{i + 1}',
                    self._make_layer(64 * 2 ** i, n, s, ibn[i]))
        self.out_channels = [256 * 2 ** i for i in self.out_indices]
        self.num_features = 2048
        self._init_weights()
        if pretrained:
            load_backbone_weights(self, pretrained)

    def _make_layer(self, planes, blocks, stride, ibn):
        downsample = None
        if stride != 1 or self.inplanes != planes * 4:
            downsample = nn.Sequential(
                nn.Conv2d(self.inplanes, planes * 4, 1, stride, bias=False),
                nn.BatchNorm2d(planes * 4))
        layers = [Bottleneck(self.inplanes, planes, stride, downsample,
                             self.groups, self.width_per_group, ibn)]
        self.inplanes = planes * 4
        layers += [Bottleneck(self.inplanes, planes, 1, None, self.groups,
                              self.width_per_group, ibn)
                   for _ in range(1, blocks)]
        return nn.Sequential(*layers)

    def _init_weights(self):
        for m in self.modules():
            if isinstance(m, nn.Conv2d):
                nn.init.kaiming_normal_(m.weight, mode='fan_out',
                                        nonlinearity='relu')
            elif isinstance(m, (nn.BatchNorm2d, nn.InstanceNorm2d)) \
                    and m.weight is not None:
                nn.init.ones_(m.weight)
                nn.init.zeros_(m.bias)

    def stem(self, x):
        return self.maxpool(self.relu(self.bn1(self.conv1(x))))

    def forward_stages(self, x):
        outs = []
        for i in range(4):
            x = getattr(self, f'layer{i + 1}')(x)
            if i in self.out_indices:
                outs.append(x)
        return tuple(outs)

    def forward(self, x):
        return self.forward_stages(self.stem(x))
