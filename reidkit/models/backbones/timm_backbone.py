"""Any timm model as a re-ID backbone (ResNet, DenseNet, Swin-V2, ViT...)."""
from __future__ import annotations

import inspect
from typing import Optional, Sequence, Union

import torch
from torch import nn

from reidkit.registry import MODELS
from .checkpoint import is_local_path, load_backbone_weights


def set_last_stride_1(stage: nn.Module, name: str) -> None:
    """Turn the stride-2 convs / pools of a ResNet stage's first block into
    stride 1 (no dilation, as re-ID's "last stride 1")."""
    first = stage[0] if isinstance(stage, nn.Sequential) else stage
    changed = False
    for m in first.modules():
        if isinstance(m, (nn.Conv2d, nn.AvgPool2d)):
            stride = m.stride if isinstance(m.stride, tuple) else (m.stride,)
            if any(s == 2 for s in stride):
                m.stride = (1, 1) if isinstance(m, nn.Conv2d) else 1
                changed = True
    if not changed:
        raise ValueError(f'{name}: last_stride=1 found no stride-2 layer in '
                         'the last stage')


@MODELS.register_module()
class TimmBackbone(nn.Module):
    """Wraps ``timm.create_model(model_name, pretrained=False, ...)``.

    Returns a tuple of (B, C, H, W) maps (the last one the final features;
    Swin's NHWC output is permuted; for a ViT the last item is the (B, C)
    class token after the final norm, which the necks pass through).

    Args:
        model_name (str): timm name, e.g. ``'resnet50'``, ``'densenet121'``,
            ``'swinv2_base_window8_256'``, ``'vit_base_patch16_224'``.
        pretrained (str | bool, optional): None/False: random init (tests).
            A local file: loaded with ``weights_only=True`` and key
            remapping (torchvision keys, ViT ``pos_embed`` resized).
            True or ``'timm'``: timm's own weights for ``model_name``
            (downloaded by timm at build time); ``'hf-hub:org/name'``: that
            hub id. Nothing downloads unless a config asks for it.
        last_stride (int, optional): 1 makes ResNet-like ``layer4`` stride 1.
        out_indices (sequence[int]): ``-1`` is the final features; other
            values are timm ``feature_info`` indices (ResNet: 0 stem, 1-4
            layers; Swin: 0-3 stages) for auxiliary heads. Defaults to (-1,).
        img_size (tuple, optional): input size for ViT / Swin, e.g.
            (256, 128): the position-embedding grid is built (and a loaded
            checkpoint's grid interpolated) to it.
        **kwargs: passed to ``timm.create_model`` (e.g. ``drop_path_rate``).

    Example:
        >>> net = TimmBackbone('resnet18', last_stride=1)
        >>> net(torch.randn(1, 3, 64, 32))[-1].shape
        torch.Size([1, 512, 4, 2])
    """

    label_keys = ()

    def __init__(self, model_name: str,
                 pretrained: Union[None, bool, str] = None,
                 last_stride: Optional[int] = None,
                 out_indices: Sequence[int] = (-1,),
                 img_size: Optional[Sequence[int]] = None, **kwargs) -> None:
        super().__init__()
        import timm
        hub = False
        name = model_name
        if pretrained is True or pretrained == 'timm':
            hub = True
        elif isinstance(pretrained, str) and pretrained.startswith('hf-hub:'):
            hub, name = True, pretrained
        if img_size is not None:
            kwargs['img_size'] = tuple(img_size)
        self.model = timm.create_model(name, pretrained=hub, num_classes=0,
                                       global_pool='', **kwargs)
        if last_stride is not None and last_stride != 2:
            stage = getattr(self.model, 'layer4', None)
            if last_stride != 1 or stage is None:
                raise ValueError(f'TimmBackbone({model_name}): last_stride='
                                 f'{last_stride} is supported only as 1 on '
                                 'ResNet-like models (with layer4)')
            set_last_stride_1(stage, f'TimmBackbone({model_name})')
        if isinstance(pretrained, str) and not hub:
            if not is_local_path(pretrained):
                raise ValueError(
                    f"TimmBackbone: pretrained={pretrained!r} is neither a "
                    "local file nor True/'timm'/'hf-hub:...'")
            grid = getattr(getattr(self.model, 'patch_embed', None),
                           'grid_size', None)
            load_backbone_weights(
                self.model, pretrained, pos_embed_grid=grid,
                num_prefix_tokens=getattr(self.model, 'num_prefix_tokens', 1))
        self.out_indices = tuple(out_indices)
        self.num_features = self.model.num_features
        info = getattr(self.model, 'feature_info', None) or []
        self.out_channels = [
            self.num_features if i == -1 else info[i]['num_chs']
            for i in self.out_indices]
        self._fmt_kw = {}
        if any(i != -1 for i in self.out_indices):
            params = inspect.signature(
                self.model.forward_intermediates).parameters
            if 'output_fmt' in params:
                self._fmt_kw['output_fmt'] = 'NCHW'

    def _format_final(self, x: torch.Tensor) -> torch.Tensor:
        if x.dim() == 3:  # ViT tokens: the class token (or mean of patches)
            if getattr(self.model, 'num_prefix_tokens', 0) > 0:
                return x[:, 0]
            return x.mean(1)
        if getattr(self.model, 'output_fmt', 'NCHW') == 'NHWC':
            x = x.permute(0, 3, 1, 2)
        return x

    def forward(self, x):
        taps = [i for i in self.out_indices if i != -1]
        if not taps:
            return (self._format_final(self.model.forward_features(x)),)
        final, inter = self.model.forward_intermediates(
            x, indices=taps, **self._fmt_kw)
        by_index = dict(zip(taps, inter))
        by_index[-1] = self._format_final(final)
        return tuple(by_index[i] for i in self.out_indices)
