"""(image, caption) pairs from a folder, for text-to-image fine-tuning."""
from __future__ import annotations

import json
import os
import os.path as osp
import random
from typing import List, Optional, Sequence

import numpy as np
import torch
from PIL import Image

from synthgen.utils.image import read_rgb

from .registry import DATASETS

IMG_EXTS = ('.jpg', '.jpeg', '.png', '.bmp', '.webp')


@DATASETS.register_module()
class CaptionedImageDataset(torch.utils.data.Dataset):
    """Images of a folder with one caption each (and optionally a LoRA adapter).

    Captions come from ``ann_file`` (JSON, relative to ``data_root``) in one
    of these shapes::

        {"a/1.jpg": "a red sedan", ...}
        {"a/1.jpg": {"caption": "a ir photo of <p1> person", "adapter": "ir"}}
        [{"image": "a/1.jpg", "caption": "...", "adapter": "ir"}, ...]

    or, with ``ann_file=None``, from a ``.txt`` file next to each image.
    ``adapter`` names the LoRA branch that trains on the image (DiVE: one per
    modality or camera); without it ``default_adapter`` is used.

    Each item is ``dict(inputs=uint8 CxHxW tensor, data_samples=dict(caption,
    adapter, img_path))``: the image is resized so it covers ``size`` and is
    centre-cropped to it, then flipped horizontally with ``flip_prob``.

    Args:
        data_root (str): Image folder.
        ann_file (str, optional): Captions JSON (default ``captions.json``).
        size (Sequence[int]): Output ``(height, width)``.
        flip_prob (float): Probability of a horizontal flip.
        caption_template (str): Format string with ``{caption}``, e.g.
            ``'a photo of {caption}'``.
        default_adapter (str, optional): Adapter for images without one.

    Example:
        >>> ds = CaptionedImageDataset('data/veri_1pct', 'captions.json',
        ...                            size=(512, 512))
        >>> ds[0]['data_samples']['caption']
        'a red sedan on a road'
    """

    def __init__(self, data_root: str, ann_file: Optional[str] = 'captions.json',
                 size: Sequence[int] = (512, 512), flip_prob: float = 0.5,
                 caption_template: str = '{caption}',
                 default_adapter: Optional[str] = None):
        if not osp.isdir(data_root):
            raise FileNotFoundError(
                f'CaptionedImageDataset: data_root {data_root!r} is not a '
                'folder of images')
        self.data_root = data_root
        self.ann_file = ann_file
        self.size = (int(size[0]), int(size[1]))
        self.flip_prob = float(flip_prob)
        self.caption_template = caption_template
        self.default_adapter = default_adapter
        self.data_list = self._load()
        if not self.data_list:
            raise ValueError(f'CaptionedImageDataset: no captioned images in '
                             f'{data_root!r} (ann_file={ann_file!r})')

    def _load(self) -> List[dict]:
        items = []
        if self.ann_file is None:
            for dirpath, _, files in sorted(os.walk(self.data_root)):
                for name in sorted(files):
                    stem, ext = osp.splitext(name)
                    txt = osp.join(dirpath, stem + '.txt')
                    if ext.lower() in IMG_EXTS and osp.isfile(txt):
                        with open(txt) as f:
                            items.append(dict(image=osp.join(dirpath, name),
                                              caption=f.read().strip()))
            return [self._entry(it, i) for i, it in enumerate(items)]
        path = self.ann_file if osp.isabs(self.ann_file) else osp.join(
            self.data_root, self.ann_file)
        if not osp.isfile(path):
            raise FileNotFoundError(
                f'CaptionedImageDataset: ann_file {path!r} not found; write '
                'a JSON {"image path": "caption"} (e.g. with VLMCaptioner) '
                'or set ann_file=None to read <image>.txt captions')
        with open(path) as f:
            ann = json.load(f)
        if isinstance(ann, dict):
            for img, val in ann.items():
                val = dict(caption=val) if isinstance(val, str) else dict(val)
                items.append(dict(val, image=img))
        elif isinstance(ann, list):
            items = [dict(a) for a in ann]
        else:
            raise ValueError(f'{path}: expected a JSON object or list')
        return [self._entry(it, i) for i, it in enumerate(items)]

    def _entry(self, item: dict, i: int) -> dict:
        img = item.get('image', item.get('file', item.get('path')))
        if img is None or 'caption' not in item:
            raise KeyError(f'{self.ann_file}: entry {i} needs "image" and '
                           f'"caption", has {sorted(item)}')
        img_path = img if osp.isabs(img) else osp.join(self.data_root, img)
        if not osp.isfile(img_path):
            raise FileNotFoundError(f'{self.ann_file}: entry {i}: image '
                                    f'{img_path!r} not found')
        return dict(img_path=img_path,
                    caption=self.caption_template.format(
                        caption=item['caption']),
                    adapter=item.get('adapter', self.default_adapter))

    def __len__(self) -> int:
        return len(self.data_list)

    def _resize_crop(self, img: Image.Image) -> Image.Image:
        h, w = self.size
        scale = max(h / img.height, w / img.width)
        new = (max(w, round(img.width * scale)), max(h, round(img.height * scale)))
        img = img.resize(new, Image.BICUBIC)
        left, top = (new[0] - w) // 2, (new[1] - h) // 2
        return img.crop((left, top, left + w, top + h))

    def __getitem__(self, idx: int) -> dict:
        info = self.data_list[idx]
        img = self._resize_crop(Image.fromarray(read_rgb(info['img_path'])))
        arr = np.asarray(img)
        if self.flip_prob > 0 and random.random() < self.flip_prob:
            arr = arr[:, ::-1]
        inputs = torch.from_numpy(arr.copy()).permute(2, 0, 1)
        return dict(inputs=inputs, data_samples=dict(info))
