"""``make_dataset``: render one benchmark layout (or all of them) to disk."""
from __future__ import annotations

import dataclasses
import json
import os
import os.path as osp
import shutil
import time
import zlib

import numpy as np

from .layouts import LAYOUTS
from .output import COMPLETE, summarize, write_plan
from .world import Knobs

#: Every layout ``make_dataset`` can write.
KINDS = tuple(LAYOUTS)
VERSION = 1


def _parse_size(size, default):
    if size is None:
        return tuple(default)
    if isinstance(size, str):
        try:
            h, w = (int(x) for x in size.lower().split('x'))
        except ValueError:
            raise ValueError(f'size {size!r}: expected HxW, e.g. 128x64') from None
        size = (h, w)
    h, w = (int(x) for x in size)
    if h < 16 or w < 16:
        raise ValueError(f'size {size!r}: height and width must be >= 16')
    return h, w


def load_summary(out):
    """Summary of a completely written toy dataset, or None if incomplete."""
    marker = osp.join(out, COMPLETE)
    if not osp.isfile(marker):
        return None
    with open(marker, encoding='utf-8') as f:
        return json.load(f)['summary']


def replay_plan(out):
    """The plan of the complete toy dataset in ``out``, sampled again from the
    config in its ``.complete`` marker (same kind, ids, seed, size, knobs:
    the same identity, outfit and camera tables); nothing is rendered.

    Args:
        out (str): a folder :func:`make_dataset` wrote (one kind, not 'all').

    Returns:
        Plan: ``cams`` (camera table, one row per camera), ``ids``,
        ``outfits`` and ``records`` (per image ``pid``, ``camid``, ...,
        aligned with ``cam_rows`` / ``id_rows``).

    Example:
        >>> plan = replay_plan('data/toy/sysu_mm01')
        >>> cam3 = plan.camera_row(3)  # the camera table row of camid 3
    """
    marker = osp.join(out, COMPLETE)
    if not osp.isfile(marker):
        raise FileNotFoundError(f'{out}: no {COMPLETE} marker; expected a '
                                'complete toy dataset written by make_dataset')
    with open(marker, encoding='utf-8') as f:
        config = json.load(f).get('config') or {}
    if config.get('version') != VERSION or config.get('kind') not in LAYOUTS:
        raise ValueError(f'{marker}: config {config} is not a version '
                         f'{VERSION} toy dataset of one kind')
    kind = config['kind']
    rng = np.random.default_rng([int(config['seed']), zlib.crc32(kind.encode())])
    return LAYOUTS[kind][0](rng, int(config['num_ids']), tuple(config['size']),
                            Knobs(**config['knobs']))


def make_dataset(kind, out, num_ids=None, seed=0, size=None, workers=None,
                 overwrite=False, knobs=None, verbose=False):
    """Render a toy dataset of ``kind`` in its official layout under ``out``.

    Args:
        kind (str): one of :data:`KINDS`, or ``'all'`` (every layout into
            ``out/<kind>/``; returns a dict of summaries).
        out (str): output folder. A folder already holding the same dataset
            (same kind, ids, seed, size, knobs; ``.complete`` written) is
            reused; any other non-empty folder needs ``overwrite=True``.
        num_ids (int): identities (persons or vehicles); default per kind
            (small, for CI).
        seed (int): the same seed gives byte-identical files.
        size (tuple | str): ``(H, W)`` or ``'HxW'``; default 128x64 for
            persons, 128x128 for vehicles.
        workers (int): rendering/encoding processes (default min(2, CPUs));
            the output does not depend on it.
        overwrite (bool): delete a non-empty ``out`` that is not this dataset.
        knobs (dict | Knobs): difficulty knobs, see :class:`Knobs`.
        verbose (bool): print what was written.

    Returns:
        dict: ``kind``, ``root``, ``num_images``, ``seconds`` and ``splits``:
        per split ``images``, ``pids``, ``cams``, ``clothes``, ``modalities``
        (0 visible, 1 infrared). Market distractors (pid 0) and junk (-1)
        are counted as images, not pids.
    """
    if kind == 'all':
        return {k: make_dataset(k, osp.join(out, k), num_ids, seed, size, workers,
                                overwrite, knobs, verbose) for k in KINDS}
    if kind not in LAYOUTS:
        raise ValueError(f'unknown toy dataset kind {kind!r}; expected one of '
                         f'{list(KINDS)} or "all"')
    builder, _, default_size, default_ids = LAYOUTS[kind]
    knobs = knobs if isinstance(knobs, Knobs) else Knobs.from_dict(knobs)
    size = _parse_size(size, default_size)
    num_ids = int(default_ids if num_ids is None else num_ids)
    if num_ids < 6:
        raise ValueError(f'num_ids={num_ids}: a toy {kind} needs at least 6 '
                         'identities (train and test splits are disjoint)')
    config = dict(kind=kind, num_ids=num_ids, seed=int(seed), size=list(size),
                  knobs=dataclasses.asdict(knobs), version=VERSION)
    marker = osp.join(out, COMPLETE)
    if osp.isfile(marker):
        with open(marker, encoding='utf-8') as f:
            done = json.load(f)
        if done.get('config') == config:
            if verbose:
                print(f'{kind}: {out} already complete, reused')
            return done['summary']
    if osp.isdir(out) and os.listdir(out):
        if not overwrite:
            raise FileExistsError(
                f'{out} is not empty and does not hold this toy dataset '
                f'({kind}, ids={num_ids}, seed={seed}, size={size}); pass '
                'overwrite=True (--overwrite) or choose another folder')
        shutil.rmtree(out)
    t0 = time.perf_counter()
    rng = np.random.default_rng([int(seed), zlib.crc32(kind.encode())])
    plan = builder(rng, num_ids, size, knobs)
    n = write_plan(plan, out, workers, knobs.camera_strength)
    summary = dict(kind=kind, root=osp.abspath(out), num_images=n,
                   size=list(size), splits=summarize(plan),
                   seconds=round(time.perf_counter() - t0, 3))
    with open(marker + '.tmp', 'w', encoding='utf-8') as f:
        json.dump(dict(config=config, summary=summary), f, indent=1)
    os.replace(marker + '.tmp', marker)
    if verbose:
        print(f'{kind}: {n} images in {summary["seconds"]:.2f}s -> {out}')
        for sp, s in summary['splits'].items():
            print(f'  {sp:8s} images={s["images"]:6d} pids={s["pids"]:5d} '
                  f'cams={s["cams"]:3d} clothes={s["clothes"]:5d} '
                  f'modalities={s["modalities"]}')
    return summary
