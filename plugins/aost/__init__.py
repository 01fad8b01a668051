"""FineGPR + AOST (Xiang et al.): attribute optimisation and style transfer.

Stage I picks the FineGPR attribute settings whose images look most like a
target domain (VGG-19 style/content distances, an XGBoost regressor from
attribute codes to distance, particle-swarm search); Stage II translates the
selected images with a GAN (SPGAN; CycleGAN as the ablation) trained on the
target; an IDE ResNet-50 is trained on the result.
"""
from . import live, stages  # noqa: F401  registers the AOST stages and source
from .distances import (DistanceCache, StyleContentDistance, VGG19Features,
                        content_distance, gram, style_distance)

__all__ = ['DistanceCache', 'StyleContentDistance', 'VGG19Features',
           'content_distance', 'gram', 'style_distance']
from .search import (AttributeRegressor, ProductSetSearch, cell_table, encode,
                     import_pyswarms, random_subset, select_product)
from .live import ToyFineGPRRenderStage, selection_grid, viewpoint_code
from .spgan import (SPGAN, GANTranslator, PatchDiscriminator, ResnetGenerator,
                    SiameseNet, UnpairedImageDataset, contrastive_loss,
                    lsgan_loss)

__all__ += ['AttributeRegressor', 'ProductSetSearch', 'cell_table', 'encode',
            'import_pyswarms', 'random_subset', 'select_product', 'SPGAN',
            'GANTranslator', 'PatchDiscriminator', 'ResnetGenerator',
            'SiameseNet', 'UnpairedImageDataset', 'contrastive_loss',
            'lsgan_loss', 'ToyFineGPRRenderStage', 'selection_grid',
            'viewpoint_code']
