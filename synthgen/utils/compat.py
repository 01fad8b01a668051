"""Work-arounds for version clashes between OpenMMLab packages and their deps."""
from __future__ import annotations

__all__ = ['mmpretrain_without_broken_multimodal']


def mmpretrain_without_broken_multimodal() -> None:
    """Keep ``import mmpretrain.models`` working when its BLIP part cannot load.

    mmpretrain 1.2 imports its multimodal models (BLIP, BLIP-2, ...) whenever
    pycocotools and transformers >= 4.28 are installed. pycocotools comes
    with mmdet (``make detection``), and with transformers 5 those modules
    fail at import (``TypeError: NoneType takes no arguments``: helpers they
    import from ``transformers.modeling_utils`` are gone), which breaks every
    ``import mmpretrain.models`` -- also mmdet's, through its ReID data
    preprocessor. When those helpers are missing this switches mmpretrain's
    multimodal part to its placeholders (the state without pycocotools).
    Call it before the first ``import mmpretrain.models``; a no-op otherwise.
    """
    import sys
    if 'mmpretrain.models' in sys.modules:
        return
    try:
        from mmpretrain.utils import dependency
    except ImportError:
        return
    if not dependency.WITH_MULTIMODAL:
        return
    try:
        from transformers.modeling_utils import (  # noqa: F401
            apply_chunking_to_forward, find_pruneable_heads_and_indices,
            prune_linear_layer)
    except ImportError:
        dependency.WITH_MULTIMODAL = False
