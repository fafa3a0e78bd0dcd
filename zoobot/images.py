"""Read galaxy images (JPEG, PNG, FITS) into ``uint8`` arrays of shape ``(H, W, C)``.

FITS images hold fluxes, not display values: they are clipped to a percentile range and asinh
stretched to 0-255, the usual way to show faint galaxy structure next to a bright core.
"""

from __future__ import annotations

import errno
from pathlib import Path
from typing import Any, Literal

import numpy as np
from PIL import Image, UnidentifiedImageError

__all__ = [
    "ImageReadError",
    "ImageTooLargeError",
    "FITS_SUFFIXES",
    "MAX_IMAGE_PIXELS",
    "is_fits",
    "load_image",
    "load_thumbnail",
    "check_image",
    "verify_image",
    "stretch_to_uint8",
]

FITS_SUFFIXES = (".fits", ".fit", ".fts", ".fits.gz", ".fit.gz", ".fits.fz")

MAX_IMAGE_PIXELS = 100_000_000
"""Default cap on an image's pixels (width x height; for a FITS image every value, bands included),
checked from the file's header before anything is decoded. A galaxy cutout has well under a million;
the cap keeps one image from taking gigabytes (a 18 kB PNG can declare 12000 x 12000). Functions
reading images take ``max_pixels`` to lower or raise it."""

# Errors the image libraries raise for missing, truncated or foreign files (astropy raises TypeError
# for a FITS file cut short: its buffer is smaller than the header says).
_READ_ERRORS = (OSError, ValueError, EOFError, SyntaxError, TypeError, Image.DecompressionBombError)


class ImageReadError(ValueError):
    """An image file that does not exist or cannot be decoded."""


class ImageTooLargeError(ImageReadError):
    """An image with more pixels than allowed (see :data:`MAX_IMAGE_PIXELS`).

    Attributes:
        pixels: The pixels its header declares.
        limit: The cap it exceeds.
    """

    def __init__(self, path: str | Path, pixels: int, limit: int) -> None:
        self.pixels, self.limit = pixels, limit
        super().__init__(
            f"Image {path} has {pixels:,} pixels; at most {limit:,} are allowed. Cut it out smaller (galaxy "
            "cutouts are usually a few hundred pixels across) or raise the pixel limit."
        )


def is_fits(path: str | Path) -> bool:
    """True if ``path`` has a FITS file suffix (``.fits``, ``.fit``, ``.fts``, optionally compressed)."""
    return str(path).lower().endswith(FITS_SUFFIXES)


def _why(err: BaseException) -> str:
    """What went wrong, in words, without the library's own text (which names paths and internals)."""
    text = str(err).lower()
    if isinstance(err, UnidentifiedImageError):
        return "it is not a JPEG, PNG or FITS image"
    if isinstance(err, (EOFError, TypeError)) or "truncated" in text or "buffer is too small" in text:
        return "the file is cut short (truncated)"
    if isinstance(err, OSError) and err.errno == errno.ENAMETOOLONG:
        return "its name is too long"
    if isinstance(err, OSError) and err.errno in (errno.EACCES, errno.EPERM):
        return "it may not be read"
    return "it could not be decoded"


def _fail(path: str | Path, why: object) -> ImageReadError:
    if isinstance(why, BaseException):
        why = _why(why)
    return ImageReadError(
        f"Could not read image {path}: {why}. Check that the file exists, is a JPEG, PNG or FITS image, "
        "and is not truncated (re-download or re-export it)."
    )


def _is_file(path: Path) -> bool:
    """``path.is_file()``, but False (not an error) for a name too long or otherwise unusable."""
    try:
        return path.is_file()
    except (OSError, ValueError):
        return False


def _existing_file(path: str | Path) -> Path:
    """``path`` as a Path, or an :class:`ImageReadError` when there is no such file."""
    path = Path(path)
    if not _is_file(path):
        raise _fail(path, "the file does not exist")
    return path


def stretch_to_uint8(
    data: np.ndarray, low_percentile: float = 0.5, high_percentile: float = 99.5, softening: float = 10.0
) -> np.ndarray:
    """Map fluxes to 0-255: clip to a percentile range (over all channels, keeping colour), asinh stretch.

    Args:
        data: float array of any shape; NaN pixels (masked / off-chip) become black.
        low_percentile: lower clip, in percent.
        high_percentile: upper clip, in percent.
        softening: asinh strength; larger brings out fainter structure.

    Returns:
        ``uint8`` array of the same shape.
    """
    # One float64 copy, worked on in place (the same operations, in the same order, as the plain
    # expression): a large image then needs about 17 bytes per pixel at most, not 40.
    data = np.array(data, dtype=np.float64)
    finite = np.isfinite(data)
    if not finite.any():
        return np.zeros(data.shape, dtype=np.uint8)
    low, high = np.percentile(data[finite], [low_percentile, high_percentile], overwrite_input=True)
    if high <= low:
        return np.zeros(data.shape, dtype=np.uint8)
    data[~finite] = low
    del finite
    data -= low
    data /= high - low
    np.clip(data, 0.0, 1.0, out=data)
    data *= softening
    np.arcsinh(data, out=data)
    data /= np.arcsinh(softening)
    data *= 255
    np.round(data, out=data)
    return data.astype(np.uint8)


def _match_channels(pixels: np.ndarray, channels: int) -> np.ndarray:
    """(H, W) or (H, W, C) uint8 -> (H, W, channels)."""
    if pixels.ndim == 2:
        pixels = pixels[..., None]
    have = pixels.shape[-1]
    if have == channels:
        return pixels
    if channels == 1:
        return np.round(pixels[..., :3].astype(np.float32).mean(axis=-1, keepdims=True)).astype(np.uint8)
    if have == 1:
        return np.repeat(pixels, channels, axis=-1)
    raise ImageReadError(f"Cannot turn an image with {have} channels into {channels} channels.")


def _fits_image(hdul: Any, path: Path, max_pixels: int) -> Any:
    """The first HDU holding an image of 2 or more axes, checked against ``max_pixels`` from the headers
    alone (a compressed file is not inflated to learn its size, nor beyond the cap to skip to it)."""
    skipped = 0
    for hdu in hdul:
        header = hdu.header
        axes = [int(header.get(f"NAXIS{i}", 0) or 0) for i in range(1, int(header.get("NAXIS", 0) or 0) + 1)]
        values = int(np.prod(axes, dtype=np.int64)) if axes else 0
        if len(axes) >= 2 and values > 0:
            if values > max_pixels:
                raise ImageTooLargeError(path, values, max_pixels)
            return hdu
        skipped += values
        if skipped > max_pixels:  # data to read through before the image: as costly as an image that large
            raise ImageTooLargeError(path, skipped, max_pixels)
    return None


def _load_fits(path: Path, channels: int, max_pixels: int, reduce_to: int | None = None) -> np.ndarray:
    """A FITS image, stretched to ``uint8``; with ``reduce_to``, only every k-th pixel is stretched, k
    chosen so the long side is at most ``reduce_to`` (thumbnails, checks)."""
    from astropy.io import fits

    try:
        with fits.open(path, memmap=True, lazy_load_hdus=True) as hdul:
            hdu = _fits_image(hdul, path, max_pixels)
            if hdu is None:
                raise _fail(path, "the FITS file holds no 2D image")
            data = hdu.data
            if data is None or np.ndim(data) not in (2, 3):
                raise _fail(path, f"the FITS image has {np.ndim(data)} dimensions; expected (H, W) or (C, H, W)")
            if reduce_to is not None:
                step = max(1, -(-max(data.shape[-2:]) // max(1, reduce_to)))
                data = data[..., ::step, ::step]
            data = np.array(data, dtype=np.float64)  # read now, while the file is open
    except ImageReadError:
        raise
    except _READ_ERRORS as err:
        raise _fail(path, err) from err
    if data.ndim == 3:  # (C, H, W), the FITS cube convention
        data = np.moveaxis(data, 0, -1)
    # FITS row 0 is the bottom of the image; flip so it looks as it does in a FITS viewer.
    pixels = stretch_to_uint8(np.flip(data, axis=0))
    if pixels.ndim == 3 and pixels.shape[-1] not in (1, channels):
        # Several bands but a different number wanted: grey from the mean, then repeat if needed.
        pixels = _match_channels(pixels, 1)
    return np.ascontiguousarray(_match_channels(pixels, channels))


def _open_pil(path: Path, max_pixels: int) -> Image.Image:
    """``Image.open``, refusing an image over ``max_pixels`` from its header (PIL's own bomb check says
    so in its words, and only far above; here it is one plain error for that image)."""
    try:
        img = Image.open(path)  # reads the header only
    except Image.DecompressionBombError as err:
        raise ImageTooLargeError(path, _declared_pixels(err), max_pixels) from err
    width, height = img.size
    if width * height > max_pixels:
        img.close()
        raise ImageTooLargeError(path, width * height, max_pixels)
    return img


def _declared_pixels(err: Image.DecompressionBombError) -> int:
    """The pixel count PIL's bomb error quotes ("Image size (N pixels) exceeds ...")."""
    digits = "".join(ch for ch in str(err).split("pixels")[0] if ch.isdigit())
    return int(digits) if digits else 0


def _load_pil(
    path: Path, channels: int, size: int | tuple[int, int] | None, max_pixels: int, thumbnail: bool = False
) -> np.ndarray:
    mode: Literal["L", "RGB"] = "L" if channels == 1 else "RGB"
    try:
        with _open_pil(path, max_pixels) as img:
            if size is not None and img.format == "JPEG":
                h, w = (size, size) if isinstance(size, int) else size
                # Decode at a reduced scale (1/2, 1/4, 1/8) that is still at least the target size.
                img.draft(mode, (w, h))
            if img.mode.startswith("I;16"):  # 16-bit PNG/TIFF: keep absolute brightness
                pixels = np.round(np.asarray(img, dtype=np.float64) / 257.0).astype(np.uint8)
            elif img.mode in ("I", "F"):  # 32-bit integer or float pixels: treat like fluxes
                pixels = stretch_to_uint8(np.asarray(img, dtype=np.float64))
            else:
                pixels = np.array(img.convert(mode))  # a writable copy (torch.from_numpy needs one)
    except ImageReadError:
        raise
    except (UnidentifiedImageError, *_READ_ERRORS) as err:
        raise _fail(path, err) from err
    if thumbnail and size is not None:
        h, w = (size, size) if isinstance(size, int) else size
        small = Image.fromarray(pixels)
        small.thumbnail((w, h))
        pixels = np.array(small)
    return _match_channels(pixels, channels)


def load_image(
    path: str | Path, channels: int = 3, size: int | tuple[int, int] | None = None, max_pixels: int = MAX_IMAGE_PIXELS
) -> np.ndarray:
    """Read one image as ``uint8`` ``(H, W, channels)``.

    Args:
        path: JPEG, PNG (or anything PIL reads) or FITS file.
        channels: 3 for RGB, 1 for greyscale; colour and grey images are converted as needed.
        size: optional target ``H`` (or ``(H, W)``) the image will be resized to afterwards; JPEGs are
            then decoded at the smallest power-of-two reduction still at least this large (faster).
        max_pixels: Refuse images with more pixels than this, from the header, before decoding.

    Returns:
        ``uint8`` array ``(H, W, channels)``.

    Raises:
        ImageTooLargeError: the image has more than ``max_pixels`` pixels.
        ImageReadError: the file is missing or cannot be decoded.
        ValueError: ``channels`` is not 1 or 3.
    """
    if channels not in (1, 3):
        raise ValueError(f"channels must be 1 (greyscale) or 3 (RGB), got {channels}.")
    path = _existing_file(path)
    if is_fits(path):
        return _load_fits(path, channels, max_pixels)
    return _load_pil(path, channels, size, max_pixels)


def load_thumbnail(path: str | Path, size: int, channels: int = 3, max_pixels: int = MAX_IMAGE_PIXELS) -> np.ndarray:
    """A small copy of an image for display: at most ``size`` pixels on its long side (JPEG decoded at
    a reduced scale, FITS stretched from every k-th pixel), as ``uint8`` ``(H, W, channels)``.

    Raises:
        ImageTooLargeError: the image has more than ``max_pixels`` pixels.
        ImageReadError: the file is missing or cannot be decoded.
    """
    path = _existing_file(path)
    if is_fits(path):
        return _load_fits(path, channels, max_pixels, reduce_to=size)
    return _load_pil(path, channels, size, max_pixels, thumbnail=True)


def check_image(path: str | Path, max_pixels: int = MAX_IMAGE_PIXELS) -> None:
    """Read an image the way training will (every byte of its pixel data, so a file cut short is found
    here and not mid-run), at a reduced size where the format allows, and discard it.

    Raises:
        ImageTooLargeError: the image has more than ``max_pixels`` pixels.
        ImageReadError: the file is missing or cannot be decoded.
    """
    path = _existing_file(path)
    if is_fits(path):
        _load_fits(path, 1, max_pixels, reduce_to=64)
        return
    _load_pil(path, 3, 64, max_pixels)


def verify_image(path: str | Path, max_pixels: int = MAX_IMAGE_PIXELS) -> None:
    """Cheap check that ``path`` is a readable image, reading headers only (no pixel decoding, so a file
    cut short passes: :func:`check_image` reads the pixels too).

    Raises:
        ImageTooLargeError: the image has more than ``max_pixels`` pixels.
        ImageReadError: the file is missing, not an image, or (FITS) has no 2D image.
    """
    path = _existing_file(path)
    if is_fits(path):
        from astropy.io import fits

        try:
            with fits.open(path, memmap=True, lazy_load_hdus=True) as hdul:
                ok = _fits_image(hdul, path, max_pixels) is not None
        except ImageReadError:
            raise
        except _READ_ERRORS as err:
            raise _fail(path, err) from err
        if not ok:
            raise _fail(path, "the FITS file holds no 2D image")
        return
    try:
        with _open_pil(path, max_pixels) as img:
            img.verify()
    except ImageReadError:
        raise
    except (UnidentifiedImageError, *_READ_ERRORS) as err:
        raise _fail(path, err) from err
