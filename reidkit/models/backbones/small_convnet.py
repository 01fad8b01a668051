"""A small conv net for toy-world ablations (e.g. 32x16 images, trained from scratch).

First written for the AOST toy ablation's IDE.

Why not ResNet-18: at 32x16 a ResNet's 32x downsampling leaves a 2x1 map
after ``layer3`` and 1x1 after ``layer4``, and trained from scratch on the toy
target's own 216 training images for 30 epochs it reached 10.4 % mAP on the
target's test split (chance: 6.5 %, raw pixels: 18.6 %) while this net
reached 41.6 % in an eighth of the CPU time (``plugins/aost/README.md``,
"Toy diagnosis"). Paper configs keep their papers' backbones; only toy
configs swap in this one.
"""
from __future__ import annotations

from typing import Sequence

import torch.nn as nn

from reidkit.registry import MODELS


@MODELS.register_module()
class SmallConvNet(nn.Module):
    """``len(channels)`` blocks of 3x3 conv + BN + ReLU, a 2x2 max-pool after
    every block but the last; returns a one-item tuple of (B, C, H/8, W/8)
    maps like :class:`reidkit.models.backbones.TimmBackbone`.

    Args:
        channels (Sequence[int]): output channels per block.
        in_channels (int): input channels (3).

    Example:
        >>> import torch
        >>> net = SmallConvNet(channels=(8, 16))
        >>> net(torch.zeros(2, 3, 32, 16))[-1].shape
        torch.Size([2, 16, 16, 8])
    """

    label_keys = ()

    def __init__(self, channels: Sequence[int] = (32, 64, 128, 256),
                 in_channels: int = 3):
        super().__init__()
        layers, c = [], in_channels
        for i, out in enumerate(channels):
            layers += [nn.Conv2d(c, out, 3, 1, 1, bias=False),
                       nn.BatchNorm2d(out), nn.ReLU(inplace=True)]
            if i < len(channels) - 1:
                layers.append(nn.MaxPool2d(2))
            c = out
        self.body = nn.Sequential(*layers)
        self.num_features = c
        self.out_channels = [c]

    def forward(self, x):
        return (self.body(x),)
