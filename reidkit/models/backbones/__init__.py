"""Backbones (MODELS registry). Every backbone returns a tuple of feature
maps (last = deepest) and may declare ``label_keys``: batch labels that
``ReIDModel`` passes as keyword arguments (``modality``, ``domain``)."""
from .deen import CNLBlock, DEEModule, DEENResNet, MFABlock, PNLBlock
from .checkpoint import load_backbone_weights, read_state_dict, resize_pos_embed
from .mixstyle import MixStyle, MixStyleBackbone
from .mmpretrain_backbone import MMPretrainBackbone
from .resnet_ibn import IBN, ResNetIBN
from .small_convnet import SmallConvNet
from .timm_backbone import TimmBackbone
from .two_stream import NonLocalBlock, TwoStreamResNet

__all__ = [
    'TimmBackbone', 'MMPretrainBackbone', 'ResNetIBN', 'IBN', 'MixStyle',
    'MixStyleBackbone', 'SmallConvNet', 'TwoStreamResNet', 'NonLocalBlock',
    'DEENResNet', 'DEEModule', 'MFABlock', 'CNLBlock', 'PNLBlock',
    'load_backbone_weights', 'read_state_dict', 'resize_pos_embed'
]
