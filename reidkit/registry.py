"""reidkit's registries, children of mmengine's roots (see docs/design.md).

Every registry names the modules that fill it in ``locations``, so a config with
``default_scope='reidkit'`` resolves a bare ``type='X'`` without a manual import.
LOSSES and HEADS are children of MODELS: anything that builds through MODELS
(mmengine does when it builds a model) also finds losses and heads.
"""
from mmengine.registry import DATA_SAMPLERS as MMENGINE_DATA_SAMPLERS
from mmengine.registry import DATASETS as MMENGINE_DATASETS
from mmengine.registry import HOOKS as MMENGINE_HOOKS
from mmengine.registry import METRICS as MMENGINE_METRICS
from mmengine.registry import MODEL_WRAPPERS as MMENGINE_MODEL_WRAPPERS
from mmengine.registry import MODELS as MMENGINE_MODELS
from mmengine.registry import TRANSFORMS as MMENGINE_TRANSFORMS
from mmengine.registry import VISUALIZERS as MMENGINE_VISUALIZERS

from synthgen.utils.registry import Registry, add_scope_children

__all__ = [
    'MODELS', 'LOSSES', 'HEADS', 'DATASETS', 'TRANSFORMS', 'SAMPLERS',
    'METRICS', 'HOOKS', 'RERANKERS', 'MODEL_WRAPPERS', 'VISUALIZERS',
    'STAGES', 'PROTOCOLS'
]

MODELS = Registry('model', parent=MMENGINE_MODELS, scope='reidkit',
                  locations=['reidkit.models'])
LOSSES = Registry('loss', parent=MODELS, scope='reidkit_losses',
                  locations=['reidkit.models.losses'])
HEADS = Registry('head', parent=MODELS, scope='reidkit_heads',
                 locations=['reidkit.models.heads'])
DATASETS = Registry('dataset', parent=MMENGINE_DATASETS, scope='reidkit',
                    locations=['reidkit.datasets'])
TRANSFORMS = Registry('transform', parent=MMENGINE_TRANSFORMS, scope='reidkit',
                      locations=['reidkit.datasets.transforms'])
SAMPLERS = Registry('sampler', parent=MMENGINE_DATA_SAMPLERS, scope='reidkit',
                    locations=['reidkit.samplers'])
METRICS = Registry('metric', parent=MMENGINE_METRICS, scope='reidkit',
                   locations=['reidkit.evaluation'])
HOOKS = Registry('hook', parent=MMENGINE_HOOKS, scope='reidkit',
                 locations=['reidkit.hooks', 'reidkit.engine'])
MODEL_WRAPPERS = Registry('model_wrapper', parent=MMENGINE_MODEL_WRAPPERS,
                          scope='reidkit', locations=['reidkit.engine'])
VISUALIZERS = Registry('visualizer', parent=MMENGINE_VISUALIZERS,
                      scope='reidkit', locations=['reidkit.engine'])
RERANKERS = Registry('reranker', scope='reidkit',
                     locations=['reidkit.evaluation.rerankers'])
#: experiment stages (``stages = [dict(name=..., type=...)]``), see reidkit.stages
STAGES = Registry('stage', scope='reidkit', locations=['reidkit.stages'])
#: evaluation protocols (reidkit.evaluation.Protocol subclasses), named by
#: ReIDMetric(protocol=...); a plugin registers its own here
PROTOCOLS = Registry('protocol', scope='reidkit',
                     locations=['reidkit.evaluation.protocols'])

# the other mmengine roots (loops, optimisers, schedulers, ...) get an empty
# 'reidkit' child, so default_scope='reidkit' resolves there without warnings
add_scope_children('reidkit')
