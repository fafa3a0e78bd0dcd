"""Side by side with real Zoobot 2.9.0: prediction, head-only and full finetuning on the same images.

Real Zoobot lives in its own virtual environment (it installs a package called ``zoobot`` too); build it
as ``scripts/zoobot_fixtures/README.md`` says, then, from the repository root::

    python benchmarks/vs_zoobot.py --zoobot-venv /work/zb29            # ~10 min on 2 busy cores
    python benchmarks/vs_zoobot.py --zoobot-venv /work/zb29 --images 32 --epochs 3   # a quick look

Each tool runs in a fresh process per setting (Zoobot's with the venv's Python, this project's with
the current one) that measures every task in turn, Zoobot's and this project's alternating, on the
same JPEGs, the same random-init timm encoder at the same input size and batch size. Two settings:

- ``defaults``: what each tool does when given nothing but the required arguments (Zoobot 2.9's
  ``predict`` with galaxy-datasets' ``CatalogDataModule`` defaults: 4 loader workers; this project's
  :mod:`zoobot.machine` settings);
- ``tuned``: both given the same loader workers (``--workers``) and torch threads (every core).

Ratios are this project over Zoobot: images/s for prediction and full finetuning, Zoobot's wall time
over this project's for head-only finetuning (Zoobot runs the frozen encoder every epoch; this project
computes the features once). Results go to ``benchmarks/results/vs_zoobot.json``.
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
DEFAULT_OUT = REPO / "benchmarks" / "results" / "vs_zoobot.json"
TASKS = ("predict", "head_only", "full")
ZOOBOT_SIDE = REPO / "scripts" / "zoobot_fixtures" / "measure_zoobot.py"
TARGETS = {"predict": 1.2, "full": 1.2, "head_only": 10.0}


# --- one measurement, in its own process ------------------------------------------------------------


def _read(path: str) -> Any:
    import pandas as pd

    return pd.read_csv(path, dtype={"id_str": str})


def measure_project(task: str, job: dict[str, Any]) -> dict[str, float]:
    """This project, through its public API."""
    import torch

    from zoobot.data import CatalogDataModule
    from zoobot.finetune import FinetuneableZoobotClassifier, get_trainer
    from zoobot.predict import predict_on_catalog

    if job["threads"]:
        torch.set_num_threads(job["threads"])
    catalog, train, val = (_read(job[key]) for key in ("catalog", "train_catalog", "val_catalog"))
    mode = "full" if task == "full" else "head_only"
    model = FinetuneableZoobotClassifier(
        name=job["architecture"], num_classes=2, training_mode=mode, learning_rate=1e-3, prog_bar=False
    )
    start = time.perf_counter()
    if task == "predict":
        predict_on_catalog(
            catalog, model, input_size=job["size"], batch_size=job["batch_size"], num_workers=job["workers"]
        )
        return {"images": len(catalog), "wall_s": time.perf_counter() - start}
    datamodule = CatalogDataModule(
        label_cols=["label"],
        train_catalog=train,
        val_catalog=val,
        batch_size=job["batch_size"],
        num_workers=job["workers"],
        input_size=job["size"],
        card=model.card,
    )
    with tempfile.TemporaryDirectory() as tmp:
        trainer = get_trainer(
            tmp,
            max_epochs=job["epochs"] if task == "head_only" else 1,
            patience=1000,
            accelerator="cpu",
            devices=1,
            logger=True,  # a CSV logger in tmp, as Zoobot's above
            enable_progress_bar=False,
        )
        start = time.perf_counter()
        trainer.fit(model, datamodule)
    return {"images": len(train), "wall_s": time.perf_counter() - start}


# --- the driver --------------------------------------------------------------------------------------


def make_images(folder: Path, n: int) -> Path:
    """``n`` 424 px JPEGs of synthetic galaxies (with a ``ring`` label) and their catalog; the catalog's path."""
    sys.path.insert(0, str(REPO))
    from zoobot.survey import make_survey

    catalog_path = folder / "catalog.csv"
    if not catalog_path.exists():
        catalog = make_survey(n=n, size=424, out_dir=folder, seed=0, image_format="jpg", overwrite=True)
        catalog.to_csv(catalog_path, index=False)
    return catalog_path


def write_split(catalog_path: Path) -> dict[str, str]:
    """The one train/validation split both tools read (1/8 of the galaxies, at least 8, validate), with the
    ``ring`` label as the integer column ``label``: written once, next to the catalog."""
    import pandas as pd

    catalog = pd.read_csv(catalog_path, dtype={"id_str": str})
    catalog["label"] = catalog["ring"].astype(int)
    n_val = max(8, len(catalog) // 8)
    paths = {"train_catalog": catalog_path.with_name("train.csv"), "val_catalog": catalog_path.with_name("val.csv")}
    catalog.iloc[n_val:].to_csv(paths["train_catalog"], index=False)
    catalog.iloc[:n_val].to_csv(paths["val_catalog"], index=False)
    return {key: str(path) for key, path in paths.items()}


def run_one(tool: str, tasks: list[str], job: dict[str, Any], zoobot_python: str) -> dict[str, dict[str, float]]:
    """The tasks' measurements, in order, in one fresh process of the tool's own Python."""
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    env.update(HF_HUB_OFFLINE="1", PYTHONWARNINGS="ignore")
    if tool == "project":
        env["PYTHONPATH"] = str(REPO)
    python = zoobot_python if tool == "zoobot" else sys.executable
    # Zoobot's side runs in Zoobot's venv from the fixture scripts' folder (its imports, galaxy-datasets
    # included, are declared in that folder's requirements files, not this project's).
    script = ZOOBOT_SIDE if tool == "zoobot" else Path(__file__).resolve()
    command = [python, str(script), "--measure", tool, ",".join(tasks), json.dumps(job)]
    done = subprocess.run(command, capture_output=True, text=True, env=env, cwd=tempfile.gettempdir(), timeout=1800)
    if done.returncode != 0:
        raise RuntimeError(f"{tool} {tasks} failed:\n{done.stderr[-3000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--zoobot-venv", type=Path, help="virtual environment with real Zoobot 2.9.0")
    parser.add_argument("--images", type=int, default=96, help="JPEGs (424 px) to predict and train on (default 96)")
    parser.add_argument("--architecture", default="convnext_atto", help="timm encoder, random init (convnext_atto)")
    parser.add_argument("--size", type=int, default=128, help="encoder input side in px (default 128)")
    parser.add_argument("--batch-size", type=int, default=32, help="batch size for both (default 32)")
    parser.add_argument("--epochs", type=int, default=10, help="head-only epochs (default 10)")
    parser.add_argument("--workers", type=int, default=1, help="loader workers when tuned (default 1)")
    parser.add_argument("--repeats", type=int, default=1, help="runs of each measurement (default 1)")
    parser.add_argument("--tasks", nargs="+", choices=TASKS, default=list(TASKS))
    parser.add_argument("--cache-dir", type=Path, default=Path(tempfile.gettempdir()) / "zoobot-vs-zoobot")
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help="JSON results file")
    parser.add_argument("--measure", nargs=3, metavar=("TOOL", "TASKS", "JOB"), help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.measure:
        tool, tasks, job = args.measure
        print(json.dumps({task: measure_project(task, json.loads(job)) for task in tasks.split(",")}))
        return
    if args.zoobot_venv is None:
        parser.error("--zoobot-venv is required (a virtual environment with zoobot==2.9.0)")
    zoobot_python = str(args.zoobot_venv / "bin" / "python")
    catalog = make_images(args.cache_dir / f"jpg-{args.images}", args.images)
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
    base = {
        "catalog": str(catalog),
        **write_split(catalog),
        "architecture": args.architecture,
        "size": args.size,
        "batch_size": args.batch_size,
        "epochs": args.epochs,
    }
    settings = {
        "defaults": {"workers": None, "threads": None},
        "tuned": {"workers": args.workers, "threads": cores},
    }
    runs: dict[str, list[float]] = {}
    load = [os.getloadavg()]
    started = time.perf_counter()
    # One process per tool and setting runs every task (imports take minutes on a busy machine);
    # the tools alternate, Zoobot first in even repeats, this project first in odd ones.
    for repeat in range(args.repeats):
        for name, setting in settings.items():
            tools = ("zoobot", "project") if repeat % 2 == 0 else ("project", "zoobot")
            for tool in tools:
                results = run_one(tool, args.tasks, {**base, **setting}, zoobot_python)
                for task, result in results.items():
                    key = f"{tool}/{task}/{name}"
                    runs.setdefault(key, []).append(result["wall_s"])
                    print(f"{key}: {result['wall_s']:.1f} s for {result['images']} images", flush=True)
                load.append(os.getloadavg())
    rows = []
    for task in args.tasks:
        for name in settings:
            zoobot_s = statistics.median(runs[f"zoobot/{task}/{name}"])
            project_s = statistics.median(runs[f"project/{task}/{name}"])
            ratio = zoobot_s / project_s  # same images: the speed ratio, project over Zoobot
            rows.append(
                {
                    "task": task,
                    "setting": name,
                    "zoobot_s": zoobot_s,
                    "project_s": project_s,
                    "ratio": ratio,
                    "target": TARGETS[task],
                    "met": ratio >= TARGETS[task],
                }
            )
    results = {
        "date": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        "machine": {"cores": cores, "platform": platform.platform(), "python": platform.python_version()},
        "command": " ".join([Path(sys.argv[0]).name, *(argv if argv is not None else sys.argv[1:])]),
        "load_averages": load,
        "job": base,
        "settings": settings,
        "runs_s": runs,
        "rows": rows,
        "wall_s": time.perf_counter() - started,
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(results, indent=1))
    print("\n| task | setting | Zoobot 2.9.0 (s) | this project (s) | ratio (target) | met |")
    print("| --- | --- | --- | --- | --- | --- |")
    for row in rows:
        print(
            f"| {row['task']} | {row['setting']} | {row['zoobot_s']:.1f} | {row['project_s']:.1f} | "
            f"{row['ratio']:.2f}x (>= {row['target']:g}x) | {'yes' if row['met'] else '**no**'} |"
        )
    print(f"load average during the runs: {min(x[0] for x in load):.1f}-{max(x[0] for x in load):.1f}")


if __name__ == "__main__":
    main()
