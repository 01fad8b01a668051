"""Batching, normalisation and label collation for re-ID models."""
from __future__ import annotations

from typing import Dict, List, Mapping, Optional, Sequence

import torch
from mmengine.model import ImgDataPreprocessor

from reidkit.registry import MODELS

#: int keys of a data sample turned into batched label tensors, with the
#: value used when a sample lacks the key
LABEL_KEYS = {'pid': None, 'camid': -1, 'clothes_id': -1, 'modality': 0,
              'domain': 0, 'track_id': -1}


def collate_labels(data_samples: Optional[Sequence[dict]],
                   device=None) -> Dict[str, torch.Tensor]:
    """``[{'pid': 3, ...}, ...]`` -> ``{'pid': LongTensor(B), ...}``.

    Keys missing from every sample are left out; a key present in some
    samples only takes the default of :data:`LABEL_KEYS` (``pid`` has none
    and must then be in all of them).
    """
    if not data_samples:
        return {}
    labels = {}
    for key, default in LABEL_KEYS.items():
        present = [key in s for s in data_samples]
        if not any(present):
            continue
        if default is None and not all(present):
            i = present.index(False)
            raise KeyError(f'data_samples[{i}] has no {key!r} while others '
                           'do')
        values = []
        for i, s in enumerate(data_samples):
            v = s.get(key, default)
            if isinstance(v, torch.Tensor):
                v = v.item()
            if not isinstance(v, (int, bool)) and not (
                    hasattr(v, 'dtype') and 'int' in str(v.dtype)):
                raise TypeError(f'data_samples[{i}][{key!r}] must be an int, '
                                f'got {type(v).__name__}')
            values.append(int(v))
        labels[key] = torch.tensor(values, dtype=torch.long, device=device)
    return labels


def uncollate(samples, n: int) -> List[dict]:
    """Turn mmengine ``pseudo_collate``'s dict of lists back into a list of
    per-sample dicts (nested dicts such as ``attributes`` included).

    ``pseudo_collate`` collates a list of dicts key by key, so the
    ``data_samples`` dicts of ``PackReIDInputs`` arrive as
    ``{'pid': [..], 'camid': [..], ...}``; a list of dicts passes unchanged.
    """
    if samples is None or isinstance(samples, list) and (
            not samples or isinstance(samples[0], Mapping)):
        return samples
    if not isinstance(samples, Mapping):
        raise TypeError('data_samples must be a list of dicts or a dict of '
                        f'per-sample lists, got {type(samples).__name__}')

    def column(value, key):
        if isinstance(value, Mapping):
            return uncollate(value, n)
        if isinstance(value, (list, tuple)) or (
                isinstance(value, torch.Tensor) and value.dim() > 0):
            if len(value) != n:
                raise ValueError(f'data_samples[{key!r}] has {len(value)} '
                                 f'entries for {n} images')
            return list(value)
        raise TypeError(f'data_samples[{key!r}]: expected one value per '
                        f'image, got {type(value).__name__}')

    columns = {k: column(v, k) for k, v in samples.items()}
    return [{k: col[i] for k, col in columns.items()} for i in range(n)]


@MODELS.register_module()
class ReIDDataPreprocessor(ImgDataPreprocessor):
    """Stack uint8 RGB images, normalise, and collate the labels.

    Input (mmengine ``pseudo_collate``): ``inputs`` a list of uint8 CHW RGB
    tensors of one size (or an already stacked (B, 3, H, W) tensor),
    ``data_samples`` a list of dicts, or the dict of per-sample lists that
    ``pseudo_collate`` actually makes of the packed dicts (turned back into
    a list of dicts, see :func:`uncollate`). Output:
    ``dict(inputs=float (B, 3, H, W), data_samples=<the same list>,
    labels={'pid': LongTensor, 'camid': ..., 'clothes_id': ...,
    'modality': ..., 'domain': ...})`` (keys present in the samples only).

    Args:
        mean (sequence[float]): per-channel mean, 0-255 units. ImageNet.
        std (sequence[float]): per-channel std, 0-255 units. ImageNet.
        channels_last (bool): return inputs in channels_last memory format
            (faster convolutions with AMP on GPU). Defaults to False.
        non_blocking (bool): non-blocking host-to-device copies.

    Example:
        >>> pre = ReIDDataPreprocessor()
        >>> batch = dict(inputs=[torch.zeros(3, 8, 4, dtype=torch.uint8)],
        ...              data_samples=[dict(pid=1, camid=2)])
        >>> pre(batch)['labels']['pid']
        tensor([1])
    """

    def __init__(self, mean: Sequence[float] = (123.675, 116.28, 103.53),
                 std: Sequence[float] = (58.395, 57.12, 57.375),
                 channels_last: bool = False, non_blocking: bool = False
                 ) -> None:
        super().__init__(mean=mean, std=std, pad_size_divisor=1,
                         bgr_to_rgb=False, rgb_to_bgr=False,
                         non_blocking=non_blocking)
        self.channels_last = channels_last

    def forward(self, data: dict, training: bool = False) -> dict:
        if not isinstance(data, dict) or 'inputs' not in data:
            raise TypeError('ReIDDataPreprocessor expects a dict with '
                            "'inputs' (and 'data_samples'), as mmengine's "
                            'pseudo_collate makes')
        inputs = data['inputs']
        if isinstance(inputs, (list, tuple)):
            shapes = {tuple(t.shape) for t in inputs}
            if len(shapes) != 1 or len(next(iter(shapes))) != 3:
                raise ValueError('ReIDDataPreprocessor: inputs must be CHW '
                                 f'tensors of one size, got shapes {shapes}; '
                                 'resize in the pipeline')
            channels = next(iter(shapes))[0]
        else:
            channels = inputs.shape[1] if inputs.dim() == 4 else None
        if channels != 3:
            first = inputs[0] if isinstance(inputs, (list, tuple)) else inputs
            raise ValueError('ReIDDataPreprocessor: expected 3-channel RGB '
                             'images (CHW or BCHW), got inputs of shape '
                             f'{tuple(first.shape)}')
        n = len(inputs) if isinstance(inputs, (list, tuple)) \
            else inputs.shape[0]
        samples = uncollate(data.get('data_samples'), n)
        # One stack and one copy of the uint8 batch, then an in-place
        # normalise: mmengine's per-image path costs 64 copies and ~320
        # small kernels per batch of 64 (and pads, which we never need).
        x = torch.stack(list(inputs)) if isinstance(inputs, (list, tuple)) \
            else inputs
        if self.channels_last:
            x = x.contiguous(memory_format=torch.channels_last)
        x = x.to(self.device, non_blocking=self._non_blocking).float()
        x = x.sub_(self.mean).div_(self.std)
        return dict(inputs=x, data_samples=samples,
                    labels=collate_labels(samples, x.device))
