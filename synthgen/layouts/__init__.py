"""Facts of official benchmark layouts (folder names, camera codes, outfits).

One home per benchmark, at the bottom of the library stack, so the reidkit
parser (``reidkit.datasets``), synthgen's sources and the toy world's
writer read and write the same layout. Only facts and path helpers live
here: no reading of images, no registry.
"""
from . import prcc

__all__ = ['prcc']
