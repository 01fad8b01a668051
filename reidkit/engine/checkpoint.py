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
import numpy as np
import torch


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
