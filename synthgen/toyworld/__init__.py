"""The toy world: procedural persons and vehicles in official benchmark layouts.

A small, controllable stand-in for the real benchmarks (no dataset can be
downloaded here): :func:`make_dataset` renders a dataset with known identity,
clothes, camera, modality and attributes and writes it in the official folder
layout of ``kind`` (see :data:`KINDS`), with part masks and attributes in
``OUT/_toy_annotations/``. ``ToyWorldRenderer`` is the same renderer as a
synthgen GENERATOR.

Example:
    >>> from synthgen.toyworld import make_dataset
    >>> summary = make_dataset('market1501', '/tmp/toy_market', num_ids=20, seed=0)
    >>> summary['splits']['query']['pids'] > 0
    True
"""
from .api import KINDS, load_summary, make_dataset, replay_plan
from .generator import ToyWorldRenderer
from .world import Knobs

__all__ = ['KINDS', 'Knobs', 'ToyWorldRenderer', 'load_summary', 'make_dataset',
           'replay_plan']
