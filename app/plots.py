"""Plotly figures and small HTML pieces the tabs show. Pure functions of tables and dicts.

Plotly renders titles, tick labels, legends and hover text as (a subset of) HTML: every name from a
catalog or a run goes through ``app.escape.escape_html`` on its way in (Plotly shows the entities as
the characters they stand for)."""

from __future__ import annotations

import html
import math
import textwrap
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
import plotly.graph_objects as go

from app.common import duration_text
from app.escape import escape_html
from zoobot.runs.folder import FEATURES_STAGE
from zoobot.tree_summary import interval_column_names

if TYPE_CHECKING:
    from zoobot.uncertainty.intervals import IntervalKind

_LAYOUT: dict[str, Any] = dict(
    template="plotly_white", margin=dict(l=50, r=20, t=50, b=45), height=360, font=dict(family="system-ui, sans-serif")
)


# Characters per title line: a long column name wraps instead of running off a half-width plot.
_TITLE_WIDTH = 50


def titled_figure(title: str) -> go.Figure:
    """An empty figure in the app's style, ``title`` wrapped to the plot's width (escaped: names come from catalogs)."""
    lines = textwrap.wrap(title, _TITLE_WIDTH) or [""]
    fig = go.Figure()
    fig.update_layout(title="<br>".join(escape_html(line) for line in lines), **_LAYOUT)
    if len(lines) > 1:
        fig.update_layout(margin=dict(_LAYOUT["margin"], t=_LAYOUT["margin"]["t"] + 22 * (len(lines) - 1)))
    return fig


def empty_figure(message: str) -> go.Figure:
    """A blank figure carrying a short message in its middle."""
    fig = titled_figure("")
    fig.add_annotation(
        text=message, showarrow=False, x=0.5, y=0.5, xref="paper", yref="paper", font=dict(size=14, color="#666")
    )
    fig.update_xaxes(visible=False)
    fig.update_yaxes(visible=False)
    return fig


def _epoch_axis(fig: go.Figure, metrics: pd.DataFrame) -> None:
    """Whole-epoch ticks, at most about a dozen of them however long the run."""
    n_epochs = int(metrics["epoch"].max()) + 1 if len(metrics) else 1
    fig.update_xaxes(title="epoch", dtick=max(1, math.ceil(n_epochs / 12)), tick0=1)


def loss_curves(metrics: pd.DataFrame | None) -> go.Figure:
    """Train and validation loss per epoch."""
    if metrics is None or "epoch" not in metrics:
        return empty_figure("The loss curves appear after the first epoch.")
    fig = titled_figure("Loss")
    for column, name in (("train_loss", "train"), ("val_loss", "validation")):
        if column in metrics:
            rows = metrics[["epoch", column]].dropna()
            fig.add_trace(go.Scatter(x=rows["epoch"] + 1, y=rows[column], mode="lines+markers", name=name))
    _epoch_axis(fig, metrics)
    fig.update_yaxes(title="loss")
    return fig


# The task's headline validation metrics, in the words the plot shows.
_HEADLINE_METRICS = {
    "val_accuracy": "validation accuracy",
    "val_f1": "validation F1 score",
    "val_rmse": "validation RMSE",
    "val_mae": "validation mean absolute error",
    "val_r2": "validation R²",
    "val_vote_fraction_mae": "validation vote-fraction error (mean absolute)",
    "val_mean_vote_fraction_mae": "validation vote-fraction error (mean absolute)",
}


def task_metric_columns(metrics: pd.DataFrame) -> list[str]:
    """The task's headline validation metrics (e.g. ``val_accuracy``), not every per-class one."""
    headline = [c for c in _HEADLINE_METRICS if c in metrics.columns]
    if headline:
        return headline
    return [c for c in metrics.columns if c.startswith("val_") and c != "val_loss"][:1]


def metric_name(column: str) -> str:
    """A validation metric's column (``val_rmse``) in plain words (``validation RMSE``)."""
    return _HEADLINE_METRICS.get(column, "validation " + column.removeprefix("val_").replace("_", " "))


def metric_curve(metrics: pd.DataFrame | None) -> go.Figure:
    """The task's validation metric(s) per epoch, named on the title and the y axis."""
    if metrics is None or "epoch" not in metrics or not task_metric_columns(metrics):
        return empty_figure("The validation metric appears after the first epoch.")
    names = list(dict.fromkeys(metric_name(c).removeprefix("validation ") for c in task_metric_columns(metrics)))
    fig = titled_figure(f"Validation {' and '.join(names)} per epoch")
    for column in task_metric_columns(metrics):
        rows = metrics[["epoch", column]].dropna()
        fig.add_trace(
            go.Scatter(
                x=rows["epoch"] + 1,
                y=rows[column],
                mode="lines+markers",
                name=metric_name(column).removeprefix("validation "),
            )
        )
    _epoch_axis(fig, metrics)
    fig.update_yaxes(title="validation " + " / ".join(names))
    return fig


def progress_html(progress: dict[str, Any] | None, queue_position: int | None = None) -> str:
    """A progress bar with the stage, epoch, ETA and device, as HTML."""
    if queue_position is not None:
        return (
            f'<div id="train-progress-text"><b>Waiting in the queue</b>: position {queue_position}. '
            "Training starts when the runs ahead of yours finish.</div>"
        )
    if not progress:
        return '<div id="train-progress-text">No training run yet.</div>'
    status = progress.get("status", "running")
    total = progress.get("total_steps") or 0
    step = progress.get("step") or 0
    fraction = 1.0 if status in ("finished", "stopped") else (min(step / total, 1.0) if total else 0.0)
    colour = {"failed": "#c0392b", "stopped": "#e67e22"}.get(status, "#2e86de")
    eta = progress.get("eta_s")
    eta_text = f" · about {duration_text(eta)} left" if status == "running" and eta else ""
    epoch = progress.get("epoch")
    stage_name = progress.get("stage")
    epoch_text = ""
    if status == "running" and stage_name == "training" and epoch is not None and progress.get("max_epochs"):
        # after the last epoch Lightning's epoch counter is one past the end: never "epoch 11 of 10"
        epoch_text = f" · epoch {min(int(epoch) + 1, int(progress['max_epochs']))} of {progress['max_epochs']}"
    elif status == "running" and stage_name == FEATURES_STAGE and total:
        epoch_text = f" (once, with the frozen encoder) · {int(step)} of {int(total)} galaxies"
    device = progress.get("device")
    device_text = f" · on {html.escape(str(device))}" if device else ""
    stage = html.escape(str(progress.get("stage") or status))
    # A next round started from a previous run's weights says so (progress.json's warm_start).
    warm = progress.get("warm_start")
    warm_text = f" · started from the previous model: {html.escape(str(warm))}" if warm else ""
    return (
        '<div style="border:1px solid #ccc;border-radius:6px;height:14px;overflow:hidden;margin:4px 0">'
        f'<div style="width:{100 * fraction:.1f}%;background:{colour};height:100%"></div></div>'
        f'<div id="train-progress-text"><b>{html.escape(status)}</b>: {stage}{epoch_text}{eta_text}{device_text}'
        f"{warm_text}</div>"
    )


def label_distribution(values: pd.Series, name: str) -> go.Figure:
    """Bar chart (few distinct values) or histogram (many) of one catalog column."""
    values = values.dropna()
    if values.empty:
        return empty_figure(f"Column {name} has no values.")
    fig = titled_figure(f"{name}: {len(values)} labelled galaxies")
    if values.nunique() <= 20:
        counts = values.value_counts().sort_index()
        fig.add_trace(go.Bar(x=[escape_html(v) for v in counts.index], y=counts.to_numpy()))
        fig.update_xaxes(title=escape_html(name), type="category")
    else:
        fig.add_trace(go.Histogram(x=values, nbinsx=30))
        fig.update_xaxes(title=escape_html(name))
    fig.update_yaxes(title="galaxies")
    return fig


def confusion_matrix(matrix: Sequence[Sequence[int]], classes: Sequence[str]) -> go.Figure:
    """Heatmap of the confusion matrix, true classes as rows."""
    values = np.asarray(matrix)
    fig = titled_figure("Confusion matrix (test set)")
    names = [escape_html(c) for c in classes]
    fig.add_trace(
        go.Heatmap(z=values, x=names, y=names, colorscale="Blues", text=values, texttemplate="%{text}", showscale=False)
    )
    fig.update_xaxes(title="predicted", type="category")
    fig.update_yaxes(title="true", type="category", autorange="reversed")
    return fig


def precision_recall(precision: dict[str, float], recall: dict[str, float]) -> go.Figure:
    """Per-class precision and recall as grouped bars."""
    fig = titled_figure("Precision and recall per class (test set)")
    classes = list(precision)
    names = [escape_html(c) for c in classes]
    fig.add_trace(go.Bar(x=names, y=[precision[c] for c in classes], name="precision"))
    fig.add_trace(go.Bar(x=names, y=[recall.get(c, np.nan) for c in classes], name="recall"))
    fig.update_xaxes(type="category", title="class")
    fig.update_yaxes(range=[0, 1.05])
    return fig


def predicted_vs_true(truth: pd.Series, predicted: pd.Series, ids: pd.Series, name: str) -> go.Figure:
    """Scatter of predicted against true values, with the 1:1 line."""
    fig = titled_figure(f"{name}: predicted vs true (test set)")
    fig.add_trace(
        go.Scatter(
            x=truth,
            y=predicted,
            mode="markers",
            text=[escape_html(i) for i in ids],
            name="galaxies",
            hovertemplate="%{text}<br>true %{x:.3g}<br>predicted %{y:.3g}<extra></extra>",
        )
    )
    low, high = float(np.nanmin([truth.min(), predicted.min()])), float(np.nanmax([truth.max(), predicted.max()]))
    fig.add_trace(
        go.Scatter(x=[low, high], y=[low, high], mode="lines", name="1:1", line=dict(dash="dash", color="#888"))
    )
    fig.update_xaxes(title=escape_html(f"true {name}"))
    fig.update_yaxes(title=escape_html(f"predicted {name}"))
    return fig


def question_errors(per_question: dict[str, float]) -> go.Figure:
    """Mean absolute error of the vote fractions, one bar per question."""
    fig = titled_figure("Vote-fraction error per question (test set)")
    fig.add_trace(go.Bar(x=list(per_question.values()), y=[escape_html(q) for q in per_question], orientation="h"))
    fig.update_xaxes(title="mean absolute error of vote fractions")
    fig.update_yaxes(autorange="reversed")
    fig.update_layout(height=max(300, 28 * len(per_question) + 100))
    return fig


def predicted_fractions(row: pd.Series, answers: Sequence[str], true_fractions: Sequence[float] | None) -> go.Figure:
    """One galaxy's predicted vote fractions and the volunteers' observed ones, with two 90% intervals named for
    what they cover: the predictive interval (what its volunteers would answer: the one to compare an observed
    fraction with) and, thinner, the latent one (the fraction of very many volunteers: Zoobot's ``_90pc``)."""
    from zoobot.uncertainty import interval_column

    fig = titled_figure(f"Predicted vote fractions for {row['id_str']}")
    middle = np.array([float(row[f"{a}_fraction"]) for a in answers])
    names = [escape_html(a) for a in answers]
    kinds: list[tuple[str, str, float, float, int, IntervalKind]] = [
        ("90% predictive: what its volunteers would answer", "#2e86de", 9, 3, 8, "predictive"),
        ("90% latent: the fraction of very many volunteers", "#1b4f72", 4, 1.5, 1, "latent"),
    ]
    for name, colour, width, thickness, size, kind in kinds:
        ends = [
            interval_column_names(a)
            if kind == "latent"
            else tuple(interval_column(a, kind, 0.9, e) for e in ("lower", "upper"))
            for a in answers
        ]
        low, high = (np.array([float(row.get(c[i], np.nan)) for c in ends]) for i in (0, 1))
        if np.isnan(low).all():
            continue  # no predictive interval without a number of volunteers
        error = dict(type="data", symmetric=False, array=high - middle, arrayminus=middle - low, width=width)
        fig.add_trace(
            go.Scatter(
                x=middle,
                y=names,
                mode="markers",
                name=name,
                marker=dict(size=size, color=colour),
                error_x=dict(error, thickness=thickness, color=colour),
            )
        )
    if true_fractions is not None:
        fig.add_trace(
            go.Scatter(
                x=list(true_fractions),
                y=names,
                mode="markers",
                name="volunteers (observed)",
                marker=dict(symbol="x", size=9, color="#c0392b"),
            )
        )
    fig.update_xaxes(title="vote fraction", range=[-0.02, 1.02])
    fig.update_yaxes(autorange="reversed")
    legend = dict(orientation="h", yanchor="top", y=-0.18, x=0)
    fig.update_layout(height=max(340, 22 * len(answers) + 160), legend=legend)
    return fig


def umap_scatter(points: pd.DataFrame, colour: str | None, highlight: Sequence[str] = ()) -> go.Figure:
    """The UMAP map: one point per galaxy, coloured by a column; hover shows id and value."""
    fig = titled_figure("Map of the representations (UMAP)")
    hover = "%{text}<extra></extra>"
    if colour and colour in points:
        values = points[colour]
        labels = [
            f"{escape_html(i)}<br>{escape_html(colour)}: {escape_html(v)}"
            for i, v in zip(points["id_str"], values, strict=True)
        ]
        if pd.api.types.is_numeric_dtype(values) and values.nunique() > 12:
            fig.add_trace(
                go.Scattergl(
                    x=points["umap_x"],
                    y=points["umap_y"],
                    mode="markers",
                    text=labels,
                    hovertemplate=hover,
                    showlegend=False,
                    marker=dict(size=6, color=values, colorscale="Viridis", colorbar=dict(title=escape_html(colour))),
                )
            )
        else:
            for value in sorted(values.astype(str).unique()):
                mask = values.astype(str) == value
                fig.add_trace(
                    go.Scattergl(
                        x=points.loc[mask, "umap_x"],
                        y=points.loc[mask, "umap_y"],
                        mode="markers",
                        name=escape_html(value),
                        marker=dict(size=6),
                        text=[t for t, m in zip(labels, mask, strict=True) if m],
                        hovertemplate=hover,
                    )
                )
    else:
        fig.add_trace(
            go.Scattergl(
                x=points["umap_x"],
                y=points["umap_y"],
                mode="markers",
                text=[escape_html(i) for i in points["id_str"]],
                hovertemplate=hover,
                marker=dict(size=6),
                showlegend=False,
            )
        )
    if len(highlight):
        chosen = points[points["id_str"].isin(list(highlight))]
        fig.add_trace(
            go.Scatter(
                x=chosen["umap_x"],
                y=chosen["umap_y"],
                mode="markers",
                name="chosen + neighbours",
                marker=dict(size=12, color="rgba(0,0,0,0)", line=dict(color="red", width=2)),
                text=[escape_html(i) for i in chosen["id_str"]],
                hovertemplate=hover,
            )
        )
    fig.update_layout(height=520, legend=dict(orientation="h", yanchor="top", y=-0.15, x=0))
    fig.update_xaxes(title="UMAP 1")
    fig.update_yaxes(title="UMAP 2")
    return fig
