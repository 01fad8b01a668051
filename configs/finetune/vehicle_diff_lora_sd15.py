# Vehicle-Diff: LoRA fine-tuning of SD-1.5 on ~1% unlabeled target images,
# captioned by BLIP-2 (VLMCaptioner, model_type='blip2', writes captions.json).
# Recipe (paper, Sec. IV): Adam, lr 1e-4, polynomial schedule, 100 epochs of
# which the first 20 warm up.
_base_ = ['./_base_lora_sd15.py']

data_root = 'data/veri776_1pct'          # images + captions.json
pretrained = 'runwayml/stable-diffusion-v1-5'   # or a local diffusers folder
max_epochs, warmup_epochs = 100, 20

model = dict(type='DiffusionLoRAModel',
             pretrained_model_name_or_path=pretrained,
             lora=dict(rank=4, alpha=4,
                       target_modules=['to_q', 'to_k', 'to_v', 'to_out.0']))

train_dataloader = dict(
    batch_size=4, num_workers=2, persistent_workers=True,
    sampler=dict(type='DefaultSampler', shuffle=True),
    collate_fn=dict(type='pseudo_collate'),
    dataset=dict(type='CaptionedImageDataset', data_root=data_root,
                 ann_file='captions.json', size=(512, 512), flip_prob=0.5))

train_cfg = dict(_delete_=True, type='EpochBasedTrainLoop',
                 max_epochs=max_epochs)
optim_wrapper = dict(optimizer=dict(type='Adam', lr=1e-4))
param_scheduler = [
    dict(type='LinearLR', start_factor=1e-3, by_epoch=True, begin=0,
         end=warmup_epochs, convert_to_iter_based=True),
    dict(type='PolyLR', power=1.0, eta_min=0.0, by_epoch=True,
         begin=warmup_epochs, end=max_epochs, convert_to_iter_based=True),
]
default_hooks = dict(checkpoint=dict(interval=10, by_epoch=True))
log_processor = dict(by_epoch=True)
