"""``SyntheticDataset``: images listed in synthgen's JSON Lines manifests.

The manifest format is synthgen's (:mod:`synthgen.manifest`, a module of the
standard library only); files are parsed by its :func:`parse_shard`, so the
writer and this reader agree on which lines are committed.
"""
from __future__ import annotations

import glob
import os.path as osp
import re
import warnings
from typing import Dict, List, Optional, Sequence, Union

from synthgen.manifest import DONE_KIND, ManifestError, ShardState, parse_shard

from reidkit.registry import DATASETS

from .base import ReIDDataset

__all__ = ['SyntheticDataset', 'ManifestError', 'read_manifest',
           'REQUIRED_KEYS', 'DONE_KIND']

REQUIRED_KEYS = ('path', 'pid', 'camid', 'domain', 'unit', 'generator',
                 'prompt', 'seed')
PID_MODES = ('new', 'shared', 'keep')


def _parse_checked(path: str) -> ShardState:
    """:func:`parse_shard` with each image line's number in ``_line``.

    Warns about a cut-short last line and raises :class:`ManifestError` for
    an image line without one of :data:`REQUIRED_KEYS`.
    """
    state = parse_shard(path, line_key='_line')
    if state.cut_line:
        warnings.warn(f'{path}: skipping truncated last line '
                      f'{state.cut_line} (a writer was killed mid-line)')
    for rec in state.images + state.pending:
        missing = [k for k in REQUIRED_KEYS if k not in rec]
        if missing:
            raise ManifestError(
                f"{path}:{rec['_line']}: missing key(s) {missing}; a manifest "
                f'line needs {list(REQUIRED_KEYS)}')
    return state


def read_manifest(path: str, committed_only: Optional[bool] = None
                  ) -> List[dict]:
    """The image lines of one JSON Lines manifest.

    Every image line must be a JSON object holding :data:`REQUIRED_KEYS`; a
    bad line raises :class:`ManifestError` naming the file and line number.
    The one exception is a last line that is not valid JSON and has no
    trailing newline: a writer killed mid-line leaves exactly that, so it is
    skipped with a warning.

    synthgen's writer closes each work unit's block of image lines with a
    ``{"kind": "unit_done", ...}`` record; only lines so committed are real
    (the images of an uncommitted block may be missing). With
    ``committed_only=None`` (default) a file holding completion records is
    read that way (later image lines are skipped with a warning), and a
    file without any is read whole.

    Args:
        path (str): the manifest file.
        committed_only (bool, optional): see above.

    Returns:
        list[dict]: the image lines, each with ``_line`` (1-based number).

    Example:
        >>> lines = read_manifest('work_dirs/gen/manifest.rank0.jsonl')
        >>> lines[0]['_line']
        1
    """
    state = _parse_checked(path)
    if committed_only is None:
        committed_only = bool(state.done)
    if not committed_only:
        return state.images + state.pending
    if state.pending:
        warnings.warn(f'{path}: ignoring {len(state.pending)} image line(s) '
                      'after the last unit_done record (not committed)')
    return state.images


def _rank_key(path: str):
    m = re.search(r'rank(\d+)', osp.basename(path))
    return (0, int(m.group(1)), path) if m else (1, 0, path)


@DATASETS.register_module()
class SyntheticDataset(ReIDDataset):
    """Synthetic training images listed in synthgen manifests.

    Reads every ``manifest*.jsonl`` in ``data_root`` (shards in rank order)
    or the files in ``manifests``. Each image line has at least ``path``
    (relative to the manifest), ``pid``, ``camid``, ``domain``, ``unit``,
    ``generator``, ``prompt``, ``seed`` and may have ``clothes_id``,
    ``modality``, ``attributes``, ``source``, ``source_pid``, ``filters``.
    Only committed lines are used when the manifests hold synthgen's
    ``unit_done`` records (a unit committed in two shards counts once); see
    :func:`read_manifest`. Samples get ``domain`` (default 1), the manifest
    pid in ``orig_pid``, ``source_pid`` (or None) and ``provenance``
    (generator, unit, seed, source, manifest, line).

    Identity spaces (train split):

    * ``pid_mode='new'``: the distinct manifest pids are relabelled
      ``pid_offset + 0..M-1`` (new identities after ``pid_offset`` real ones).
    * ``pid_mode='shared'``: a line with a ``source`` (made from a real
      image) keeps that real identity. synthgen's folder sources write the
      real train label (real ids sorted -> 0..N-1, as reidkit relabels) as
      ``pid`` and the benchmark's id as ``source_pid``; with ``pid2label``
      (the real train split's ``metainfo['pid2label']``) the label is
      ``pid2label[source_pid]``, otherwise the manifest ``pid``. Lines
      without a source are new identities numbered from ``pid_offset``
      (default: after the largest shared label).
    * ``pid_mode='keep'``: ``pid + pid_offset`` as written.

    Clothes ids are relabelled 0..C-1 over (pid, clothes_id) pairs; lines
    without ``clothes_id`` (or -1) get -1. :class:`ReIDConcatDataset` does
    the offsets for you when mixing real and synthetic data.

    Args:
        data_root (str): Folder holding ``manifest*.jsonl``. May be '' when
            ``manifests`` are absolute paths.
        manifests (str | list[str], optional): Manifest files (relative to
            ``data_root`` unless absolute).
        split (str): only 'train'.
        pid_mode (str): 'new' (default), 'shared' or 'keep'.
        pid_offset (int): first new label (see above). Default 0.
        pid2label (dict, optional): real benchmark id -> real train label,
            for ``pid_mode='shared'``.
        domain (int): domain written on every sample. Default 1.
        committed_only (bool, optional): None (default) = only committed
            lines when any manifest has ``unit_done`` records.
        check_files (bool): check every image exists (and, unless
            ``check_images`` says otherwise, that it is readable, see
            :class:`ReIDDataset`). Default True.
        **kwargs: See :class:`ReIDDataset`.

    Example:
        >>> ds = SyntheticDataset('work_dirs/gen/market', pid_mode='new',
        ...                       pid_offset=751)
        >>> ds[0]['domain']
        1
    """

    LAYOUT = """\
    manifest.rank0.jsonl  manifest.rank1.jsonl ...   (JSON Lines, one image per line)
    <paths relative to the manifest>.jpg
    """
    EXTRA_KEYS = ('provenance', 'source_pid')

    def __init__(self,
                 data_root: str = '',
                 manifests: Optional[Union[str, Sequence[str]]] = None,
                 split: str = 'train',
                 pid_mode: str = 'new',
                 pid_offset: int = 0,
                 pid2label: Optional[Dict[int, int]] = None,
                 domain: int = 1,
                 committed_only: Optional[bool] = None,
                 check_files: bool = True,
                 **kwargs):
        if split != 'train':
            raise ValueError('SyntheticDataset holds training data only: '
                             f"split must be 'train', got {split!r}")
        if pid_mode not in PID_MODES:
            raise ValueError(f'SyntheticDataset: pid_mode must be one of '
                             f'{PID_MODES}, got {pid_mode!r}')
        if isinstance(manifests, str):
            manifests = [manifests]
        self.manifests = list(manifests) if manifests else None
        if not data_root and not self.manifests:
            raise ValueError('SyntheticDataset needs data_root (a folder of '
                             'manifest*.jsonl) or manifests')
        self.pid_mode = pid_mode
        self.pid_offset = int(pid_offset)
        self.pid2label = ({int(k): int(v) for k, v in pid2label.items()}
                          if pid2label else None)
        self.domain = int(domain)
        self.committed_only = committed_only
        self.check_files = check_files
        kwargs.setdefault('check_images', check_files)
        super().__init__(data_root or '/', split='train', relabel=False,
                         **kwargs)

    def manifest_files(self) -> List[str]:
        """The manifest files this dataset reads, shards in rank order."""
        if self.manifests:
            files = [m if osp.isabs(m) else osp.join(self.data_root, m)
                     for m in self.manifests]
            for f in files:
                if not osp.isfile(f):
                    raise self.layout_error(f'missing manifest {f!r}')
            return files
        files = sorted(glob.glob(osp.join(self.data_root, 'manifest*.jsonl')),
                       key=_rank_key)
        if not files:
            raise self.layout_error(
                f'no manifest*.jsonl in {self.data_root!r}')
        return files

    def read_entries(self) -> List[tuple]:
        """``(manifest path, line dict)`` of every image line to use."""
        shards = [_parse_checked(f) for f in self.manifest_files()]
        committed = self.committed_only
        if committed is None:
            committed = any(sh.done for sh in shards)
        entries, seen = [], set()
        for sh in shards:
            if not committed:
                entries += [(sh.path, e) for e in sh.images + sh.pending]
                continue
            if sh.pending:
                warnings.warn(f'{sh.path}: ignoring {len(sh.pending)} image '
                              'line(s) after the last unit_done record (not '
                              'committed)')
            dup = seen & set(sh.done)  # a unit resumed in another shard
            seen |= set(sh.done)
            # committed lines' units are integers (parse_shard checks them)
            entries += [(sh.path, e) for e in sh.images
                        if int(e['unit']) not in dup]
        return entries

    def parse_split(self, split: str) -> List[dict]:
        records = []
        for mpath, e in self.read_entries():
            where = f"{mpath}:{e['_line']}"
            img_path = osp.normpath(osp.join(osp.dirname(osp.abspath(mpath)),
                                             e['path']))
            if self.check_files and not osp.isfile(img_path):
                raise ManifestError(f'{where}: image {img_path!r} does not '
                                    'exist')
            try:
                pid, camid = int(e['pid']), int(e['camid'])
                cid = e.get('clothes_id')
                cid = None if cid is None or int(cid) < 0 else int(cid)
                spid = e.get('source_pid')
                spid = None if spid is None else int(spid)
                modality = int(e.get('modality') or 0)
            except (TypeError, ValueError):
                raise ManifestError(
                    f'{where}: pid, camid, clothes_id, source_pid and '
                    'modality must be integers') from None
            rec = dict(img_path=img_path, pid=pid, camid=camid,
                       modality=modality, domain=self.domain, clothes=cid,
                       source=e.get('source'), source_pid=spid,
                       provenance=dict(generator=e['generator'],
                                       unit=e['unit'], seed=e['seed'],
                                       source=e.get('source'),
                                       manifest=mpath, line=e['_line']))
            if e.get('attributes') is not None:
                rec['attributes'] = e['attributes']
            records.append(rec)
        return records

    def _shared_label(self, r: dict) -> int:
        if self.pid2label is None:
            return r['pid']
        key = r['source_pid'] if r['source_pid'] is not None else r['pid']
        if key not in self.pid2label:
            p = r['provenance']
            raise ManifestError(
                f"{p['manifest']}:{p['line']}: real id {key} (source "
                f"{p['source']!r}) is not in pid2label")
        return self.pid2label[key]

    def load_data_list(self) -> List[dict]:
        raw = self._raw('train')
        if not raw:
            raise self.layout_error('the manifests list no image')
        data = self._finalise(raw, 'train', self._clothes_map(raw))
        new_label = self._new_labels(raw)
        for s, r in zip(data, raw):
            s['orig_pid'] = r['pid']
            s['pid_shared'] = (self.pid_mode == 'shared'
                               and r.get('source') is not None)
            if s['pid_shared']:
                s['pid'] = self._shared_label(r)
            elif self.pid_mode == 'keep':
                s['pid'] = r['pid'] + self.pid_offset
            else:
                s['pid'] = new_label[r['pid']]
        self._metainfo.update(self.count(data))
        self._metainfo.update(protocol=self.protocol, split='train',
                              pid_mode=self.pid_mode)
        self._raw_cache.clear()
        return data

    def _clothes_map(self, raw: List[dict]) -> dict:
        keys = sorted({(r['pid'], r['clothes']) for r in raw
                       if r['clothes'] is not None})
        return {k: i for i, k in enumerate(keys)}

    def _new_labels(self, raw: List[dict]) -> Dict[int, int]:
        """Labels of the pids that are new identities (not shared)."""
        if self.pid_mode == 'keep':
            return {}
        shared = self.pid_mode == 'shared'
        new = sorted({r['pid'] for r in raw
                      if not (shared and r.get('source') is not None)})
        start = self.pid_offset
        if shared and not start:
            used = [self._shared_label(r) for r in raw
                    if r.get('source') is not None]
            if self.pid2label:
                used += list(self.pid2label.values())
            start = max(used) + 1 if used else 0
        return {p: start + i for i, p in enumerate(new)}
