"""Render plans and write them to disk (images, masks, attributes, markers).

A :class:`Plan` lists every image of a dataset: which identity/outfit/camera
row draws it, its per-image jitter, the path(s) it is written to and its
labels. :func:`write_plan` renders the plan in fixed chunks of 32 images
(small batches keep the arrays in cache), optionally in forked worker
processes, then writes the side files, the annotations and finally
``.complete``. Output depends only on the plan, never on the number of
workers.
"""
from __future__ import annotations

import json
import os
import os.path as osp
import multiprocessing as mp

import numpy as np
from PIL import Image

from . import person, vehicle, world
from .vocab import (ILLUMINATIONS, MODALITIES, PERSON_SCENES, VEHICLE_SCENES,
                    WEATHERS)

ANN_DIR = '_toy_annotations'
COMPLETE = '.complete'
CHUNK = 32


class Plan:
    """Everything needed to render and write one dataset.

    Args:
        kind (str): ``'person'`` or ``'vehicle'``.
        size (tuple): ``(H, W)``.
    """

    def __init__(self, kind, size):
        self.kind = kind
        self.H, self.W = size
        self.records = []
        self.id_rows, self.outfit_rows, self.cam_rows = [], [], []
        self.files = {}
        self.ids = self.outfits = self.cams = self.jitter = None
        self.bank = None
        self.bank_rows = None

    def add(self, paths, id_row, cam_row, pid, camid, split, outfit_row=0,
            clothes_id=-1, extra=None):
        """Add one image (written to every path in ``paths``)."""
        if isinstance(paths, str):
            paths = [paths]
        self.records.append(dict(paths=list(paths), pid=int(pid), camid=int(camid),
                                 clothes_id=int(clothes_id), split=split,
                                 extra=dict(extra or {})))
        self.id_rows.append(id_row)
        self.outfit_rows.append(outfit_row)
        self.cam_rows.append(cam_row)
        return len(self.records) - 1

    def __len__(self):
        return len(self.records)

    def finalize(self, rng, knobs, bank_rows=None):
        """Sample the per-image jitter and build the background bank."""
        self.id_rows = np.asarray(self.id_rows, np.int64)
        self.outfit_rows = np.asarray(self.outfit_rows, np.int64)
        self.cam_rows = np.asarray(self.cam_rows, np.int64)
        self.jitter = world.sample_jitter(rng, self.cam_rows, self.cams, knobs,
                                          self.kind)
        if self.bank is None:
            self.bank = world.build_bank(self.cams, self.H, self.W, self.kind,
                                         knobs.camera_strength)
        self.bank_rows = (self.cam_rows if bank_rows is None
                          else np.asarray(bank_rows, np.int64))

    def camera_row(self, camid):
        """The camera table (one row, dict of arrays) of dataset camera id
        ``camid`` (as in the file names, e.g. 3 for SYSU-MM01's ``cam3``)."""
        rows = {int(self.cam_rows[i]) for i, r in enumerate(self.records)
                if r['camid'] == int(camid)}
        if len(rows) != 1:
            raise KeyError(f'camera id {camid}: {len(rows)} camera rows in '
                           f'this plan (camera ids: '
                           f'{sorted({r["camid"] for r in self.records})})')
        row = rows.pop()
        return {k: v[row:row + 1].copy() for k, v in self.cams.items()}

    def params(self, idx):
        """Gathered per-image parameters for image indices ``idx``."""
        tables = [(self.ids, self.id_rows), (self.cams, self.cam_rows),
                  (self.jitter, np.arange(len(self)))]
        if self.kind == 'person':
            tables.insert(1, (self.outfits, self.outfit_rows))
        return world.gather(idx, tables)

    def render(self, idx, strength=1.0):
        p = self.params(idx)
        img, lab = world.render_batch(p, self.H, self.W, self.bank,
                                      self.bank_rows[idx], self.kind, strength)
        return img, lab, p


def image_attributes(kind, p, i):
    """Readable attributes of image ``i`` in a gathered batch ``p``."""
    if kind == 'person':
        a = person.person_attributes(p, i)
        a['background'] = PERSON_SCENES[int(p['scene'][i])]
    else:
        a = vehicle.vehicle_attributes(p, i)
        a['background'] = VEHICLE_SCENES[int(p['scene'][i])]
    a['weather'] = WEATHERS[int(p['weather'][i])]
    a['illumination'] = ILLUMINATIONS[int(p['illum'][i])]
    a['modality'] = MODALITIES[int(p['modality'][i])]
    return a


def _save(arr, path, made_dirs):
    """Encode one image. Files are written in place: ``.complete`` (written
    last) is what marks a dataset as finished, not each file."""
    d = osp.dirname(path)
    if d not in made_dirs:
        os.makedirs(d, exist_ok=True)
        made_dirs.add(d)
    im = Image.fromarray(arr)
    if path.endswith('.png'):
        im.save(path, 'PNG', compress_level=1)
    else:
        im.save(path, 'JPEG', quality=92)


def mask_path(out, rel):
    return osp.join(out, ANN_DIR, 'masks', osp.splitext(rel)[0] + '.png')


def _write_chunk(plan, out, idx, strength):
    img, lab, p = plan.render(idx, strength)
    lines, made = [], set()
    for j, i in enumerate(idx):
        rec = plan.records[i]
        attrs = image_attributes(plan.kind, p, j)
        attrs.update(rec['extra'])
        for rel in rec['paths']:
            _save(img[j], osp.join(out, rel), made)
            _save(lab[j], mask_path(out, rel), made)
            lines.append(dict(path=rel, pid=rec['pid'], camid=rec['camid'],
                              clothes_id=rec['clothes_id'],
                              modality=int(p['modality'][j]),
                              split=rec['split'], attributes=attrs))
    return lines


def summarize(plan):
    """Counts of images/pids/cams/clothes/modalities per split."""
    splits = {}
    for rec, mod in zip(plan.records, plan.cams['modality'][plan.cam_rows]):
        s = splits.setdefault(rec['split'], dict(images=0, pids=set(), cams=set(),
                                                  clothes=set(), modalities=set()))
        s['images'] += len(rec['paths'])
        if rec['pid'] > 0 or (rec['pid'] == 0 and plan.kind == 'vehicle'):
            s['pids'].add(rec['pid'])
        s['cams'].add(rec['camid'])
        if rec['clothes_id'] >= 0:
            s['clothes'].add(rec['clothes_id'])
        s['modalities'].add(int(mod))
    return {k: dict(images=v['images'], pids=len(v['pids']), cams=len(v['cams']),
                    clothes=len(v['clothes']), modalities=sorted(v['modalities']))
            for k, v in splits.items()}


_FORKED = {}


def _forked_chunk(args):
    key, idx = args
    plan, out, strength = _FORKED[key]
    return _write_chunk(plan, out, idx, strength)


def write_plan(plan, out, workers=None, strength=1.0):
    """Render and write ``plan`` under ``out``; returns the number of files.

    ``workers`` > 1 renders chunks in forked worker processes (where the
    platform can fork), else in this process; the bytes written are the same.
    """
    os.makedirs(out, exist_ok=True)
    n = len(plan)
    chunks = [np.arange(s, min(s + CHUNK, n)) for s in range(0, n, CHUNK)]
    workers = workers or min(2, os.cpu_count() or 1)
    ctx = None
    if workers > 1 and len(chunks) >= 4:     # forking pays off beyond ~100 images
        try:
            ctx = mp.get_context('fork')
        except ValueError:
            ctx = None
    if ctx is not None:
        key = id(plan)
        _FORKED[key] = (plan, out, strength)      # inherited by the forked workers
        try:
            with ctx.Pool(workers) as pool:
                results = pool.map(_forked_chunk, [(key, c) for c in chunks], chunksize=1)
        finally:
            _FORKED.pop(key, None)
    else:
        results = [_write_chunk(plan, out, c, strength) for c in chunks]
    for rel, text in plan.files.items():
        path = osp.join(out, rel)
        os.makedirs(osp.dirname(path), exist_ok=True)
        with open(path, 'w', encoding='utf-8') as f:
            f.write(text)
    ann = osp.join(out, ANN_DIR, 'attributes.jsonl')
    os.makedirs(osp.dirname(ann), exist_ok=True)
    with open(ann + '.tmp', 'w', encoding='utf-8') as f:
        for lines in results:
            for line in lines:
                f.write(json.dumps(line, sort_keys=True) + '\n')
    os.replace(ann + '.tmp', ann)
    return sum(len(r) for r in results)
