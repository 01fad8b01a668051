"""Process-group set-up that also works on machines without a GPU."""
import os

import torch
import torch.distributed as torch_dist


def init_distributed(launcher: str, backend: str = None) -> str:
    """Initialise ``torch.distributed`` for ``launcher`` and return the backend.

    mmengine's ``init_dist('pytorch')`` calls ``torch.cuda.set_device``, which
    fails on a CPU-only machine. With CUDA we leave everything to mmengine
    (return ``'nccl'``, nothing initialised here); without it we create a gloo
    group from the torchrun environment ourselves, and the Runner, seeing an
    initialised group, skips its own ``init_dist``.

    Args:
        launcher (str): 'none', 'pytorch' (torchrun) or 'slurm'.
        backend (str, optional): force a backend.

    Returns:
        str: the backend in use ('' when not distributed).

    Example:
        >>> init_distributed('none')
        ''
    """
    if launcher == 'none':
        return ''
    if torch.cuda.is_available() and backend in (None, 'nccl'):
        return 'nccl'
    backend = backend or 'gloo'
    if not torch_dist.is_initialized():
        if launcher == 'slurm':
            os.environ.setdefault('RANK', os.environ['SLURM_PROCID'])
            os.environ.setdefault('WORLD_SIZE', os.environ['SLURM_NTASKS'])
            os.environ.setdefault('LOCAL_RANK', os.environ['SLURM_LOCALID'])
        elif launcher != 'pytorch':
            raise ValueError(f"launcher must be 'none', 'pytorch' or 'slurm', "
                             f'got {launcher!r}')
        for key in ('RANK', 'WORLD_SIZE', 'MASTER_ADDR', 'MASTER_PORT'):
            if key not in os.environ:
                raise RuntimeError(
                    f'--launcher {launcher} needs the environment variable '
                    f'{key}; start the program with torchrun '
                    '(tools/dist_train.sh) or srun.')
        torch_dist.init_process_group(backend=backend)
    return backend
