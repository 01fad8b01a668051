"""FILTERS: decide which generated images to keep.

Convention::

    result = flt(item)   # -> FilterResult(keep, reason, image=None)

``item`` is a dict with ``image`` (HxWx3 uint8, possibly cropped by an earlier
filter), ``mask`` (the generator's, or None), ``request`` (the request dict:
``prompt``, ``seed``, source ``image``, ``attributes``, ...) and ``meta`` (the
generator's output meta). ``FilterResult.image`` (optional) replaces the image
for the following filters and the writer (a crop). A filter that keeps state
across images may define ``reset()``; the pipeline calls it at the start of
every work unit, so verdicts depend only on the unit (deterministic under
sharding and resume). A filter may set ``name`` (shown in the summary table and
recorded in the manifest's ``filters``); otherwise its class name is used.
"""
from importlib import import_module

from .basic import (FilterResult, PHashDuplicateFilter, SizeAspectFilter,
                    hamming, phash)

__all__ = ['FilterResult', 'PHashDuplicateFilter', 'SizeAspectFilter',
           'hamming', 'phash']

# Optional filters that live in other modules; only their absence is tolerated.
for _name in ('clip_attribute', 'embedding', 'detection'):
    try:
        import_module(f'{__name__}.{_name}')
    except ModuleNotFoundError as _exc:
        if _exc.name != f'{__name__}.{_name}':
            raise
