"""Runner set-up that mmengine 0.10.7 does not do for us on new torch / CPU."""
from .checkpoint import register_checkpoint_safe_globals
from .ddp import ReIDDistributedDataParallel
from .distributed import init_distributed
from .hooks import EpochToModelHook
from .visualizer import ReIDVisualizer

__all__ = ['register_checkpoint_safe_globals', 'ReIDDistributedDataParallel',
           'init_distributed', 'EpochToModelHook', 'ReIDVisualizer']
