"""Reading image files: the one place that opens, checks and converts them.

Everything in synthgen and reidkit that reads an image file goes through
:func:`read_rgb` (decode + convert) or :func:`inspect_image` (a cheap check
made when a dataset is built or a generation run resumes). It lives in
synthgen because synthgen is below reidkit: both use it.

Conversion to 8-bit RGB (:func:`pil_to_rgb`), by PIL mode:

* ``RGB``: as is; ``L``/``1``/``LA``: the grey level copied to 3 channels;
* ``I;16*`` and ``I`` (16-bit PNG/TIFF, as PIL opens them): scaled by
  255/65535 and rounded (not clipped, which would turn them near-white);
* ``P`` (palette, also with a transparent colour) and ``RGBA``/``PA``: the
  colours with the **alpha dropped** (not composited): a crop whose
  background was made transparent keeps its original pixels, which is what
  PIL's and torchvision's ``convert('RGB')`` give for RGBA too;
* anything else (``CMYK``, ``YCbCr``, ``F``...): PIL's ``convert('RGB')``.

Example:
    >>> img = read_rgb('data/market1501/query/0001_c1s1_001051_00.jpg')
    >>> img.shape, img.dtype
    ((128, 64, 3), dtype('uint8'))
"""
from __future__ import annotations

import os
import struct
from dataclasses import dataclass
from typing import Optional, Tuple

import numpy as np
from PIL import Image

__all__ = ['ImageError', 'ImageInfo', 'pil_to_rgb', 'read_rgb',
           'inspect_image', 'is_degenerate']

#: the end of a complete file, searched in its last bytes
_JPEG_EOI = b'\xff\xd9'
_PNG_IEND = b'IEND'
_TAIL = 64
_HEAD = 4096
#: JPEG start-of-frame markers (they hold the image size)
_JPEG_SOF = {0xC0, 0xC1, 0xC2, 0xC3, 0xC5, 0xC6, 0xC7, 0xC9, 0xCA, 0xCB,
             0xCD, 0xCE, 0xCF}

#: a side below this many pixels, or an aspect ratio above MAX_ASPECT, is
#: a degenerate crop (a detector's sliver, a 1x1 placeholder)
MIN_SIDE = 8
MAX_ASPECT = 10.0


class ImageError(OSError):
    """An image file is missing, empty, truncated or cannot be decoded.

    The message names the file. (An ``OSError`` so that code catching
    PIL's errors keeps working; the tools print it as one line.)
    """


def pil_to_rgb(img: Image.Image) -> np.ndarray:
    """A PIL image as a contiguous ``HxWx3`` uint8 RGB array (module doc)."""
    mode = img.mode
    if mode == 'RGB':
        arr = np.asarray(img)
    elif mode in ('L', '1', 'LA'):
        arr = np.asarray(img.convert('L'))
        arr = np.repeat(arr[..., None], 3, axis=2)
    elif mode == 'I' or mode.startswith('I;16'):
        raw = np.asarray(img).astype(np.float64)
        grey = np.rint(np.clip(raw, 0, 65535) * (255.0 / 65535.0))
        arr = np.repeat(grey.astype(np.uint8)[..., None], 3, axis=2)
    elif mode in ('P', 'PA', 'RGBA', 'RGBa'):
        # via RGBA: PIL warns when a palette with transparency goes to RGB
        arr = np.asarray(img.convert('RGBA'))[..., :3]
    else:
        arr = np.asarray(img.convert('RGB'))
    return np.ascontiguousarray(arr)


def read_rgb(path: str) -> np.ndarray:
    """Decode an image file into ``HxWx3`` uint8 RGB (see :func:`pil_to_rgb`).

    Raises:
        ImageError: naming the file, if it is missing, empty or corrupt.
    """
    path = os.fspath(path)
    try:
        with Image.open(path) as im:
            im.load()  # decode now, so a truncated file fails here
            return pil_to_rgb(im)
    except FileNotFoundError:
        raise ImageError(f'image file not found: {path}') from None
    except Exception as exc:  # PIL raises several types for bad files
        if os.path.isfile(path) and os.path.getsize(path) == 0:
            raise ImageError(f'cannot read image {path}: the file is empty '
                             '(0 bytes)') from None
        raise ImageError(f'cannot read image {path}: '
                         f'{type(exc).__name__}: {exc}') from exc


@dataclass
class ImageInfo:
    """What :func:`inspect_image` found.

    Args:
        size (tuple): ``(width, height)`` from the header, or None.
        problem (str): why the file is unusable, or None if it looks fine.
    """
    size: Optional[Tuple[int, int]] = None
    problem: Optional[str] = None


def inspect_image(path: str) -> ImageInfo:
    """Cheaply check an image file: size, header, and a complete ending.

    JPEG and PNG files are read by hand: the size from the header (a PNG's
    IHDR, a JPEG's SOF segment in its first 4 KiB) and the last bytes, where
    a JPEG must have its EOI marker and a PNG its IEND chunk. Other formats,
    and a JPEG whose SOF lies further in, are opened with PIL (which reads
    the header only). A file that fails the tail check is decoded in full to
    confirm (some writers append bytes after the end marker). About two small
    reads per file; nothing is decoded for a good file.

    Example:
        >>> inspect_image('a.jpg').problem
        'the file is empty (0 bytes)'
    """
    try:
        nbytes = os.path.getsize(path)
    except OSError:
        return ImageInfo(problem='the file does not exist')
    if nbytes == 0:
        return ImageInfo(problem='the file is empty (0 bytes)')
    try:
        with open(path, 'rb') as f:
            head = f.read(_HEAD)
            f.seek(max(0, nbytes - _TAIL))
            tail = f.read()
    except OSError as exc:
        return ImageInfo(problem=f'cannot be read ({exc.strerror})')
    fmt, size = _header_size(head)
    end = dict(JPEG=_JPEG_EOI, PNG=_PNG_IEND).get(fmt)
    if size is not None and end in tail:
        return ImageInfo(size=size)
    try:  # not read by hand, or no end marker: ask PIL
        with Image.open(path) as im:
            size = im.size
            if end is not None and end not in tail:
                im.load()  # decode to confirm; raises if truncated
    except Exception as exc:  # PIL raises several types for bad files
        return ImageInfo(problem=f'cannot be decoded ({type(exc).__name__}: '
                                 f'{exc})')
    return ImageInfo(size=size)


def _header_size(head: bytes):
    """``(format, (width, height))`` from a JPEG's or PNG's first bytes;
    ``(format or None, None)`` when the size is not found there."""
    if head.startswith(b'\x89PNG\r\n\x1a\n'):
        if head[12:16] != b'IHDR':
            return 'PNG', None
        w, h = struct.unpack('>II', head[16:24])
        return 'PNG', (w, h)
    if not head.startswith(b'\xff\xd8'):
        return None, None
    pos = 2
    while pos + 9 <= len(head):
        if head[pos] != 0xFF:
            return 'JPEG', None
        marker = head[pos + 1]
        if marker == 0xFF:  # fill byte
            pos += 1
            continue
        if marker in _JPEG_SOF:
            h, w = struct.unpack('>HH', head[pos + 5:pos + 9])
            return 'JPEG', (w, h)
        pos += 2 + struct.unpack('>H', head[pos + 2:pos + 4])[0]
    return 'JPEG', None


def is_degenerate(size: Tuple[int, int]) -> bool:
    """Whether a ``(width, height)`` is too small or too elongated a crop."""
    w, h = size
    return min(w, h) < MIN_SIDE or max(w, h) > MAX_ASPECT * min(w, h)
