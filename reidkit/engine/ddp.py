"""DistributedDataParallel that also works for CPU (gloo) training and for
models that own their training step (several optimisers, parameters
trained outside DDP's reducer)."""
import inspect
from typing import Dict, List

import torch
import torch.distributed as torch_dist
from mmengine.dist import get_world_size
from mmengine.model import MMDistributedDataParallel
from torch import nn
from torch.nn.parallel import DistributedDataParallel

from ..registry import MODEL_WRAPPERS


def _takes_model_wrapper(module: nn.Module) -> bool:
    step = getattr(module, 'train_step', None)
    return step is not None and \
        'model_wrapper' in inspect.signature(step).parameters


@MODEL_WRAPPERS.register_module()
class ReIDDistributedDataParallel(MMDistributedDataParallel):
    """``MMDistributedDataParallel`` for CPU modules and for models that own
    their training step.

    - CPU: mmengine's Runner always passes ``device_ids=[LOCAL_RANK]``,
      which torch rejects for a module whose parameters live on the CPU;
      they are dropped for such a module. tools/train.py selects this
      wrapper, so one config trains on GPUs with NCCL and on CPUs with gloo.
    - Parameters named by the module's ``ddp_ignored_parameters()``
      (optional; e.g. a classifier trained by its own backward pass on
      detached features) are kept out of DDP's reducer, which allows one
      backward per forward over the parameters it manages. They are
      broadcast from rank 0 here; the module averages their gradients
      itself (``reidkit.utils.grads.all_reduce_grads``) before stepping.
    - :meth:`train_step` is the module's own: a module whose ``train_step``
      takes ``model_wrapper`` (every ``ReIDModel``) is called with this
      wrapper as the forward (so the reducer averages the gradients it
      manages, and ``no_sync`` serves gradient accumulation); any other
      module gets mmengine's step (only that step honours
      ``detect_anomalous_params``).

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
        names = sorted(getattr(module, 'ddp_ignored_parameters', list)())
        self._own_step = _takes_model_wrapper(module)
        if names and not self._own_step:
            raise TypeError(
                f'{type(module).__name__} names ddp_ignored_parameters() but '
                'its train_step takes no model_wrapper: nothing would '
                'average their gradients over ranks')
        if names:
            ignore = set(names) | set(
                getattr(module, '_ddp_params_and_buffers_to_ignore', []))
            DDP = DistributedDataParallel
            DDP._set_params_and_buffers_to_ignore_for_model(
                module, sorted(ignore))
        super().__init__(module=module,
                         device_ids=device_ids if on_gpu else None, **kwargs)
        own = dict(module.named_parameters())
        ignored: List[nn.Parameter] = [own[n] for n in names]
        # DDP only broadcasts the parameters it manages
        if get_world_size() > 1:
            with torch.no_grad():
                for p in ignored:
                    torch_dist.broadcast(p.data, src=0)

    def train_step(self, data, optim_wrapper) -> Dict[str, torch.Tensor]:
        """One training iteration on every rank: the module's
        ``train_step(data, optim_wrapper, model_wrapper=self)``.

        Args:
            data (dict | tuple | list): a batch from the dataloader.
            optim_wrapper (OptimWrapper | OptimWrapperDict): what the
                module's step expects.

        Returns:
            dict[str, torch.Tensor]: the logged losses.
        """
        if not self._own_step:
            return super().train_step(data, optim_wrapper)
        return self.module.train_step(data, optim_wrapper, model_wrapper=self)
