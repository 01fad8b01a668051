"""PROMPT_BUILDERS: what to ask a generator for.

Convention (every builder follows it; the pipeline relies on it)::

    builder(requests) -> None        # sets request['prompt'] in place

``requests`` is a list of dicts, one per image to generate, already holding
``unit``, ``variant``, ``index`` (``unit * num_variants + variant``), ``seed``,
``pid``, ``camid``, ``clothes_id``, ``modality``, ``attributes`` (the source's
words), ``source`` (source image path or None), ``record`` (the source record)
and, when the source has one, the loaded ``image`` (HxWx3 uint8) and ``mask``.
A builder sets ``request['prompt']`` (str) and may also set
``negative_prompt``, ``adapter``, ``clothes_id`` (label of the generated image)
and add provenance to ``request['meta']`` (a dict copied into the manifest
line, e.g. ``source_clothes``/``target_clothes``). Random choices must come
from the request's ``seed`` (see :func:`templates.request_rng`), never from
global state, so sharded and resumed runs build the same prompts. The
pipeline always passes whole units (all ``num_variants`` requests of a unit in
one call), so a builder may coordinate a unit's variants (e.g. distinct
targets). A builder returning a list of strings instead is accepted (one
prompt per request).

Optional hook: ``builder.prepare(records)`` is called once, before any unit is
processed, with the full sorted list of source records (the same on every
rank): for builders that need a dataset-wide view, e.g. descriptions of other
clothes ids. Per-image heavy work (captioning) belongs in ``__call__``.
"""
from importlib import import_module

from .templates import (AttributeTemplatePrompt, ClothesSwapPrompt,
                        FixedPrompts, request_rng)

__all__ = ['AttributeTemplatePrompt', 'ClothesSwapPrompt', 'FixedPrompts',
           'request_rng']

# Optional builders that live in other modules; only their absence is tolerated.
for _name in ('captioner', 'summariser'):
    try:
        import_module(f'{__name__}.{_name}')
    except ModuleNotFoundError as _exc:
        if _exc.name != f'{__name__}.{_name}':
            raise
