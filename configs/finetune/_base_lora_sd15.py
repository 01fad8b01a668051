# Shared pieces of text-to-image fine-tuning: runtime, loop, optimizer, hooks.
# Concrete configs set `model`, `train_dataloader`, the schedule and lr.
default_scope = 'synthgen'
custom_imports = dict(imports=['synthgen.finetune'],
                      allow_failed_imports=False)

train_cfg = dict(type='IterBasedTrainLoop', max_iters=1000)
optim_wrapper = dict(type='OptimWrapper',
                     optimizer=dict(type='Adam', lr=1e-4, weight_decay=0.0),
                     clip_grad=dict(max_norm=1.0))
param_scheduler = []

default_hooks = dict(
    timer=dict(type='IterTimerHook'),
    logger=dict(type='LoggerHook', interval=10),
    param_scheduler=dict(type='ParamSchedulerHook'),
    checkpoint=dict(type='CheckpointHook', interval=1000, by_epoch=False,
                    max_keep_ckpts=1),
    sampler_seed=dict(type='DistSamplerSeedHook'))
# writes <work_dir>/adapters/<adapter>/pytorch_lora_weights.safetensors and
# <work_dir>/adapters/learned_embeds.safetensors
custom_hooks = [dict(type='SaveAdaptersHook', interval=0)]

# several LoRA adapters in one batch leave the others unused in a step
model_wrapper_cfg = dict(type='MMDistributedDataParallel',
                         broadcast_buffers=False,
                         find_unused_parameters=True)
env_cfg = dict(cudnn_benchmark=False,
               mp_cfg=dict(mp_start_method='fork', opencv_num_threads=0),
               dist_cfg=dict(backend='nccl'))
log_processor = dict(type='LogProcessor', window_size=10, by_epoch=False)
log_level = 'INFO'
load_from = None
resume = False
randomness = dict(seed=0, deterministic=False)
