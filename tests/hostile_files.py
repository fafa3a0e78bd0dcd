"""Hostile files for the hostile-visitor tests (``tests/test_hostile_*.py``) and ``benchmarks/hostile.py``:
decompression bombs written without ever holding the image in memory, files cut short, names that
are HTML. No tests here."""

from __future__ import annotations

import gzip
import struct
import zlib
from pathlib import Path

HTML_NAME = "<img src=x onerror=alert(1)>"
"""A name that is an HTML tag: it must reach every page escaped."""

_ROW_CHUNK = 256


def _png_chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)


def png_bomb(path: Path, width: int, height: int) -> Path:
    """A valid all-black 8-bit greyscale PNG of ``width`` x ``height``: a few kB on disk per 10^8 pixels.

    Written row block by row block, so making a 30000 x 30000 one needs no more memory than a block.
    """
    compressor = zlib.compressobj(9)
    row = b"\x00" * (width + 1)  # filter byte 0, then the pixels
    parts = []
    for start in range(0, height, _ROW_CHUNK):
        parts.append(compressor.compress(row * min(_ROW_CHUNK, height - start)))
    parts.append(compressor.flush())
    header = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    path.write_bytes(
        b"\x89PNG\r\n\x1a\n"
        + _png_chunk(b"IHDR", header)
        + _png_chunk(b"IDAT", b"".join(parts))
        + _png_chunk(b"IEND", b"")
    )
    return path


def png_header(path: Path, width: int, height: int) -> Path:
    """A PNG that declares ``width`` x ``height`` but holds no pixel data: enough for a check that must
    refuse it from its header alone (made at once, whatever the size)."""
    header = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    path.write_bytes(
        b"\x89PNG\r\n\x1a\n"
        + _png_chunk(b"IHDR", header)
        + _png_chunk(b"IDAT", zlib.compress(b""))
        + _png_chunk(b"IEND", b"")
    )
    return path


def _fits_card(key: str, value: object) -> bytes:
    text = f"{key:<8}= {value!s:>20}" if key != "END" else "END"
    return text.ljust(80).encode("ascii")


def fits_gz_bomb(path: Path, width: int, height: int) -> Path:
    """A gzipped FITS file of one ``width`` x ``height`` float64 image of zeros (``.fits.gz``), written as
    a stream: a 4000 x 4000 one is about 125 kB and inflates to 128 MB."""
    cards = [
        _fits_card("SIMPLE", "T"),
        _fits_card("BITPIX", -64),
        _fits_card("NAXIS", 2),
        _fits_card("NAXIS1", width),
        _fits_card("NAXIS2", height),
        _fits_card("END", ""),
    ]
    header = b"".join(cards)
    header += b" " * (-len(header) % 2880)
    n_bytes = width * height * 8
    with gzip.open(path, "wb", compresslevel=9) as out:
        out.write(header)
        block = b"\x00" * (8 * 1024 * 1024)
        left = n_bytes
        while left > 0:
            out.write(block[: min(left, len(block))])
            left -= len(block)
        out.write(b"\x00" * (-n_bytes % 2880))
    return path


def cut_short(source: Path, target: Path, keep: float = 0.5) -> Path:
    """A copy of ``source`` with only its first ``keep`` fraction of bytes (a download or write cut short)."""
    data = source.read_bytes()
    target.write_bytes(data[: max(1, int(len(data) * keep))])
    return target
