"""Where generation work comes from: real images, identity lists, prompt libraries.

A source lists *records*, one per work unit, in a deterministic order (sorted by
``key``). Every rank of a distributed run lists the same records, so units can
be numbered and sharded without talking to each other. A record is a plain dict:

========== ===============================================================
key        str, unique and stable (e.g. the image path relative to data_root)
source     absolute path of the source image, or None (text-to-image)
mask       absolute path of a part-label / clothes mask, or None
pid        int identity (relabelled 0..N-1 for folder sources)
camid      int camera
clothes_id int outfit (relabelled 0..C-1 over (pid, outfit) pairs), -1 if none
modality   int, 0 visible / 1 infrared
attributes dict of words describing the source (e.g. ``upper_color``)
extra      dict copied into every manifest line of the unit (e.g. raw pid)
========== ===============================================================

Records hold paths only; images are read when the unit is processed
(:func:`load_image`, :func:`load_mask`).
"""
from __future__ import annotations

import csv
import glob
import json
import os
import os.path as osp
import re
from typing import Any, Dict, Iterable, List, Optional, Sequence

import numpy as np
from PIL import Image

from synthgen.layouts import prcc as prcc_layout
from synthgen.utils.image import ImageError, pil_to_rgb, read_rgb
from synthgen.utils.registry import Registry

__all__ = ['SOURCES', 'BaseSource', 'ImageFolderSource', 'PRCCSource',
           'IdentityListSource', 'PromptLibrarySource', 'load_image',
           'load_mask', 'read_table', 'to_rgb_array']

#: Registry of generation sources (``generation.pipeline.source.type``).
SOURCES = Registry('generation source', scope='synthgen',
                   locations=['synthgen.sources'])


class SourceError(ValueError):
    """A source's files are missing or do not have the expected layout."""


# ----------------------------------------------------------------- image io
def to_rgb_array(image: Any) -> np.ndarray:
    """PIL image or array -> contiguous ``HxWx3`` uint8 RGB array."""
    if isinstance(image, Image.Image):
        return pil_to_rgb(image)
    arr = np.asarray(image)
    if arr.ndim == 2:
        arr = np.repeat(arr[..., None], 3, axis=2)
    if arr.ndim != 3 or arr.shape[2] not in (3, 4):
        raise ValueError(f'expected an HxWx3 image, got shape {arr.shape}')
    if arr.dtype != np.uint8:
        if np.issubdtype(arr.dtype, np.floating) and arr.max(initial=0) <= 1.0:
            arr = arr * 255.0
        arr = np.clip(np.rint(arr), 0, 255).astype(np.uint8)
    return np.ascontiguousarray(arr[..., :3])


def load_image(path: str) -> np.ndarray:
    """Read an image file as ``HxWx3`` uint8 RGB, or stop naming the file."""
    try:
        return read_rgb(path)
    except ImageError as exc:
        raise SourceError(f'source image: {exc}') from None


def load_mask(path: str, shape: Optional[Sequence[int]] = None) -> np.ndarray:
    """Read a single-channel label mask as ``HxW`` uint8 (nearest resize)."""
    try:
        with Image.open(path) as img:
            if img.mode not in ('L', 'P', 'I', '1'):
                img = img.convert('L')
            if shape is not None and img.size != (shape[1], shape[0]):
                img = img.resize((shape[1], shape[0]), Image.NEAREST)
            mask = np.asarray(img)
    except FileNotFoundError:
        raise SourceError(f'mask {path} does not exist') from None
    except Exception as exc:
        raise SourceError(f'cannot read mask {path}: {exc}') from exc
    return mask.astype(np.uint8, copy=False)


def read_table(path: str) -> List[Dict[str, Any]] | Dict[str, List[Any]]:
    """Read an attribute library: CSV (rows), JSON (rows or name -> values) or JSONL."""
    if not osp.isfile(path):
        raise SourceError(f'attribute library {path} does not exist')
    ext = osp.splitext(path)[1].lower()
    try:
        if ext == '.csv':
            with open(path, newline='', encoding='utf-8') as f:
                rows = [dict(r) for r in csv.DictReader(f)]
            return [{k.strip(): _maybe_number(v) for k, v in r.items() if k}
                    for r in rows]
        if ext == '.jsonl':
            with open(path, encoding='utf-8') as f:
                return [json.loads(line) for line in f if line.strip()]
        if ext == '.json':
            with open(path, encoding='utf-8') as f:
                data = json.load(f)
            if isinstance(data, (list, dict)):
                return data
    except (ValueError, csv.Error) as exc:
        raise SourceError(f'cannot parse attribute library {path}: {exc}') from exc
    raise SourceError(f'attribute library {path}: expected a .csv file with a '
                      'header row, a .jsonl file of objects, or a .json file '
                      'holding a list of objects or an object of lists')


def _maybe_number(value: Any) -> Any:
    if isinstance(value, str):
        s = value.strip()
        if re.fullmatch(r'-?\d+', s):
            return int(s)
        return s
    return value


def _record(key: str, source: Optional[str] = None, mask: Optional[str] = None,
            pid: int = 0, camid: int = 0, clothes_id: int = -1,
            modality: int = 0, attributes: Optional[dict] = None,
            extra: Optional[dict] = None) -> Dict[str, Any]:
    return dict(key=key, source=source, mask=mask, pid=int(pid),
                camid=int(camid), clothes_id=int(clothes_id),
                modality=int(modality), attributes=dict(attributes or {}),
                extra=dict(extra or {}))


class BaseSource:
    """Lists the records a generation run works through.

    Subclasses implement :meth:`_load`; :meth:`load` caches and sorts the result
    by ``key`` and checks that keys are unique.
    """

    def __init__(self, data_root: Optional[str] = None) -> None:
        self.data_root = data_root
        self._records: Optional[List[Dict[str, Any]]] = None

    def _load(self) -> List[Dict[str, Any]]:
        raise NotImplementedError

    def load(self) -> List[Dict[str, Any]]:
        """The sorted record list (computed once)."""
        if self._records is None:
            records = sorted(self._load(), key=lambda r: r['key'])
            keys = [r['key'] for r in records]
            if len(set(keys)) != len(keys):
                dup = next(k for i, k in enumerate(keys[1:]) if k == keys[i])
                raise SourceError(f'{type(self).__name__}: duplicate record key '
                                  f'{dup!r}; keys must be unique')
            self._records = records
        return self._records

    def describe(self) -> Dict[str, Any]:
        """What identifies this source in the plan fingerprint."""
        return dict(type=type(self).__name__)

    def read(self, record: Dict[str, Any]) -> Dict[str, Any]:
        """Load a record's inputs as ``dict(image=..., mask=...)``.

        ``image`` is HxWx3 uint8 (None without a source image), ``mask`` HxW
        uint8 or None.

        ``record['mask']`` may be a file path, ``'box'`` (see :func:`box_mask`)
        or None. ``self.mask_labels`` (if set) keeps only those label values and
        zeroes the rest, so the mask says exactly what may be repainted.
        """
        image = load_image(record['source']) if record.get('source') else None
        mask_ref = record.get('mask')
        mask = None
        if mask_ref == 'box' and image is not None:
            mask = box_mask(image.shape[:2])
        elif mask_ref and mask_ref != 'box':
            mask = load_mask(mask_ref, image.shape[:2] if image is not None
                             else None)
        labels = getattr(self, 'mask_labels', None)
        if mask is not None and labels is not None:
            keep = np.zeros(256, bool)
            keep[list(labels)] = True
            mask = np.where(keep[mask], mask, 0).astype(np.uint8)
        return dict(image=image, mask=mask)


@SOURCES.register_module()
class ImageFolderSource(BaseSource):
    """Real images found by a glob pattern, labelled by a regex on their path.

    Args:
        data_root (str): dataset root; ``pattern`` and ``regex`` are relative to it.
        pattern (str): glob pattern of the images, e.g. ``'rgb/train/*/*.jpg'``.
        regex (str): regular expression matched (``fullmatch``) against the
            relative path (``/`` separators). Named groups: ``pid`` (required),
            ``camid`` and ``clothes`` (optional). Files that do not match stop
            the run with the offending path.
        cam_map (dict, optional): raw ``camid`` group value -> int (e.g.
            ``{'A': 0, 'B': 1, 'C': 2}``); without it the group must be an int.
        clothes_group (str): the group whose raw value names the outfit within an
            identity (default ``'clothes'``; may be ``'camid'``).
        clothes_map (dict, optional): raw ``clothes_group`` value -> outfit key
            (e.g. PRCC ``{'A': 0, 'B': 0, 'C': 1}``).
        relabel (bool): relabel pids to ``0..N-1`` in sorted order.
        modality (int): modality of every image.
        mask_dir (str, optional): folder (relative to data_root unless absolute)
            holding one label PNG per image at ``<mask_dir>/<relpath>.png``.
        missing_mask (str): what to do when a mask is missing: ``'error'``,
            ``'none'`` (give the generator no mask), or ``'box'`` (a rough
            upper/lower-body box mask with labels 3 and 4).
        mask_labels (list[int], optional): label values of the mask that may be
            repainted (others are zeroed), e.g. ``(3, 4, 5)`` for the toy
            world's clothes; None keeps the mask as it is.
        attributes_file (str, optional): JSON Lines with ``path`` and
            ``attributes`` per image (the toy world's
            ``_toy_annotations/attributes.jsonl``); paths may be relative to
            data_root or absolute.
        limit (int, optional): keep only the first ``limit`` records (smoke runs).

    Example:
        >>> src = ImageFolderSource('data/toy/prcc', 'rgb/train/*/*.jpg',
        ...                         r'rgb/train/(?P<pid>\\d+)/(?P<camid>[ABC])_.*',
        ...                         cam_map={'A': 0, 'B': 1, 'C': 2})
        >>> records = src.load()
    """

    def __init__(self, data_root: str, pattern: str, regex: str,
                 cam_map: Optional[Dict[str, int]] = None,
                 clothes_group: str = 'clothes',
                 clothes_map: Optional[Dict[str, Any]] = None,
                 relabel: bool = True, modality: int = 0,
                 mask_dir: Optional[str] = None, missing_mask: str = 'error',
                 mask_labels: Optional[Sequence[int]] = None,
                 attributes_file: Optional[str] = None,
                 limit: Optional[int] = None) -> None:
        super().__init__(data_root)
        if not data_root:
            raise SourceError(f'{type(self).__name__}: data_root is not set '
                              '(set source.data_root or a top-level data_root)')
        if missing_mask not in ('error', 'none', 'box'):
            raise SourceError(f"missing_mask must be 'error', 'none' or 'box', "
                              f'got {missing_mask!r}')
        self.pattern = pattern
        self.regex = re.compile(regex)
        if 'pid' not in self.regex.groupindex:
            raise SourceError(f'source regex {regex!r} needs a named group '
                              "'pid', e.g. (?P<pid>\\d+)")
        self.cam_map = cam_map
        self.clothes_group = clothes_group
        self.clothes_map = clothes_map
        self.relabel = relabel
        self.modality = modality
        self.mask_dir = mask_dir
        self.missing_mask = missing_mask
        self.mask_labels = (None if mask_labels is None
                            else tuple(int(v) for v in mask_labels))
        self.attributes_file = attributes_file
        self.limit = limit

    def _abs(self, path: str) -> str:
        return path if osp.isabs(path) else osp.join(self.data_root, path)

    def _read_attributes(self) -> Dict[str, dict]:
        if not self.attributes_file:
            return {}
        path = self._abs(self.attributes_file)
        if not osp.isfile(path):
            return {}
        out = {}
        root = osp.abspath(self.data_root)
        with open(path, encoding='utf-8') as f:
            for n, line in enumerate(f, 1):
                if not line.strip():
                    continue
                try:
                    row = json.loads(line)
                    rel = row['path']
                except (ValueError, KeyError, TypeError) as exc:
                    raise SourceError(f'{path} line {n}: expected a JSON object '
                                      f"with a 'path' key ({exc})") from exc
                if osp.isabs(rel):
                    rel = osp.relpath(rel, root)
                out[rel.replace(os.sep, '/')] = row
        return out

    def _load(self) -> List[Dict[str, Any]]:
        root = self.data_root
        if not osp.isdir(root):
            raise SourceError(f'{type(self).__name__}: data_root {root} does not '
                              f'exist (expected images at {root}/{self.pattern})')
        files = sorted(glob.glob(osp.join(root, self.pattern)))
        if not files:
            raise SourceError(f'{type(self).__name__}: no image matches '
                              f'{osp.join(root, self.pattern)}')
        annotations = self._read_attributes()
        parsed = []
        for path in files:
            rel = osp.relpath(path, root).replace(os.sep, '/')
            m = self.regex.fullmatch(rel)
            if m is None:
                raise SourceError(f'{path}: its path {rel!r} does not match the '
                                  f'expected layout {self.regex.pattern!r}')
            groups = m.groupdict()
            raw_cam = groups.get('camid')
            if raw_cam is None:
                camid = 0
            elif self.cam_map is not None:
                if raw_cam not in self.cam_map:
                    raise SourceError(f'{path}: camera {raw_cam!r} is not in '
                                      f'cam_map {self.cam_map}')
                camid = int(self.cam_map[raw_cam])
            else:
                camid = int(raw_cam)
            raw_clothes = groups.get(self.clothes_group)
            if raw_clothes is not None and self.clothes_map is not None:
                raw_clothes = self.clothes_map.get(raw_clothes, raw_clothes)
            parsed.append((rel, path, groups['pid'], camid, raw_clothes))
        pid_of = {p: i for i, p in enumerate(sorted({r[2] for r in parsed},
                                                    key=_natural))}
        clothes_keys = sorted({(r[2], str(r[4])) for r in parsed
                               if r[4] is not None},
                              key=lambda t: (_natural(t[0]), t[1]))
        clothes_of = {k: i for i, k in enumerate(clothes_keys)}
        records = []
        for rel, path, raw_pid, camid, raw_clothes in parsed:
            pid = pid_of[raw_pid] if self.relabel else int(raw_pid)
            clothes = (clothes_of[(raw_pid, str(raw_clothes))]
                       if raw_clothes is not None else -1)
            ann = annotations.get(rel, {})
            attrs = dict(ann.get('attributes') or {})
            if self.clothes_map is None and 'clothes_id' in ann and \
                    raw_clothes is None:
                clothes = int(ann['clothes_id'])
            records.append(_record(
                key=rel, source=path, mask=self._mask_path(rel), pid=pid,
                camid=camid, clothes_id=clothes, modality=self.modality,
                attributes=attrs, extra=dict(source_pid=_int_or_str(raw_pid))))
        if self.limit is not None:
            records = sorted(records, key=lambda r: r['key'])[:int(self.limit)]
        return records

    def _mask_path(self, rel: str) -> Optional[str]:
        if not self.mask_dir:
            return None
        path = osp.join(self._abs(self.mask_dir), osp.splitext(rel)[0] + '.png')
        if osp.isfile(path):
            return path
        if self.missing_mask == 'error':
            raise SourceError(f'mask {path} for image {rel} does not exist '
                              f"(expected <mask_dir>/<image path>.png; set "
                              f"missing_mask='box' or 'none' to go on without)")
        return 'box' if self.missing_mask == 'box' else None

    def describe(self) -> Dict[str, Any]:
        return dict(type=type(self).__name__, pattern=self.pattern,
                    regex=self.regex.pattern, mask_dir=self.mask_dir,
                    missing_mask=self.missing_mask, limit=self.limit,
                    mask_labels=self.mask_labels)


def _natural(s: str):
    return (0, int(s), '') if str(s).isdigit() else (1, 0, str(s))


def _int_or_str(s: str):
    return int(s) if str(s).lstrip('-').isdigit() else s


@SOURCES.register_module()
class PRCCSource(ImageFolderSource):
    """PRCC's ``rgb/<split>/<pid>/{A,B,C}_*.jpg`` training layout.

    Cameras A, B, C map to camids 0, 1, 2; A and B share one outfit and C wears
    another, so each identity has two clothes ids (the layout's facts:
    :mod:`synthgen.layouts.prcc`, shared with reidkit's ``PRCC`` parser and
    the toy world's writer). The toy world's part masks
    and attributes (``_toy_annotations/``) are picked up when present.

    Args:
        data_root (str): PRCC root (the folder that holds ``rgb/``).
        split (str): ``'train'`` (default) or ``'val'``.
        mask_dir (str, optional): default ``'_toy_annotations/masks'``.
        missing_mask (str): default ``'box'`` (real PRCC has no parsing masks).
        mask_labels (list[int]): default ``(3, 4, 5)``: upper and lower
            clothes and shoes (DLCR's clothes mask on the toy world's labels).
        attributes_file (str, optional): default
            ``'_toy_annotations/attributes.jsonl'`` (ignored when absent).
        **kwargs: other :class:`ImageFolderSource` arguments (``limit``).

    Example:
        >>> records = PRCCSource('data/toy/prcc').load()
        >>> records[0]['camid'] in (0, 1, 2)
        True
    """

    def __init__(self, data_root: str, split: str = 'train',
                 mask_dir: Optional[str] = '_toy_annotations/masks',
                 missing_mask: str = 'box',
                 mask_labels: Optional[Sequence[int]] = (3, 4, 5),
                 attributes_file: Optional[str] = '_toy_annotations/attributes.jsonl',
                 **kwargs) -> None:
        if split not in prcc_layout.TRAIN_SPLITS:
            raise SourceError(f'PRCCSource: split must be one of '
                              f'{prcc_layout.TRAIN_SPLITS}, got {split!r}')
        super().__init__(
            data_root, pattern=f'{prcc_layout.ROOT}/{split}/*/*.*',
            regex=prcc_layout.train_regex(split),
            cam_map=dict(prcc_layout.CAMID), clothes_group='camid',
            clothes_map=dict(prcc_layout.CLOTHES), mask_dir=mask_dir,
            missing_mask=missing_mask, mask_labels=mask_labels,
            attributes_file=attributes_file, **kwargs)
        self.split = split


@SOURCES.register_module()
class IdentityListSource(BaseSource):
    """One unit per identity, for text-to-image generation without source images.

    Args:
        identities (int | list | str): a count ``N`` (pids ``0..N-1``), a list of
            pids or of dicts (``pid`` plus attribute columns), or a CSV/JSON/JSONL
            file of such rows.
        cameras (list[int]): camera ids; variant ``k`` of a unit is given
            ``cameras[k % len(cameras)]`` by the pipeline (stored in the record
            as ``extra['cameras']``).
        modality (int): modality of every image.
        data_root (str, optional): base for a relative ``identities`` path.

    Example:
        >>> IdentityListSource(3).load()[2]['pid']
        2
    """

    def __init__(self, identities: Any, cameras: Sequence[int] = (0,),
                 modality: int = 0, data_root: Optional[str] = None) -> None:
        super().__init__(data_root)
        self.identities = identities
        self.cameras = [int(c) for c in cameras]
        if not self.cameras:
            raise SourceError('IdentityListSource: cameras must not be empty')
        self.modality = modality

    def _rows(self) -> List[dict]:
        ids = self.identities
        if isinstance(ids, int):
            return [dict(pid=i) for i in range(ids)]
        if isinstance(ids, str):
            path = ids if osp.isabs(ids) or not self.data_root else \
                osp.join(self.data_root, ids)
            ids = read_table(path)
            if isinstance(ids, dict):
                raise SourceError(f'{path}: expected a list of identity rows '
                                  '(objects with a pid), not an object')
        rows = []
        for i, row in enumerate(ids):
            if isinstance(row, dict):
                if 'pid' not in row:
                    raise SourceError(f'identity row {i} {row} has no pid')
                rows.append(dict(row))
            else:
                rows.append(dict(pid=row))
        return rows

    def _load(self) -> List[Dict[str, Any]]:
        out = []
        for row in self._rows():
            pid = int(row.pop('pid'))
            camid = int(row.pop('camid', self.cameras[0]))
            out.append(_record(key=f'{pid:08d}', pid=pid, camid=camid,
                               modality=int(row.pop('modality', self.modality)),
                               clothes_id=int(row.pop('clothes_id', -1)),
                               attributes=row,
                               extra=dict(cameras=self.cameras)))
        return out

    def describe(self) -> Dict[str, Any]:
        return dict(type=type(self).__name__, cameras=self.cameras,
                    modality=self.modality)


@SOURCES.register_module()
class PromptLibrarySource(BaseSource):
    """One unit per row of an attribute library (CSV/JSON/JSONL), or N random draws.

    Args:
        library (str | list | dict): rows (list of dicts) or a file of them; a
            JSON object of lists (attribute -> words) is sampled ``num_units``
            times with ``seed`` instead.
        num_units (int, optional): units to draw from an object-of-lists library.
        seed (int): sampling seed for that case.
        data_root (str, optional): base for a relative library path.

    Every row's columns become the record's ``attributes`` (``pid``/``camid``
    columns, if present, set the labels; otherwise pid = row index).

    Example:
        >>> src = PromptLibrarySource([dict(upper_color='red'),
        ...                            dict(upper_color='blue')])
        >>> [r['attributes']['upper_color'] for r in src.load()]
        ['red', 'blue']
    """

    def __init__(self, library: Any, num_units: Optional[int] = None,
                 seed: int = 0, data_root: Optional[str] = None) -> None:
        super().__init__(data_root)
        self.library = library
        self.num_units = num_units
        self.seed = seed

    def _load(self) -> List[Dict[str, Any]]:
        lib = self.library
        name = 'library'
        if isinstance(lib, str):
            name = lib if osp.isabs(lib) or not self.data_root else \
                osp.join(self.data_root, lib)
            lib = read_table(name)
        if isinstance(lib, dict):
            if not self.num_units:
                raise SourceError(f'{name}: an attribute -> words library needs '
                                  'num_units (how many combinations to draw)')
            rng = np.random.default_rng(self.seed)
            rows = [{k: v[int(rng.integers(len(v)))] if isinstance(v, list) else v
                     for k, v in lib.items()} for _ in range(int(self.num_units))]
        elif isinstance(lib, list):
            rows = [dict(r) for r in lib]
        else:
            raise SourceError(f'{name}: expected rows or an object of lists')
        out = []
        for i, row in enumerate(rows):
            pid = int(row.pop('pid', i))
            camid = int(row.pop('camid', 0))
            out.append(_record(key=f'{i:08d}', pid=pid, camid=camid,
                               attributes=row))
        return out

    def describe(self) -> Dict[str, Any]:
        return dict(type=type(self).__name__, num_units=self.num_units,
                    seed=self.seed)


def box_mask(shape: Sequence[int]) -> np.ndarray:
    """A rough person-parsing guess for a centred pedestrian crop.

    Upper body (label 3) from 22% to 55% of the height, lower body (label 4)
    from 55% to 90%, both over the central 60% of the width. Used where no
    parsing mask exists (``missing_mask='box'``).
    """
    h, w = int(shape[0]), int(shape[1])
    mask = np.zeros((h, w), np.uint8)
    x0, x1 = int(w * 0.2), int(np.ceil(w * 0.8))
    mask[int(h * 0.22):int(h * 0.55), x0:x1] = 3
    mask[int(h * 0.55):int(h * 0.90), x0:x1] = 4
    return mask


def iter_keys(records: Iterable[Dict[str, Any]]) -> List[str]:
    """The record keys, in order (what the plan fingerprint hashes)."""
    return [r['key'] for r in records]
