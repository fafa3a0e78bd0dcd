"""Are the uncertainties calibrated? Finetune on the synthetic survey, then measure on held-out galaxies.

For each task (the DR5 vote-count tree, the ``ring`` classifier, the ``bulge_to_total`` regressor) this
runs ``zoobot.runs.run_finetune`` with the app's defaults (demo encoder, head only) at two training
lengths (the app's 10 epochs, and up to 100 with early stopping), then ``zoobot.uncertainty.calibrate_run``
with one pass and with Monte Carlo dropout. The correction is fitted on the validation split and
reported before and after on the test split. The survey's true answer probabilities
(``zoobot.survey.answer_probabilities``) give the latent intervals' coverage.

    python benchmarks/calibration.py                    # 1500 galaxies: 900 train / 150 val / 450 test
    python benchmarks/calibration.py --tiny --out /tmp/c.json   # 120 galaxies, 2 epochs (a smoke test)

Writes ``benchmarks/results/calibration.json`` and prints a Markdown table.
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import platform
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
TASKS = {
    "tree": dict(task="tree", schema="decals_dr5"),
    "classification": dict(task="classification", label_cols=["ring"]),
    "regression": dict(task="regression", label_cols=["bulge_to_total"]),
}


def survey(directory: Path, n: int, size: int, seed: int) -> Path:
    """The survey's catalog path, rendering it once."""
    from zoobot.survey import make_survey

    catalog = directory / "catalog.csv"
    if not catalog.is_file():
        make_survey(n, size, out_dir=directory, seed=seed)
    return catalog


def summary_row(task: str, epochs: int, n_samples: int, report: dict) -> dict:
    """The figures the README table shows."""
    test = report["test"]
    row = {"task": task, "max_epochs": epochs, "n_samples": n_samples}
    if task == "tree":
        for when in ("before", "after"):
            r = test[when]
            row[f"predictive_90_{when}"] = r["predictive"]["90"]["coverage"]
            row[f"predictive_90_pit_{when}"] = r["predictive"]["90"]["pit_coverage"]
            row[f"predictive_90_conservative_{when}"] = r["predictive"]["90"].get("conservative_coverage")
            row[f"predictive_{when}"] = {level: cell["coverage"] for level, cell in r["predictive"].items()}
            row[f"latent_90_{when}"] = r["latent"]["90"]["coverage"] if "latent" in r else None
            row[f"log_likelihood_{when}"] = r["log_likelihood"]
        row["scales"] = {q: round(c, 3) for q, c in report["correction"]["scales"].items()}
        row["significant"] = report["correction"]["significant"]
    elif task == "classification":
        for when in ("before", "after"):
            r = test[when]
            row[f"ece_{when}"] = r["ece"]
            row[f"ece_reference_{when}"] = r["ece_reference"]
            row[f"brier_{when}"] = r["brier"]
            row[f"accuracy_{when}"] = r["accuracy"]
        row["temperature"] = report["correction"]["temperature"]
        row["significant"] = report["correction"]["significant"]
    else:
        row["coverage_after"] = {lvl: c["all"] for lvl, c in test["after"]["coverage"].items()}
        row["coverage_before"] = (
            {lvl: c["all"] for lvl, c in test["before"]["coverage"].items()} if test["before"] else None
        )
        row["residual_scale"] = report["correction"]["scales"]
    return row


def compact(report: dict) -> dict:
    """The report without the validation split, and trees' breakdowns only at 90% (keeps the JSON small)."""
    out = {k: v for k, v in report.items() if k != "validation"}
    if report["task"] == "tree" and report.get("test"):
        out["test"] = {}
        for when, part in report["test"].items():
            part = dict(part)
            for kind in ("predictive", "latent"):
                if kind in part:
                    part[kind] = {
                        level: (
                            cell
                            if level == "90"
                            else {k: v for k, v in cell.items() if k not in ("per_question", "by_volunteers")}
                        )
                        for level, cell in part[kind].items()
                    }
            out["test"][when] = part
    return out


def markdown(rows: list[dict]) -> str:
    """The results as a Markdown table."""

    def pct(x: float | None) -> str:
        return "-" if x is None else f"{100 * x:.1f}%"

    lines = ["| task | epochs | passes | before | after | correction |", "|---|---:|---:|---|---|---|"]
    for r in rows:
        if r["task"] == "tree":
            before, after = (
                f"predictive 90%: {pct(r[f'predictive_90_{when}'])} (conservative "
                f"{pct(r.get(f'predictive_90_conservative_{when}'))}); latent 90%: {pct(r[f'latent_90_{when}'])}"
                for when in ("before", "after")
            )
            corr = "scales " + ", ".join(
                f"{q.removesuffix('-dr5')} {c}{'*' if r['significant'][q] else ''}" for q, c in r["scales"].items()
            )
        elif r["task"] == "classification":
            before = (
                f"ECE {r['ece_before']:.3f} (ref {r['ece_reference_before']['mean']:.3f}, 95% "
                f"{r['ece_reference_before']['q95']:.3f}); Brier {r['brier_before']:.3f}"
            )
            after = (
                f"ECE {r['ece_after']:.3f} (ref {r['ece_reference_after']['mean']:.3f}, 95% "
                f"{r['ece_reference_after']['q95']:.3f}); Brier {r['brier_after']:.3f}"
            )
            corr = f"T = {r['temperature']:.3f}" + ("" if r["significant"] else " (not significant on validation)")
        else:
            before = (
                "-"
                if r["coverage_before"] is None
                else "dropout spread only: " + ", ".join(f"{k}%: {pct(v)}" for k, v in r["coverage_before"].items())
            )
            after = ", ".join(f"{k}%: {pct(v)}" for k, v in r["coverage_after"].items())
            corr = "s = " + ", ".join(f"{v:.4f}" for v in r["residual_scale"].values())
        lines.append(f"| {r['task']} | {r['max_epochs']} | {r['n_samples']} | {before} | {after} | {corr} |")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--survey-dir", type=Path, default=Path("/tmp/zoobot-benchmarks/survey-1500-64-s3"))
    parser.add_argument("--runs-dir", type=Path, default=Path("/tmp/zoobot-benchmarks/calibration-runs"))
    parser.add_argument("--n", type=int, default=1500)
    parser.add_argument("--epochs", type=int, nargs="+", default=[10, 100])
    parser.add_argument("--passes", type=int, nargs="+", default=[1, 20])
    parser.add_argument("--tasks", nargs="+", default=list(TASKS), choices=list(TASKS))
    parser.add_argument("--tiny", action="store_true", help="120 galaxies, 2 epochs, 1 and 3 passes")
    parser.add_argument("--reuse-runs", action="store_true", help="re-measure finished runs without training again")
    parser.add_argument("--out", type=Path, default=REPO / "benchmarks/results/calibration.json")
    args = parser.parse_args()
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    if args.tiny:
        args.n, args.epochs, args.passes = 120, [2], [1, 3]
        args.survey_dir = args.runs_dir / "tiny-survey"

    from zoobot.runs import RunConfig, RunFolder, run_finetune
    from zoobot.trees import get_schema
    from zoobot.uncertainty import calibrate_run

    catalog = survey(args.survey_dir, args.n, 64, 3)
    rows, reports, started = [], {}, time.time()
    for task in args.tasks:
        spec = dict(TASKS[task])
        if task == "tree":
            spec["label_cols"] = list(get_schema("decals_dr5").label_cols)
        for epochs in args.epochs:
            run_dir = args.runs_dir / f"{task}-{epochs}"
            config = RunConfig(
                catalog=str(catalog),
                run_dir=str(run_dir),
                encoder="demo",
                training_mode="head_only",
                max_epochs=epochs,
                train_fraction=0.6,
                val_fraction=0.1,
                test_fraction=0.3,
                num_workers=1,
                **spec,
            )
            t0 = time.time()
            folder = RunFolder(run_dir)
            if args.reuse_runs and folder.has_model() and folder.read_progress().get("status") == "finished":
                status, train_s = "finished (reused)", None
            else:
                status, train_s = run_finetune(config, accelerator="cpu").status, round(time.time() - t0, 1)
            for passes in args.passes:
                report = calibrate_run(run_dir, n_samples=passes, accelerator="cpu", write=passes == args.passes[0])
                reports[f"{task}-{epochs}-{passes}"] = compact(report)
                row = summary_row(task, epochs, passes, report)
                metrics = folder.read_metrics()
                row.update(train_s=train_s, status=status, epochs_run=0 if metrics is None else len(metrics))
                rows.append(row)
                print(markdown([row]).splitlines()[-1], flush=True)
    out = {
        "date": datetime.date.today().isoformat(),
        "machine": {"cpu": platform.processor() or platform.machine(), "cores": os.cpu_count()},
        "survey": {"n": args.n, "size": 64, "seed": 3, "split": "60/10/30"},
        "wall_s": round(time.time() - started),
        "rows": rows,
        "reports": reports,
    }
    for row in rows:
        row["date"] = out["date"]
    if set(args.tasks) != set(TASKS) and args.out.is_file():  # keep the other tasks' earlier rows, dated
        earlier = json.loads(args.out.read_text())
        kept = [r for r in earlier["rows"] if r["task"] not in args.tasks]
        for row in kept:
            row.setdefault("date", earlier["date"])
        out["rows"] = kept + rows
        out["reports"] = {
            **{k: v for k, v in earlier["reports"].items() if k.split("-")[0] not in args.tasks},
            **reports,
        }
        out["note"] = (
            f"{', '.join(args.tasks)} measured {out['date']} ({out['wall_s']} s); the other rows are from their "
            f"own dates. Earlier note: {earlier.get('note', '-')}"
        )
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(out, indent=1, default=float))
    print(markdown(out["rows"]))


if __name__ == "__main__":
    main()
