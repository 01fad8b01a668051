"""``ReIDRunner``: mmengine's Runner whose console shows our messages only."""
from mmengine.runner import Runner

from ..utils.logging import quiet_third_party

__all__ = ['ReIDRunner']


class ReIDRunner(Runner):
    """mmengine ``Runner`` that sends third-party warnings to the log file.

    The logger is the first thing a Runner builds, so the filter is in place
    before hooks, optimisers and checkpoints emit their notices.

    Example:
        >>> runner = ReIDRunner.from_cfg(cfg)
    """

    def build_logger(self, *args, **kwargs):
        logger = super().build_logger(*args, **kwargs)
        quiet_third_party(logger)
        return logger
