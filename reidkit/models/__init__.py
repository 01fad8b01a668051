"""reidkit models: importing this registers every backbone, neck, head, loss,
the data preprocessor, ``ReIDModel``, ``CALModel`` and the optimiser
constructor."""
from . import backbones, heads, losses, necks  # noqa: F401
from .backbones import *  # noqa: F401,F403
from .cal import CALModel
from .data_preprocessor import ReIDDataPreprocessor, collate_labels, uncollate
from .heads import *  # noqa: F401,F403
from .joint_view_preprocessor import JointViewDataPreprocessor
from .losses import *  # noqa: F401,F403
from .necks import *  # noqa: F401,F403
from .optim_constructor import ReIDOptimWrapperConstructor
from .reid_model import ReIDModel
from .utils import fill_num_classes

__all__ = ['ReIDModel', 'CALModel', 'ReIDDataPreprocessor', 'collate_labels',
           'uncollate', 'ReIDOptimWrapperConstructor', 'fill_num_classes',
           'JointViewDataPreprocessor']
