"""Vehicle-Diff (paper 000): fine-tuned text-to-image vehicles, filtered, learned with balanced batches.

Importing this package registers nothing new in synthgen's generic registries
beyond what its modules define; the parts it joins live in synthgen/reidkit:
``PromptLibrarySource`` + ``AttributeTemplatePrompt`` (prompt library),
``DiffusersText2Image`` (+ LoRA), ``DetectionCropFilter`` and
``CLIPAttributeFilter`` (semantic filtering), ``DiffusionLoRAModel``
(fine-tuning), ``BalancedDomainSampler`` / ``RandomDomainMixSampler``.
"""
from . import stages  # noqa: F401  registers TargetCaptionStage, FIDStage
from . import toy  # noqa: F401  the toy ablation's stand-ins (GENERATORS, FILTERS, STAGES)
from .library import (COLORS, COLUMNS, TEMPLATE, prompt_of, read_library,
                      toy_attributes, toy_library, write_library)

__all__ = ['COLORS', 'COLUMNS', 'TEMPLATE', 'prompt_of', 'read_library',
           'toy_attributes', 'toy_library', 'write_library',
           'TargetCaptionStage', 'FIDStage']
from .stages import FIDStage, TargetCaptionStage  # noqa: E402
