"""Small hooks the Runner needs to drive reidkit models."""
from mmengine.hooks import Hook
from mmengine.model import is_model_wrapper

from ..registry import HOOKS


@HOOKS.register_module()
class EpochToModelHook(Hook):
    """Tell the model (and the train sampler) the current epoch.

    Some losses switch on at an epoch (CAL's adversarial loss) and some
    samplers widen their pool with the epoch (DLCR's progressive pairing).
    Before every train epoch this sets ``model.current_epoch`` and calls
    ``set_epoch`` on the train sampler and batch sampler when they have it
    (mmengine's loop only calls it on the sampler).

    Example:
        >>> custom_hooks = [dict(type='EpochToModelHook')]
    """

    priority = 'VERY_HIGH'

    def before_train_epoch(self, runner) -> None:
        model = runner.model.module if is_model_wrapper(runner.model) \
            else runner.model
        model.current_epoch = runner.epoch
        loader = runner.train_dataloader
        for obj in (getattr(loader, 'sampler', None),
                    getattr(loader, 'batch_sampler', None)):
            if obj is not None and hasattr(obj, 'set_epoch'):
                obj.set_epoch(runner.epoch)
