"""The model layer is below the engine: importing any ``reidkit.models``
module loads nothing of ``reidkit.engine`` (checked at run time in a fresh
interpreter; tests/test_import_graph.py reads the import statements)."""
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

CODE = '''
import importlib, pkgutil, sys
import reidkit.models
names = ["reidkit.models"] + [m.name for m in pkgutil.walk_packages(
    reidkit.models.__path__, "reidkit.models.")]
for name in names:
    importlib.import_module(name)
engine = sorted(m for m in sys.modules
                if m == "reidkit.engine" or m.startswith("reidkit.engine."))
print(len(names), "modules;", "engine loaded:", engine)
sys.exit(1 if engine or len(names) < 10 else 0)
'''


def test_models_import_nothing_from_the_engine():
    proc = subprocess.run([sys.executable, '-c', CODE], cwd=ROOT,
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert 'engine loaded: []' in proc.stdout
