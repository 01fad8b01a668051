"""Keep the console for our banners, progress and tables.

Warnings that third-party libraries emit (mmengine's deprecation notices,
torch's ``UserWarning`` s, ...) go to the run's log file only; ours, and any
error, still reach the console.
"""
from __future__ import annotations

import logging
import os.path as osp
import sys
import warnings
from typing import Optional

__all__ = ['ThirdPartyToFile', 'quiet_third_party']

#: packages whose warnings are not the user's business on the console
THIRD_PARTY = ('mmengine', 'mmcv', 'mmpretrain', 'mmdet', 'torch',
               'torchvision', 'timm', 'diffusers', 'transformers', 'peft',
               'open_clip', 'numpy', 'PIL', 'faiss', 'xgboost', 'pyswarms')
_SKIP = (osp.dirname(logging.__file__), osp.dirname(warnings.__file__))


def _package_dirs():
    dirs = []
    for name in THIRD_PARTY:
        mod = sys.modules.get(name)
        path = getattr(mod, '__file__', None) if mod else None
        if path:
            dirs.append(osp.dirname(osp.abspath(path)) + osp.sep)
    return tuple(dirs)


class ThirdPartyToFile(logging.Filter):
    """A console-handler filter: drops WARNING (and lower) records raised
    from inside a third-party package, judged by the first frame of the
    call stack outside the logging machinery.

    Example:
        >>> handler.addFilter(ThirdPartyToFile())
    """

    def filter(self, record: logging.LogRecord) -> bool:
        if record.levelno > logging.WARNING:
            return True
        if record.name == 'py.warnings':
            return False
        mmlog = _package_dirs()
        frame = sys._getframe(1)
        while frame is not None:
            fn = osp.abspath(frame.f_code.co_filename)
            if not (fn.startswith(_SKIP) or
                    f'{osp.sep}mmengine{osp.sep}logging{osp.sep}' in fn):
                return not fn.startswith(mmlog)
            frame = frame.f_back
        return True


def quiet_third_party(logger: Optional[logging.Logger] = None) -> None:
    """Send third-party warnings to ``logger``'s log file, not the console.

    Python ``warnings`` are captured into the ``py.warnings`` logger, which
    writes to ``logger``'s file handlers only.

    Args:
        logger (logging.Logger, optional): default mmengine's current logger.
    """
    if logger is None:
        from mmengine.logging import MMLogger
        logger = MMLogger.get_current_instance()
    files = [h for h in logger.handlers if isinstance(h, logging.FileHandler)]
    for handler in logger.handlers:
        if not isinstance(handler, logging.FileHandler) and not any(
                isinstance(f, ThirdPartyToFile) for f in handler.filters):
            handler.addFilter(ThirdPartyToFile())
    logging.captureWarnings(True)
    py = logging.getLogger('py.warnings')
    py.propagate = False
    for handler in list(py.handlers):
        py.removeHandler(handler)
    for handler in files:
        py.addHandler(handler)
    if not files:
        py.addHandler(logging.NullHandler())
