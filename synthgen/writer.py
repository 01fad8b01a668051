"""The resumable sharded writer: images + append-only manifest shards.

Commit order for one work unit (what makes a SIGKILL at any moment safe):

1. every kept image is encoded in memory, written to ``<name>.tmp`` (fsynced
   when ``fsync=True``) and renamed to its final name, which is fixed by
   ``(unit, variant)``: a redo overwrites, it never adds a second copy;
2. the files are flushed to disk (``fsync``: one ``os.sync()`` per batch by
   default);
3. the unit's block (its image lines plus one ``unit_done`` record; several
   units' blocks for a batch) is appended to this rank's shard with a single
   ``write`` and fsynced.

A unit is finished exactly when its ``unit_done`` record is in a shard. On
resume (:meth:`ShardWriter.resume`) each rank cuts the uncommitted tail off its
own shard, checks the committed images of the units it owns (a file deleted
or damaged since: the unit's block is taken out of the shard, so the unit runs
again) and deletes, among the files of the units it owns, temporary files and
images that no committed line references. Ranks own disjoint units
(``unit % world_size == rank``), so they never touch each other's files.
"""
from __future__ import annotations

import io
import json
import os
import os.path as osp
import re
import tempfile
from typing import Any, Dict, List, Optional, Sequence, Tuple

import numpy as np
from PIL import Image

from synthgen.manifest import (DONE_KIND, ManifestError, parse_shard,
                               shard_path, shard_paths)
from synthgen.sources import to_rgb_array
from synthgen.utils.image import inspect_image

__all__ = ['ShardWriter', 'PlanMismatchError', 'OutputNotWritableError',
           'check_writable', 'broken_images']

_FORMATS = {'jpg': 'JPEG', 'jpeg': 'JPEG', 'png': 'PNG', 'webp': 'WEBP'}
_NAME_RE = re.compile(r'(\d{8,})_(\d{3,})\.([a-z]+)(\.tmp)?$')


class PlanMismatchError(RuntimeError):
    """The output folder was written by a different generation plan."""


class OutputNotWritableError(PermissionError):
    """An output folder cannot be created or written (checked up front)."""


def check_writable(path: str, what: str = 'output',
                   folder: bool = True) -> None:
    """Stop unless ``path`` (existing or not) can be written.

    Creates nothing: the nearest existing folder on the way to ``path`` must
    be a folder in which a file can be created (tried with a temporary file,
    which also catches read-only file systems and a run as root).

    Args:
        path (str): the output.
        what (str): what it is, for the message.
        folder (bool): ``path`` must be a folder (a generation output). With
            ``False`` (a stage's output, a file or a folder) an existing file
            is checked through its folder, where it is replaced atomically.

    Raises:
        OutputNotWritableError: naming ``path`` and the folder at fault.
    """
    target = osp.abspath(path)
    probe = target
    while not osp.exists(probe) and osp.dirname(probe) != probe:
        probe = osp.dirname(probe)
    if not folder and probe == target and osp.isfile(target):
        probe = osp.dirname(target)
    if not osp.isdir(probe):
        raise OutputNotWritableError(
            f'cannot write the {what} {path}: {probe} is a file, not a folder')
    try:
        fd, tmp = tempfile.mkstemp(prefix='.write-check-', dir=probe)
    except OSError as exc:
        where = 'it' if probe == target else probe
        raise OutputNotWritableError(
            f'cannot write the {what} {path}: {where} is not writable '
            f'({exc.strerror})') from None
    os.close(fd)
    os.remove(tmp)


def broken_images(out_dir: str, records) -> Dict[int, str]:
    """Units whose committed image files are missing or unreadable.

    Args:
        out_dir (str): the manifest's folder (``path`` is relative to it).
        records: committed image records (with ``unit`` and ``path``).

    Returns:
        dict: unit -> ``'<path>: <problem>'`` for its first bad image.
    """
    bad: Dict[int, str] = {}
    for r in records:
        unit = int(r.get('unit', -1))
        if unit in bad or 'path' not in r:
            continue
        path = osp.join(out_dir, r['path'])
        problem = inspect_image(path).problem
        if problem:
            bad[unit] = f'{path}: {problem}'
    return bad


def _fsync_dir(path: str) -> None:
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:  # some file systems cannot fsync a directory
        pass
    finally:
        os.close(fd)


class ShardWriter:
    """Writes images and this rank's manifest shard so a killed run can resume.

    Args:
        out_dir (str): output folder (manifests at its top, images below).
        rank (int): this process's rank.
        world_size (int): number of ranks (unit ``u`` belongs to rank
            ``u % world_size``).
        img_format (str): ``'jpg'``, ``'png'`` or ``'webp'``.
        quality (int): JPEG/WEBP quality.
        png_compress_level (int): zlib level for PNG (1 fast .. 9 small).
        fsync (bool | str): durability against a machine crash or power cut
            (a killed process loses nothing committed either way):
            ``'batch'`` (default) calls ``os.sync()`` once per committed batch
            before appending to the shard, then fsyncs the shard; ``True``
            fsyncs every image, folder and the shard instead (slower on most
            disks, but touches no other process's data); ``False`` never
            flushes (fastest; safe against kills only).
        images_dir (str): image folder under ``out_dir``.
        units_per_dir (int): units per image sub-folder (keeps folders small).

    Example:
        >>> w = ShardWriter('work_dirs/gen/synth', rank=0, world_size=1)
        >>> done = w.resume()
        >>> w.commit_unit(0, [(0, img, dict(pid=3))], dict(kept=1))
    """

    def __init__(self, out_dir: str, rank: int = 0, world_size: int = 1,
                 img_format: str = 'jpg', quality: int = 95,
                 png_compress_level: int = 3, fsync: Any = 'batch',
                 images_dir: str = 'images', units_per_dir: int = 1000) -> None:
        fmt = img_format.lower().lstrip('.')
        if fmt not in _FORMATS:
            raise ValueError(f'writer.img_format must be one of '
                             f'{sorted(_FORMATS)}, got {img_format!r}')
        self.out_dir = out_dir
        self.rank = int(rank)
        self.world_size = int(world_size)
        self.ext = 'jpg' if fmt == 'jpeg' else fmt
        self.quality = int(quality)
        self.png_compress_level = int(png_compress_level)
        if fsync not in (True, False, 'batch'):
            raise ValueError(f"writer.fsync must be True, False or 'batch', "
                             f'got {fsync!r}')
        self.fsync = fsync
        self.images_dir = images_dir
        self.units_per_dir = int(units_per_dir)
        self._fd: Optional[int] = None
        self._lock_fd: Optional[int] = None

    # ---------------------------------------------------------------- names
    @property
    def shard(self) -> str:
        return shard_path(self.out_dir, self.rank)

    def image_relpath(self, unit: int, variant: int) -> str:
        """Relative path of an image, fixed by ``(unit, variant)``."""
        return (f'{self.images_dir}/{unit // self.units_per_dir:05d}/'
                f'{unit:08d}_{variant:03d}.{self.ext}')

    def owns(self, unit: int) -> bool:
        return unit % self.world_size == self.rank

    # ----------------------------------------------------------------- plan
    def check_plan(self, plan: Dict[str, Any]) -> None:
        """Record the plan in ``plan.json``, or stop if another plan is there."""
        os.makedirs(self.out_dir, exist_ok=True)
        path = osp.join(self.out_dir, 'plan.json')
        if osp.exists(path):
            try:
                with open(path, encoding='utf-8') as f:
                    old = json.load(f)
            except ValueError as exc:
                raise PlanMismatchError(f'{path} is not valid JSON ({exc}); '
                                        'delete it to start afresh') from exc
            if old.get('fingerprint') != plan['fingerprint']:
                raise PlanMismatchError(
                    f'{self.out_dir} holds the output of another generation plan '
                    f"({old.get('num_units')} units, fingerprint "
                    f"{old.get('fingerprint')}; this config plans "
                    f"{plan['num_units']} units, fingerprint {plan['fingerprint']}). "
                    'The source, prompt builder, generator, filters, seed, '
                    'num_variants or image format changed. Use another work '
                    'dir / writer.out_dir, or delete the folder to start afresh.')
            return
        tmp = f'{path}.tmp{self.rank}'
        with open(tmp, 'w', encoding='utf-8') as f:
            json.dump(plan, f, indent=1, sort_keys=True)
            f.flush()
            if self.fsync:
                os.fsync(f.fileno())
        os.replace(tmp, path)

    # --------------------------------------------------------------- resume
    def resume(self) -> Dict[int, Dict[str, Any]]:
        """Repair this rank's shard and files; return every committed unit.

        Returns:
            dict: unit id -> its ``unit_done`` record, over all shards (a run
            resumed with another world size still skips finished units).
        """
        os.makedirs(self.out_dir, exist_ok=True)
        self._lock()
        done: Dict[int, Dict[str, Any]] = {}
        referenced = set()
        own = self.shard
        for path in shard_paths(self.out_dir):
            state = parse_shard(path)
            if path == own and state.uncommitted_bytes:
                # cut the uncommitted tail (lines of an unfinished unit, or a
                # line cut short) so the next block starts on a clean line
                os.truncate(path, state.committed_bytes)
            bad = broken_images(self.out_dir, [r for r in state.images
                                               if self.owns(int(r['unit']))])
            if bad:
                self._drop_units(path, bad)
                state.images = [r for r in state.images
                                if int(r['unit']) not in bad]
            for unit, rec in state.done.items():
                if unit not in bad:
                    done.setdefault(unit, rec)
            referenced.update(r['path'] for r in state.images if 'path' in r)
        self._remove_orphans(referenced)
        return done

    def _drop_units(self, path: str, bad: Dict[int, str]) -> None:
        """Take the blocks of ``bad`` units out of this rank's shard (an
        atomic rewrite), so they run again; another rank's shard is not ours
        to rewrite, so there the run stops naming the file."""
        first = next(iter(bad.values()))
        if path != self.shard:
            raise ManifestError(
                f'{path}: committed image {first} is missing or unreadable, '
                f'and this shard was written by another rank; resume with the '
                'world size that wrote it, or delete the unit\'s lines')
        from mmengine.logging import print_log
        import logging
        print_log(f'{self.out_dir}: {len(bad)} committed unit(s) have a '
                  f'missing or unreadable image (e.g. {first}); they run '
                  'again', logger='current', level=logging.WARNING)
        with open(path, 'rb') as f:
            lines = f.read().splitlines(keepends=True)
        keep = [ln for ln in lines
                if not ln.strip() or json.loads(ln).get('unit') not in bad]
        tmp = f'{path}.rewrite'
        with open(tmp, 'wb') as f:
            f.write(b''.join(keep))
            f.flush()
            if self.fsync:
                os.fsync(f.fileno())
        os.replace(tmp, path)

    def _lock(self) -> None:
        """Hold an exclusive lock on this rank's shard (freed when we exit).

        Two processes writing one shard (a second run on the same folder, or
        torchrun without ``--launcher pytorch``) would duplicate images.
        """
        if self._lock_fd is not None:
            return
        import fcntl
        fd = os.open(self.shard + '.lock', os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            os.close(fd)
            raise RuntimeError(
                f'another process is writing {self.shard} (lock '
                f'{self.shard}.lock is held): one run per output folder; under '
                'torchrun pass --launcher pytorch') from None
        self._lock_fd = fd

    def _remove_orphans(self, referenced: set) -> None:
        root = osp.join(self.out_dir, self.images_dir)
        if not osp.isdir(root):
            return
        for sub in os.scandir(root):
            if not sub.is_dir():
                continue
            for entry in os.scandir(sub.path):
                m = _NAME_RE.match(entry.name)
                if m is None or not self.owns(int(m.group(1))):
                    continue
                rel = f'{self.images_dir}/{sub.name}/{entry.name}'
                if m.group(4) or rel not in referenced:
                    os.remove(entry.path)

    # --------------------------------------------------------------- commit
    def encode(self, image: Any) -> bytes:
        """Encode an image (PIL or HxWx3 uint8) in the configured format."""
        pil = image if isinstance(image, Image.Image) else \
            Image.fromarray(to_rgb_array(image))
        if pil.mode != 'RGB':
            pil = pil.convert('RGB')
        buf = io.BytesIO()
        fmt = _FORMATS[self.ext]
        if fmt == 'PNG':
            pil.save(buf, fmt, compress_level=self.png_compress_level)
        else:
            pil.save(buf, fmt, quality=self.quality)
        return buf.getvalue()

    def commit_unit(self, unit: int,
                    images: Sequence[Tuple[int, Any, Dict[str, Any]]],
                    done: Dict[str, Any]) -> List[Dict[str, Any]]:
        """Write a unit's kept images, then append its block to the shard.

        Args:
            unit (int): the unit id.
            images: ``(variant, image, record)`` per kept image; ``record`` is
                the manifest line without ``path`` (added here).
            done (dict): extra fields of the ``unit_done`` record.

        Returns:
            list[dict]: the image lines written.
        """
        return self.commit_units([(unit, images, done)])[0]

    def commit_units(self, units: Sequence[Tuple[int, Sequence, Dict[str, Any]]]
                     ) -> List[List[Dict[str, Any]]]:
        """:meth:`commit_unit` for several units with one durability barrier.

        All images are written and renamed first, then flushed (see
        ``fsync``), then every unit's block is appended in one write.
        """
        dirs: set = set()
        written, blocks = [], []
        for unit, images, done in units:
            lines = [self._write_image(unit, variant, image, record, dirs)
                     for variant, image, record in images]
            written.append(lines)
            blocks += lines + [dict(kind=DONE_KIND, unit=int(unit),
                                    rank=self.rank, **done)]
        if self.fsync == 'batch':
            os.sync()
        elif self.fsync:
            for folder in dirs:
                _fsync_dir(folder)
        payload = ''.join(json.dumps(_jsonable(r), ensure_ascii=False) + '\n'
                          for r in blocks).encode('utf-8')
        self._append(payload)
        return written

    def _write_image(self, unit: int, variant: int, image: Any,
                     record: Dict[str, Any], dirs: set) -> Dict[str, Any]:
        rel = self.image_relpath(unit, variant)
        final = osp.join(self.out_dir, rel)
        folder = osp.dirname(final)
        if folder not in dirs:
            os.makedirs(folder, exist_ok=True)
            dirs.add(folder)
        data = self.encode(image)
        tmp = final + '.tmp'
        with open(tmp, 'wb') as f:
            f.write(data)
            if self.fsync is True:
                f.flush()
                os.fsync(f.fileno())
        os.replace(tmp, final)
        return dict(path=rel, **{k: v for k, v in record.items() if k != 'path'})

    def _append(self, payload: bytes) -> None:
        if self._fd is None:
            os.makedirs(self.out_dir, exist_ok=True)
            self._fd = os.open(self.shard, os.O_WRONLY | os.O_APPEND | os.O_CREAT,
                               0o644)
        view = memoryview(payload)
        while view:
            n = os.write(self._fd, view)
            view = view[n:]
        if self.fsync:
            os.fsync(self._fd)

    def close(self) -> None:
        """Close the shard and release its lock."""
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None
        if self._lock_fd is not None:
            os.close(self._lock_fd)   # closing the descriptor drops the flock
            self._lock_fd = None

    def __del__(self) -> None:  # pragma: no cover - best effort
        try:
            self.close()
        except Exception:
            pass


def _jsonable(obj: Any) -> Any:
    """Make numpy scalars/arrays and tuples JSON-serialisable."""
    if isinstance(obj, dict):
        return {str(k): _jsonable(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_jsonable(v) for v in obj]
    if isinstance(obj, np.generic):
        return obj.item()
    if isinstance(obj, np.ndarray):
        return obj.tolist()
    return obj


def owner_of(unit: int, world_size: int) -> int:
    """The rank that processes ``unit``."""
    return unit % world_size

