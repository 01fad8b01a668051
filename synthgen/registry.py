"""synthgen's registries: what makes, describes and filters synthetic images.

They are standalone (not children of mmengine roots): generation has no
counterpart in mmengine. ``locations`` make bare ``type='X'`` names resolve.
"""
from synthgen.utils.registry import Registry

__all__ = ['GENERATORS', 'FILTERS', 'PROMPT_BUILDERS']

GENERATORS = Registry('generator', scope='synthgen',
                      locations=['synthgen.generators', 'synthgen.toyworld'])
FILTERS = Registry('filter', scope='synthgen', locations=['synthgen.filters'])
PROMPT_BUILDERS = Registry('prompt_builder', scope='synthgen',
                           locations=['synthgen.prompts'])
