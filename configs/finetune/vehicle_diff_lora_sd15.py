# Vehicle-Diff's LoRA fine-tuning of SD-1.5 by hand (tools/finetune.py) on a
# folder of ~1 % target images captioned into captions.json (VLMCaptioner,
# model_type='blip2'). The recipe (Adam 1e-4, polynomial schedule, 100 epochs
# of which 20 warm up) is the paper config's, ../vehicle_diff/
# finetune_lora_sdxl.py; this one adapts the UNet's attention projections
# (the usual diffusers LoRA targets) where the paper config adapts the decoder.
_base_ = ['../vehicle_diff/finetune_lora_sd15.py']

data_root = 'data/veri776_1pct'          # images + captions.json
pretrained = 'runwayml/stable-diffusion-v1-5'   # or a local diffusers folder

model = dict(pretrained_model_name_or_path=pretrained,
             lora=dict(target_modules=['to_q', 'to_k', 'to_v', 'to_out.0']))
train_dataloader = dict(dataset=dict(data_root=data_root,
                                     ann_file='captions.json'))
