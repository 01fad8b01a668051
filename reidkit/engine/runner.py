"""``ReIDRunner``: mmengine's Runner whose console shows our messages only,
and which does not spend seconds formatting its config text."""
import copy

from mmengine.config import Config
from mmengine.runner import Runner

from ..utils.config import set_code_formatting
from ..utils.logging import quiet_third_party

__all__ = ['ReIDRunner']


class ReIDRunner(Runner):
    """mmengine ``Runner`` that sends third-party warnings to the log file
    and writes its config text unformatted.

    The logger is the first thing a Runner builds, so the filter is in place
    before hooks, optimisers and checkpoints emit their notices.

    ``Config.pretty_text`` runs yapf over the whole config, and a Runner
    asks for it several times (the environment log, the visualizer, the
    dumped config, every checkpoint's meta): on a large config (FineGPR/AOST
    with its translator and test targets) that was 13 s per call on a loaded
    2-core machine, most of a toy run. ``from_cfg`` turns the formatting
    off on its copy (``set_code_formatting``, which ``load_config`` applies
    too, so plain mmengine Runners of loaded configs skip it as well): the text is mmengine's own indented ``key=dict(...)`` layout, valid
    Python that ``Config.fromfile`` reads back the same.

    Example:
        >>> runner = ReIDRunner.from_cfg(cfg)
    """

    @classmethod
    def from_cfg(cls, cfg) -> 'ReIDRunner':
        cfg = copy.deepcopy(cfg) if isinstance(cfg, Config) else Config(cfg)
        return super().from_cfg(set_code_formatting(cfg, False))

    def build_logger(self, *args, **kwargs):
        logger = super().build_logger(*args, **kwargs)
        quiet_third_party(logger)
        return logger
