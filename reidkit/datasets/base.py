"""The ``ReIDDataset`` base class every benchmark parser derives from.

A parser only implements :meth:`ReIDDataset.parse_split`, which returns raw
records for ``'train'``, ``'query'`` or ``'gallery'``: the benchmark's own pid,
camera number, and (where the benchmark has one) a ``clothes`` key that names an
outfit *within* a pid. The base class turns those into the sample dicts fixed
by ``docs/conventions.md``:

* junk images (pid < 0) are dropped;
* train pids are relabelled 0..N-1 in order of the original id, and train
  clothes 0..C-1 over sorted ``(pid, clothes)`` pairs;
* test pids keep the benchmark's id; test clothes ids are numbered over the
  union of query and gallery so that they agree between the two lists;
* ``split='test'`` is the query list followed by the gallery list;
* ``metainfo`` gets ``num_pids``, ``num_cams``, ``num_clothes``,
  ``num_images`` and ``protocol`` (plus ``pid2label`` for train splits).

Layout problems raise :class:`LayoutError`, whose message names the missing
folder or the bad file and shows the expected layout.

Image files are checked when the list is built (``check_images``, cheap: the
header and the file's last bytes, see :func:`synthgen.utils.image.inspect_image`):
an empty, truncated or undecodable file raises :class:`BadImageError` naming
it, or with ``on_bad_image='skip'`` is left out and reported (count and
files). Degenerate crops (a side under 8 px, or longer than 10x the other)
are reported in one warning with their count.
"""
from __future__ import annotations

import logging
import os
import os.path as osp
import pickle
import re
from typing import Callable, Dict, Iterable, List, Optional, Sequence

import numpy as np
from mmengine.dataset import BaseDataset
from mmengine.logging import print_log

from synthgen.utils.image import ImageError, inspect_image, is_degenerate

IMG_EXTENSIONS = ('.jpg', '.jpeg', '.png', '.bmp', '.ppm', '.tif', '.tiff',
                  '.webp')

SPLITS = ('train', 'query', 'gallery', 'test')


class LayoutError(ValueError):
    """A dataset folder does not have the layout its parser expects."""


class BadImageError(LayoutError):
    """A dataset lists image files that are empty, truncated or corrupt."""


ON_BAD_IMAGE = ('error', 'skip')

# (dataset class, split, on_bad_image, image paths) -> which files passed
# ReIDDataset's check, for the life of the process
_CHECKED: Dict[tuple, List[bool]] = {}


def is_image(name: str) -> bool:
    """Whether a file name has an image extension (case-insensitive)."""
    return name.lower().endswith(IMG_EXTENSIONS)


def scan_images(folder: str) -> List[str]:
    """Sorted names of the image files directly inside ``folder``.

    Uses ``os.scandir`` and never opens a file. Non-image files (``Thumbs.db``,
    readme files) are ignored.
    """
    with os.scandir(folder) as it:
        names = [e.name for e in it if is_image(e.name) and e.is_file()]
    names.sort()
    return names


def scan_dirs(folder: str) -> List[str]:
    """Sorted names of the sub-folders of ``folder``."""
    with os.scandir(folder) as it:
        names = [e.name for e in it if e.is_dir()]
    names.sort()
    return names


def build_pipeline(pipeline: Sequence) -> list:
    """Build transform configs with reidkit's TRANSFORMS registry.

    mmengine's ``Compose`` builds with the root registry, which finds our
    transforms only when the default scope is 'reidkit'; building here makes
    a dataset usable outside a Runner too. Callables pass through.
    """
    from reidkit.registry import TRANSFORMS
    return [TRANSFORMS.build(t) if isinstance(t, dict) else t
            for t in (pipeline or [])]


class ReIDDataset(BaseDataset):
    """Base class of the re-ID datasets (see the module docstring).

    Subclasses set ``LAYOUT`` (a short drawing of the expected folder tree,
    shown in every layout error), ``PROTOCOL`` (the ``reidkit.evaluation``
    protocol name) and implement :meth:`parse_split`.

    Args:
        data_root (str): Root folder of the benchmark.
        split (str): ``'train'``, ``'query'``, ``'gallery'`` or ``'test'``
            (query list followed by the gallery list).
        pipeline (list): Transforms (configs or callables).
        relabel (bool): Relabel train pids/clothes to 0..N-1 / 0..C-1.
            Default True.
        protocol (str, optional): Override the evaluation protocol name
            stored in ``metainfo``.
        on_bad_image (str): ``'error'`` (default): an empty, truncated or
            undecodable image stops with its path; ``'skip'``: such images
            are left out (when the list is built, and a training image that
            fails to decode later is replaced by another one) and reported.
        check_images (bool): check every image file when the list is built
            (one ``open`` and a header read per file). Default True; False
            leaves the check to the first read.
        **kwargs: Passed to ``mmengine.dataset.BaseDataset`` (``indices``,
            ``serialize_data``, ``lazy_init``, ``max_refetch``...).

    Example:
        >>> ds = Market1501(data_root='data/market1501', split='train')
        >>> ds.metainfo['num_pids'], ds[0]['pid']
    """

    LAYOUT: str = ''
    PROTOCOL: str = 'market'
    DOMAIN: int = 0
    HAS_CLOTHES: bool = False

    def __init__(self,
                 data_root: str,
                 split: str = 'train',
                 pipeline: Sequence = (),
                 relabel: bool = True,
                 protocol: Optional[str] = None,
                 on_bad_image: str = 'error',
                 check_images: bool = True,
                 **kwargs):
        if on_bad_image not in ON_BAD_IMAGE:
            raise ValueError(f'{type(self).__name__}: on_bad_image must be '
                             f'one of {ON_BAD_IMAGE}, got {on_bad_image!r}')
        self.on_bad_image = on_bad_image
        self.check_images = bool(check_images)
        if split not in SPLITS:
            raise ValueError(f'{type(self).__name__}: split must be one of '
                             f'{SPLITS}, got {split!r}')
        if not data_root:
            raise ValueError(f'{type(self).__name__}: data_root is empty')
        self.split = split
        self.relabel = relabel
        self.protocol = protocol or self.PROTOCOL
        self._raw_cache: Dict[str, list] = {}
        kwargs.setdefault('data_prefix', dict())
        kwargs.setdefault('test_mode', split != 'train')
        super().__init__(data_root=osp.abspath(osp.expanduser(data_root)),
                         pipeline=build_pipeline(pipeline), **kwargs)

    # ------------------------------------------------------------------ API
    def parse_split(self, split: str) -> List[dict]:
        """Raw records of ``split`` ('train', 'query' or 'gallery').

        Each record needs ``img_path`` (absolute), ``pid`` (benchmark id,
        negative = junk), ``camid``; may have ``clothes`` (any hashable naming
        the outfit within the pid), ``modality``, ``track_id``,
        ``attributes``, ``domain``.
        """
        raise NotImplementedError

    # ---------------------------------------------------------- layout help
    def layout_error(self, problem: str) -> LayoutError:
        """A :class:`LayoutError` naming the problem and the expected tree."""
        return LayoutError(
            f'{type(self).__name__}: {problem}\n'
            f'Expected layout under {self.data_root}:\n{self.LAYOUT.rstrip()}')

    def require_dir(self, *parts: str) -> str:
        """Path of a folder under ``data_root``; LayoutError if missing."""
        path = osp.join(self.data_root, *parts)
        if not osp.isdir(path):
            raise self.layout_error(f'missing folder {path!r}')
        return path

    def require_file(self, *parts: str) -> str:
        """Path of a file under ``data_root``; LayoutError if it is missing."""
        path = osp.join(self.data_root, *parts)
        if not osp.isfile(path):
            raise self.layout_error(f'missing file {path!r}')
        return path

    def bad_name(self, path: str, expected: str) -> LayoutError:
        return self.layout_error(
            f'bad file name {path!r}: expected {expected}')

    def parse_named_images(self, folder: str, regex: 're.Pattern',
                           expected: str,
                           fields: Callable[['re.Match'], dict]) -> List[dict]:
        """Records for every image in ``folder`` whose name matches ``regex``.

        ``fields(match)`` returns the record fields (pid, camid, ...); a file
        whose name does not match raises a LayoutError naming it.
        """
        records = []
        for name in scan_images(folder):
            m = regex.match(name)
            if m is None:
                raise self.bad_name(osp.join(folder, name), expected)
            rec = fields(m)
            rec['img_path'] = osp.join(folder, name)
            records.append(rec)
        return records

    def read_lines(self, path: str) -> List[str]:
        """Non-empty stripped lines of a text file."""
        with open(path, 'r', encoding='utf-8') as f:
            return [ln.strip() for ln in f if ln.strip()]

    def read_id_list(self, path: str) -> List[int]:
        """Ids from a comma- and/or whitespace-separated list file."""
        with open(path, 'r', encoding='utf-8') as f:
            text = f.read()
        ids = []
        for tok in re.split(r'[\s,]+', text.strip()):
            if not tok:
                continue
            if not tok.lstrip('-').isdigit():
                raise self.layout_error(
                    f'bad id {tok!r} in {path!r}: expected comma-separated '
                    'integer ids')
            ids.append(int(tok))
        return ids

    # ------------------------------------------------------------ internals
    def _raw(self, split: str) -> List[dict]:
        if split not in self._raw_cache:
            if not osp.isdir(self.data_root):
                raise self.layout_error(
                    f'data_root {self.data_root!r} does not exist')
            records = self.parse_split(split)
            # junk images (pid -1) are dropped by every parser
            records = [r for r in records if r['pid'] >= 0]
            if self.check_images:
                records = self._checked(records, split)
            self._raw_cache[split] = records
        return self._raw_cache[split]

    def _checked(self, records: List[dict], split: str) -> List[dict]:
        """``records`` whose image files pass :func:`inspect_image`.

        Bad files raise :class:`BadImageError` (or are dropped and reported
        with ``on_bad_image='skip'``); degenerate sizes get one warning. The
        verdict is kept for the process, so a dataset built twice (the tools
        read the train set's counts first) checks and reports once.
        """
        paths = tuple(r['img_path'] for r in records)
        key = (type(self).__name__, split, self.on_bad_image, paths)
        if key not in _CHECKED:
            _CHECKED[key] = self._check_files(paths, split)
        keep = _CHECKED[key]
        return [r for r, ok in zip(records, keep) if ok]

    def _check_files(self, paths: Sequence[str], split: str) -> List[bool]:
        name = f'{type(self).__name__} ({split})'
        keep, bad, odd = [], [], []
        for path in paths:
            info = inspect_image(path)
            keep.append(info.problem is None)
            if info.problem:
                bad.append(f'{path}: {info.problem}')
            elif is_degenerate(info.size):
                odd.append(f'{path} ({info.size[0]}x{info.size[1]})')
        if bad and self.on_bad_image == 'error':
            more = f' (and {len(bad) - 1} more)' if len(bad) > 1 else ''
            raise BadImageError(
                f'{name}: bad image {bad[0]}{more}; fix or remove it, or set '
                "on_bad_image='skip' on the dataset (e.g. --cfg-options "
                'dataset_args.on_bad_image=skip)')
        if bad:
            print_log(f'{name}: skipped {len(bad)} bad image(s): '
                      + '; '.join(bad[:10])
                      + (f'; ... {len(bad) - 10} more' if len(bad) > 10
                         else ''), logger='current', level=logging.WARNING)
        if odd:
            print_log(f'{name}: {len(odd)} image(s) of degenerate size (a '
                      'side < 8 px or an aspect ratio > 10), e.g. '
                      + ', '.join(odd[:3]), logger='current',
                      level=logging.WARNING)
        return keep

    def prepare_data(self, idx):
        """Run the pipeline on sample ``idx``; with ``on_bad_image='skip'``
        a training image that fails to decode returns None, so mmengine's
        ``__getitem__`` fetches another sample instead."""
        try:
            return super().prepare_data(idx)
        except ImageError as exc:
            if self.on_bad_image != 'skip' or self.test_mode:
                raise
            print_log(f'{type(self).__name__}: skipped a bad image: {exc}',
                      logger='current', level=logging.WARNING)
            return None

    def _test_clothes_map(self) -> dict:
        keys = set()
        for split in ('query', 'gallery'):
            for r in self._raw(split):
                if r.get('clothes') is not None:
                    keys.add((r['pid'], r['clothes']))
        return {k: i for i, k in enumerate(sorted(keys, key=_sort_key))}

    def _finalise(self, records: List[dict], split: str,
                  clothes_map: Optional[dict]) -> List[dict]:
        out = []
        for r in records:
            s = dict(
                img_path=r['img_path'],
                pid=int(r['pid']),
                camid=int(r['camid']),
                clothes_id=-1,
                modality=int(r.get('modality', 0)),
                domain=int(r.get('domain', self.DOMAIN)),
                split=split,
                track_id=int(r.get('track_id', -1)),
            )
            c = r.get('clothes')
            if c is not None and clothes_map is not None:
                s['clothes_id'] = clothes_map[(r['pid'], c)]
            elif r.get('clothes_id') is not None:
                s['clothes_id'] = int(r['clothes_id'])
            if r.get('attributes') is not None:
                s['attributes'] = dict(r['attributes'])
            for k in self.EXTRA_KEYS:
                if k in r:
                    s[k] = r[k]
            out.append(s)
        return out

    EXTRA_KEYS: tuple = ()

    def load_data_list(self) -> List[dict]:
        split = self.split
        meta = {}
        if split == 'train':
            raw = self._raw('train')
            if not raw:
                raise self.layout_error('the train split has no images')
            if self.relabel:
                pids = sorted({r['pid'] for r in raw})
                pid2label = {p: i for i, p in enumerate(pids)}
                ckeys = sorted({(r['pid'], r['clothes']) for r in raw
                                if r.get('clothes') is not None},
                               key=_sort_key)
                cmap = {k: i for i, k in enumerate(ckeys)}
                data = self._finalise(raw, 'train', cmap)
                for s, r in zip(data, raw):
                    s['orig_pid'] = s['pid']
                    s['pid'] = pid2label[r['pid']]
                meta['pid2label'] = pid2label
            else:
                ckeys = sorted({(r['pid'], r['clothes']) for r in raw
                                if r.get('clothes') is not None},
                               key=_sort_key)
                data = self._finalise(raw, 'train',
                                      {k: i for i, k in enumerate(ckeys)})
        else:
            cmap = self._test_clothes_map() if self._has_clothes() else None
            parts = ('query', 'gallery') if split == 'test' else (split, )
            data = []
            for part in parts:
                data += self._finalise(self._raw(part), part, cmap)
            if not data:
                raise self.layout_error(f'the {split} split has no images')
        meta.update(self.count(data))
        meta['protocol'] = self.protocol
        meta['split'] = split
        self._metainfo.update(meta)
        self._raw_cache.clear()
        return data

    def _serialize_data(self):
        """mmengine's serialisation (same ``data_bytes``/``data_address``
        format) without its ``gc.collect()``, which costs ~0.4 s per dataset
        once torch is imported; the dicts hold no reference cycles, so
        reference counting frees them anyway."""
        buffers = [np.frombuffer(pickle.dumps(x, protocol=4), dtype=np.uint8)
                   for x in self.data_list]
        data_address = np.cumsum(np.asarray([len(b) for b in buffers],
                                            dtype=np.int64))
        data_bytes = (np.concatenate(buffers) if buffers else
                      np.zeros(0, np.uint8))
        self.data_list.clear()
        return data_bytes, data_address

    def _has_clothes(self) -> bool:
        for part in ('query', 'gallery'):
            if any(r.get('clothes') is not None for r in self._raw(part)):
                return True
        return False

    @staticmethod
    def count(data: Iterable[dict]) -> dict:
        """``num_pids``, ``num_cams``, ``num_clothes``, ``num_images``."""
        pids, cams, clothes, n = set(), set(), set(), 0
        for s in data:
            n += 1
            pids.add(s['pid'])
            cams.add(s['camid'])
            if s['clothes_id'] >= 0:
                clothes.add(s['clothes_id'])
        return dict(num_pids=len(pids), num_cams=len(cams),
                    num_clothes=len(clothes), num_images=n)


def _sort_key(key):
    """Sort (pid, clothes) pairs whose clothes keys may mix int and str."""
    pid, c = key
    return (pid, str(type(c).__name__), c if isinstance(c, (int, str)) else
            str(c))
