"""Survey scale on a CPU: a 1,000,000-row catalog predicted by 2 Lightning processes into Parquet shards,
killed at about half way, run again to the end, merged; memory sampled all along.

Run from the repository root::

    python benchmarks/survey_scale.py                 # 1,000,000 rows (minutes on 2 cores)
    python benchmarks/survey_scale.py --rows 20000    # a quick look

What it shows (issue #21, point 5):

- memory stays flat: the resident memory of the whole process tree (2 ranks and their loader workers),
  sampled every second, is no higher late in the run than early on;
- a kill (SIGKILL of every process) at about 50% loses at most the shards being written, and the
  same command run again predicts only the missing shards;
- every galaxy is predicted exactly once: the merged file has the catalog's ``id_str`` in order.

The catalog has 1,000,000 rows, each its own galaxy (``id_str``), but the images are 1,000 distinct
16x16 PNGs that the rows cycle over (a million files would take longer to write than to predict);
they are decoded for every row. The model is the tiny ``test_convnext`` classifier of the test
fixtures (32 px input), so the figures measure the streaming machinery, not an encoder.
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import platform
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

REPO = Path(__file__).resolve().parent.parent
CHECKPOINT = REPO / "tests" / "fixtures" / "zoobot" / "2.9" / "project_checkpoints" / "classifier.ckpt"
DEFAULT_OUT = REPO / "benchmarks" / "results" / "survey_scale.json"
N_IMAGES = 1000
IMAGE_SIDE = 16


def make_catalog(folder: Path, rows: int) -> Path:
    """``rows`` galaxies cycling over :data:`N_IMAGES` distinct 16x16 PNGs; the catalog CSV's path."""
    from PIL import Image

    images = folder / "images"
    images.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(0)
    for i in range(N_IMAGES):
        path = images / f"{i:04d}.png"
        if not path.exists():
            Image.fromarray(rng.integers(0, 256, (IMAGE_SIDE, IMAGE_SIDE, 3), dtype=np.uint8)).save(path)
    catalog = folder / f"catalog-{rows}.csv"
    if not catalog.exists():
        index = np.arange(rows)
        table = pd.DataFrame(
            {"id_str": [f"g{i:07d}" for i in index], "file_loc": [f"images/{i % N_IMAGES:04d}.png" for i in index]}
        )
        table.to_csv(catalog, index=False)
    return catalog


def tree_rss_mb(root: int) -> float:
    """Resident memory (MB) of ``root`` and all its descendants, from /proc."""
    children: dict[int, list[int]] = {}
    rss: dict[int, int] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as stat:
                fields = stat.read().rsplit(")", 1)[1].split()
            parent, pages = int(fields[1]), int(fields[21])
        except (OSError, IndexError, ValueError):
            continue
        children.setdefault(parent, []).append(int(entry))
        rss[int(entry)] = pages
    total, stack = 0, [root]
    while stack:
        pid = stack.pop()
        total += rss.get(pid, 0)
        stack.extend(children.get(pid, []))
    return total * os.sysconf("SC_PAGE_SIZE") / 2**20


def run(command: list[str], out: Path, n_shards: int, kill_at: float | None) -> dict[str, Any]:
    """Run ``command`` in its own process group, sampling memory each second; SIGKILL it once
    ``kill_at`` of the shards are on disk. Returns samples, wall time and whether it was killed."""
    start = time.perf_counter()
    process = subprocess.Popen(command, start_new_session=True, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    samples: list[tuple[float, float, int]] = []
    killed = False
    while process.poll() is None:
        shards = len(list(out.glob("shard-*.parquet"))) if out.exists() else 0
        samples.append((time.perf_counter() - start, tree_rss_mb(process.pid), shards))
        if kill_at is not None and shards >= kill_at * n_shards:
            os.killpg(process.pid, signal.SIGKILL)
            killed = True
            break
        time.sleep(1.0)
    _, stderr = process.communicate()
    if not killed and process.returncode != 0:
        raise RuntimeError(f"{' '.join(command)} failed:\n{stderr.decode()[-3000:]}")
    return {"wall_s": time.perf_counter() - start, "killed": killed, "samples": samples}


def flatness(samples: list[tuple[float, float, int]]) -> dict[str, float]:
    """Peak tree RSS in the first and the last quarter of the samples taken once start-up is over
    (the run's first new shard is on disk: every process is up and predicting)."""
    rss = [s[1] for s in samples]
    started = next((i for i, s in enumerate(samples) if s[2] > samples[0][2]), len(samples) // 10)
    body = rss[started:] or rss
    quarter = max(1, len(body) // 4)
    early, late = max(body[:quarter]), max(body[-quarter:])
    return {"peak_mb": max(rss), "early_peak_mb": early, "late_peak_mb": late, "late_over_early": late / early}


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000, help="catalog rows (default 1,000,000)")
    parser.add_argument("--shard-rows", type=int, default=20_000, help="rows per shard (default 20,000)")
    parser.add_argument("--processes", type=int, default=2, help="Lightning processes (default 2)")
    parser.add_argument("--num-workers", type=int, default=None, help="loader workers per process (default: machine's)")
    parser.add_argument("--kill-at", type=float, default=0.5, help="share of shards after which to kill")
    parser.add_argument("--work-dir", type=Path, default=Path("/tmp/zoobot-survey-scale"), help="scratch folder")
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help="JSON results file")
    args = parser.parse_args(argv)

    catalog = make_catalog(args.work_dir, args.rows)
    shards = args.work_dir / f"shards-{args.rows}"
    if shards.exists():
        import shutil

        shutil.rmtree(shards)
    n_shards = -(-args.rows // args.shard_rows)
    command = [sys.executable, "-m", "zoobot.cli", "predict", "--model", str(CHECKPOINT), "--catalog", str(catalog)]
    command += [
        "--out",
        f"{shards}/",
        "--shard-rows",
        str(args.shard_rows),
        "--accelerator",
        "cpu",
        "--image-size",
        "32",
    ]
    command += ["--devices", str(args.processes)]
    if args.num_workers is not None:
        command += ["--num-workers", str(args.num_workers)]
    env_load = os.getloadavg()
    print(f"{args.rows} rows, {n_shards} shards, {args.processes} processes; load average {env_load}", flush=True)
    first = run(command, shards, n_shards, args.kill_at)
    after_kill = len(list(shards.glob("shard-*.parquet")))
    print(f"killed after {first['wall_s']:.0f} s with {after_kill}/{n_shards} shards on disk", flush=True)
    second = run(command, shards, n_shards, None)
    print(f"rerun finished in {second['wall_s']:.0f} s", flush=True)

    from zoobot.shards import merge_shards

    merged_path = merge_shards(shards, args.work_dir / f"predictions-{args.rows}.parquet")
    import pyarrow.parquet as pq

    ids = pq.read_table(merged_path, columns=["id_str"]).column("id_str").to_pylist()
    expected = [f"g{i:07d}" for i in range(args.rows)]
    exactly_once = ids == expected
    memory = {"first_run": flatness(first["samples"]), "rerun": flatness(second["samples"])}
    results = {
        "date": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        "machine": {"cpus": os.cpu_count(), "platform": platform.platform(), "python": platform.python_version()},
        "load_average_start": env_load,
        "load_average_end": os.getloadavg(),
        "command": " ".join(command),
        "rows": args.rows,
        "shard_rows": args.shard_rows,
        "n_shards": n_shards,
        "processes": args.processes,
        "killed_after_s": first["wall_s"],
        "shards_on_disk_after_kill": after_kill,
        "rerun_s": second["wall_s"],
        "rows_per_s": (args.rows * (1 - after_kill / n_shards)) / second["wall_s"],
        "merged_rows": len(ids),
        "unique_ids": len(set(ids)),
        "every_galaxy_exactly_once_in_order": exactly_once,
        "memory": memory,
        "rss_samples": {"first_run": first["samples"], "rerun": second["samples"]},
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(results, indent=1))
    print(json.dumps({k: v for k, v in results.items() if k != "rss_samples"}, indent=1))
    if not exactly_once:
        sys.exit(1)


if __name__ == "__main__":
    main()
