"""Work-arounds for third-party version clashes, applied where they bite.

Example:
    >>> from synthgen.utils.compat import keep_mmpretrain_multimodal_off
    >>> keep_mmpretrain_multimodal_off()   # before mmpretrain.models is imported
"""
import sys


def keep_mmpretrain_multimodal_off() -> bool:
    """Stop ``import mmpretrain.models`` from importing its multimodal models
    when they cannot import.

    mmpretrain 1.2 imports BLIP, Flamingo, ... whenever pycocotools and
    transformers >= 4.28 are installed (``WITH_MULTIMODAL``). mmdet brings
    pycocotools, and transformers 5 removed names BLIP's module imports
    (``apply_chunking_to_forward``), so ``import mmpretrain.models`` (also
    reached from mmdet's ``DetInferencer``) raises a TypeError. We use none of
    those models: with such a transformers, mark them unavailable (mmpretrain
    then registers placeholders that ask for the extra dependencies).

    Returns:
        bool: True when the switch was turned off by this call.
    """
    if 'mmpretrain.models' in sys.modules:
        return False
    try:
        from transformers import modeling_utils
    except ImportError:
        return False
    if hasattr(modeling_utils, 'apply_chunking_to_forward'):
        return False                       # mmpretrain's BLIP still imports
    try:
        from mmpretrain.utils import dependency
    except ImportError:
        return False
    dependency.WITH_MULTIMODAL = False
    return True
