# Runtime shared by every config: scope, hooks, logging, checkpoints, seeds.
default_scope = 'reidkit'

default_hooks = dict(
    timer=dict(type='IterTimerHook'),
    logger=dict(type='LoggerHook', interval=20),
    param_scheduler=dict(type='ParamSchedulerHook'),
    # one checkpoint per epoch, so a killed run resumes from the last epoch
    checkpoint=dict(type='CheckpointHook', interval=1, max_keep_ckpts=2),
    sampler_seed=dict(type='DistSamplerSeedHook'),
)
# tells the model and the batch sampler the epoch (CAL start epoch, DLCR pairing)
custom_hooks = [dict(type='EpochToModelHook')]

env_cfg = dict(
    cudnn_benchmark=False,
    mp_cfg=dict(mp_start_method='fork', opencv_num_threads=0),
    # tools/train.py switches to gloo when no GPU is present
    dist_cfg=dict(backend='nccl'),
)
log_processor = dict(type='LogProcessor', window_size=20, by_epoch=True)
log_level = 'INFO'
load_from = None
resume = False
randomness = dict(seed=0, deterministic=False)
# Visualizer backends by name (reidkit/engine/visualizer.py): 'local' writes
# vis_data/scalars.json and the config into the work dir; 'tensorboard' and
# 'wandb' are optional extras (pip install -e ".[tensorboard]" / ".[wandb]").
# Switch one on with --cfg-options "visualizer.vis_backends=[local,tensorboard]"
# or one config line; docs/visualization.md.
visualizer = dict(type='ReIDVisualizer', vis_backends=['local'])
