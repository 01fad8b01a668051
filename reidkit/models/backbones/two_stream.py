"""Two-stream ResNet-50 for visible-infrared re-ID, as AGW (Ye et al.,
"Deep Learning for Person Re-identification: A Survey and Outlook",
TPAMI 2021): modality-specific stems, shared ``layer1``-``layer4`` (last
stride 1) and non-local attention blocks."""
from __future__ import annotations

from typing import Optional, Sequence

import torch
from torch import nn

from reidkit.registry import MODELS
from .checkpoint import load_backbone_weights
from .resnet_ibn import ResNetIBN


class NonLocalBlock(nn.Module):
    """Non-local block with dot-product affinity normalised by N (AGW).

    ``z = W(f(x) g(x)) / N + x``, ``f = theta^T phi``, inter channels
    ``C / reduction``; ``W`` ends in a BN initialised to zero so a new block
    starts as the identity.
    """

    def __init__(self, channels: int, reduction: int = 2) -> None:
        super().__init__()
        inter = channels // reduction
        self.inter = inter
        self.g = nn.Conv2d(channels, inter, 1)
        self.theta = nn.Conv2d(channels, inter, 1)
        self.phi = nn.Conv2d(channels, inter, 1)
        self.W = nn.Sequential(nn.Conv2d(inter, channels, 1),
                               nn.BatchNorm2d(channels))
        nn.init.zeros_(self.W[1].weight)
        nn.init.zeros_(self.W[1].bias)

    def forward(self, x):
        b, _, h, w = x.shape
        g = self.g(x).flatten(2).transpose(1, 2)          # B, N, C'
        theta = self.theta(x).flatten(2).transpose(1, 2)  # B, N, C'
        phi = self.phi(x).flatten(2)                      # B, C', N
        f = theta @ phi / (h * w)
        y = (f @ g).transpose(1, 2).reshape(b, self.inter, h, w)
        return self.W(y) + x


@MODELS.register_module()
class TwoStreamResNet(nn.Module):
    """AGW's two-stream ResNet-50: visible and infrared stems, shared body.

    Samples are routed by their ``modality`` label (0 visible, 1 infrared),
    which ``ReIDModel`` passes because ``label_keys = ('modality',)``; a
    batch may mix both. Non-local blocks follow the last
    ``non_local[i]`` blocks of stage ``i`` (AGW: ``(0, 2, 3, 0)``).

    Args:
        depth (int): ResNet depth. Defaults to 50.
        last_stride (int): Defaults to 1.
        non_local (sequence[int]): blocks per stage. ``(0, 0, 0, 0)`` is
            the plain two-stream baseline.
        out_indices (sequence[int]): returned stages. Defaults to (3,).
        pretrained (str, optional): a local torchvision-style ResNet
            checkpoint; its stem is copied into both streams.

    Example:
        >>> net = TwoStreamResNet()
        >>> x, m = torch.randn(4, 3, 64, 32), torch.tensor([0, 1, 0, 1])
        >>> net(x, modality=m)[-1].shape
        torch.Size([4, 2048, 4, 2])
    """

    label_keys = ('modality',)

    def __init__(self, depth: int = 50, last_stride: int = 1,
                 non_local: Sequence[int] = (0, 2, 3, 0),
                 out_indices: Sequence[int] = (3,),
                 pretrained: Optional[str] = None) -> None:
        super().__init__()

        def stem():
            return nn.Sequential(nn.Conv2d(3, 64, 7, 2, 3, bias=False),
                                 nn.BatchNorm2d(64), nn.ReLU(inplace=True),
                                 nn.MaxPool2d(3, 2, 1))

        self.visible_stem = stem()
        self.infrared_stem = stem()
        self.base = ResNetIBN(depth=depth, ibn=(None,) * 4,
                              last_stride=last_stride,
                              out_indices=out_indices, with_stem=False)
        self.out_indices = tuple(out_indices)
        self.out_channels = self.base.out_channels
        self.num_features = self.base.num_features
        self.non_local = nn.ModuleDict()
        for i, n in enumerate(non_local):
            layer = getattr(self.base, f'layer{i + 1}')
            if n > len(layer):
                raise ValueError(f'TwoStreamResNet: {n} non-local blocks in '
                                 f'stage {i} with {len(layer)} blocks')
            for j in range(len(layer) - n, len(layer)):
                self.non_local[f'{i}_{j}'] = NonLocalBlock(256 * 2 ** i)
        for m in self.modules():
            if isinstance(m, nn.Conv2d) and m.weight.dim() == 4 \
                    and m.kernel_size == (7, 7):
                nn.init.kaiming_normal_(m.weight, mode='fan_out',
                                        nonlinearity='relu')
        if pretrained:
            load_backbone_weights(self, pretrained, key_map={
                'conv1.': ['visible_stem.0.', 'infrared_stem.0.'],
                'bn1.': ['visible_stem.1.', 'infrared_stem.1.'],
                'layer': ['base.layer']})

    def forward(self, x, modality: Optional[torch.Tensor] = None):
        if modality is None:
            modality = torch.zeros(x.shape[0], dtype=torch.long,
                                   device=x.device)
        ir = modality.to(x.device) == 1
        if bool(ir.all()):
            x = self.infrared_stem(x)
        elif not bool(ir.any()):
            x = self.visible_stem(x)
        else:
            vis_out = self.visible_stem(x[~ir])
            ir_out = self.infrared_stem(x[ir])
            out = vis_out.new_empty((x.shape[0],) + vis_out.shape[1:])
            out[~ir] = vis_out
            out[ir] = ir_out
            x = out
        outs = []
        for i in range(4):
            for j, block in enumerate(getattr(self.base, f'layer{i + 1}')):
                x = block(x)
                key = f'{i}_{j}'
                if key in self.non_local:
                    x = self.non_local[key](x)
            if i in self.out_indices:
                outs.append(x)
        return tuple(outs)
