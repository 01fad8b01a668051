"""No tracked file names a folder of one particular machine.

A path such as ``/work/bench_peers`` or ``/home/me/data`` in a default, a
command or a doc works on the machine it was written on and nowhere else: on
a fresh clone the command fails. Paths are relative to the checkout (``data/``,
``work_dirs/``, ``.bench_peers/``) or given by the user. The few absolute
scratch paths that are meant as examples are listed in ``ALLOWED`` with the
reason; an entry that no longer matches anything fails too, so the list stays
short.
"""
import os.path as osp
import re
import subprocess

import pytest

REPO = osp.dirname(osp.dirname(osp.abspath(__file__)))
THIS = osp.relpath(osp.abspath(__file__), REPO)

# An absolute path into a machine's own folders. Not matched: the same names
# inside a longer path or a URL (``github.com/home/...``, ``data/work/``).
MACHINE_PATH = re.compile(r'(?<![\w.\-/~$])/(?:work|home|root|Users|mnt|tmp)/')

# (file, text on the line, why it may stay)
ALLOWED = [
    ('synthgen/toyworld/__init__.py', "'/tmp/toy_market'",
     'doctest example output folder'),
    ('configs/finetune/tiny_lora_smoke.py', '/tmp/tiny_sd',
     'example command: a tiny model the user writes to a scratch folder'),
    ('configs/finetune/tiny_lora_smoke.py', '/tmp/captioned',
     'example command: a scratch data folder'),
    ('benchmarks/README.md', '--save-dist /tmp/rrd',
     'example command: scratch output of a benchmark run'),
    ('tests/engine/test_config.py', '/mnt/PRCC',
     'a made-up absolute data_root that the override test substitutes; '
     'never read'),
]


def tracked_text_files():
    try:
        out = subprocess.run(['git', 'ls-files', '-z'], cwd=REPO, check=True,
                             capture_output=True).stdout
    except (OSError, subprocess.CalledProcessError):
        pytest.skip('not a git checkout: the tracked files are unknown')
    for rel in out.decode().split('\0'):
        if not rel or rel == THIS:
            continue
        path = osp.join(REPO, rel)
        if not osp.isfile(path):
            continue
        with open(path, 'rb') as f:
            data = f.read()
        if b'\0' in data[:8192]:  # binary (images, checkpoints)
            continue
        yield rel, data.decode('utf-8', errors='replace')


def find_machine_paths(files):
    """``(file, line number, line)`` of every machine path not allowed,
    and the ALLOWED entries that matched."""
    found, used = [], set()
    for rel, text in files:
        for no, line in enumerate(text.splitlines(), 1):
            if not MACHINE_PATH.search(line):
                continue
            allowed = [i for i, (f, s, _) in enumerate(ALLOWED)
                       if f == rel and s in line]
            if allowed:
                used.update(allowed)
            else:
                found.append((rel, no, line.strip()))
    return found, used


def test_no_machine_paths_in_tracked_files():
    found, used = find_machine_paths(tracked_text_files())
    assert not found, 'absolute machine paths (use a path relative to the ' \
        'checkout, or add a reasoned entry to ALLOWED):\n' + '\n'.join(
            f'{f}:{n}: {line}' for f, n, line in found)
    stale = [ALLOWED[i][:2] for i in range(len(ALLOWED)) if i not in used]
    assert not stale, f'ALLOWED entries that match nothing any more: {stale}'


def test_the_pattern_catches_machine_paths_and_spares_relative_ones():
    files = [('a.md', 'pip install --target /work/bench_peers x\n'
                      'see `/home/me/data`\n'
                      'PYTHONPATH=/root/tools python\n'
                      "default='/tmp/bench_toy'\n"
                      'data/work/x and work_dirs/home/y\n'
                      'https://github.com/home/repo\n'
                      '.bench_peers/site and ~/tmp/x\n')]
    found, _ = find_machine_paths(files)
    assert [n for _, n, _ in found] == [1, 2, 3, 4]
