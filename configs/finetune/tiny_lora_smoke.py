# Smoke run of LoRA fine-tuning on a tiny random-weight model (tests, CI).
# Make the model with `synthgen.testing.tiny_sd_pipeline(save_dir=...)` and
# pass its folder and a captioned image folder:
#   python tools/finetune.py configs/finetune/tiny_lora_smoke.py --cfg-options \
#       model.pretrained_model_name_or_path=/tmp/tiny_sd \
#       train_dataloader.dataset.data_root=/tmp/captioned
_base_ = ['./_base_lora_sd15.py']

model = dict(type='DiffusionLoRAModel',
             pretrained_model_name_or_path='work_dirs/tiny_sd',
             lora=dict(rank=4, alpha=4))
train_dataloader = dict(
    batch_size=2, num_workers=0,
    sampler=dict(type='DefaultSampler', shuffle=True),
    collate_fn=dict(type='pseudo_collate'),
    dataset=dict(type='CaptionedImageDataset', data_root='work_dirs/captioned',
                 ann_file='captions.json', size=(32, 32), flip_prob=0.5))
train_cfg = dict(max_iters=4)
optim_wrapper = dict(optimizer=dict(type='Adam', lr=1e-3))
param_scheduler = [
    dict(type='LinearLR', start_factor=0.1, by_epoch=False, begin=0, end=2),
    dict(type='PolyLR', power=1.0, eta_min=0.0, by_epoch=False, begin=2,
         end=4),
]
default_hooks = dict(logger=dict(interval=1),
                     checkpoint=dict(interval=4))
