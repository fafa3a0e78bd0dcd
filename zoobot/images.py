"""Read galaxy images (JPEG, PNG, FITS) into ``uint8`` arrays of shape ``(H, W, C)``.

FITS images hold fluxes, not display values: they are clipped to a percentile range and asinh
stretched to 0-255, the usual way to show faint galaxy structure next to a bright core.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

import numpy as np
from PIL import Image, UnidentifiedImageError

__all__ = ["ImageReadError", "FITS_SUFFIXES", "is_fits", "load_image", "verify_image", "stretch_to_uint8"]

FITS_SUFFIXES = (".fits", ".fit", ".fts", ".fits.gz", ".fit.gz", ".fits.fz")

# Errors the image libraries raise for missing, truncated or foreign files.
_READ_ERRORS = (OSError, ValueError, EOFError, SyntaxError)


class ImageReadError(ValueError):
    """An image file that does not exist or cannot be decoded."""


def is_fits(path: str | Path) -> bool:
    """True if ``path`` has a FITS file suffix (``.fits``, ``.fit``, ``.fts``, optionally compressed)."""
    return str(path).lower().endswith(FITS_SUFFIXES)


def _fail(path: str | Path, why: object) -> ImageReadError:
    return ImageReadError(
        f"Could not read image {path}: {why}. Check that the file exists, is a JPEG, PNG or FITS image, "
        "and is not truncated (re-download or re-export it)."
    )


def stretch_to_uint8(data: np.ndarray, low_percentile: float = 0.5, high_percentile: float = 99.5,
                     softening: float = 10.0) -> np.ndarray:
    """Map fluxes to 0-255: clip to a percentile range (over all channels, keeping colour), asinh stretch.

    Args:
        data: float array of any shape; NaN pixels (masked / off-chip) become black.
        low_percentile: lower clip, in percent.
        high_percentile: upper clip, in percent.
        softening: asinh strength; larger brings out fainter structure.

    Returns:
        ``uint8`` array of the same shape.
    """
    data = np.asarray(data, dtype=np.float64)
    finite = np.isfinite(data)
    if not finite.any():
        return np.zeros(data.shape, dtype=np.uint8)
    low, high = np.percentile(data[finite], [low_percentile, high_percentile])
    if high <= low:
        return np.zeros(data.shape, dtype=np.uint8)
    scaled = np.clip((np.where(finite, data, low) - low) / (high - low), 0.0, 1.0)
    stretched = np.arcsinh(softening * scaled) / np.arcsinh(softening)
    return np.round(stretched * 255).astype(np.uint8)


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


def _load_fits(path: Path, channels: int) -> np.ndarray:
    from astropy.io import fits

    try:
        with fits.open(path, memmap=False) as hdul:
            data = next((h.data for h in hdul if h.data is not None and np.ndim(h.data) >= 2), None)
    except _READ_ERRORS as err:
        raise _fail(path, err) from err
    if data is None:
        raise _fail(path, "the FITS file holds no 2D image")
    data = np.asarray(data, dtype=np.float64)
    if data.ndim == 3:  # (C, H, W), the FITS cube convention
        data = np.moveaxis(data, 0, -1)
    elif data.ndim != 2:
        raise _fail(path, f"FITS image has {data.ndim} dimensions; expected (H, W) or (C, H, W)")
    # FITS row 0 is the bottom of the image; flip so it looks as it does in a FITS viewer.
    pixels = stretch_to_uint8(np.flip(data, axis=0))
    if pixels.ndim == 3 and pixels.shape[-1] not in (1, channels):
        # Several bands but a different number wanted: grey from the mean, then repeat if needed.
        pixels = _match_channels(pixels, 1)
    return np.ascontiguousarray(_match_channels(pixels, channels))


def _load_pil(path: Path, channels: int, size: int | tuple[int, int] | None) -> np.ndarray:
    mode: Literal["L", "RGB"] = "L" if channels == 1 else "RGB"
    try:
        with Image.open(path) as img:
            if size is not None and img.format == "JPEG":
                h, w = (size, size) if isinstance(size, int) else size
                # Decode at a reduced scale (1/2, 1/4, 1/8) that is still at least the target size.
                img.draft(mode, (w, h))
            if img.mode.startswith("I;16"):  # 16-bit PNG/TIFF: keep absolute brightness
                pixels = np.round(np.asarray(img, dtype=np.float64) / 257.0).astype(np.uint8)
                return _match_channels(pixels, channels)
            if img.mode in ("I", "F"):  # 32-bit integer or float pixels: treat like fluxes
                return _match_channels(stretch_to_uint8(np.asarray(img, dtype=np.float64)), channels)
            pixels = np.array(img.convert(mode))  # a writable copy (torch.from_numpy needs one)
    except _READ_ERRORS as err:
        raise _fail(path, err) from err
    return _match_channels(pixels, channels)


def load_image(path: str | Path, channels: int = 3, size: int | tuple[int, int] | None = None) -> np.ndarray:
    """Read one image as ``uint8`` ``(H, W, channels)``.

    Args:
        path: JPEG, PNG (or anything PIL reads) or FITS file.
        channels: 3 for RGB, 1 for greyscale; colour and grey images are converted as needed.
        size: optional target ``H`` (or ``(H, W)``) the image will be resized to afterwards; JPEGs are
            then decoded at the smallest power-of-two reduction still at least this large (faster).

    Returns:
        ``uint8`` array ``(H, W, channels)``.

    Raises:
        ImageReadError: the file is missing or cannot be decoded.
        ValueError: ``channels`` is not 1 or 3.
    """
    if channels not in (1, 3):
        raise ValueError(f"channels must be 1 (greyscale) or 3 (RGB), got {channels}.")
    path = Path(path)
    if not path.is_file():
        raise _fail(path, "the file does not exist")
    if is_fits(path):
        return _load_fits(path, channels)
    return _load_pil(path, channels, size)


def verify_image(path: str | Path) -> None:
    """Cheap check that ``path`` is a readable image, reading headers only (no pixel decoding).

    Raises:
        ImageReadError: the file is missing, not an image, or (FITS) has no 2D image.
    """
    path = Path(path)
    if not path.is_file():
        raise _fail(path, "the file does not exist")
    if is_fits(path):
        from astropy.io import fits

        try:
            with fits.open(path, memmap=False, lazy_load_hdus=True) as hdul:
                ok = any(h.header.get("NAXIS", 0) >= 2 for h in hdul)
        except _READ_ERRORS as err:
            raise _fail(path, err) from err
        if not ok:
            raise _fail(path, "the FITS file holds no 2D image")
        return
    try:
        with Image.open(path) as img:
            img.verify()
    except (UnidentifiedImageError, *_READ_ERRORS) as err:
        raise _fail(path, err) from err
