# FineGPR/AOST re-ID schedule (paper, "Experiment Settings"): Adam, lr 3.5e-4,
# x0.1 at epochs 40 and 70 (3.5e-5, 3.5e-6), 120 epochs. The paper names no
# warm-up and no weight decay; weight decay 5e-4 is kept from the bag-of-tricks
# schedule it follows for the input pipeline (Luo et al. 2019), the warm-up
# of that schedule is dropped.
_base_ = ['../../_base_/schedules/adam_120e.py']

param_scheduler = [
    dict(type='MultiStepLR', by_epoch=True, milestones=[40, 70], gamma=0.1),
]
train_cfg = dict(type='EpochBasedTrainLoop', max_epochs=120, val_interval=120)
