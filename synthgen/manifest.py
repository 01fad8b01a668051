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

Use :func:`read_manifest` to get the committed image records of a folder,
and :func:`parse_shard` to read one file (it is the one parser: the writer
resumes with it and reidkit's ``SyntheticDataset`` reads manifests with it).
A reader that parses the files itself must skip lines without ``path`` and
ignore everything after the last ``unit_done`` record of each shard.
"""
from __future__ import annotations

import glob
import json
import os.path as osp
import re
from dataclasses import dataclass, field
from typing import Any, Dict, List, Optional

__all__ = ['DONE_KIND', 'ManifestError', 'ShardState', 'shard_path',
           'shard_paths', 'parse_shard', 'read_manifest', 'read_done_units']

DONE_KIND = 'unit_done'
_SHARD_RE = re.compile(r'manifest\.rank(\d+)\.jsonl$')


class ManifestError(ValueError):
    """A manifest line is corrupt (anything but a cut-short last line).

    The message starts with ``<file>:<line>:``. Readers that need more of a
    line (``reidkit``'s ``SyntheticDataset``: the label keys) raise it too.
    """


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
    """What one shard (or any JSON Lines manifest) holds.

    Args:
        path (str): the file.
        images (list[dict]): committed image records (their unit's
            completion record follows them), in file order.
        done (dict): unit -> completion record, for every committed unit.
        pending (list[dict]): image records after the last completion
            record: uncommitted (in a manifest without completion records,
            as other tools write them, every image record).
        cut_line (int): 1-based number of a last line cut short (no newline
            and not valid JSON: a writer killed mid-line); 0 if none.
        committed_bytes (int): length of the committed prefix.
        total_bytes (int): length of the file.

    Example:
        >>> state = parse_shard('work_dirs/gen/manifest.rank0.jsonl')
        >>> state.uncommitted_bytes  # what a resuming writer cuts off
        0
    """
    path: str
    images: List[Dict[str, Any]] = field(default_factory=list)
    done: Dict[int, Dict[str, Any]] = field(default_factory=dict)
    pending: List[Dict[str, Any]] = field(default_factory=list)
    cut_line: int = 0
    committed_bytes: int = 0
    total_bytes: int = 0

    @property
    def uncommitted_bytes(self) -> int:
        return self.total_bytes - self.committed_bytes


def _unit_id(value: Any) -> Optional[int]:
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


def parse_shard(path: str, line_key: Optional[str] = None) -> ShardState:
    """Parse one manifest file into committed blocks and the rest.

    Every line is a JSON object. A completion record
    ``{"kind": "unit_done", "unit": U, ...}`` commits the image lines since
    the previous one, which must all be of unit U (a unit committed twice
    counts once); records with a ``kind`` and no ``path`` are bookkeeping
    and skipped. The last line may lack its newline (a killed writer): an
    image record there is kept in ``pending`` if it is valid JSON (a
    completion record there commits nothing: the writer cuts everything
    after its last complete one), otherwise its number is ``cut_line``.

    Args:
        path (str): the file; a missing file reads as empty.
        line_key (str, optional): store each image record's 1-based line
            number under this key (for messages that name the line).

    Returns:
        ShardState: the parsed file.

    Raises:
        ManifestError: a complete line that is not a JSON object, or a
            completion record without an integer unit or after image lines
            of another unit.

    Example:
        >>> state = parse_shard('work_dirs/gen/manifest.rank0.jsonl',
        ...                     line_key='_line')
        >>> [r['_line'] for r in state.images][:2]
        [1, 2]
    """
    state = ShardState(path)
    if not osp.exists(path):
        return state
    with open(path, 'rb') as f:
        data = f.read()
    state.total_bytes = len(data)
    lines = data.split(b'\n')
    pos = 0
    for i, raw in enumerate(lines):
        lineno = i + 1
        terminated = i < len(lines) - 1
        pos += len(raw) + terminated
        if not raw.strip():
            continue
        try:
            rec = json.loads(raw.decode('utf-8'))
        except ValueError as exc:  # also a character cut in two
            if not terminated:
                state.cut_line = lineno
                break
            detail = (exc.msg if isinstance(exc, json.JSONDecodeError)
                      else str(exc))
            text = raw.decode('utf-8', 'replace')
            raise ManifestError(f'{path}:{lineno}: not valid JSON ({detail}): '
                                f'{text[:80]!r}') from None
        if not isinstance(rec, dict):
            raise ManifestError(f'{path}:{lineno}: expected a JSON object, '
                                f'got {type(rec).__name__}')
        if rec.get('kind') == DONE_KIND:
            if terminated:
                _commit(state, rec, path, lineno)
                state.committed_bytes = pos
            continue
        if 'kind' in rec and 'path' not in rec:
            continue  # other bookkeeping records
        if line_key is not None:
            rec[line_key] = lineno
        state.pending.append(rec)
    return state


def _commit(state: ShardState, rec: Dict[str, Any], path: str,
            lineno: int) -> None:
    """Move the pending image records into ``state.images`` (parse_shard)."""
    unit = _unit_id(rec.get('unit'))
    if unit is None:
        raise ManifestError(f'{path}:{lineno}: a {DONE_KIND} record needs an '
                            f"integer unit, got {rec.get('unit')!r}")
    stray = [r for r in state.pending if _unit_id(r.get('unit')) != unit]
    if stray:
        raise ManifestError(f'{path}:{lineno}: completion record of unit '
                            f'{unit} follows image lines of unit '
                            f"{stray[0].get('unit')!r}")
    if unit not in state.done:  # a unit committed twice counts once
        state.images.extend(state.pending)
        state.done[unit] = rec
    state.pending = []


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
