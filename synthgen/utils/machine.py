"""Facts about the machine that speed figures must name."""
from __future__ import annotations

import platform

__all__ = ['cpu_model']


def cpu_model() -> str:
    """The CPU's model name (``/proc/cpuinfo``; else ``platform``).

    Example:
        >>> cpu_model()  # doctest: +SKIP
        'AMD EPYC'
    """
    try:
        with open('/proc/cpuinfo') as f:
            for line in f:
                if line.startswith('model name'):
                    return line.split(':', 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or 'unknown CPU'
