"""Where the benchmark scripts find their peers, torchreid and fast-reid.

``make bench-peers`` installs torchreid 0.2.5 and fast-reid 1.4.0 without
their dependencies (fast-reid pins torch 1.13), together with the small
pure-Python packages fast-reid's evaluation imports (tabulate, termcolor,
yacs), into ``<checkout>/.bench_peers/site`` and builds fast-reid's Cython
ranking there. Git ignores the folder; ``.venv`` is untouched. Every
benchmark's ``--peers`` option defaults to :func:`peer_site`.

Example:
    >>> from peers import add_peer_paths, peer_site
    >>> add_peer_paths(peer_site())   # then ``import torchreid`` works
"""
from __future__ import annotations

import os.path as osp
import sys

REPO = osp.dirname(osp.dirname(osp.abspath(__file__)))


def peer_site() -> str:
    """The folder ``make bench-peers`` installs the peers into."""
    return osp.join(REPO, '.bench_peers', 'site')


def add_peer_paths(*paths: str | None) -> None:
    """Make the peers in ``paths`` importable (``None`` entries are skipped).

    The folders are appended to ``sys.path``, so the environment's own
    packages win over anything a peer folder also holds. fast-reid 1.4.0
    still imports ``Mapping`` and friends from ``collections`` (gone since
    Python 3.10): the ``collections.abc`` names are aliased there first.
    Nothing in the peers is changed.
    """
    import collections
    import collections.abc
    for name in ('Mapping', 'MutableMapping', 'Sequence', 'Iterable'):
        if not hasattr(collections, name):
            setattr(collections, name, getattr(collections.abc, name))
    for path in paths:
        if path and path not in sys.path:
            sys.path.append(path)
