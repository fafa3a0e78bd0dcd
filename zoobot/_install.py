"""Detect this package installed in the same environment as real Zoobot 2.x.

Both install a top-level package named ``zoobot`` (this one from the ``zoobot-app`` distribution, Zoobot
from ``zoobot``). pip installs the second over the first into the same ``zoobot/`` folder, leaving a mix of
both that neither works from; uninstalling either then deletes files the other needs. Run at
``import zoobot``, and again (once per process) when ``zoobot.encoders`` is imported, because Zoobot
installed after this package replaces ``zoobot/__init__.py`` with its own (empty) one. Only
``importlib.metadata`` (no third-party imports) and a few file-system lookups.
"""

from __future__ import annotations

import functools
import warnings
from importlib import metadata
from pathlib import Path

__all__ = ["ZOOBOT_DISTRIBUTION", "MixedInstallError", "check_install"]

ZOOBOT_DISTRIBUTION = "zoobot"
"""The distribution name of real Zoobot on PyPI."""

_MIXED_FIX = (
    "Keep them in separate virtual environments: here, `pip uninstall -y zoobot zoobot-app` (both: each "
    "removes files the other wrote), then reinstall the one you want (`pip install zoobot-app`, or "
    "`pip install zoobot`); for the other, make a new environment (`python -m venv other-env`). Scripts "
    "written for Zoobot 2.x run unchanged against zoobot-app, so most users need only zoobot-app."
)
_SHADOWED_FIX = (
    "Keep them in separate virtual environments: `pip uninstall zoobot` here, and install Zoobot 2.x in an "
    "environment of its own (`python -m venv zoobot-env`) if you still need it."
)


class MixedInstallError(ImportError):
    """Zoobot 2.x and this package share one ``zoobot`` folder."""


@functools.cache
def check_install(package_dir: str | Path) -> None:
    """Refuse a ``zoobot`` folder that real Zoobot's files share; warn when real Zoobot is installed elsewhere.

    Runs once per folder and process (a refusal is raised again on every call).

    Args:
        package_dir: this package's folder (``zoobot/``).

    Raises:
        MixedInstallError: the ``zoobot`` distribution (Zoobot 2.x) owns files in ``package_dir``.
    """
    try:
        other = metadata.distribution(ZOOBOT_DISTRIBUTION)
    except metadata.PackageNotFoundError:
        return
    version = other.version
    here = Path(package_dir).resolve()
    theirs = Path(str(other.locate_file("zoobot"))).resolve()
    if theirs == here:
        raise MixedInstallError(
            f"Zoobot {version} (the 'zoobot' distribution) and zoobot-app are installed in the same environment, "
            f"and both install a package named zoobot: their files are mixed in {here}, so neither works "
            f"reliably. {_MIXED_FIX}"
        )
    warnings.warn(
        f"Zoobot {version} (the 'zoobot' distribution, at {theirs}) is installed in the same environment as "
        f"zoobot-app (at {here}). Both install a package named zoobot and Python imports only one: here "
        f"zoobot-app, so Zoobot {version} cannot be imported. {_SHADOWED_FIX}",
        stacklevel=3,
    )
