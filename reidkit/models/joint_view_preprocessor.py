"""A data preprocessor that turns packed extra views into batch rows (CAJ's
joint learning of original and channel-augmented visible images)."""
from __future__ import annotations

from typing import Sequence

import numpy as np
import torch

from reidkit.registry import MODELS
from .data_preprocessor import ReIDDataPreprocessor, uncollate


@MODELS.register_module()
class JointViewDataPreprocessor(ReIDDataPreprocessor):
    """:class:`ReIDDataPreprocessor` that appends packed extra views.

    In training, every data sample whose ``key`` holds an image (an (H, W,
    3) uint8 array from :class:`ReIDJointChannelView`) adds one batch row:
    that image, with a copy of the sample's labels (CAJ: the batch becomes
    ``[visible, infrared, channel-augmented visible]`` and CE and the
    triplet loss see all rows). The key is dropped from every sample; at
    test time no row is added.

    Args:
        key (str): the data-sample key of the views. ``'joint_view'``.
        mean, std, channels_last, non_blocking: see
            :class:`ReIDDataPreprocessor`.

    Example:
        >>> pre = JointViewDataPreprocessor()
        >>> batch = dict(inputs=[torch.zeros(3, 4, 2, dtype=torch.uint8)] * 2,
        ...              data_samples=[
        ...                  dict(pid=0, modality=0,
        ...                       joint_view=np.zeros((4, 2, 3), np.uint8)),
        ...                  dict(pid=1, modality=1, joint_view=None)])
        >>> pre(batch, training=True)['labels']['pid'].tolist()
        [0, 1, 0]
    """

    def __init__(self, key: str = 'joint_view', mean: Sequence[float] = (
            123.675, 116.28, 103.53), std: Sequence[float] = (
            58.395, 57.12, 57.375), **kwargs) -> None:
        super().__init__(mean=mean, std=std, **kwargs)
        self.key = key

    def forward(self, data: dict, training: bool = False) -> dict:
        if not isinstance(data, dict) or 'inputs' not in data:
            return super().forward(data, training)
        inputs = list(data['inputs'])
        samples = uncollate(data.get('data_samples'), len(inputs))
        if samples is None:
            return super().forward(data, training)
        samples = [dict(s) for s in samples]
        extra_inputs, extra_samples = [], []
        for s in samples:
            view = s.pop(self.key, None)
            if training and view is not None:
                view = np.ascontiguousarray(np.asarray(view).transpose(2, 0, 1))
                extra_inputs.append(torch.from_numpy(view))
                extra_samples.append(dict(s))
        data = dict(data, inputs=inputs + extra_inputs,
                    data_samples=samples + extra_samples)
        return super().forward(data, training)
