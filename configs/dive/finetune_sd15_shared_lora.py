# DiVE fine-tuning, the authors' code (Data_Generation/train_t2i_lora_ti.py):
# SD-1.5, textual inversion of one token per identity (VI + external) and ONE
# LoRA (rank 128, UNet attention) for every image, the modality / camera
# carried by the caption's code word ("a {code} photo of a {token} person").
# 512x256, horizontal flip, AdamW lr 5e-5 constant, batch 16, 400k steps
# (paper). Reads the vocabulary of plugins.dive.run_vocabulary.
#   python tools/finetune.py configs/dive/finetune_sd15_shared_lora.py \
#       --work-dir work_dirs/dive_data/finetune
_base_ = ['../finetune/_base_lora_sd15.py']
vocabulary_dir = 'work_dirs/dive_data/vocabulary'
pretrained = 'runwayml/stable-diffusion-v1-5'
model = dict(type='DiffusionLoRAModel',
             pretrained_model_name_or_path=pretrained,
             lora=dict(rank=128, alpha=128, adapter_names=['default']),
             textual_inversion=dict(
                 tokens_file=vocabulary_dir + '/tokens.json',
                 initializer_token='person'))
# captions.json keys are absolute image paths (SYSU-MM01 / LLCM + Market)
train_dataloader = dict(
    batch_size=16, num_workers=4, persistent_workers=True,
    sampler=dict(type='InfiniteSampler', shuffle=True),
    collate_fn=dict(type='pseudo_collate'),
    dataset=dict(type='CaptionedImageDataset', data_root=vocabulary_dir,
                 ann_file='captions.json', size=(512, 256), flip_prob=0.5,
                 default_adapter='default'))
train_cfg = dict(max_iters=400000)
# fp32 here so the config runs anywhere; on a GPU add fp16 mixed precision:
#   --cfg-options optim_wrapper.type=AmpOptimWrapper \
#       optim_wrapper.dtype=float16
# (in a DiVE experiment: stages.1.overrides.optim_wrapper.type=...)
optim_wrapper = dict(type='OptimWrapper',
                     optimizer=dict(type='AdamW', lr=5e-5,
                                    weight_decay=1e-2))
param_scheduler = [dict(type='ConstantLR', factor=1.0, by_epoch=False)]
custom_hooks = [dict(type='SaveAdaptersHook', interval=20000)]
default_hooks = dict(checkpoint=dict(interval=20000))
