# Vehicle-Diff stage 2 (Sec. III-B, IV-A): LoRA on the UNet decoder of SDXL,
# trained on the ~1 % target images and their BLIP-2 captions.
#   text encoders frozen (the model the paper selects), MSE on the noise,
#   Adam lr 1e-4, polynomial schedule, 100 epochs of which 20 warm up.
# The experiment configs run it as a FinetuneStage and set data_root and
# ann_file (the TargetCaptionStage's file); by hand:
#   python tools/finetune.py configs/vehicle_diff/finetune_lora_sdxl.py \
#     --cfg-options train_dataloader.dataset.data_root=data/veri776 \
#     train_dataloader.dataset.ann_file=work_dirs/x/target_captions.json
# Paper silent: LoRA rank (4), batch size (4), resolution (1024, SDXL's),
# the warm-up shape (linear from 1e-3 x lr) and the polynomial power (1.0).
_base_ = ['../finetune/_base_lora_sd15.py']

pretrained = 'checkpoints/stable-diffusion-xl-base-1.0'  # diffusers folder
max_epochs, warmup_epochs = 100, 20
resolution = (1024, 1024)

model = dict(type='DiffusionLoRAModel',
             pretrained_model_name_or_path=pretrained,
             lora=dict(rank=4, alpha=4, target_modules='decoder'))

train_dataloader = dict(
    batch_size=4, num_workers=2, persistent_workers=True,
    sampler=dict(type='DefaultSampler', shuffle=True),
    collate_fn=dict(type='pseudo_collate'),
    dataset=dict(type='CaptionedImageDataset', data_root='data/veri776',
                 ann_file='target_captions.json', size=resolution,
                 flip_prob=0.5))

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
