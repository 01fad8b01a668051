"""Reading synthgen manifests: append-only JSON Lines shards, one per rank.

A shard ``manifest.rank{R}.jsonl`` is a sequence of *unit blocks*. A block is
the image lines of one work unit (one JSON object per kept image, with
``path`` relative to the manifest's folder) followed by one completion record
``{"kind": "unit_done", "unit": U, "kept": n, "dropped": {...}, ...}``. A block
is appended with a single write, so the committed part of a shard is exactly
its prefix up to the last completion record: anything after it (image lines
whose block never got its completion record, or a line cut short by a killed
writer) is uncommitted and ignored here, and removed by the writer that owns
the shard when it resumes.

Use :func:`read_manifest` to get the committed image records of a folder;
a reader that parses the files itself must skip lines without ``path`` and
ignore everything after the last ``unit_done`` record of each shard.
"""
from __future__ import annotations

import glob
import json
import os.path as osp
import re
from dataclasses import dataclass, field
from typing import Any, Dict, List

__all__ = ['DONE_KIND', 'ManifestError', 'ShardState', 'shard_path',
           'shard_paths', 'parse_shard', 'read_manifest', 'read_done_units']

DONE_KIND = 'unit_done'
_SHARD_RE = re.compile(r'manifest\.rank(\d+)\.jsonl$')


class ManifestError(ValueError):
    """A manifest shard is corrupt beyond a cut-short final line."""


def shard_path(out_dir: str, rank: int) -> str:
    """Path of rank ``rank``'s shard in ``out_dir``."""
    return osp.join(out_dir, f'manifest.rank{int(rank)}.jsonl')


def shard_paths(out_dir: str) -> List[str]:
    """Every shard in ``out_dir``, by rank."""
    paths = [p for p in glob.glob(osp.join(out_dir, 'manifest.rank*.jsonl'))
             if _SHARD_RE.search(p)]
    return sorted(paths, key=lambda p: int(_SHARD_RE.search(p).group(1)))


@dataclass
class ShardState:
    """What one shard holds."""
    path: str
    images: List[Dict[str, Any]] = field(default_factory=list)
    done: Dict[int, Dict[str, Any]] = field(default_factory=dict)
    committed_bytes: int = 0
    total_bytes: int = 0

    @property
    def uncommitted_bytes(self) -> int:
        return self.total_bytes - self.committed_bytes


def parse_shard(path: str) -> ShardState:
    """Parse one shard, keeping only committed unit blocks.

    A final line without a newline (a killed writer) is ignored. A complete
    line that is not a JSON object, or an image line inside a block whose
    completion record names another unit, raises :class:`ManifestError`.
    """
    state = ShardState(path)
    if not osp.exists(path):
        return state
    with open(path, 'rb') as f:
        data = f.read()
    state.total_bytes = len(data)
    pending: List[Dict[str, Any]] = []
    pos = 0
    lineno = 0
    while pos < len(data):
        end = data.find(b'\n', pos)
        if end < 0:  # cut short: never committed
            break
        lineno += 1
        raw = data[pos:end]
        pos = end + 1
        if not raw.strip():
            continue
        try:
            rec = json.loads(raw)
        except ValueError as exc:
            raise ManifestError(f'{path} line {lineno}: not valid JSON ({exc}); '
                                'only a cut-short last line is tolerated') from exc
        if not isinstance(rec, dict):
            raise ManifestError(f'{path} line {lineno}: expected a JSON object')
        if rec.get('kind') == DONE_KIND:
            unit = int(rec['unit'])
            stray = [r for r in pending if int(r.get('unit', -1)) != unit]
            if stray:
                raise ManifestError(f'{path} line {lineno}: completion record of '
                                    f'unit {unit} follows image lines of unit '
                                    f"{stray[0].get('unit')}")
            if unit not in state.done:  # a unit committed twice counts once
                state.images.extend(pending)
                state.done[unit] = rec
            pending = []
            state.committed_bytes = pos
        else:
            pending.append(rec)
    return state


def read_done_units(out_dir: str) -> Dict[int, Dict[str, Any]]:
    """Completion records of every committed unit, over all shards."""
    done: Dict[int, Dict[str, Any]] = {}
    for path in shard_paths(out_dir):
        for unit, rec in parse_shard(path).done.items():
            done.setdefault(unit, rec)
    return done


def read_manifest(out_dir: str, absolute: bool = False) -> List[Dict[str, Any]]:
    """The committed image records of all shards in ``out_dir``.

    Sorted by ``(unit, variant)``; a unit committed in two shards (a run
    resumed with another world size after a crash) is taken once.

    Args:
        out_dir (str): the folder holding ``manifest.rank*.jsonl``.
        absolute (bool): turn each ``path`` into an absolute path.
    """
    out: List[Dict[str, Any]] = []
    seen = set()
    for path in shard_paths(out_dir):
        state = parse_shard(path)
        dup = seen.intersection(state.done)
        if dup:
            state.images = [r for r in state.images if r.get('unit') not in dup]
        seen.update(state.done)
        out.extend(state.images)
    if absolute:
        root = osp.abspath(out_dir)
        out = [dict(r, path=osp.join(root, r['path'])) for r in out]
    out.sort(key=lambda r: (int(r.get('unit', 0)), int(r.get('variant', 0))))
    return out
