"""The hostile-visitor measurements of issue #20, on the hosted limits (``app.limits.Limits.hosted``):

- ``bombs``: peak memory of checking decompression bombs (the issue's 12000 x 12000 PNG, a
  30000 x 30000 PNG past PIL's own bomb limit, a 4000 x 4000 ``.fits.gz``), each in a fresh process;
  refused from the header at the hosted cap, and (for contrast) decoded with no cap.
- ``lanes``: one session checks a catalog at the row cap (20,000 rows) while another checks 40 rows:
  how long the small one takes; and how fast a 100,000-row catalog is refused.
- ``schema``: a 548 kB schema of 10,000 questions through the live check and "Use this tree".
- ``poll``: the real ``zoobot-app --hosted`` server; five sessions load the demo survey and start a
  run each (one trains, four queue); five clients poll their Train tab's status once a second over
  HTTP (Gradio's ``/gradio_api/call/poll_training``, what the page's timer calls) while they train.
  Target: p95 under 1 s.

Run from the repository root: ``python benchmarks/hostile.py`` (about 5 minutes on 2 cores), or
``--only bombs schema`` for a part. Writes ``benchmarks/results/hostile.json`` and prints a table.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import platform
import resource
import shutil
import socket
import subprocess
import sys
import tempfile
import textwrap
import threading
import time
import urllib.request
import uuid
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
TESTS = ROOT / "tests"
SECTIONS = ("bombs", "lanes", "schema", "poll")


# --- bombs --------------------------------------------------------------------------------------

_BOMB_CODE = """
import json, resource
from pathlib import Path
from zoobot.images import ImageTooLargeError, check_image
path = Path({path!r})
before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
try:
    check_image(path, max_pixels={cap})
    outcome = "decoded"
except ImageTooLargeError:
    outcome = "refused"
grown = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before
print(json.dumps({{"outcome": outcome, "peak_mb": grown / 1024}}))
"""


def _hostile_files() -> Any:
    """``tests/hostile_files.py``: the tests' bomb makers, loaded from its path (it is no package)."""
    spec = importlib.util.spec_from_file_location("hostile_files", TESTS / "hostile_files.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def bombs(work: Path) -> list[dict[str, Any]]:
    """Peak memory of checking each bomb, refused at the hosted cap and decoded with none."""
    from app.limits import Limits

    makers = _hostile_files()
    fits_gz_bomb, png_bomb = makers.fits_gz_bomb, makers.png_bomb

    cap = Limits.hosted().image_pixels
    rows = []
    for kind, width, height, uncapped in [
        ("png", 12000, 12000, True),
        ("png", 30000, 30000, False),
        ("fits.gz", 4000, 4000, True),
    ]:
        path = work / f"bomb_{width}x{height}.{kind}"
        started = time.perf_counter()
        (png_bomb if kind == "png" else fits_gz_bomb)(path, width, height)
        made_s = time.perf_counter() - started
        row: dict[str, Any] = {"file": path.name, "bytes": path.stat().st_size, "made_s": made_s}
        for label, limit in [("hosted", cap), ("no cap", 10**12)] if uncapped else [("hosted", cap)]:
            started = time.perf_counter()
            done = subprocess.run(
                [sys.executable, "-c", _BOMB_CODE.format(path=str(path), cap=limit)],
                capture_output=True,
                text=True,
                timeout=600,
                env=_env(),
            )
            result = (
                json.loads(done.stdout.strip().splitlines()[-1])
                if done.returncode == 0
                else {"outcome": f"error {done.returncode}", "peak_mb": None}
            )
            row[label] = {**result, "seconds": time.perf_counter() - started}
        rows.append(row)
        print(
            f"   {path.name} ({row['bytes'] / 1e3:.0f} kB): hosted {row['hosted']['outcome']}, "
            f"{row['hosted']['peak_mb']:.0f} MB",
            flush=True,
        )
    return rows


# --- lanes --------------------------------------------------------------------------------------


def lanes(work: Path) -> dict[str, Any]:
    """A catalog at the row cap checked by one session while another checks 40 rows."""
    import pandas as pd
    from PIL import Image

    from app.engine import Engine
    from app.engine.sources import file_source
    from app.jobs import JobManager
    from app.limits import Limits
    from app.runs import RunStore, new_session_id

    limits = Limits.hosted()
    images = work / "lane_images"
    images.mkdir(exist_ok=True)
    rng = np.random.default_rng(0)
    files = []
    for i in range(200):
        path = images / f"g{i}.jpg"
        Image.fromarray(rng.integers(0, 255, (64, 64, 3), dtype=np.uint8)).save(path, quality=90)
        files.append(path.name)

    def catalog(name: str, n: int) -> Path:
        path = work / f"{name}.parquet"
        pd.DataFrame(
            {
                "id_str": [f"{name}{i}" for i in range(n)],
                "file_loc": [files[i % 200] for i in range(n)],
                "label": [i % 2 for i in range(n)],
            }
        ).to_parquet(path)
        return path

    engine = Engine(store=RunStore(work / "lane_runs"), manager=JobManager(), hosted=False, limits=limits)
    big, small, huge = catalog("big", limits.catalog_rows or 20000), catalog("small", 40), catalog("huge", 100_000)
    a, b, c = new_session_id(), new_session_id(), new_session_id()
    started = time.perf_counter()
    big_job = engine.submit_catalog(a, big.name, file_source(big, (images,), limits.catalog_rows))
    time.sleep(1.0)
    small_started = time.perf_counter()
    small_job = engine.submit_catalog(b, small.name, file_source(small, (images,), limits.catalog_rows))
    engine.manager.wait(small_job.id, timeout=600)
    small_s = time.perf_counter() - small_started
    huge_started = time.perf_counter()
    huge_job = engine.manager.wait(
        engine.submit_catalog(c, huge.name, file_source(huge, (images,), limits.catalog_rows)).id, 600
    )
    huge_s = time.perf_counter() - huge_started
    engine.manager.wait(big_job.id, timeout=1200)
    big_s = time.perf_counter() - started
    out = {
        "big_rows": limits.catalog_rows,
        "big_check_s": big_s,
        "small_rows": 40,
        "small_check_s": small_s,
        "small_status": small_job.status,
        "huge_rows": 100_000,
        "huge_refused_s": huge_s,
        "huge_status": huge_job.status,
        "huge_message": huge_job.error,
    }
    print(
        f"   {out['big_rows']}-row check {big_s:.1f} s; meanwhile a 40-row check took {small_s:.2f} s; "
        f"100,000 rows {huge_job.status} in {huge_s:.2f} s",
        flush=True,
    )
    return out


# --- schema -------------------------------------------------------------------------------------


def schema(work: Path) -> dict[str, Any]:
    """The issue's 548 kB schema of 10,000 questions through the live check and "Use this tree"."""
    import gradio as gr
    import yaml

    from app.engine import Engine
    from app.jobs import JobManager
    from app.limits import Limits
    from app.runs import RunStore, new_session_id
    from app.tabs import schema as schema_tab

    questions = [
        {"name": f"q{i}", "answers": ["a", "b"], "asked_after": None if i == 0 else f"q{i - 1}_a"}
        for i in range(10_000)
    ]
    text = yaml.safe_dump({"questions": questions})
    engine = Engine(store=RunStore(work / "schema_runs"), manager=JobManager(), limits=Limits.hosted())
    sid = new_session_id()
    started = time.perf_counter()
    status = schema_tab.check_schema_text(engine, sid, text)["status"]
    live_s = time.perf_counter() - started
    started = time.perf_counter()
    try:
        schema_tab.use_schema(engine, sid, schema_tab.CUSTOM, text)
        used = "accepted"
    except gr.Error as err:
        used = err.message
    use_s = time.perf_counter() - started
    out = {
        "chars": len(text),
        "questions": 10_000,
        "live_check_s": live_s,
        "live_status": status,
        "use_s": use_s,
        "use_message": used,
    }
    print(f"   {len(text) / 1e3:.0f} kB schema: live check {live_s * 1e3:.1f} ms, use {use_s * 1e3:.1f} ms", flush=True)
    return out


# --- poll ---------------------------------------------------------------------------------------


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _env() -> dict[str, str]:
    return {
        **os.environ,
        "HF_HUB_OFFLINE": "1",
        "GRADIO_ANALYTICS_ENABLED": "False",
        "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")]),
    }


def call(base: str, name: str, *data: Any, page: str | None = None, timeout: float = 120) -> list[Any]:
    """One event through Gradio's HTTP API, as the page sends it: POST, then read the result stream.

    ``page`` is the browser page's Gradio session: the page's ``gr.State`` values (e.g. what the poll
    last drew) are kept between the events of one page, as in the browser.
    """
    body = {"data": list(data), **({"session_hash": page} if page else {})}
    request = urllib.request.Request(
        f"{base}gradio_api/call/{name}", data=json.dumps(body).encode(), headers={"Content-Type": "application/json"}
    )
    with urllib.request.urlopen(request, timeout=timeout) as response:
        event_id = json.loads(response.read())["event_id"]
    with urllib.request.urlopen(f"{base}gradio_api/call/{name}/{event_id}", timeout=timeout) as response:
        event = None
        for raw in response:
            line = raw.decode().strip()
            if line.startswith("event:"):
                event = line.split(":", 1)[1].strip()
            elif line.startswith("data:") and event in ("complete", "error"):
                payload = json.loads(line.split(":", 1)[1]) if event == "complete" else None
                if event == "error":
                    raise RuntimeError(f"{name} failed: {line}")
                return payload
    raise RuntimeError(f"{name} gave no result")


def poll(work: Path, sessions: int = 5, seconds: float = 150.0, epochs: int = 3) -> dict[str, Any]:
    """Five sessions training (one at a time, the rest queued) while five clients poll once a second."""
    port = _free_port()
    log = open(work / "server.log", "w")  # noqa: SIM115 (open while the server runs)
    script = shutil.which("zoobot-app") or str(Path(sys.executable).with_name("zoobot-app"))
    # Its own Gradio cache: the hosted server trims its cache by size, and must not touch another's.
    env = {**_env(), "GRADIO_TEMP_DIR": str(work / "gradio_cache")}
    server = subprocess.Popen(
        [script, "--hosted", "--port", str(port), "--runs-dir", str(work / "poll_runs")],
        stdout=log,
        stderr=subprocess.STDOUT,
        env=env,
        cwd=work,
    )
    base = f"http://127.0.0.1:{port}/"
    try:
        deadline = time.monotonic() + 120
        while True:
            try:
                urllib.request.urlopen(base, timeout=2)
                break
            except OSError:
                if time.monotonic() > deadline or server.poll() is not None:
                    raise RuntimeError("the server did not start; see " + str(work / "server.log")) from None
                time.sleep(0.5)
        ids = [call(base, "attach_session", None)[0] for _ in range(sessions)]
        for sid in ids:
            call(base, "load_demo", sid)
        for sid in ids:
            while call(base, "poll_catalog_job", sid)[-2].get("active"):
                time.sleep(1)
            call(base, "suggest_task", sid)  # the demo's vote counts: the decals_dr5 tree, as the page suggests
            call(base, "use_task", sid, "tree", [])
        started = [
            call(
                base, "start_training", sid, "demo", "", "head_only", epochs, 1e-3, 32, 0, 0.7, 0.15, 0.05, 0.75, 10, 0
            )[1]
            for sid in ids
        ]
        latencies: list[float] = []
        statuses: list[str] = []
        lock = threading.Lock()
        stop_at = time.monotonic() + seconds

        def poller(sid: str) -> None:
            page = uuid.uuid4().hex[:11]
            while time.monotonic() < stop_at:
                tick = time.monotonic()
                result = call(base, "poll_training", sid, page=page)
                took = time.monotonic() - tick
                with lock:
                    latencies.append(took)
                    statuses.append(str(result[1]))
                time.sleep(max(0.0, 1.0 - took))

        threads = [threading.Thread(target=poller, args=(sid,)) for sid in ids]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        ms = np.array(latencies) * 1e3
        out = {
            "sessions": sessions,
            "seconds": seconds,
            "epochs": epochs,
            "started": started,
            "polls": len(ms),
            "median_ms": float(np.median(ms)),
            "p95_ms": float(np.percentile(ms, 95)),
            "max_ms": float(ms.max()),
            "training_polls": sum("is training" in s for s in statuses),
            "queued_polls": sum("waiting in the queue" in s for s in statuses),
            "finished_polls": sum("finished" in s for s in statuses),
            "example_queued_status": next((s for s in statuses if "waiting in the queue" in s), None),
        }
        print(
            f"   {len(ms)} polls: median {out['median_ms']:.0f} ms, p95 {out['p95_ms']:.0f} ms, "
            f"max {out['max_ms']:.0f} ms",
            flush=True,
        )
        return out
    finally:
        server.terminate()
        try:
            server.wait(timeout=20)
        except subprocess.TimeoutExpired:
            server.kill()
        log.close()


# --- report -------------------------------------------------------------------------------------


def table(results: dict[str, Any]) -> str:
    """The results as a Markdown table."""
    rows = ["| case | measured | target | met |", "|---|---|---|---|"]
    for row in results.get("bombs", []):
        hosted = row["hosted"]
        extra = f"; with no cap: {row['no cap']['peak_mb']:.0f} MB" if "no cap" in row else ""
        rows.append(
            f"| {row['file']} ({row['bytes'] / 1e3:.0f} kB) | {hosted['outcome']}, peak "
            f"{hosted['peak_mb']:.0f} MB{extra} | refused, < 20 MB | "
            f"{'yes' if hosted['outcome'] == 'refused' and hosted['peak_mb'] < 20 else 'no'} |"
        )
    if "lanes" in results:
        lane = results["lanes"]
        rows.append(
            f"| 40-row check while another session checks {lane['big_rows']:,} rows "
            f"({lane['big_check_s']:.0f} s) | {lane['small_check_s']:.1f} s | < 10 s | "
            f"{'yes' if lane['small_check_s'] < 10 else 'no'} |"
        )
        refused = lane["huge_status"] == "failed" and lane["huge_refused_s"] < 5
        rows.append(
            f"| 100,000-row catalog | {'refused' if lane['huge_status'] == 'failed' else lane['huge_status']} "
            f"in {lane['huge_refused_s']:.1f} s | refused, < 5 s | {'yes' if refused else 'no'} |"
        )
    if "schema" in results:
        sch = results["schema"]
        met = sch["live_check_s"] < 1 and sch["use_s"] < 1 and sch["use_message"] != "accepted"
        rows.append(
            f"| {sch['chars'] / 1e3:.0f} kB schema, 10,000 questions | live check "
            f"{sch['live_check_s'] * 1e3:.0f} ms, use {sch['use_s'] * 1e3:.0f} ms, refused | < 1 s | "
            f"{'yes' if met else 'no'} |"
        )
    if "poll" in results:
        pol = results["poll"]
        rows.append(
            f"| page poll, {pol['sessions']} sessions training ({pol['polls']} polls over HTTP) | median "
            f"{pol['median_ms']:.0f} ms, p95 {pol['p95_ms']:.0f} ms, max {pol['max_ms']:.0f} ms | p95 < 1 s | "
            f"{'yes' if pol['p95_ms'] < 1000 else 'no'} |"
        )
    return "\n".join(rows)


def main(argv: list[str] | None = None) -> dict[str, Any]:
    """Run the chosen sections; write the JSON and print the table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", nargs="+", choices=SECTIONS, default=list(SECTIONS))
    parser.add_argument("--out", default=str(ROOT / "benchmarks" / "results" / "hostile.json"))
    parser.add_argument("--poll-seconds", type=float, default=150.0)
    parser.add_argument("--epochs", type=int, default=3)
    args = parser.parse_args(argv)
    sys.path.insert(0, str(ROOT))
    results: dict[str, Any] = {
        "date": time.strftime("%Y-%m-%d"),
        "machine": platform.machine(),
        "cores": os.cpu_count(),
        "python": platform.python_version(),
        "load_average_at_start": os.getloadavg()[0],
    }
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        for section in SECTIONS:
            if section in args.only:
                print(f"{section}:", flush=True)
                if section == "poll":
                    results[section] = poll(work, seconds=args.poll_seconds, epochs=args.epochs)
                else:
                    results[section] = globals()[section](work)
    results["load_average_at_end"] = os.getloadavg()[0]
    results["peak_rss_mb_of_this_process"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(results, indent=2, default=str))
    print(textwrap.indent(table(results), ""))
    return results


if __name__ == "__main__":
    main()
