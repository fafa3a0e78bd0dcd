"""Does choosing what to label beat labelling at random? The active-learning loop, simulated with known truth.

The synthetic survey's own labels are the oracle: the true ``ring`` of each galaxy (a classifier) and
the simulated volunteers' DR5 vote counts (a vote-count tree). Each repetition starts from 50 randomly
chosen labelled galaxies of a pool, and each round retrains the head on the demo encoder's frozen
features (computed once and cached), measures it on a fixed test set, and asks the oracle for 50 more
galaxies chosen by the strategy, up to 400:

- ``random``: 50 more at random;
- ``entropy``: by predictive entropy (mean of 100 samples of the head);
- ``bald``: by the mutual information between the outcome and the head's weights (for the tree: the
  votes of 40 volunteers, summed over questions; ``zoobot.uncertainty.acquisition``).

The 100 samples (``--passes``, as ``suggest_galaxies``' ``n_samples``) come from ``--posterior``:
``laplace``, a last-layer Laplace posterior of the head (``zoobot.uncertainty.laplace``) fitted each
round on the labelled galaxies; ``dropout``, Monte Carlo dropout passes; ``auto`` (the default), what
``suggest_galaxies`` uses by default (Laplace for BALD, dropout for entropy).

Entropy and BALD pick their 50 with ``zoobot.uncertainty.select_batch``: by default (``--selection
top``, as ``suggest_galaxies``) the 50 best scores; ``--selection power`` draws them with chance
proportional to ``score ** --power``, so that a batch does not fill with near-copies. ``--candidates N``
scores only N random galaxies of the pool each round (the tree's BALD over the whole pool costs most of
the run).

The head is the library's (dropout 0.5, then a linear layer; the tree's concentrations are
``1 + 100 * sigmoid``; the Dirichlet-multinomial loss of ``zoobot.losses``) on the encoder's raw
features, trained full-batch with AdamW (learning rate 0.01, weight decay 0.05) for a fixed number of
steps (200) every round, continuing from the previous round's head (as the app's next round does by
default; ``--no-warm-start`` for a fresh head each round, as a new run from the pretrained encoder, or
the next round with "Continue from this run's weights" unticked), so only the choice of
galaxies differs between strategies. Reported per round: test accuracy (ring) and test log-likelihood
and vote-fraction error (tree), mean and standard deviation over repetitions, and how many labels each
strategy needs to match random's score at 400. The tree's vote-fraction error (mean absolute error of
the predicted answer fractions, per question over the galaxies asked it, averaged over questions) is
taken twice: against the fractions the test galaxies' volunteers gave (``vote_fraction_mae``, which
includes the counting noise of a few volunteers no model can predict) and against the fractions many
volunteers would give, the survey generator's exact answer probabilities (``true_fraction_mae``,
``zoobot.survey.catalog_answer_probabilities``).

    python benchmarks/active_learning.py --tasks ring --repetitions 10 --no-warm-start   # about 5 min
    python benchmarks/active_learning.py --tasks tree --candidates 500 --repetitions 10 --no-warm-start  # 25 min
    python benchmarks/active_learning.py --tiny --out /tmp/al.json --plot /tmp/al.png   # seconds

Run for one task, it keeps the other task's results already in ``--out`` (each task's settings, date
and time are under ``runs``).

Writes ``benchmarks/results/active_learning.json`` and ``benchmarks/results/active_learning.png``.
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import platform
import time
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

REPO = Path(__file__).resolve().parent.parent
STRATEGY_ORDER = ("random", "entropy", "bald")
COLOURS = {"random": (120, 120, 120), "entropy": (31, 119, 180), "bald": (214, 39, 40)}


class Head(nn.Module):
    """The finetuning head of ``zoobot.finetune`` on frozen features: dropout, then a linear layer."""

    def __init__(self, dim: int, outputs: int, task: str, dropout: float = 0.5) -> None:
        super().__init__()
        self.task = task
        self.head = nn.Sequential(nn.Dropout(dropout), nn.Linear(dim, outputs))

    def outputs_to_predictions(self, outputs: torch.Tensor) -> torch.Tensor:
        if self.task == "tree":
            return 1.0 + 100.0 * torch.sigmoid(outputs)  # as FinetuneableZoobotTree
        return torch.softmax(outputs, dim=1)

    def default_output_names(self) -> list[str]:
        return [str(i) for i in range(self.head[1].out_features)]


def survey_features(directory: Path, n: int, size: int, seed: int) -> tuple[Any, np.ndarray]:
    """The survey's catalog and the demo encoder's features, each made once and cached in ``directory``."""
    import pandas as pd

    from zoobot.representations import get_representations
    from zoobot.survey import make_survey

    cache = directory / "demo_features.npy"
    if not (directory / "catalog.csv").is_file():
        make_survey(n, size, out_dir=directory, seed=seed)
    catalog = pd.read_csv(directory / "catalog.csv")
    catalog["file_loc"] = [str(directory / loc) for loc in catalog["file_loc"]]
    if cache.is_file():
        features = np.load(cache)
    else:
        table = get_representations(catalog, "demo", batch_size=128, num_workers=1, accelerator="cpu")
        features = table.filter(like="feat_").to_numpy(dtype=np.float32)
        np.save(cache, features)
    if len(features) != len(catalog):
        raise RuntimeError(f"{cache} has {len(features)} rows for {len(catalog)} galaxies; delete it.")
    return catalog, features


def train_head(
    x: torch.Tensor, y: torch.Tensor, task: str, loss_fn: Any, steps: int, seed: int, start: Head | None = None
) -> Head:
    """A head fitted to the labelled galaxies (full batch, AdamW at the library's head-only defaults),
    fresh or continuing from ``start``'s weights (the previous round's head)."""
    torch.manual_seed(seed)
    outputs = y.shape[1] if task == "tree" else 2
    head = Head(x.shape[1], outputs, task)
    if start is not None:
        head.load_state_dict(start.state_dict())
    optimiser = torch.optim.AdamW(head.parameters(), lr=1e-2, weight_decay=0.05)
    head.train()
    for _ in range(steps):
        optimiser.zero_grad()
        out = head.head(x)
        loss = (
            loss_fn(head.outputs_to_predictions(out), y).mean()
            if task == "tree"
            else nn.functional.cross_entropy(out, y)
        )
        loss.backward()
        optimiser.step()
    return head.eval()


def evaluate(
    head: Head,
    x: torch.Tensor,
    y: torch.Tensor,
    task: str,
    loss_fn: Any,
    groups: list[tuple[int, int]],
    truth: torch.Tensor | None = None,
) -> dict[str, float]:
    """Test metrics of one deterministic pass; for the tree, the vote-fraction error against the volunteers'
    observed fractions and, with ``truth`` (the survey's exact answer probabilities), against those."""
    with torch.no_grad():
        predictions = head.outputs_to_predictions(head.head(x))
    if task != "tree":
        with torch.no_grad():
            log_loss = nn.functional.cross_entropy(head.head(x), y)  # from the logits: finite when sure
        return {"accuracy": float((predictions.argmax(1) == y).float().mean()), "log_loss": float(log_loss)}
    nll = float(loss_fn(predictions, y).mean())
    errors: list[torch.Tensor] = []
    true_errors: list[torch.Tensor] = []
    for start, end in groups:
        counts, conc = y[:, start : end + 1], predictions[:, start : end + 1]
        total = counts.sum(1, keepdim=True)
        asked = total[:, 0] > 0  # both errors over the galaxies whose volunteers were asked the question
        fractions = conc / conc.sum(1, keepdim=True)
        errors.append((fractions - counts / total.clamp(min=1)).abs().mean(1)[asked].mean())
        if truth is not None:
            true_errors.append((fractions - truth[:, start : end + 1]).abs().mean(1)[asked].mean())
    metrics = {"log_likelihood": -nll, "vote_fraction_mae": float(torch.stack(errors).mean())}
    if truth is not None:
        metrics["true_fraction_mae"] = float(torch.stack(true_errors).mean())
    return metrics


def run_loop(task: str, strategy: str, repetition: int, data: dict[str, Any], args: argparse.Namespace) -> list[dict]:
    """One repetition of the loop for one strategy: a metrics dict per round."""
    from zoobot.uncertainty import acquisition_scores, fit_laplace, head_samples, laplace_samples, select_batch

    rng = np.random.default_rng([args.seed, repetition])
    pool = data["pool"]
    labelled = list(rng.choice(pool, args.start, replace=False))  # the same start for every strategy
    history: list[dict] = []
    head = None
    while True:
        index = torch.as_tensor(np.array(labelled))
        start = head if args.warm_start else None
        head = train_head(data["x"][index], data["y"][index], task, data["loss"], args.steps, repetition, start)
        metrics = evaluate(
            head, data["x_test"], data["y_test"], task, data["loss"], data["groups"], data.get("truth_test")
        )
        history.append({"labels": len(labelled), **metrics})
        if len(labelled) >= args.stop:
            return history
        remaining = np.setdiff1d(pool, labelled)
        if strategy == "random":
            labelled += list(remaining[np.argsort(-rng.random(len(remaining)), kind="stable")[: args.step]])
            continue
        if args.candidates and args.candidates < len(remaining):  # score a random part of the pool
            remaining = np.sort(rng.choice(remaining, args.candidates, replace=False))
        round_seed = 1000 * repetition + len(labelled)
        kind = "tree" if task == "tree" else "classification"
        candidates = data["x"][torch.as_tensor(remaining)].numpy()
        if posterior_of(strategy, args) == "laplace":  # fitted on this round's labelled galaxies
            laplace = fit_laplace(head, data["x"][index].numpy(), data["y"][index].numpy(), kind, data["schema"])
            samples = laplace_samples(head, laplace, candidates, args.passes, seed=round_seed)
        else:
            samples = head_samples(head, candidates, args.passes, seed=round_seed)
        scores, _ = acquisition_scores(
            samples, kind, strategy, data.get("schema"), n_volunteers=args.volunteers, seed=repetition
        )
        labelled += list(remaining[select_batch(scores, args.step, args.selection, args.power, seed=round_seed)])


def posterior_of(strategy: str, args: argparse.Namespace) -> str:
    """Where a strategy's samples come from: ``--posterior``, or the library's default for it (``auto``)."""
    from zoobot.active_learning import default_posterior

    return default_posterior(strategy, None if args.posterior == "auto" else args.posterior)


def labels_to_match(labels: list[int], means: list[float], target: float, higher_is_better: bool) -> float | None:
    """Fewest labels at which the mean curve reaches ``target`` (linear between rounds); None if it never does."""
    sign = 1 if higher_is_better else -1
    for i, (count, value) in enumerate(zip(labels, means, strict=True)):
        if sign * (value - target) >= 0:
            if i == 0:
                return float(count)
            previous_count, previous = labels[i - 1], means[i - 1]
            return float(previous_count + (count - previous_count) * (target - previous) / (value - previous))
    return None


def summarise(task: str, histories: dict[str, list[list[dict]]], metric: str, higher: bool) -> dict[str, Any]:
    """Mean and spread per round, and the labels each strategy needs to match random at the last round."""
    out: dict[str, Any] = {"metric": metric, "higher_is_better": higher, "strategies": {}}
    for strategy, runs in histories.items():
        labels = [h["labels"] for h in runs[0]]
        values = np.array([[h[metric] for h in run] for run in runs])
        out["strategies"][strategy] = {
            "labels": labels,
            "mean": values.mean(0).tolist(),
            "std": values.std(0).tolist(),
            "runs": values.tolist(),
        }
    if "random" in out["strategies"]:
        target = out["strategies"]["random"]["mean"][-1]
        out["random_at_last_round"] = target
        for result in out["strategies"].values():
            result["labels_to_match_random"] = labels_to_match(result["labels"], result["mean"], target, higher)
    return out


def plot(panels: list[dict[str, Any]], path: Path) -> None:
    """Learning curves, one panel per task and metric, drawn with Pillow (no plotting library needed)."""
    from PIL import Image, ImageDraw, ImageFont

    width, height, margin = 560, 400, 70
    image = Image.new("RGB", (width * len(panels), height + 40), "white")
    draw = ImageDraw.Draw(image)
    font, small = ImageFont.load_default(size=15), ImageFont.load_default(size=12)
    for p, panel in enumerate(panels):
        x0 = p * width
        series = panel["strategies"]
        labels = series[next(iter(series))]["labels"]
        lows = [min(m - s for m, s in zip(r["mean"], r["std"], strict=True)) for r in series.values()]
        highs = [max(m + s for m, s in zip(r["mean"], r["std"], strict=True)) for r in series.values()]
        y_min, y_max = min(lows), max(highs)
        pad = 0.05 * (y_max - y_min or 1)
        y_min, y_max = y_min - pad, y_max + pad

        def to_xy(
            count: float, value: float, x0: int = x0, y_min: float = y_min, y_max: float = y_max, labels: list = labels
        ) -> tuple:
            fx = (count - labels[0]) / ((labels[-1] - labels[0]) or 1)
            fy = (value - y_min) / ((y_max - y_min) or 1)
            return x0 + margin + fx * (width - margin - 20), 40 + (1 - fy) * (height - margin)

        draw.text((x0 + margin, 10), panel["title"], fill="black", font=font)
        draw.rectangle([to_xy(labels[0], y_max), to_xy(labels[-1], y_min)], outline=(180, 180, 180))
        for tick in labels:
            x, y = to_xy(tick, y_min)
            draw.text((x - 10, y + 6), str(tick), fill="black", font=small)
        for k in range(5):
            value = y_min + (y_max - y_min) * k / 4
            x, y = to_xy(labels[0], value)
            draw.text((x - 60, y - 7), f"{value:.3g}", fill="black", font=small)
        draw.text((x0 + width / 2 - 40, height + 18), "labelled galaxies", fill="black", font=small)
        if "random_at_last_round" in panel:  # dashed: random's score at the last round, the level to reach
            (left, level), (right, _) = to_xy(labels[0], panel["random_at_last_round"]), to_xy(labels[-1], y_min)
            for start in np.arange(left, right, 12):
                draw.line([(start, level), (min(start + 6, right), level)], fill=(150, 150, 150), width=1)
        for i, (name, result) in enumerate((k, series[k]) for k in STRATEGY_ORDER if k in series):
            colour = COLOURS[name]
            points = [to_xy(c, m) for c, m in zip(result["labels"], result["mean"], strict=True)]
            draw.line(points, fill=colour, width=3)
            for c, m, s in zip(result["labels"], result["mean"], result["std"], strict=True):
                draw.line([to_xy(c, m - s), to_xy(c, m + s)], fill=colour, width=1)
            # the legend sits in the corner the curves leave empty: bottom right when they rise
            legend_y = height - margin + 40 - 18 * (len(series) - i) - 8 if panel["higher_is_better"] else 45 + 18 * i
            draw.text((x0 + width - 110, legend_y), name, fill=colour, font=font)
    image.save(path)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--survey-dir", type=Path, default=Path("/tmp/zoobot-benchmarks/al-survey-3000-64-s4"))
    parser.add_argument("--n", type=int, default=3000, help="galaxies; the last --test are the test set")
    parser.add_argument("--test", type=int, default=1000)
    parser.add_argument("--repetitions", type=int, default=5)
    parser.add_argument("--start", type=int, default=50)
    parser.add_argument("--step", type=int, default=50)
    parser.add_argument("--stop", type=int, default=400)
    parser.add_argument("--passes", type=int, default=100, help="samples per galaxy (dropout passes or Laplace draws)")
    parser.add_argument(
        "--posterior",
        choices=["auto", "laplace", "dropout"],
        default="auto",
        help="entropy and BALD sample a last-layer Laplace posterior or Monte Carlo dropout "
        "(auto: the library's default, Laplace for BALD and dropout for entropy)",
    )
    parser.add_argument("--steps", type=int, default=200, help="optimiser steps per retraining")
    parser.add_argument(
        "--selection",
        choices=["top", "power"],
        default="top",
        help="entropy and BALD: the top 50 scores (the default), or 50 drawn with chance proportional to the score",
    )
    parser.add_argument(
        "--power",
        type=float,
        default=1.0,
        help="--selection power: draw with chance proportional to score ** power (larger is nearer the top scores)",
    )
    parser.add_argument(
        "--warm-start",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="each round's head continues from the previous round's (--no-warm-start: a fresh head)",
    )
    parser.add_argument(
        "--candidates", type=int, default=0, help="entropy and BALD score this many random pool galaxies (0: all)"
    )
    parser.add_argument(
        "--volunteers",
        type=float,
        default=40,
        help="the tree's entropy and BALD: volunteers who would classify each galaxy (as suggest's --n-volunteers)",
    )
    parser.add_argument("--strategies", nargs="+", default=list(STRATEGY_ORDER), choices=STRATEGY_ORDER)
    parser.add_argument("--tasks", nargs="+", default=["ring", "tree"], choices=["ring", "tree"])
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--tiny", action="store_true", help="160 galaxies, 2 repetitions, 20 -> 60 labels")
    parser.add_argument("--out", type=Path, default=REPO / "benchmarks/results/active_learning.json")
    parser.add_argument("--plot", type=Path, default=REPO / "benchmarks/results/active_learning.png")
    parser.add_argument("--plot-only", action="store_true", help="redraw the plot from the JSON at --out")
    args = parser.parse_args()
    if args.plot_only:
        results = json.loads(args.out.read_text())["results"]
        plot(panels_of(results), args.plot)
        print(table(results))
        return
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    if args.tiny:
        args.n, args.test, args.repetitions, args.start, args.step, args.stop = 160, 60, 2, 20, 20, 60
        args.passes, args.steps = 4, 30
        args.survey_dir = args.out.parent / "tiny-al-survey"
    torch.set_num_threads(1)

    from zoobot.losses import CustomMultiQuestionLoss
    from zoobot.survey import catalog_answer_probabilities
    from zoobot.trees import get_schema

    started, load_start = time.time(), os.getloadavg()
    catalog, features = survey_features(args.survey_dir, args.n, 64, 4)
    x = torch.as_tensor(np.array(features, dtype=np.float32))
    n_pool = len(catalog) - args.test
    schema = get_schema("decals_dr5")
    results: dict[str, Any] = {}
    for task in args.tasks:
        if task == "ring":
            y = torch.as_tensor(catalog["ring"].to_numpy(dtype=np.int64))
            metrics = [("accuracy", True)]
        else:
            y = torch.as_tensor(catalog[list(schema.label_cols)].to_numpy(dtype=np.float32))
            metrics = [("log_likelihood", True), ("vote_fraction_mae", False), ("true_fraction_mae", False)]
        groups = [tuple(g) for g in schema.question_index_groups]
        data = {
            "x": x[:n_pool],
            "y": y[:n_pool],
            "x_test": x[n_pool:],
            "y_test": y[n_pool:],
            "pool": np.arange(n_pool),
            "loss": CustomMultiQuestionLoss(groups),
            "groups": groups,
            "schema": schema,
        }
        if task == "tree":  # the fractions many volunteers would give: the generator's exact probabilities
            truth = catalog_answer_probabilities(catalog.iloc[n_pool:], schema)[list(schema.label_cols)]
            data["truth_test"] = torch.tensor(truth.to_numpy(dtype=np.float32))
        histories: dict[str, list] = {s: [] for s in args.strategies}
        for repetition in range(args.repetitions):
            for strategy in args.strategies:
                t0 = time.time()
                histories[strategy].append(run_loop(task, strategy, repetition, data, args))
                last = histories[strategy][-1][-1]
                print(f"{task} {strategy} repetition {repetition}: {last} ({time.time() - t0:.1f} s)", flush=True)
        results[task] = {}
        for metric, higher in metrics:
            results[task][metric] = summarise(task, histories, metric, higher)
            for strategy, result in results[task][metric]["strategies"].items():
                result["posterior"] = None if strategy == "random" else posterior_of(strategy, args)
    out = {
        "date": datetime.date.today().isoformat(),
        "started_utc": datetime.datetime.fromtimestamp(started, datetime.timezone.utc).strftime("%Y-%m-%d %H:%M"),
        "machine": {"cpu": platform.processor() or platform.machine(), "cores": os.cpu_count()},
        "settings": {k: str(v) if isinstance(v, Path) else v for k, v in vars(args).items()},
        "wall_s": round(time.time() - started),
        "load_average_1min": {"start": round(load_start[0], 2), "end": round(os.getloadavg()[0], 2)},
        "results": results,
    }
    if set(args.tasks) != {"ring", "tree"} and args.out.is_file():  # keep the other task's earlier results
        earlier = json.loads(args.out.read_text())
        others = {k: v for k, v in earlier["results"].items() if k not in args.tasks}
        runs = {k: v for k, v in earlier.get("runs", {}).items() if k not in args.tasks}
        if not runs and others:  # a file from one run of every task
            runs = {k: {key: earlier[key] for key in ("date", "settings", "wall_s") if key in earlier} for k in others}
        out["results"] = {**others, **results}
        out["runs"] = {
            **runs,
            **{
                task: {k: out[k] for k in ("date", "started_utc", "settings", "wall_s", "load_average_1min")}
                for task in args.tasks
            },
        }
        results = out["results"]
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(out, indent=1))
    plot(panels_of(results), args.plot)
    print(table(results))


TITLES = {
    "accuracy": "test accuracy",
    "log_likelihood": "test log-likelihood per galaxy",
    "vote_fraction_mae": "test vote-fraction error (observed)",
    "true_fraction_mae": "test vote-fraction error (true)",
}


def panels_of(results: dict[str, Any]) -> list[dict[str, Any]]:
    """One plot panel per task and metric."""
    return [
        {"title": f"{task}: {TITLES[metric]}", **result}
        for task, metrics in results.items()
        for metric, result in metrics.items()
    ]


def table(results: dict[str, Any]) -> str:
    """Markdown: each metric at the first and last round, and the labels needed to match random."""
    lines = [
        "| task | metric | strategy | at start | at the end | labels to match random's end |",
        "|---|---|---|---:|---:|---:|",
    ]
    for task, metrics in results.items():
        for metric, result in metrics.items():
            for strategy, r in result["strategies"].items():
                need = r.get("labels_to_match_random")
                need_text = "-" if need is None else f"{need:.0f}"
                if need is None:
                    need_text = f"> {r['labels'][-1]}"
                lines.append(
                    f"| {task} | {metric} | {strategy} | {r['mean'][0]:.4f} ± {r['std'][0]:.4f} | "
                    f"{r['mean'][-1]:.4f} ± {r['std'][-1]:.4f} | {need_text} |"
                )
    return "\n".join(lines)


if __name__ == "__main__":
    main()
