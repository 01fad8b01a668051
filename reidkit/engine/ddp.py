"""DistributedDataParallel that also works for CPU (gloo) training and for
models with a second optimiser (CAL's clothes classifier)."""
from typing import Callable, Dict, Iterable, List, Optional

import torch
import torch.distributed as torch_dist
from mmengine.model import MMDistributedDataParallel
from mmengine.optim import OptimWrapper, OptimWrapperDict
from torch import nn
from torch.nn.parallel import DistributedDataParallel

from ..registry import MODEL_WRAPPERS


def _world_size() -> int:
    if torch_dist.is_available() and torch_dist.is_initialized():
        return torch_dist.get_world_size()
    return 1


def all_reduce_grads(params: Iterable[nn.Parameter]) -> None:
    """Replace the gradients of ``params`` by their mean over all ranks.

    Does nothing in a single process. A parameter that has no gradient on
    some ranks (it took no part in their loss) counts as a zero gradient
    there; one that has no gradient on any rank keeps ``grad = None`` (so
    the optimiser skips it, as it would in one process). Every rank must
    call this with the same parameters in the same order.

    Args:
        params (Iterable[nn.Parameter]): the parameters whose ``.grad`` to
            average (those with ``requires_grad=False`` are skipped).

    Example:
        >>> w = nn.Parameter(torch.ones(3))
        >>> w.sum().backward()
        >>> all_reduce_grads([w])  # one process: unchanged
        >>> w.grad
        tensor([1., 1., 1.])
    """
    world_size = _world_size()
    params = [p for p in params if p.requires_grad]
    if world_size == 1 or not params:
        return
    # which parameters have a gradient on at least one rank
    has_grad = torch.tensor([float(p.grad is not None) for p in params],
                            device=params[0].device)
    torch_dist.all_reduce(has_grad)
    for p, on_some_rank in zip(params, has_grad.tolist()):
        if not on_some_rank:
            continue
        if p.grad is None:
            p.grad = torch.zeros_like(p)
        torch_dist.all_reduce(p.grad)
        p.grad.div_(world_size)


def update_params(optim_wrapper: OptimWrapper, loss: torch.Tensor,
                  before_step: Optional[Callable[[], None]] = None) -> None:
    """``optim_wrapper.update_params(loss)`` with a call between the backward
    pass and the optimiser step (e.g. averaging gradients over ranks).

    Same steps as mmengine's ``OptimWrapper.update_params``: scale the loss
    for gradient accumulation, backward, and, when the wrapper says it is
    time to update, ``before_step()``, ``step()`` and ``zero_grad()``.

    Args:
        optim_wrapper (OptimWrapper): the wrapper to update.
        loss (torch.Tensor): the scalar loss.
        before_step (callable, optional): called with no arguments right
            before ``optim_wrapper.step()``; None: plain ``update_params``.

    Example:
        >>> update_params(wrapper, loss,
        ...               before_step=lambda: all_reduce_grads(params))
    """
    if before_step is None:
        optim_wrapper.update_params(loss)
        return
    optim_wrapper.backward(optim_wrapper.scale_loss(loss))
    if optim_wrapper.should_update():
        before_step()
        optim_wrapper.step()
        optim_wrapper.zero_grad()


@MODEL_WRAPPERS.register_module()
class ReIDDistributedDataParallel(MMDistributedDataParallel):
    """``MMDistributedDataParallel`` for CPU modules and for CAL.

    - CPU: mmengine's Runner always passes ``device_ids=[LOCAL_RANK]``,
      which torch rejects for a module whose parameters live on the CPU;
      they are dropped for such a module. tools/train.py selects this
      wrapper, so one config trains on GPUs with NCCL and on CPUs with gloo.
    - Parameters named by the module's ``ddp_ignored_parameters()`` (CAL's
      clothes classifier, trained by its own backward pass on detached
      features) are kept out of DDP's reducer: DDP allows one backward per
      forward over the parameters it manages. They are broadcast from rank
      0 here and their gradients are averaged over ranks by
      :meth:`sync_ignored_grads` right before their optimiser steps.
    - :meth:`train_step` with an ``OptimWrapperDict`` calls the module's
      ``cal_train_step`` with this wrapper as the forward (so the reducer
      averages the main model's gradients) and :meth:`sync_ignored_grads`;
      with one ``OptimWrapper`` it is mmengine's step, plus that averaging
      when the module has ignored parameters.

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
        if names:
            ignore = set(names) | set(
                getattr(module, '_ddp_params_and_buffers_to_ignore', []))
            DDP = DistributedDataParallel
            DDP._set_params_and_buffers_to_ignore_for_model(
                module, sorted(ignore))
        super().__init__(module=module,
                         device_ids=device_ids if on_gpu else None, **kwargs)
        own = dict(module.named_parameters())
        self._ignored_params: List[nn.Parameter] = [own[n] for n in names]
        if _world_size() > 1:  # DDP only broadcasts the parameters it manages
            with torch.no_grad():
                for p in self._ignored_params:
                    torch_dist.broadcast(p.data, src=0)

    def sync_ignored_grads(self) -> None:
        """Average the gradients of the parameters DDP does not manage."""
        all_reduce_grads(self._ignored_params)

    def train_step(self, data, optim_wrapper) -> Dict[str, torch.Tensor]:
        """One training iteration on every rank.

        Args:
            data (dict | tuple | list): a batch from the dataloader.
            optim_wrapper (OptimWrapper | OptimWrapperDict): one wrapper, or
                CAL's ``'model'`` and ``'clothes_classifier'`` wrappers.

        Returns:
            dict[str, torch.Tensor]: the logged losses.
        """
        if isinstance(optim_wrapper, OptimWrapperDict):
            if not hasattr(self.module, 'cal_train_step'):
                raise TypeError(
                    f'{type(self.module).__name__} has no cal_train_step; '
                    'ReIDDistributedDataParallel steps an OptimWrapperDict '
                    "only for CAL ('model' + 'clothes_classifier')")
            return self.module.cal_train_step(
                data, optim_wrapper, model_wrapper=self,
                sync_grads=self.sync_ignored_grads)
        if not self._ignored_params:
            return super().train_step(data, optim_wrapper)
        # one optimiser for everything (CAL summed): mmengine's step, with
        # the ignored parameters' gradients averaged before it
        with optim_wrapper.optim_context(self):
            data = self.module.data_preprocessor(data, training=True)
            losses = self._run_forward(data, mode='loss')
        parsed, log_vars = self.module.parse_losses(losses)
        update_params(optim_wrapper, parsed,
                      before_step=self.sync_ignored_grads)
        return log_vars
