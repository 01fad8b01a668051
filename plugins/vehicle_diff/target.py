"""Target images and captions: a seeded 1 % of the target's training images, captioned.

Vehicle-Diff fine-tunes the diffusion model on about 1 % of the target's
unlabeled training images (378 for VeRi-776, 527 for CityFlowV2) with BLIP-2
captions (Sec. III-B). :func:`select_target_images` draws them (seeded, no
labels used); :func:`caption_target` captions them with synthgen's
``VLMCaptioner`` and writes ``{relpath: caption}`` with paths relative to the
dataset root: the file ``CaptionedImageDataset(data_root=<dataset root>,
ann_file=<that file>)`` reads.
"""
from __future__ import annotations

import copy
import json
import os.path as osp
from typing import Any, Dict, List, Optional, Sequence

import numpy as np

from synthgen.prompts.captioner import save_json_cache

__all__ = ['select_target_images', 'target_train_images', 'caption_target',
           'read_captions']


def select_target_images(paths: Sequence[str], fraction: float = 0.01,
                         seed: int = 0, num_images: Optional[int] = None
                         ) -> List[str]:
    """A seeded random subset of ``paths`` (sorted), ``round(fraction * N)``.

    Args:
        paths (Sequence[str]): The target's training images.
        fraction (float): Share to keep (paper: 0.01).
        seed (int): Random seed; the subset does not depend on the order of
            ``paths`` (they are sorted first).
        num_images (int, optional): Exact count instead of ``fraction``.

    Returns:
        list[str]: The chosen paths, sorted.

    Example:
        >>> len(select_target_images([f'{i}.jpg' for i in range(37778)]))
        378
    """
    paths = sorted(paths)
    if not paths:
        raise ValueError('select_target_images: no training images')
    n = int(num_images) if num_images is not None else \
        max(1, int(round(float(fraction) * len(paths))))
    if not 0 < n <= len(paths):
        raise ValueError(f'select_target_images: cannot pick {n} of '
                         f'{len(paths)} images')
    idx = np.random.default_rng(seed).choice(len(paths), n, replace=False)
    return [paths[i] for i in sorted(idx)]


def target_train_images(dataset: Dict[str, Any]) -> List[str]:
    """Image paths of a reidkit dataset config (labels are not used)."""
    from reidkit.registry import DATASETS
    cfg = copy.deepcopy(dict(dataset))
    cfg['pipeline'] = []
    ds = DATASETS.build(cfg)
    return [ds.get_data_info(i)['img_path'] for i in range(len(ds))]


def caption_target(dataset: Dict[str, Any], captioner: Any, out_file: str,
                   fraction: float = 0.01, seed: int = 0,
                   num_images: Optional[int] = None) -> Dict[str, str]:
    """Select the target images and caption them; write ``{relpath: caption}``.

    Captions are cached in ``<out_file>.cache.json`` (keyed the same way), so
    an interrupted run resumes and a new seed only captions new images; the
    out file holds exactly the chosen images and is replaced atomically.

    Args:
        dataset (dict): reidkit dataset config of the target's training split
            (e.g. ``dict(type='VeRi776', data_root='data/veri776',
            split='train')``); paths are made relative to its ``data_root``.
        captioner: A ``VLMCaptioner`` or its config (``PROMPT_BUILDERS``).
        out_file (str): JSON file to write.
        fraction, seed, num_images: See :func:`select_target_images`.

    Returns:
        dict: relpath -> caption.
    """
    from synthgen.prompts.captioner import VLMCaptioner
    from synthgen.registry import PROMPT_BUILDERS
    root = dataset.get('data_root')
    if not root or not osp.isdir(root):
        raise FileNotFoundError(f'caption_target: dataset data_root {root!r} '
                                'is not a folder (the target dataset)')
    chosen = select_target_images(target_train_images(dataset), fraction,
                                  seed, num_images)
    if isinstance(captioner, dict):
        captioner = PROMPT_BUILDERS.build(dict(captioner))
    if not isinstance(captioner, VLMCaptioner):
        raise TypeError('caption_target: captioner must be a VLMCaptioner '
                        f'(or its config), got {type(captioner).__name__}')
    captioner.cache_file = out_file + '.cache.json'
    records = [dict(key=p, source=p) for p in chosen]
    captions = captioner.caption_records(records, relative_to=root)
    save_json_cache(out_file, captions)
    return captions


def read_captions(path: str) -> Dict[str, str]:
    """Read a ``{relpath: caption}`` file written by :func:`caption_target`."""
    if not osp.isfile(path):
        raise FileNotFoundError(f'captions file {path!r} not found; run the '
                                'caption stage first')
    with open(path) as f:
        data = json.load(f)
    if not isinstance(data, dict):
        raise ValueError(f'{path}: expected a JSON object {{relpath: caption}}')
    return data

