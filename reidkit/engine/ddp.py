"""DistributedDataParallel that also works for CPU (gloo) training."""
from mmengine.model import MMDistributedDataParallel

from ..registry import MODEL_WRAPPERS


@MODEL_WRAPPERS.register_module()
class ReIDDistributedDataParallel(MMDistributedDataParallel):
    """``MMDistributedDataParallel`` that drops ``device_ids`` for CPU modules.

    mmengine's Runner always passes ``device_ids=[LOCAL_RANK]``, which torch
    rejects for a module whose parameters live on the CPU. tools/train.py
    selects this wrapper (``model_wrapper_cfg=dict(type='reidkit.ReIDDistributedDataParallel')``)
    so the same config trains on GPUs with NCCL and on CPUs with gloo.

    Args:
        module (nn.Module): the model to wrap.
        device_ids (list[int], optional): kept only if the module is on a GPU.
        **kwargs: passed to ``MMDistributedDataParallel``.

    Example:
        >>> model_wrapper_cfg = dict(type='reidkit.ReIDDistributedDataParallel',
        ...                          broadcast_buffers=False)
    """

    def __init__(self, module, device_ids=None, **kwargs):
        on_gpu = any(p.is_cuda for p in module.parameters())
        super().__init__(module=module,
                         device_ids=device_ids if on_gpu else None, **kwargs)
