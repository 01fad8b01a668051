"""Vehicle-Diff's own stages: caption 1 % of the target; FID of the generated set.

* :class:`TargetCaptionStage` picks a seeded 1 % of the target's training
  images and captions them with BLIP-2 (the fine-tuning pairs);
* :class:`FIDStage` measures the FID of the generated images against the
  target's training images (the paper's Table IV).

The other stages of the paper path are reidkit's: ``FinetuneStage`` (LoRA on
the UNet decoder), ``GenerateStage`` (prompt library -> SDXL -> detection crop
-> CLIP colour check), ``TrainStage`` and ``TestStage``; see
``configs/vehicle_diff/_base_/vehicle_diff.py``.
"""
from __future__ import annotations

import glob
import json
import os.path as osp
from typing import Any, List, Optional, Sequence

import numpy as np

from reidkit.stages import STAGES, Stage, atomic_write_text

from .target import caption_target, target_train_images

__all__ = ['TargetCaptionStage', 'FIDStage', 'generated_images']


@STAGES.register_module()
class TargetCaptionStage(Stage):
    """Caption a seeded random 1 % of the target's training images (BLIP-2).

    Writes ``out_file``: ``{path relative to the dataset root: caption}``,
    the ``ann_file`` of the fine-tuning ``CaptionedImageDataset`` whose
    ``data_root`` is the dataset root. Resumable (captions are cached next
    to it); rank 0 captions, the other ranks wait.

    Args:
        dataset (dict): reidkit dataset config of the target's train split.
        captioner (dict): ``VLMCaptioner`` config (``model_type='blip2'``,
            ``question=''``).
        out_file (str): The captions file.
        fraction (float): Share of the training images (0.01).
        seed (int): Selection seed.
        num_images (int, optional): Exact number instead of ``fraction``.
        **kwargs: name, cfg, work_dir, depends_on (see ``Stage``).

    Example:
        >>> stages = [dict(name='caption', type='TargetCaptionStage',
        ...                dataset=dict(type='VeRi776', data_root='${data_root}',
        ...                             split='train'),
        ...                captioner=dict(type='VLMCaptioner', model_type='blip2',
        ...                               question='',
        ...                               pretrained_model_name_or_path='checkpoints/blip2'),
        ...                out_file='${work_dir}/target_captions.json')]
    """

    kind = 'caption'

    def __init__(self, dataset: dict, captioner: dict, out_file: str,
                 fraction: float = 0.01, seed: int = 0,
                 num_images: Optional[int] = None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.dataset = dict(dataset)
        self.captioner = dict(captioner)
        self.out_file = str(out_file)
        self.fraction = float(fraction)
        self.seed = int(seed)
        self.num_images = num_images

    def inputs(self) -> List[str]:
        paths = [str(self.dataset.get('data_root'))]
        weights = self.captioner.get('pretrained_model_name_or_path')
        return paths + ([str(weights)] if weights else [])

    def outputs(self) -> List[str]:
        return [self.out_file]

    def run(self) -> dict:
        from mmengine.dist import barrier, is_main_process
        n = None
        if is_main_process():
            caps = caption_target(self.dataset, self.captioner, self.out_file,
                                  self.fraction, self.seed, self.num_images)
            n = len(caps)
        barrier()
        return dict(images=n, out_file=self.out_file)


def generated_images(out_dir: str) -> List[str]:
    """Paths of the committed images of a synthgen output folder."""
    from reidkit.datasets.synthetic import read_manifest
    paths = []
    for man in sorted(glob.glob(osp.join(out_dir, 'manifest*.jsonl'))):
        paths += [osp.join(osp.dirname(man), e['path'])
                  for e in read_manifest(man)]
    return paths


@STAGES.register_module()
class FIDStage(Stage):
    """FID of generated images against the target's training images.

    Writes ``out_file``: ``{"fid": value, "real": n, "generated": m,
    "features": ...}``. Rank 0 computes, the other ranks wait. With
    ``features='inception'`` (the paper's FID: torchmetrics' Inception-v3,
    2048-d pool features, images resized to ``image_size``) a missing
    ``inception_weights`` file stops the stage before any image is read,
    with a message naming the file and where to get it.

    Args:
        dataset (dict): reidkit dataset config of the target's train split.
        generated_dir (str): the generation stage's output folder.
        out_file (str): the JSON written.
        features (str): ``'inception'`` (needs ``inception_weights``) or
            ``'random_cnn'`` (the toy world's seeded random-weight CNN,
            :class:`~plugins.vehicle_diff.toy.RandomConvFeatures`; values
            not comparable with Inception FIDs).
        inception_weights (str, optional): the FID Inception weights file
            (``synthgen.metrics.fid.INCEPTION_WEIGHTS_URL``).
        image_size (tuple): ``(H, W)`` every image is resized to.
        max_images (int, optional): a seeded subset of each side.
        seed (int): subset and random-feature seed.
        **kwargs: name, cfg, work_dir, depends_on.

    Example:
        >>> stages = [dict(name='fid', type='FIDStage',
        ...                dataset=dict(type='VeRi776', data_root='${data_root}',
        ...                             split='train'),
        ...                generated_dir='${synthetic_dir}',
        ...                out_file='${work_dir}/fid.json',
        ...                inception_weights='checkpoints/pt_inception.pth')]
    """

    kind = 'metric'

    def __init__(self, dataset: dict, generated_dir: str, out_file: str,
                 features: str = 'inception',
                 inception_weights: Optional[str] = None,
                 image_size: Sequence[int] = (299, 299),
                 max_images: Optional[int] = None, seed: int = 0,
                 **kwargs: Any) -> None:
        super().__init__(**kwargs)
        if features not in ('inception', 'random_cnn'):
            raise ValueError(f"FIDStage: features must be 'inception' or "
                             f"'random_cnn', got {features!r}")
        self.dataset = dict(dataset)
        self.generated_dir = str(generated_dir)
        self.out_file = str(out_file)
        self.features = features
        self.inception_weights = inception_weights
        self.image_size = tuple(int(s) for s in image_size)
        self.max_images = max_images
        self.seed = int(seed)

    def inputs(self) -> List[str]:
        paths = [str(self.dataset.get('data_root')), self.generated_dir]
        if self.features == 'inception' and self.inception_weights:
            paths.append(str(self.inception_weights))
        return paths

    def outputs(self) -> List[str]:
        return [self.out_file]

    def _subset(self, paths: List[str]) -> List[str]:
        if self.max_images is None or len(paths) <= self.max_images:
            return paths
        idx = np.random.default_rng(self.seed).choice(
            len(paths), int(self.max_images), replace=False)
        return [paths[i] for i in sorted(idx)]

    def _check_weights(self) -> None:
        if self.features != 'inception':
            return
        path = self.inception_weights
        if not path or not osp.isfile(str(path)):
            from synthgen.metrics.fid import INCEPTION_WEIGHTS_URL
            raise FileNotFoundError(
                f"stage '{self.name}': the FID Inception weights file "
                f'{path!r} (inception_weights; in the Vehicle-Diff configs '
                f'`fid_inception_weights`) was not found. Download '
                f'{INCEPTION_WEIGHTS_URL} to that path, or skip the stage '
                '(--stages without fid).')

    def run(self) -> dict:
        from mmengine.dist import barrier, is_main_process
        self._check_weights()
        out = None
        if is_main_process():
            out = self._compute()
            atomic_write_text(self.out_file, json.dumps(out, indent=1))
        barrier()
        return out if out is not None else dict(out_file=self.out_file)

    def _compute(self) -> dict:
        real = self._subset(sorted(target_train_images(self.dataset)))
        fake = self._subset(generated_images(self.generated_dir))
        if len(real) < 2 or len(fake) < 2:
            raise ValueError(f"stage '{self.name}': FID needs at least two "
                             f'images a side ({len(real)} real, {len(fake)} '
                             f'generated in {self.generated_dir})')
        size = self.image_size[::-1]  # (W, H)
        if self.features == 'random_cnn':
            # the closed form on our own features: torchmetrics' FID module
            # imports all of torchmetrics.image (a minute on a busy CPU)
            from .toy import random_cnn_fid
            fid = random_cnn_fid(real, fake, size, self.seed)
        else:
            from synthgen.metrics import compute_fid
            fid = compute_fid(real, fake, image_size=size, device=None,
                              inception_weights_path=self.inception_weights)
        return dict(fid=fid, real=len(real), generated=len(fake),
                    features=self.features)
