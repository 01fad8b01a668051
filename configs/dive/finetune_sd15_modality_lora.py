# DiVE fine-tuning, the paper's text: one LoRA branch per modality
# ('visible', 'infrared'; the external RGB set trains 'visible'), selected
# by each caption's adapter. Write the vocabulary with lora='modality'
# (and code_length=8 for the paper's 8-character code words).
_base_ = ['./finetune_sd15_shared_lora.py']
model = dict(lora=dict(adapter_names=['visible', 'infrared']))
train_dataloader = dict(dataset=dict(default_adapter=None))
