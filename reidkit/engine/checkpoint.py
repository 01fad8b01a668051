"""Let torch's safe (``weights_only=True``) loader read mmengine checkpoints.

Since torch 2.6 ``torch.load`` defaults to ``weights_only=True``. mmengine
0.10.7 stores its message hub (``HistoryBuffer`` objects holding numpy arrays)
in every checkpoint, so ``--resume`` fails with "Unsupported global". Rather
than turning the safe loader off, we allowlist exactly the classes an mmengine
checkpoint contains; anything else still fails to load.

One thing cannot be allowlisted safely: ``HistoryBuffer.__getstate__`` pickles
its class-level table of statistics methods as ``getattr(HistoryBuffer, 'min')``
calls, and allowing ``getattr`` would let a checkpoint reach any attribute. The
table is rebuilt from code at import (``register_statistics`` runs at class
definition), so we leave it out of the pickle instead.
"""
import os.path as osp

import numpy as np
import torch

from ..models.backbones.checkpoint import CheckpointError, safe_load


def _numpy_globals() -> list:
    try:
        from numpy._core.multiarray import _reconstruct, scalar
    except ImportError:  # numpy < 2
        from numpy.core.multiarray import _reconstruct, scalar
    dtype_classes = {type(np.dtype(code)) for code in '?bBhHiIlLqQefdgFDG'}
    return [_reconstruct, scalar, np.ndarray, np.dtype, *dtype_classes]


def _history_buffer_getstate(self) -> dict:
    state = dict(self.__dict__)
    state.pop('statistics_methods', None)
    return state


def register_checkpoint_safe_globals() -> None:
    """Make mmengine checkpoints loadable with ``torch.load(weights_only=True)``.

    Checkpoints saved after this call carry no ``getattr`` reference; checkpoints
    saved by plain mmengine still need ``weights_only=False`` (trusted files only).

    Example:
        >>> register_checkpoint_safe_globals()
        >>> ckpt = torch.load('epoch_1.pth', weights_only=True)  # now works
    """
    from mmengine.logging.history_buffer import HistoryBuffer
    HistoryBuffer.__getstate__ = _history_buffer_getstate
    torch.serialization.add_safe_globals([HistoryBuffer, *_numpy_globals()])
    install_safe_loading()


#: strict key/shape matching for checkpoints loaded by the runner
#: (``load_from``, ``--resume``); ``tools/test.py --non-strict`` turns it off
_STRICT = {'value': True}


def set_strict_loading(strict: bool) -> None:
    """Whether runner checkpoint loads must match the model's keys exactly."""
    _STRICT['value'] = bool(strict)


def _load_from_local(filename, map_location):
    filename = osp.expanduser(filename)
    return safe_load(filename, map_location)


__all__ = ['CheckpointError', 'install_safe_loading', 'safe_load',
           'set_strict_loading', 'register_checkpoint_safe_globals']


def _strict_load_checkpoint(original):
    def load_checkpoint(self, filename, map_location='cpu', strict=False,
                        revise_keys=[(r'^module.', '')]):  # noqa: B006
        try:
            return original(self, filename, map_location=map_location,
                            strict=strict or _STRICT['value'],
                            revise_keys=revise_keys)
        except RuntimeError as exc:
            text = str(exc)
            if 'state_dict' not in text and 'size mismatch' not in text:
                raise
            lines = [ln.strip() for ln in text.splitlines() if ln.strip()]
            raise CheckpointError(
                f'{filename} does not fit the model: {"; ".join(lines)[:600]} '
                '(tools/test.py --non-strict loads the matching part)') \
                from exc
    load_checkpoint._reidkit_strict = True
    return load_checkpoint


def install_safe_loading() -> None:
    """Route mmengine's checkpoint loads through :func:`safe_load`, strictly.

    Replaces mmengine's local-file loader (used by ``load_from``,
    ``--resume`` and ``load_checkpoint``) and makes ``Runner.load_checkpoint``
    strict unless :func:`set_strict_loading` (False) was called.

    Example:
        >>> install_safe_loading()
    """
    from mmengine.runner import Runner
    from mmengine.runner.checkpoint import CheckpointLoader
    CheckpointLoader.register_scheme(prefixes='', loader=_load_from_local,
                                     force=True)
    if not getattr(Runner.load_checkpoint, '_reidkit_strict', False):
        Runner.load_checkpoint = _strict_load_checkpoint(Runner.load_checkpoint)
