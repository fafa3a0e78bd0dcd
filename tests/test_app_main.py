"""The app's page and launch settings: it is built without the heavy libraries, and launched
without server-side rendering, monitoring or MCP, serving as few folders as possible."""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
from pathlib import Path

from app.main import launch_options


def test_the_page_is_built_and_filled_in_without_importing_torch(tmp_path):
    """Building the page and filling it in for a new session (all but the encoder list) stay light."""
    code = (
        "import sys, app.main\n"
        f"demo = app.main.build_app({str(tmp_path / 'runs')!r})\n"
        "fns = {getattr(f.fn, 'func', f.fn).__name__: f.fn for f in demo.fns.values()}\n"
        "session = fns['attach_session'](None)\n"
        "fns['on_load'](session)\n"
        "fns['restore_results'](session)\n"
        "heavy = [m for m in ('torch', 'timm', 'lightning', 'umap', 'zoobot.encoders') if m in sys.modules]\n"
        "assert not heavy, heavy\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        timeout=120,
        env=dict(os.environ, GRADIO_ANALYTICS_ENABLED="False"),
    )
    assert result.returncode == 0, result.stderr[-2000:]


def test_launch_has_no_ssr_monitoring_or_mcp_and_serves_no_runs_folder_inside_the_working_folder():
    runs_dir = Path(os.getcwd()) / "zoobot_runs"
    options = launch_options(runs_dir, hosted=True, max_upload_mb=20)
    assert options["ssr_mode"] is False and options["enable_monitoring"] is False and options["mcp_server"] is False
    assert options["allowed_paths"] == []
    assert options["max_file_size"] == "20mb"
    assert launch_options(Path(tempfile.gettempdir()) / "runs", hosted=True, max_upload_mb=20)["allowed_paths"] == []


def test_a_runs_folder_elsewhere_is_served_so_downloads_work(tmp_path, monkeypatch, caplog):
    elsewhere = Path("/") / "srv_zoobot_runs_not_created"
    monkeypatch.chdir(tmp_path)
    assert launch_options(elsewhere, hosted=False, max_upload_mb=20)["allowed_paths"] == [str(elsewhere)]
    launch_options(elsewhere, hosted=True, max_upload_mb=20)
    assert "serves any file in it" in caplog.text
