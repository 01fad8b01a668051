"""mmengine registries for fine-tuning generators (children of mmengine's roots).

Fine-tuning runs through mmengine's Runner like re-ID training, so its model,
dataset and hooks are registered in children of mmengine's MODELS, DATASETS and
HOOKS with scope ``synthgen``; a config with ``default_scope='synthgen'``
resolves bare names (``type='DiffusionLoRAModel'``) here and everything else
(optimizers, schedulers, loops) in mmengine's roots.
"""
from mmengine.registry import DATASETS as MMENGINE_DATASETS
from mmengine.registry import HOOKS as MMENGINE_HOOKS
from mmengine.registry import MODELS as MMENGINE_MODELS

from synthgen.utils.registry import Registry, add_scope_children

__all__ = ['MODELS', 'DATASETS', 'HOOKS']

MODELS = Registry('model', parent=MMENGINE_MODELS, scope='synthgen',
                  locations=['synthgen.finetune'])
DATASETS = Registry('dataset', parent=MMENGINE_DATASETS, scope='synthgen',
                    locations=['synthgen.finetune'])
HOOKS = Registry('hook', parent=MMENGINE_HOOKS, scope='synthgen',
                 locations=['synthgen.finetune'])

# the Runner's other roots get an empty 'synthgen' child (no scope warnings)
add_scope_children('synthgen')
