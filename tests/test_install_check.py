"""import zoobot detects real Zoobot 2.x installed beside it (faked metadata: the tests never install Zoobot)."""

from __future__ import annotations

import os
import subprocess
import sys
from importlib import metadata
from pathlib import Path

import pytest

import zoobot
from zoobot import _install

PACKAGE = Path(zoobot.__file__).parent


@pytest.fixture(autouse=True)
def fresh_check():
    """check_install runs once per folder and process: forget the runs of import time and other tests."""
    _install.check_install.cache_clear()
    yield
    _install.check_install.cache_clear()


class FakeZoobot:
    """What importlib.metadata gives for an installed Zoobot distribution."""

    def __init__(self, site: Path):
        self.version = "2.9.0"
        self.site = site

    def locate_file(self, path: str) -> Path:
        return self.site / path


def test_no_zoobot_distribution_is_fine(monkeypatch, recwarn):
    def absent(name):
        raise metadata.PackageNotFoundError(name)

    monkeypatch.setattr(_install.metadata, "distribution", absent)
    _install.check_install(PACKAGE)
    assert not recwarn.list


def test_zoobot_files_in_this_folder_are_refused_with_the_fix(monkeypatch):
    monkeypatch.setattr(_install.metadata, "distribution", lambda name: FakeZoobot(PACKAGE.parent))
    with pytest.raises(ImportError, match="Zoobot 2.9.0") as error:
        _install.check_install(PACKAGE)
    message = str(error.value)
    assert "files are mixed" in message and "pip uninstall -y zoobot zoobot-app" in message
    assert "separate virtual environments" in message


def test_zoobot_installed_in_another_folder_is_a_warning(monkeypatch, tmp_path):
    monkeypatch.setattr(_install.metadata, "distribution", lambda name: FakeZoobot(tmp_path))
    with pytest.warns(UserWarning, match="cannot be imported.*`pip uninstall zoobot` here"):
        _install.check_install(PACKAGE)


def test_import_zoobot_fails_clearly_on_a_mixed_install(tmp_path):
    """A site folder whose zoobot/ is this package and which also holds Zoobot 2.9's metadata."""
    (tmp_path / "zoobot").symlink_to(PACKAGE, target_is_directory=True)
    info = tmp_path / "zoobot-2.9.0.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: zoobot\nVersion: 2.9.0\n")
    (info / "RECORD").write_text("zoobot/__init__.py,,\nzoobot/shared/stats.py,,\n")
    env = {**os.environ, "PYTHONPATH": str(tmp_path)}
    result = subprocess.run(
        [sys.executable, "-c", "import zoobot"], env=env, capture_output=True, text=True, cwd=tmp_path, timeout=60
    )
    assert result.returncode != 0
    assert "MixedInstallError" in result.stderr and "both install a package named zoobot" in result.stderr


def test_zoobot_installed_after_this_package_is_caught_by_zoobot_encoders(tmp_path):
    """Zoobot installed second replaces zoobot/__init__.py with its own empty one: the check runs later."""
    import shutil

    shutil.copytree(PACKAGE, tmp_path / "zoobot", ignore=shutil.ignore_patterns("__pycache__"))
    (tmp_path / "zoobot" / "__init__.py").write_text("")  # real Zoobot's
    info = tmp_path / "zoobot-2.9.0.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: zoobot\nVersion: 2.9.0\n")
    env = {**os.environ, "PYTHONPATH": str(tmp_path)}
    check = "import zoobot; print('imported'); import zoobot.encoders"
    result = subprocess.run(
        [sys.executable, "-c", check], env=env, capture_output=True, text=True, cwd=tmp_path, timeout=120
    )
    assert result.stdout.strip() == "imported" and result.returncode != 0
    assert "MixedInstallError" in result.stderr and "files are mixed" in result.stderr
