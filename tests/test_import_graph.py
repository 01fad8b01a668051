"""The libraries import one way: synthgen below reidkit, plugins above both.

Every import statement of a package is read from its source (including
imports inside functions, which run only on some paths), so a lazy import
in the wrong direction fails here too, not only at import time.
"""
import ast
import os.path as osp
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def imported_modules(package: str):
    """(file, line, module) for every import statement under ``package``."""
    for path in sorted((ROOT / package).rglob('*.py')):
        tree = ast.parse(path.read_text(encoding='utf-8'), str(path))
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                for alias in node.names:
                    yield path, node.lineno, alias.name
            elif isinstance(node, ast.ImportFrom):
                yield path, node.lineno, _absolute(path, node)


def _absolute(path: Path, node: ast.ImportFrom) -> str:
    """``from ..engine import x`` in reidkit/models/m.py -> reidkit.engine."""
    if node.level == 0:
        return node.module or ''
    parts = list(path.relative_to(ROOT).with_suffix('').parts)[:-node.level]
    return '.'.join(parts + ([node.module] if node.module else []))


def offending(package: str, forbidden: str):
    return [f'{osp.relpath(p, ROOT)}:{line} imports {mod}'
            for p, line, mod in imported_modules(package)
            if mod == forbidden or mod.startswith(forbidden + '.')]


@pytest.mark.parametrize('package,forbidden', [
    ('synthgen', 'reidkit'),       # synthgen knows nothing of re-ID training
    ('synthgen', 'plugins'),
    ('reidkit', 'plugins'),
    ('reidkit', 'diffusers'),      # generators are synthgen's business
    ('reidkit/models', 'reidkit.engine'),  # the model layer is below the engine
])
def test_no_import_against_the_direction(package, forbidden):
    assert offending(package, forbidden) == []


def test_the_checker_sees_lazy_imports(tmp_path, monkeypatch):
    """The scan must find an import hidden inside a function."""
    pkg = tmp_path / 'lowlib'
    pkg.mkdir()
    (pkg / 'mod.py').write_text('def f():\n    from reidkit.apis import x\n'
                                '    from ..reidkit import y\n')
    monkeypatch.setattr(sys.modules[__name__], 'ROOT', tmp_path)
    assert offending('lowlib', 'reidkit') == [
        'lowlib/mod.py:2 imports reidkit.apis', 'lowlib/mod.py:3 imports reidkit']


def test_importing_all_of_synthgen_loads_no_reidkit():
    """At run time too: walk every synthgen module in a fresh interpreter."""
    code = (
        'import importlib, pkgutil, sys, synthgen\n'
        'for m in pkgutil.walk_packages(synthgen.__path__, "synthgen."):\n'
        '    importlib.import_module(m.name)\n'
        'bad = sorted(m for m in sys.modules if m.split(".")[0] in '
        '("reidkit", "plugins"))\n'
        'print(bad); sys.exit(1 if bad else 0)\n')
    proc = subprocess.run([sys.executable, '-c', code], cwd=ROOT,
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stdout + proc.stderr
