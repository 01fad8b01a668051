"""Discovery of third-party plugins through the ``reidkit.plugins`` entry points.

A plugin package declares, in its own setup.cfg::

    [options.entry_points]
    reidkit.plugins =
        my_plugin = my_package.module_that_registers

and ``pip install`` is then enough: the first lookup that misses in one of our
registries imports every declared module once (see ``synthgen.utils.registry``),
and the tools import them eagerly after reading a config.
"""
from __future__ import annotations

import importlib
import logging
from importlib.metadata import entry_points

ENTRY_POINT_GROUP = 'reidkit.plugins'
_imported = False


def import_plugins(force: bool = False) -> bool:
    """Import every module declared in the ``reidkit.plugins`` group.

    Args:
        force (bool): import again even if this already ran.

    Returns:
        bool: True if this call imported something (so a failed lookup is
        worth retrying), False if discovery had already run.
    """
    global _imported
    if _imported and not force:
        return False
    _imported = True
    for ep in entry_points(group=ENTRY_POINT_GROUP):
        try:
            importlib.import_module(ep.value.split(':')[0])
        except Exception as exc:  # a broken plugin must not hide the others
            logging.getLogger('reidkit').warning(
                'plugin %r (%s) failed to import: %s', ep.name, ep.value, exc)
    return True
