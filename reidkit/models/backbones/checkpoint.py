"""Loading pretrained backbone weights from a local file, with key remapping.

Nothing here downloads: a local path is read with
``torch.load(..., weights_only=True)``; hub ids are handled by the wrappers
(timm / mmengine) only when a config names one and the model is built.
"""
from __future__ import annotations

import logging
import math
import os
import os.path as osp
import pickle
from typing import Dict, Iterable, Optional

import torch
import torch.nn.functional as F
from torch import nn

from ...utils.cli import ReIDInputError

logger = logging.getLogger('reidkit')

#: prefixes that training frameworks put in front of backbone keys
STRIP_PREFIXES = ('module.', 'backbone.', 'model.', 'base.', 'encoder.')
#: classifier keys of ImageNet checkpoints (torchvision, IBN-Net, timm,
#: mmpretrain)
DROP_PREFIXES = ('fc.', 'head.', 'classifier.', 'last_linear.', 'head.fc.')


class CheckpointError(ReIDInputError, ValueError):
    """A checkpoint that cannot be read safely, or does not fit the model."""


def safe_load(filename: str, map_location='cpu'):
    """``torch.load(filename, weights_only=True)``, with one clear error.

    ``weights_only=True`` is passed explicitly, so the environment
    (``TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD=1``) cannot turn the safe unpickler
    off: a pickle that would run code is refused, never executed.

    Args:
        filename (str): a local checkpoint file.
        map_location: as for :func:`torch.load`.

    Raises:
        CheckpointError: an empty, truncated, corrupt or unsafe file.

    Example:
        >>> state = safe_load('work_dirs/x/epoch_1.pth')
    """
    if not osp.isfile(filename):
        raise FileNotFoundError(f'checkpoint not found: {filename}')
    if osp.getsize(filename) == 0:
        raise CheckpointError(f'{filename}: empty file (0 bytes), not a '
                              'checkpoint')
    try:
        return torch.load(filename, map_location=map_location,
                          weights_only=True)
    except pickle.UnpicklingError as exc:
        import re
        glob = re.search(r'GLOBAL ([\w.]+)', str(exc))
        detail = f'it asks to run {glob.group(1)}' if glob \
            else 'it is not a plain weights file'
        raise CheckpointError(
            f'{filename}: refused to load ({detail}); only tensors, numbers '
            'and mmengine '
            'training state are loaded') from exc
    except (RuntimeError, EOFError, ValueError, OSError, KeyError,
            AttributeError, IndexError) as exc:
        raise CheckpointError(
            f'{filename}: not a readable checkpoint (truncated or corrupt: '
            f'{type(exc).__name__}: {str(exc).splitlines()[0][:150] if str(exc) else "no data"})') from exc


def read_state_dict(path: str) -> Dict[str, torch.Tensor]:
    """Read a checkpoint file and return a flat ``name -> tensor`` dict.

    Accepts raw state dicts and ``{'state_dict': ...}`` / ``{'model': ...}``
    wrappers (mmengine, IBN-Net releases, DDP ``module.`` prefixes) and
    ``.safetensors`` files.
    """
    if not os.path.isfile(path):
        raise FileNotFoundError(
            f'pretrained checkpoint {path!r} does not exist. Download it '
            'yourself (see the comment next to `pretrained` in the config) '
            'or set pretrained=None.')
    if path.endswith('.safetensors'):
        from safetensors.torch import load_file
        sd = load_file(path)
    else:
        sd = safe_load(path)
    for key in ('state_dict', 'model', 'module'):
        if isinstance(sd, dict) and key in sd and isinstance(sd[key], dict):
            sd = sd[key]
    if not isinstance(sd, dict):
        raise ValueError(f'{path}: expected a state dict, got '
                         f'{type(sd).__name__}')
    out = {}
    for k, v in sd.items():
        if not isinstance(v, torch.Tensor):
            continue
        changed = True
        while changed:
            changed = False
            for p in STRIP_PREFIXES:
                if k.startswith(p):
                    k, changed = k[len(p):], True
        out[k] = v
    return out


def resize_pos_embed(pos_embed: torch.Tensor, new_grid, num_prefix: int = 1,
                     old_grid: Optional[Iterable[int]] = None
                     ) -> torch.Tensor:
    """Bicubic-resize a ViT ``(1, prefix + H*W, C)`` position embedding.

    The prefix (class) tokens are kept; the patch part is reshaped to its
    grid (square unless ``old_grid`` is given), interpolated to ``new_grid``
    (e.g. (16, 8) for 256x128 inputs with 16-pixel patches) and flattened.
    """
    prefix, grid = pos_embed[:, :num_prefix], pos_embed[:, num_prefix:]
    n, c = grid.shape[1], grid.shape[2]
    if old_grid is None:
        side = int(math.sqrt(n))
        if side * side != n:
            raise ValueError(f'resize_pos_embed: {n} patch positions are not '
                             'a square grid; pass old_grid')
        old_grid = (side, side)
    old_h, old_w = old_grid
    grid = grid.reshape(1, old_h, old_w, c).permute(0, 3, 1, 2)
    grid = F.interpolate(grid.float(), size=tuple(new_grid), mode='bicubic',
                         align_corners=False)
    grid = grid.permute(0, 2, 3, 1).reshape(1, -1, c).to(pos_embed.dtype)
    return torch.cat([prefix, grid], dim=1)


def load_backbone_weights(module: nn.Module, path: str,
                          key_map: Optional[Dict[str, str]] = None,
                          pos_embed_grid=None, num_prefix_tokens: int = 1,
                          ) -> Dict[str, list]:
    """Load a local checkpoint into ``module`` non-strictly, with remapping.

    Keys are stripped of wrapper prefixes (``module.``, ``backbone.``, ...),
    renamed by ``key_map`` (``{old_prefix: new_prefix}``, e.g. to load a
    torchvision stem into a two-stream model) and classifier keys dropped.
    Values of ``key_map`` may be lists (one key copied to several places).
    torchvision ResNets, the IBN-Net releases (``layer1.0.bn1.IN.weight``),
    timm and mmpretrain ResNets all use the same layer names, so they load
    into :class:`ResNetIBN` / timm / mmpretrain backbones directly. A ViT
    ``pos_embed`` of another grid is resized to ``pos_embed_grid``.

    Returns:
        dict: ``missing`` and ``unexpected`` key lists (also logged).
    """
    sd = read_state_dict(path)
    if key_map:
        remapped = {}
        for k, v in sd.items():
            targets = []
            for old, new in key_map.items():
                if k.startswith(old):
                    news = [new] if isinstance(new, str) else list(new)
                    targets += [n + k[len(old):] for n in news]
            for t in targets or [k]:
                remapped[t] = v
        sd = remapped
    own = module.state_dict()
    loaded, skipped = {}, []
    for k, v in sd.items():
        if k not in own:
            if not k.startswith(DROP_PREFIXES):
                skipped.append(k)
            continue
        if k.endswith('pos_embed') and v.shape != own[k].shape \
                and pos_embed_grid is not None:
            v = resize_pos_embed(v, pos_embed_grid, num_prefix_tokens)
        if v.shape != own[k].shape:
            skipped.append(f'{k} (shape {tuple(v.shape)} vs '
                           f'{tuple(own[k].shape)})')
            continue
        loaded[k] = v
    if not loaded:
        raise ValueError(f'{path}: no key matches {type(module).__name__} '
                         f'(checkpoint keys start {list(sd)[:5]}); is it the '
                         'right architecture?')
    result = module.load_state_dict(loaded, strict=False)
    missing = [k for k in result.missing_keys
               if not k.endswith('num_batches_tracked')]
    logger.info('loaded %d tensors from %s into %s; missing %d: %s; '
                'unused %d: %s', len(loaded), path, type(module).__name__,
                len(missing), missing[:10], len(skipped), skipped[:10])
    return dict(missing=missing, unexpected=skipped)


def is_local_path(pretrained: str) -> bool:
    """True for file paths (existing, or with a checkpoint suffix)."""
    return os.path.isfile(pretrained) or pretrained.endswith(
        ('.pth', '.pt', '.bin', '.safetensors', '.pth.tar', '.ckpt'))
