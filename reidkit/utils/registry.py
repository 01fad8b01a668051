"""Compatibility alias: the registry class lives in :mod:`synthgen.utils.registry`.

synthgen sits below reidkit and both build their registries from the same
class, so it has one home, in the lower library.
"""
from synthgen.utils.registry import Registry, UnknownTypeError  # noqa: F401

__all__ = ['Registry', 'UnknownTypeError']
