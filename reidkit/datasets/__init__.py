"""Re-ID datasets (DATASETS) and transforms (TRANSFORMS).

Importing this package registers every benchmark parser, the synthetic
manifest reader, the concatenation wrapper and the transforms, so a config
with ``default_scope='reidkit'`` resolves ``type='Market1501'`` etc.
"""
from . import transforms  # noqa: F401  (registers the transforms)
from . import transforms_vi  # noqa: F401  (channel augmentation)
from .base import BadImageError, LayoutError, ReIDDataset, scan_images
from .ccvid import CCVID
from .cityflow import CityFlowV2
from .concat import ReIDConcatDataset
from .cuhk03np import CUHK03NP
from .dukemtmc import DukeMTMC
from .finegpr import FineGPR
from .last import LaST
from .llcm import LLCM
from .ltcc import LTCC
from .market1501 import Market1501
from .msmt17 import MSMT17
from .prcc import PRCC
from .synthetic import ManifestError, SyntheticDataset, read_manifest
from .sysu_mm01 import SYSUMM01
from .vc_clothes import VCClothes
from .vehicleid import VehicleID
from .vehiclex import VehicleX
from .veri776 import VeRi776
from .transforms import (LoadReIDImage, PackReIDInputs, ReIDColorJitter,
                         ReIDPad, ReIDRandomCrop, ReIDRandomErasing,
                         ReIDRandomFlip, ReIDResize)
from .transforms_vi import ReIDChannelExchange, ReIDJointChannelView

__all__ = [
    'ReIDDataset', 'LayoutError', 'BadImageError', 'scan_images', 'Market1501', 'DukeMTMC',
    'CUHK03NP', 'MSMT17', 'FineGPR', 'PRCC', 'LTCC', 'VCClothes', 'CCVID',
    'LaST', 'SYSUMM01', 'LLCM', 'VeRi776', 'VehicleID', 'VehicleX', 'CityFlowV2',
    'SyntheticDataset', 'ReIDConcatDataset', 'ManifestError',
    'read_manifest',
    'LoadReIDImage', 'ReIDResize', 'ReIDPad', 'ReIDRandomCrop',
    'ReIDRandomFlip', 'ReIDRandomErasing', 'ReIDColorJitter', 'PackReIDInputs',
    'ReIDChannelExchange', 'ReIDJointChannelView'
]
