"""End to end: the real ``zoobot-app`` server driven by headless Chromium through the whole path
on the demo survey, on the CPU: data, task, schema, training, results, UMAP map and similar galaxies.

Screenshots of each step go to ``$ZOOBOT_APP_SCREENSHOTS`` (default: the test's tmp folder).
"""

from __future__ import annotations

import os
import re
import shutil
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path
from urllib.parse import urlparse

import pytest

CHROMIUM = "/usr/bin/chromium"

pytestmark = [
    pytest.mark.browser,
    pytest.mark.slow,
    pytest.mark.skipif(
        not Path(CHROMIUM).is_file(), reason=f"{CHROMIUM} is missing; install it with `apt-get install chromium`"
    ),
]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _wait_for_http(url: str, process: subprocess.Popen, timeout: float) -> float:
    start = time.monotonic()
    while time.monotonic() - start < timeout:
        if process.poll() is not None:
            raise RuntimeError(f"zoobot-app exited early with code {process.returncode}")
        try:
            with urllib.request.urlopen(url, timeout=2) as response:
                if response.status == 200:
                    return time.monotonic() - start
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            time.sleep(0.2)
    raise TimeoutError(f"{url} did not answer within {timeout} s")


def _tiny_encoder(folder: Path) -> Path:
    """A tiny timm encoder in Hub format, used when the bundled demo encoder is not built yet."""
    import timm

    from zoobot.encoders import save_encoder

    return save_encoder(timm.create_model("test_convnext", num_classes=0), "test_convnext", folder)


@pytest.fixture
def server(tmp_path):
    port = _free_port()
    log = open(tmp_path / "server.log", "w")  # noqa: SIM115 (open while the server runs)
    env = dict(os.environ, GRADIO_ANALYTICS_ENABLED="False", HF_HUB_OFFLINE="1", PYTHONUNBUFFERED="1")
    script = shutil.which("zoobot-app") or str(Path(sys.executable).with_name("zoobot-app"))
    process = subprocess.Popen(
        [script, "--port", str(port), "--runs-dir", str(tmp_path / "runs")],
        stdout=log,
        stderr=subprocess.STDOUT,
        env=env,
    )
    url = f"http://127.0.0.1:{port}/"
    try:
        startup = _wait_for_http(url, process, timeout=60)
        yield url, startup
    finally:
        process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
        log.close()


def _open_tab(page, name: str) -> None:
    page.get_by_role("tab", name=name).click()


def _choose(page, elem_id: str, text: str) -> None:
    """Pick an option of a Gradio dropdown by typing it."""
    box = page.locator(f"#{elem_id} input")
    box.click()
    box.fill(text)
    page.get_by_role("option", name=text).first.click()


def test_whole_path_on_the_demo_survey(server, tmp_path):
    from playwright.sync_api import expect, sync_playwright

    from zoobot.assets import demo_encoder_dir

    url, startup = server
    shots = Path(os.environ.get("ZOOBOT_APP_SCREENSHOTS", tmp_path / "screenshots"))
    shots.mkdir(parents=True, exist_ok=True)
    use_demo_encoder = (demo_encoder_dir() / "config.json").is_file()
    encoder_dir = None if use_demo_encoder else _tiny_encoder(tmp_path / "encoder")
    external: list[str] = []
    with sync_playwright() as pw:
        browser = pw.chromium.launch_persistent_context(
            str(tmp_path / "profile"),
            executable_path=CHROMIUM,
            headless=True,
            args=["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update"],
            viewport={"width": 1400, "height": 1000},
        )
        page = browser.new_page()
        page.on(
            "request",
            lambda r: (
                external.append(r.url)
                if urlparse(r.url).hostname not in ("127.0.0.1", "localhost", None) and r.url.startswith("http")
                else None
            ),
        )
        t0 = time.monotonic()
        page.goto(url)
        expect(page.locator("#data-status")).to_contain_text("No catalog loaded yet", timeout=30_000)
        assert startup + (time.monotonic() - t0) < 30, "the first page took too long"

        # 1. Data: one click loads the demo survey (generated once into the runs folder).
        page.locator("#data-demo").click()
        expect(page.locator("#data-status")).to_contain_text("Ready", timeout=120_000)
        expect(page.locator("#data-status")).to_contain_text("600")
        expect(page.locator("#data-gallery img").first).to_be_visible()
        page.screenshot(path=str(shots / "1_data.png"), full_page=True)

        # 2. Task: the columns suggest the GZ DECaLS DR5 vote-count tree.
        _open_tab(page, "2. Task")
        expect(page.locator("#task-status")).to_contain_text("decals_dr5", timeout=30_000)
        page.locator("#task-use").click()
        expect(page.locator("#task-status")).to_contain_text("labelled galaxies", timeout=30_000)
        page.screenshot(path=str(shots / "2_task.png"), full_page=True)

        # 3. Schema: the tree is drawn and checked against the catalog.
        _open_tab(page, "3. Schema")
        expect(page.locator("#schema-status")).to_contain_text("every answer column", timeout=30_000)
        expect(page.locator("#schema-plot .js-plotly-plot")).to_be_visible()
        page.screenshot(path=str(shots / "3_schema.png"), full_page=True)

        # 4. Train 2 epochs, head only, on the CPU.
        _open_tab(page, "4. Train")
        if encoder_dir is not None:
            _choose(page, "train-encoder", "A local encoder folder or checkpoint (path under Advanced settings)")
            page.get_by_text("Advanced settings").click()
            page.locator("#train-local-encoder textarea, #train-local-encoder input").first.fill(str(encoder_dir))
        page.locator("#train-epochs input").fill("2")
        page.locator("#train-batch input").fill("64")
        page.locator("#train-start").click()
        # the stage is named as it goes (a head-only run's feature pass, training, testing) until it finishes
        expect(page.locator("#train-status")).to_contain_text(
            re.compile("computing features|training|testing|finished"), timeout=60_000
        )
        expect(page.locator("#train-status")).to_contain_text("finished", timeout=400_000)
        expect(page.locator("#train-loss-plot .js-plotly-plot")).to_be_visible()
        expect(page.locator("#train-progress")).to_contain_text("CPU")
        page.screenshot(path=str(shots / "4_train.png"), full_page=True)

        # 5. Results: metrics, galleries, predictions table, downloads and the re-run command.
        _open_tab(page, "5. Results")
        expect(page.locator("#results-summary")).to_contain_text("vote-fraction error", timeout=60_000)
        expect(page.locator("#results-plot-1 .js-plotly-plot")).to_be_visible()
        expect(page.locator("#results-table")).to_contain_text("smooth-or-featured-dr5_smooth_fraction")
        expect(page.locator("#results-downloads")).to_contain_text("finetuned_model")
        expect(page.locator("#results-command")).to_contain_text("zoobot finetune --config")
        page.screenshot(path=str(shots / "5_results.png"), full_page=True)

        # 6. Explore: a UMAP map from the finetuned model, then a galaxy's nearest neighbours.
        _open_tab(page, "6. Explore")
        page.get_by_label("Finetuned model of my latest run").check()
        page.locator("#explore-draw").click()
        expect(page.locator("#explore-status")).to_contain_text("Map of 600 galaxies", timeout=400_000)
        expect(page.locator("#explore-map .js-plotly-plot")).to_be_visible()
        _choose(page, "explore-galaxy", "synthetic-0-000007")
        expect(page.locator("#explore-neighbours img")).to_have_count(9, timeout=60_000)
        page.screenshot(path=str(shots / "6_explore.png"), full_page=True)

        # 7. Label next: the galaxies BALD would have labelled next (Laplace posterior by default), with
        # the model's prediction and why each was picked.
        _open_tab(page, "7. Label next")
        expect(page.locator("#label-posterior input")).to_have_value(re.compile("Default"), timeout=30_000)
        # the demo survey is all labelled: rank its galaxies anyway, as the tab offers
        page.locator("#label-find").click()
        expect(page.locator("body")).to_contain_text("Rank labelled galaxies too", timeout=60_000)
        page.locator("#label-include-labelled input").check()
        page.locator("#label-find").click()
        expect(page.locator("#label-gallery img").first).to_be_visible(timeout=300_000)
        expect(page.locator("#label-status")).to_contain_text("Most to learn", timeout=30_000)
        # the next round continues from this run's weights unless unticked
        expect(page.locator("#label-continue input")).to_be_checked()
        page.screenshot(path=str(shots / "8_label_next.png"), full_page=True)

        # Runs: opening the tab lists the run; a reload re-attaches to the session and keeps the results.
        _open_tab(page, "Runs")
        expect(page.locator("#runs-table")).to_contain_text("finished", timeout=30_000)
        expect(page.locator("#runs-pick input")).to_have_value(re.compile(r"tree, finished"))
        page.screenshot(path=str(shots / "7_runs.png"), full_page=True)
        page.reload()
        expect(page.locator("#data-status")).to_contain_text("600", timeout=30_000)
        _open_tab(page, "5. Results")
        expect(page.locator("#results-summary")).to_contain_text("vote-fraction error", timeout=30_000)
        browser.close()
    assert not external, f"the page fetched external resources: {external[:5]}"
