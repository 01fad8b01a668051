"""GENERATORS: engines that turn requests into images.

Call convention (shared by every generator, the toy-world renderer and the
diffusers generators)::

    outputs = generator(requests)   # list in, list of the same length out

Each request is a dict with ``prompt`` (str, may be empty), ``seed`` (int) and
optionally ``image`` (source, PIL or HxWx3 uint8), ``mask`` (HxW uint8, nonzero
= repaint), ``attributes`` (dict), ``negative_prompt``, ``adapter`` (LoRA name).
Each output is ``dict(image=PIL.Image | HxWx3 uint8, mask=HxW uint8 | None,
meta=dict)``; ``meta['attributes']`` (if given) describes what was drawn and is
merged into the manifest line. A generator must not modify its inputs, and an
output must depend only on its own request (not on the batch it came in), so
that sharded and resumed runs give the same images.
"""
from importlib import import_module

from .recolor import RecolorInpainter, parse_prompt

__all__ = ['RecolorInpainter', 'parse_prompt']

# Optional generators that live in other modules; only their absence is tolerated.
for _name in ('diffusion', 'adapters'):
    try:
        import_module(f'{__name__}.{_name}')
    except ModuleNotFoundError as _exc:
        if _exc.name != f'{__name__}.{_name}':
            raise
