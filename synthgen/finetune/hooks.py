"""Hook that writes the trained LoRA / textual-inversion weights."""
import os.path as osp
from typing import Optional

from mmengine.dist import is_main_process
from mmengine.hooks import Hook
from mmengine.model import is_model_wrapper

from .registry import HOOKS


@HOOKS.register_module()
class SaveAdaptersHook(Hook):
    """Save the model's adapters (``model.save_adapters(out_dir)``) on rank 0.

    Writes after training and, with ``interval > 0``, every ``interval``
    iterations, so a long run leaves usable adapters behind. Layout:
    ``<out_dir>/<adapter>/pytorch_lora_weights.safetensors`` and
    ``<out_dir>/learned_embeds.safetensors`` (see
    :meth:`DiffusionLoRAModel.save_adapters`).

    Args:
        out_dir (str, optional): Default ``<work_dir>/adapters``.
        interval (int): Also save every ``interval`` iterations (0: only at
            the end).

    Example:
        >>> custom_hooks = [dict(type='SaveAdaptersHook', interval=5000)]
    """

    priority = 'LOW'

    def __init__(self, out_dir: Optional[str] = None, interval: int = 0):
        self.out_dir = out_dir
        self.interval = int(interval)

    def _save(self, runner):
        if not is_main_process():
            return
        model = runner.model.module if is_model_wrapper(runner.model) \
            else runner.model
        out_dir = self.out_dir or osp.join(runner.work_dir, 'adapters')
        written = model.save_adapters(out_dir)
        runner.logger.info(f'saved adapters to {out_dir}: '
                           f'{sorted(written)}')

    def after_train_iter(self, runner, batch_idx, data_batch=None,
                         outputs=None):
        if self.interval > 0 and self.every_n_train_iters(runner,
                                                          self.interval):
            self._save(runner)

    def after_train(self, runner):
        self._save(runner)
