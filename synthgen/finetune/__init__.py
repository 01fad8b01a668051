"""Fine-tuning of text-to-image generators through the mmengine Runner.

LoRA on the UNet's attention projections and/or textual-inversion tokens,
trained with the denoising MSE loss; the results are saved in the formats
:mod:`synthgen.generators` loads (diffusers LoRA safetensors, textual-inversion
safetensors). See ``tools/finetune.py`` and ``configs/finetune/``.
"""
from .dataset import CaptionedImageDataset
from .hooks import SaveAdaptersHook
from .model import DiffusionLoRAModel
from .registry import DATASETS, HOOKS, MODELS

__all__ = ['CaptionedImageDataset', 'SaveAdaptersHook', 'DiffusionLoRAModel',
           'DATASETS', 'HOOKS', 'MODELS']
