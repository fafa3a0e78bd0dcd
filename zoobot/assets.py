"""Where the files bundled with the package (the demo encoder) live.

In a source checkout they are in the top-level ``assets/`` folder; in an installed wheel they are
package data under ``zoobot/_assets`` (see ``pyproject.toml``).
"""

from __future__ import annotations

from pathlib import Path

_PACKAGE_ASSETS = Path(__file__).resolve().parent / "_assets"
_CHECKOUT_ASSETS = Path(__file__).resolve().parent.parent / "assets"


def assets_dir() -> Path:
    """The folder holding the bundled assets."""
    if _PACKAGE_ASSETS.is_dir():
        return _PACKAGE_ASSETS
    return _CHECKOUT_ASSETS


def demo_encoder_dir() -> Path:
    """The bundled demo encoder, in timm's Hub format (``config.json`` + ``model.safetensors``)."""
    return assets_dir() / "demo_encoder"
