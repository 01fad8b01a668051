# Vehicle-Diff stage 2 with SD-1.5 (512 x 512) instead of SDXL: the same
# recipe as ./finetune_lora_sdxl.py.
_base_ = ['./finetune_lora_sdxl.py']

pretrained = 'checkpoints/stable-diffusion-v1-5'
model = dict(pretrained_model_name_or_path=pretrained)
train_dataloader = dict(dataset=dict(size=(512, 512)))
