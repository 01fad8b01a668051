"""Command-line entry points: bad input ends in one message, not a traceback."""
from __future__ import annotations

import os
import sys
from typing import Callable

# errors that describe the user's input (a config, a dataset folder, a
# manifest, a checkpoint path) and already name the file, key or layout
_INPUT_ERRORS = ('LayoutError', 'ManifestError', 'UnknownTypeError',
                 'SourceError', 'PlanMismatchError', 'FileNotFoundError',
                 'StageConfigError', 'ConfigReferenceError',
                 'MissingExtraError')


def _input_error(exc: BaseException):
    """The innermost input error in ``exc``'s cause chain, if any."""
    seen = set()
    while exc is not None and id(exc) not in seen:
        seen.add(id(exc))
        if any(cls.__name__ in _INPUT_ERRORS for cls in type(exc).__mro__):
            return exc
        exc = exc.__cause__ or exc.__context__
    return None


def run_cli(main: Callable, argv=None):
    """Run ``main(argv)``; print input errors as one message and exit with 2.

    Set ``REIDKIT_TRACEBACK=1`` to see the full traceback instead.

    Args:
        main (Callable): the tool's main function.
        argv (list, optional): arguments (default: ``sys.argv[1:]``).

    Returns:
        whatever ``main`` returns.

    Example:
        >>> if __name__ == '__main__':
        ...     run_cli(main)
    """
    try:
        return main(argv)
    except Exception as exc:  # noqa: BLE001  (filtered right below)
        err = _input_error(exc)
        if err is None or os.environ.get('REIDKIT_TRACEBACK'):
            raise
        message = str(err.args[0]) if isinstance(err, KeyError) and err.args \
            else str(err)
        print(f'error: {message}', file=sys.stderr)
        print('(set REIDKIT_TRACEBACK=1 for the full traceback)',
              file=sys.stderr)
        sys.exit(2)
