"""Quality metrics of generated images: FID and CLIP score."""
from .clip_score import CLIPScore, clip_score
from .fid import FID, INCEPTION_WEIGHTS_URL, compute_fid, frechet_distance

__all__ = ['CLIPScore', 'clip_score', 'FID', 'INCEPTION_WEIGHTS_URL',
           'compute_fid', 'frechet_distance']
