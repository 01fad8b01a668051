"""Command-line entry points: bad input ends in one message, not a traceback.

Every tool ends with ``run_cli(main)``. An error that describes the user's
input (a config key, a dataset folder, an image, a checkpoint, a manifest)
prints one line ``error: ...`` naming the file, key or expected value and
exits with code 2. ``--debug`` (accepted by every tool, removed from the
arguments before ``main`` sees them) or ``REIDKIT_TRACEBACK=1`` shows the
traceback instead.

Which errors are the user's: subclasses of :class:`ReIDInputError`, the
classes named in ``_INPUT_ERRORS`` (synthgen's, which cannot import reidkit),
missing files and permissions, and a ``TypeError`` from calling a class with a
keyword it does not take (explained by
:func:`reidkit.utils.config_check.explain_type_error`). Anything else is a bug
and keeps its traceback.
"""
from __future__ import annotations

import os
import re
import sys
from typing import Callable

# errors that describe the user's input and already name the file, key or
# layout (by class name: synthgen's classes cannot subclass ReIDInputError)
_INPUT_ERRORS = ('ReIDInputError', 'LayoutError', 'ManifestError',
                 'UnknownTypeError', 'SourceError', 'PlanMismatchError',
                 'FileNotFoundError', 'PermissionError', 'IsADirectoryError',
                 'NotADirectoryError', 'StageConfigError',
                 'ConfigReferenceError', 'MissingExtraError', 'ImageError')

# how torch's DataLoader re-raises a worker's error: the worker's traceback
# is text in the message, whose last 'module.Class: message' line (at the
# start of a line) begins the error's own message
_WORKER_TRACEBACK = 'Original Traceback (most recent call last):'
_ERROR_LINE = re.compile(r'^(?:[\w.]+\.)?\w+: ', re.M)


class ReIDInputError(Exception):
    """Base of the errors that describe bad user input (exit code 2).

    Args:
        message (str): names the file, key or expected value.

    Example:
        >>> class ImageError(ReIDInputError, ValueError):
        ...     pass
    """

    def __str__(self) -> str:
        return str(self.args[0]) if self.args else ''


def _input_error(exc: BaseException):
    """``(error, message)`` for the innermost input error in ``exc``'s chain."""
    seen, found = set(), None
    while exc is not None and id(exc) not in seen:
        seen.add(id(exc))
        if any(cls.__name__ in _INPUT_ERRORS for cls in type(exc).__mro__):
            found = (exc, _message(exc))
        elif isinstance(exc, TypeError) and found is None:
            from .config_check import explain_type_error
            text = explain_type_error(exc)
            if text:
                found = (exc, text)
        if found:
            return found
        exc = exc.__cause__ or exc.__context__
    return None


def _message(err: BaseException) -> str:
    text = str(err.args[0]) if err.args else ''
    if _WORKER_TRACEBACK in text:  # raised in a DataLoader worker
        lines = list(_ERROR_LINE.finditer(text))
        if lines:
            return text[lines[-1].end():].strip()
    if isinstance(err, KeyError) and err.args:
        return str(err.args[0])
    if isinstance(err, OSError) and err.filename and \
            str(err.filename) not in str(err.strerror or ''):
        text = str(err)
        return text if str(err.filename) in text \
            else f'{err.filename}: {err.strerror}'
    return str(err)


def run_cli(main: Callable, argv=None):
    """Run ``main(argv)``; print input errors as one message and exit with 2.

    ``--debug`` anywhere in the arguments (or ``REIDKIT_TRACEBACK=1``) shows
    the full traceback instead.

    Args:
        main (Callable): the tool's main function.
        argv (list, optional): arguments (default: ``sys.argv[1:]``).

    Returns:
        whatever ``main`` returns.

    Example:
        >>> if __name__ == '__main__':
        ...     run_cli(main)
    """
    argv = list(sys.argv[1:] if argv is None else argv)
    debug = '--debug' in argv or bool(os.environ.get('REIDKIT_TRACEBACK'))
    argv = [a for a in argv if a != '--debug']
    try:
        return main(argv)
    except Exception as exc:  # noqa: BLE001  (filtered right below)
        found = None if debug else _input_error(exc)
        if found is None:
            raise
        print(f'error: {found[1]}', file=sys.stderr)
        print('(run with --debug for the full traceback)', file=sys.stderr)
        sys.exit(2)
