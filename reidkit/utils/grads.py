"""Gradient helpers for models that run their own optimiser steps.

A model whose ``train_step`` trains some parameters outside the distributed
wrapper's reducer (CAL's clothes classifier, see ``reidkit.models.cal``)
averages their gradients with :func:`all_reduce_grads` and steps its
optimisers with :func:`update_params`. Both work in one process (no-op
averaging), so the same step runs with and without DDP.
"""
from __future__ import annotations

from typing import Callable, Iterable, Optional

import torch
import torch.distributed as torch_dist
from mmengine.dist import get_world_size
from mmengine.optim import OptimWrapper
from torch import nn

__all__ = ['all_reduce_grads', 'update_params']


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
    world_size = get_world_size()
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
