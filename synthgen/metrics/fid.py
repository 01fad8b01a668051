"""Fréchet Inception Distance (torchmetrics) with a local Inception weight file."""
from __future__ import annotations

import os.path as osp
from typing import Any, Iterable, Optional, Sequence

import numpy as np
import torch
from PIL import Image

from synthgen.utils.image import read_rgb

__all__ = ['FID', 'compute_fid', 'frechet_distance', 'INCEPTION_WEIGHTS_URL']

#: The FID Inception-v3 weights in the format torchmetrics / torch-fidelity load.
INCEPTION_WEIGHTS_URL = ('https://github.com/toshas/torch-fidelity/releases/'
                         'download/v0.2.0/weights-inception-2015-12-05-'
                         '6726825d.pth')


def frechet_distance(mu1, sigma1, mu2, sigma2) -> float:
    """Closed form ``|mu1-mu2|^2 + tr(S1 + S2 - 2 (S1 S2)^(1/2))`` (numpy/scipy)."""
    from scipy import linalg
    mu1, mu2 = np.atleast_1d(mu1), np.atleast_1d(mu2)
    sigma1, sigma2 = np.atleast_2d(sigma1), np.atleast_2d(sigma2)
    covmean, _ = linalg.sqrtm(sigma1 @ sigma2, disp=False)
    covmean = np.real(covmean)
    diff = mu1 - mu2
    return float(diff @ diff + np.trace(sigma1) + np.trace(sigma2)
                 - 2 * np.trace(covmean))


def _to_uint8_nchw(images: Iterable[Any], size=None) -> torch.Tensor:
    out = []
    for im in images:
        if isinstance(im, str):
            im = Image.fromarray(read_rgb(im))
        if isinstance(im, Image.Image):
            im = im.convert('RGB')
            if size is not None:
                im = im.resize(size, Image.BILINEAR)
            im = np.asarray(im)
        elif isinstance(im, torch.Tensor):
            out.append(im.to(torch.uint8) if im.dim() == 3 else im)
            continue
        arr = np.asarray(im, dtype=np.uint8)
        if size is not None and arr.shape[1::-1] != tuple(size):
            arr = np.asarray(Image.fromarray(arr).resize(size, Image.BILINEAR))
        out.append(torch.from_numpy(arr.copy()).permute(2, 0, 1))
    return torch.stack(out)


class FID:
    """Fréchet Inception Distance between real and generated images.

    Uses ``torchmetrics.image.fid.FrechetInceptionDistance``. The Inception
    weights are read from ``inception_weights_path`` (no download); any other
    feature extractor (an ``nn.Module`` mapping uint8 ``NCHW`` images to
    ``(N, D)``) can be given instead.

    Args:
        inception_weights_path (str, optional): ``weights-inception-2015-12-05-
            6726825d.pth`` (see :data:`INCEPTION_WEIGHTS_URL`).
        feature_extractor (nn.Module, optional): Replaces Inception.
        feature (int): Inception layer (64, 192, 768 or 2048).
        image_size (tuple, optional): Resize images to ``(W, H)`` before
            stacking (sets of mixed sizes need it).
        batch_size (int): Images per forward pass.
        device (str, optional): Default ``'cuda'`` when available.

    Example:
        >>> fid = FID(inception_weights_path='weights/weights-inception-'
        ...           '2015-12-05-6726825d.pth', image_size=(128, 256))
        >>> fid.update(real_images, real=True)
        >>> fid.update(generated_images, real=False)
        >>> fid.compute()
        23.4
    """

    def __init__(self, inception_weights_path: Optional[str] = None,
                 feature_extractor: Optional[torch.nn.Module] = None,
                 feature: int = 2048, image_size: Optional[Sequence[int]] = None,
                 batch_size: int = 32, device: Optional[str] = None):
        try:
            from torchmetrics.image.fid import FrechetInceptionDistance
        except ImportError as err:
            raise ImportError('FID needs torchmetrics (and torch-fidelity for '
                              'Inception): pip install torchmetrics '
                              'torch-fidelity') from err
        if feature_extractor is None:
            if not inception_weights_path or not osp.isfile(
                    str(inception_weights_path)):
                raise FileNotFoundError(
                    f'FID: Inception weights not found (inception_weights_path='
                    f'{inception_weights_path!r}). Download '
                    f'{INCEPTION_WEIGHTS_URL} and set inception_weights_path '
                    'to the file.')
            feature_arg = int(feature)
        else:
            feature_arg = feature_extractor
        self.device = device or ('cuda' if torch.cuda.is_available() else 'cpu')
        self.metric = FrechetInceptionDistance(
            feature=feature_arg, reset_real_features=True, normalize=False,
            feature_extractor_weights_path=inception_weights_path
            if feature_extractor is None else None).to(self.device)
        self.image_size = tuple(image_size) if image_size else None
        self.batch_size = int(batch_size)

    def update(self, images: Sequence[Any], real: bool) -> None:
        """Add images (HxWx3 uint8 arrays, PIL, paths or uint8 CHW tensors)."""
        images = list(images)
        for start in range(0, len(images), self.batch_size):
            batch = _to_uint8_nchw(images[start:start + self.batch_size],
                                   self.image_size).to(self.device)
            self.metric.update(batch, real=real)

    def compute(self) -> float:
        """FID of everything added so far."""
        return float(self.metric.compute())

    def reset(self) -> None:
        self.metric.reset()


def compute_fid(real_images: Sequence[Any], fake_images: Sequence[Any],
                **kwargs) -> float:
    """FID of two image sets in one call (``kwargs`` as in :class:`FID`)."""
    fid = FID(**kwargs)
    fid.update(real_images, real=True)
    fid.update(fake_images, real=False)
    return fid.compute()
