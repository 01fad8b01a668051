# DiVE: textual-inversion token per identity ("<p12>") learned jointly with one
# LoRA branch per modality (or per camera), SD-1.5, LoRA rank 128, lr 5e-5,
# batch 16, 512x256 inputs with horizontal flips, 400k steps.
# captions.json: {"img.jpg": {"caption": "a b8zBXKoH photo of <p12> person",
#                             "adapter": "ir"}, ...}  (adapter = modality)
_base_ = ['./_base_lora_sd15.py']

data_root = 'data/sysu_dive'
pretrained = 'runwayml/stable-diffusion-v1-5'

model = dict(type='DiffusionLoRAModel',
             pretrained_model_name_or_path=pretrained,
             lora=dict(rank=128, alpha=128, adapter_names=['visible', 'ir']),
             textual_inversion=dict(tokens_file=data_root + '/tokens.json',
                                    initializer_token='person'))

train_dataloader = dict(
    batch_size=16, num_workers=4, persistent_workers=True,
    sampler=dict(type='InfiniteSampler', shuffle=True),
    collate_fn=dict(type='pseudo_collate'),
    dataset=dict(type='CaptionedImageDataset', data_root=data_root,
                 ann_file='captions.json', size=(512, 256), flip_prob=0.5))

train_cfg = dict(max_iters=400000)
optim_wrapper = dict(optimizer=dict(type='Adam', lr=5e-5))
param_scheduler = [dict(type='ConstantLR', factor=1.0, by_epoch=False)]
custom_hooks = [dict(type='SaveAdaptersHook', interval=20000)]
default_hooks = dict(checkpoint=dict(interval=20000))
