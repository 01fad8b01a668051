"""Channel augmentation for visible-infrared re-ID (CAJ: Ye et al., "Channel
Augmentation for Visible-Infrared Re-Identification", TPAMI 2023; written
from the copy of the authors' code in BorgDiven/DiVE
``Re-ID_model/CAJ/ChannelAug.py`` and ``data_loader.py``).

- :class:`ReIDChannelExchange`: replace the image by one of its channels
  (or its grey level), optionally only for one modality;
- :class:`ReIDJointChannelView`: a second, channel-augmented view of a
  visible image for CAJ's joint learning, packed next to the first and
  turned into an extra batch row by :class:`JointViewDataPreprocessor`.

CAJ's "channel-level random erasing" (``ChannelRandomErasing``) is random
erasing with a per-channel constant fill, ``sl=0.02, sh=0.4, r1=0.3``: that
is :class:`ReIDRandomErasing` with its defaults (``fill='mean'``).

The authors apply these on the *normalised* tensor; here they act on the
uint8 image before normalisation, so a copied channel keeps its pixel
values and is normalised with the target channel's mean and std (a shift of
under 0.1 std with ImageNet statistics).
"""
from __future__ import annotations

import copy
from typing import Optional, Sequence

import numpy as np
from mmcv.transforms import BaseTransform

from reidkit.registry import TRANSFORMS

#: ITU-R 601 luma weights the authors use for the grey option
GRAY_WEIGHTS = (0.2989, 0.5870, 0.1140)

#: CAJ's choices: the visible joint view (``ChannelExchange(gray=2)``) and
#: the infrared images (``ChannelAdapGray(probability=0.5)``); order R, G, B,
#: grey, unchanged
CAJ_VISIBLE_PROBS = (1 / 3, 1 / 3, 1 / 3, 0.0, 0.0)
CAJ_INFRARED_PROBS = (0.25, 0.25, 0.25, 0.125, 0.125)


def channel_exchange(img: np.ndarray, choice: int) -> np.ndarray:
    """``img`` (H, W, 3) with every channel set to channel ``choice`` (0-2),
    to its grey level (3) or unchanged (4)."""
    if choice == 4:
        return img
    if choice == 3:
        grey = img[..., :3].astype(np.float64) @ np.asarray(GRAY_WEIGHTS)
        one = np.clip(np.round(grey), 0, 255).astype(img.dtype)
    else:
        one = img[..., choice]
    return np.repeat(one[..., None], 3, axis=2)


@TRANSFORMS.register_module()
class ReIDChannelExchange(BaseTransform):
    """Random channel exchange: R, G or B copied to all channels, or grey.

    Args:
        probs (sequence[float]): probabilities of R, G, B, grey, unchanged
            (sum 1). Defaults to CAJ's visible joint view (1/3 each of R, G,
            B); CAJ's infrared images use ``CAJ_INFRARED_PROBS`` (1/4 each
            of R, G, B, 1/8 grey, 1/8 unchanged).
        modality (int, optional): only samples with this ``modality`` (0
            visible, 1 infrared); None: every sample.

    Example:
        >>> t = ReIDChannelExchange(probs=(1, 0, 0, 0, 0))
        >>> img = np.arange(12, dtype=np.uint8).reshape(2, 2, 3)
        >>> t(dict(img=img))['img'][0, 0].tolist()
        [0, 0, 0]
    """

    def __init__(self, probs: Sequence[float] = CAJ_VISIBLE_PROBS,
                 modality: Optional[int] = None) -> None:
        probs = np.asarray(probs, dtype=np.float64)
        if probs.shape != (5,) or (probs < 0).any() or \
                abs(probs.sum() - 1) > 1e-6:
            raise ValueError('ReIDChannelExchange: probs must be 5 '
                             'non-negative numbers (R, G, B, grey, unchanged) '
                             f'summing to 1, got {probs.tolist()}')
        if modality not in (None, 0, 1):
            raise ValueError('ReIDChannelExchange: modality must be None, 0 '
                             f'or 1, got {modality!r}')
        self.probs = probs / probs.sum()
        self.modality = modality

    def transform(self, results: dict) -> dict:
        if self.modality is not None and \
                int(results.get('modality', 0)) != self.modality:
            return results
        img = results.get('img')
        if img is None or img.ndim != 3 or img.shape[2] != 3:
            raise KeyError("ReIDChannelExchange: results['img'] must be an "
                           '(H, W, 3) image; put LoadReIDImage first')
        choice = int(np.random.choice(5, p=self.probs))
        results['img'] = channel_exchange(img, choice)
        return results

    def __repr__(self) -> str:
        return (f'{type(self).__name__}(probs={self.probs.round(4).tolist()},'
                f' modality={self.modality})')


@TRANSFORMS.register_module()
class ReIDJointChannelView(BaseTransform):
    """CAJ's joint view: a channel-augmented copy of a visible image.

    For samples of ``modality`` (default visible) the ``transforms`` run on
    a copy of the results and the resulting image is stored under ``key``
    (others get None); the main image goes on unchanged. Add ``key`` to
    :class:`PackReIDInputs`' ``meta_keys``; :class:`JointViewDataPreprocessor`
    then appends the views to the training batch with the labels of their
    source images. CAJ draws both views from the source image with their
    own crop and flip; put this transform after the crop and flip to share
    them (the authors' erasing and channel exchange stay independent).

    Args:
        transforms (list[dict]): the view's transforms. Defaults to CAJ's:
            ``ReIDRandomErasing`` then ``ReIDChannelExchange`` (R, G or B).
        modality (int): which samples get a view. Defaults to 0.
        key (str): results key of the view. Defaults to ``'joint_view'``.

    Example:
        >>> t = ReIDJointChannelView()
        >>> out = t(dict(img=np.zeros((8, 4, 3), np.uint8), modality=0))
        >>> out['joint_view'].shape
        (8, 4, 3)
    """

    def __init__(self, transforms: Optional[Sequence[dict]] = None,
                 modality: int = 0, key: str = 'joint_view') -> None:
        if transforms is None:
            transforms = [dict(type='ReIDRandomErasing', prob=0.5),
                          dict(type='ReIDChannelExchange')]
        self.transforms = [TRANSFORMS.build(copy.deepcopy(t))
                           if isinstance(t, dict) else t for t in transforms]
        self.modality = int(modality)
        self.key = key

    def transform(self, results: dict) -> dict:
        if int(results.get('modality', 0)) != self.modality:
            results[self.key] = None
            return results
        view = dict(results)
        view['img'] = results['img'].copy()
        for t in self.transforms:
            view = t(view)
        results[self.key] = view['img']
        return results
