"""Figures and words for a run's calibration report (``calibration.json``, :mod:`zoobot.uncertainty.report`).

Pure functions of the report dict: :func:`calibration_view` returns a short summary in Markdown and
two Plotly figures for the run's task, on the split the report was made on (the test split, else the
validation split), before and after the correction the run fitted on its validation galaxies.

- trees: how often the predictive 50/80/90% intervals hold the volunteers' observed vote fraction,
  per question, and by number of volunteers before and after the correction;
- classifiers: the reliability diagram, and the expected calibration error (ECE) beside what a
  perfectly calibrated model would show from noise alone, and the Brier score;
- regressors: how often the predictive intervals hold the true value, and how wide they are.
"""

from __future__ import annotations

import math
from typing import Any

import plotly.graph_objects as go

from app.escape import escape_html, escape_md
from app.plots import empty_figure, titled_figure

_LEVEL_COLOURS = {"50": "#9ecae1", "80": "#4292c6", "90": "#08519c"}
_BEFORE = dict(dash="dot", color="#aaaaaa")


def _pct(value: Any) -> str:
    return "–" if value is None else f"{100 * value:.0f}%"


def _split(report: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    """The split the report describes (test, else validation) and its ``{'before', 'after'}``."""
    for name in ("test", "validation"):
        if report.get(name):
            return name, report[name]
    return "test", {}


def _levels(report: dict[str, Any]) -> list[str]:
    return [f"{level * 100:g}" for level in report.get("levels", (0.5, 0.8, 0.9))]


def _nominal_lines(fig: go.Figure, levels: list[str], axis: str = "x") -> None:
    """A dashed line at each level: where a calibrated model's coverage lies."""
    for key in levels:
        colour = _LEVEL_COLOURS.get(key, "#666")
        line = dict(dash="dash", color=colour, width=1)
        if axis == "x":
            fig.add_vline(x=float(key) / 100, line=line)
        else:
            fig.add_hline(y=float(key) / 100, line=line)


# --- trees -----------------------------------------------------------------------------------


def tree_per_question(report: dict[str, Any]) -> go.Figure:
    """Per question, how often each predictive interval holds the observed vote fraction (after the correction)."""
    split, part = _split(report)
    after = (part or {}).get("after")
    if not after:
        return empty_figure("No held-out galaxies to measure on.")
    levels = _levels(report)
    questions = list(after["predictive"][levels[-1]]["per_question"])
    fig = titled_figure(f"Predictive intervals per question ({split} split)")
    for key in levels:
        cells = after["predictive"][key]["per_question"]
        fig.add_trace(
            go.Bar(
                y=[escape_html(q) for q in questions],
                x=[cells[q].get("pit_coverage") for q in questions],
                customdata=[[_pct(cells[q]["coverage"]), cells[q]["n_pairs"]] for q in questions],
                orientation="h",
                name=f"{key}% interval",
                marker_color=_LEVEL_COLOURS.get(key),
                hovertemplate="%{y}<br>held %{x:.0%} on average (the table's intervals: %{customdata[0]})<br>"
                "%{customdata[1]} galaxy-answer pairs<extra>" + f"{key}% interval</extra>",
            )
        )
    _nominal_lines(fig, levels)
    fig.update_xaxes(title="share of observed fractions inside (dashed: calibrated)", range=[0, 1.02])
    fig.update_yaxes(autorange="reversed")
    fig.update_layout(
        barmode="group",
        height=max(340, 40 * len(questions) + 140),
        legend=dict(orientation="h", yanchor="top", y=-0.18, x=0),
    )
    return fig


def tree_by_volunteers(report: dict[str, Any]) -> go.Figure:
    """How often each predictive interval holds the observed fraction, by number of volunteers, before
    (dotted) and after (solid) the correction."""
    split, part = _split(report)
    if not part or not part.get("after"):
        return empty_figure("No held-out galaxies to measure on.")
    fig = titled_figure(f"By number of volunteers, before and after the correction ({split} split)")
    for key in _levels(report):
        for when in ("before", "after"):
            cells = (part.get(when) or {}).get("predictive", {}).get(key, {}).get("by_volunteers", {})
            bins = [b for b, cell in cells.items() if cell.get("n_pairs")]
            if not bins:
                continue
            fig.add_trace(
                go.Scatter(
                    x=bins,
                    y=[cells[b].get("pit_coverage") for b in bins],
                    customdata=[cells[b]["n_pairs"] for b in bins],
                    mode="lines+markers",
                    name=f"{key}% {when}",
                    line=dict(color=_LEVEL_COLOURS.get(key), dash="solid" if when == "after" else "dot"),
                    hovertemplate="%{x} volunteers: %{y:.0%} held<br>%{customdata} pairs<extra>"
                    + f"{key}% {when}</extra>",
                )
            )
    _nominal_lines(fig, _levels(report), axis="y")
    fig.update_xaxes(title="volunteers who answered the question", type="category")
    fig.update_yaxes(title="share inside (dashed: calibrated)", range=[0, 1.02])
    fig.update_layout(legend=dict(orientation="h", yanchor="top", y=-0.2, x=0))
    return fig


def _tree_summary(report: dict[str, Any], split: str, part: dict[str, Any]) -> str:
    before, after = part.get("before") or {}, part.get("after") or {}
    top = _levels(report)[-1]
    lines = [
        f"The **{top}% predictive interval** of a galaxy's answer is where the vote fraction of *the volunteers "
        "who answered it* would fall (few volunteers scatter widely, so it can reach 0 or 1): it is the one "
        "to compare with an observed vote fraction. The **latent interval** (Zoobot's `_90pc` columns) is "
        "narrower: where the fraction of very many volunteers would lie.",
        "",
        f"On the {split} split, the {top}% predictive intervals of the predictions table held "
        f"**{_pct(before.get('predictive', {}).get(top, {}).get('coverage'))}** of observed fractions "
        f"before the correction and **{_pct(after.get('predictive', {}).get(top, {}).get('coverage'))}** "
        f"after (a calibrated model: {top}%, at any number of volunteers; `zoobot calibrate` prints the same). "
        "The plots show what such intervals hold on average over the random draw that sets their ends "
        f"(after: {_pct(after.get('predictive', {}).get(top, {}).get('pit_coverage'))}), which scatters less "
        "on a small split.",
    ]
    if "latent" in after:
        lines[-1] += (
            f" Latent {top}% intervals held the true fractions (known for the synthetic survey) "
            f"{_pct(before.get('latent', {}).get(top, {}).get('coverage'))} → "
            f"**{_pct(after['latent'].get(top, {}).get('coverage'))}**."
        )
    scales = report.get("correction", {}).get("scales", {})
    changed = [q for q, significant in report.get("correction", {}).get("significant", {}).items() if significant]
    if scales:
        lines.append(
            "\nThe correction scales each question's concentrations (the predicted fractions stay, the intervals "
            f"widen below 1 or narrow above it): {', '.join(f'{escape_md(q)} {s:.2f}' for q, s in scales.items())}."
            + (f" Validation alone showed {len(changed)} of them miscalibrated." if changed else "")
        )
    return "\n".join(lines)


# --- classifiers -----------------------------------------------------------------------------


def reliability(report: dict[str, Any]) -> go.Figure:
    """The reliability diagram before (dotted) and after (solid) the correction: accuracy against confidence."""
    split, part = _split(report)
    if not part or not part.get("after"):
        return empty_figure("No held-out galaxies to measure on.")
    fig = titled_figure(f"Reliability diagram ({split} split)")
    fig.add_trace(go.Scatter(x=[0, 1], y=[0, 1], mode="lines", name="calibrated", line=dict(dash="dash", color="#888")))
    for when in ("before", "after"):
        cells = (part.get(when) or {}).get("reliability")
        if not cells:
            continue
        keep = [i for i, count in enumerate(cells["count"]) if count]
        fig.add_trace(
            go.Scatter(
                x=[cells["confidence"][i] for i in keep],
                y=[cells["accuracy"][i] for i in keep],
                customdata=[cells["count"][i] for i in keep],
                mode="lines+markers",
                name=f"{when} the correction",
                line=dict(color="#2e86de") if when == "after" else _BEFORE,
                hovertemplate="confidence %{x:.2f}<br>right %{y:.0%} of the time<br>%{customdata} galaxies"
                f"<extra>{when}</extra>",
            )
        )
    fig.update_xaxes(title="confidence (probability of the predicted class)", range=[0, 1.02])
    fig.update_yaxes(title="share predicted right", range=[0, 1.02])
    fig.update_layout(legend=dict(orientation="h", yanchor="top", y=-0.2, x=0))
    return fig


def classifier_scores(report: dict[str, Any]) -> go.Figure:
    """ECE and Brier score before and after the correction, with the ECE a calibrated model would show
    from noise alone (its mean, and the shaded range up to its 95th percentile)."""
    split, part = _split(report)
    after = (part or {}).get("after")
    if not after:
        return empty_figure("No held-out galaxies to measure on.")
    fig = titled_figure(f"Calibration error and Brier score ({split} split)")
    for when in ("before", "after"):
        scores = part.get(when) or {}
        fig.add_trace(
            go.Bar(
                x=["calibration error (ECE)", "Brier score"],
                y=[scores.get("ece"), scores.get("brier")],
                name=f"{when} the correction",
                marker_color="#2e86de" if when == "after" else "#bbbbbb",
                texttemplate="%{y:.3f}",
                textposition="outside",
            )
        )
    reference = after["ece_reference"]
    band = "rgba(46,204,113,0.22)"
    fig.add_shape(
        type="rect", xref="x", x0=-0.45, x1=0.45, y0=0, y1=reference["q95"], fillcolor=band, line_width=0, layer="below"
    )
    # The band's legend entry: what a calibrated model's ECE would be on as many galaxies, from noise alone.
    fig.add_trace(
        go.Scatter(
            x=[None],
            y=[None],
            mode="markers",
            marker=dict(symbol="square", size=12, color=band),
            name=f"a calibrated model's ECE here: up to {reference['q95']:.3f}",
        )
    )
    fig.update_xaxes(type="category")
    values = [v for when in ("before", "after") for v in ((part.get(when) or {}).get(k) for k in ("ece", "brier"))]
    top = max([reference["q95"], *(float(v) for v in values if v is not None and math.isfinite(v))])
    # Headroom for the numbers written above the bars (plotly clips text outside the axis range).
    fig.update_yaxes(title="lower is better", range=[0, 1.2 * top if top > 0 else 1])
    fig.update_layout(barmode="group", legend=dict(orientation="h", yanchor="top", y=-0.15, x=0))
    return fig


def _classifier_summary(report: dict[str, Any], split: str, part: dict[str, Any]) -> str:
    before, after = part.get("before") or {}, part.get("after") or {}
    reference = after.get("ece_reference", {})
    temperature = report.get("correction", {}).get("temperature")
    verdict = (
        "within what a calibrated model shows from noise alone"
        if after.get("ece_within_reference")
        else "more than a calibrated model shows from noise alone: read the probabilities with care"
    )
    text = (
        f"A classifier is calibrated when, of the galaxies it gives 80%, about 80% are right. On the {split} "
        f"split ({after.get('n', '?')} galaxies) the expected calibration error (ECE) is "
        f"**{before.get('ece', float('nan')):.3f} → {after.get('ece', float('nan')):.3f}** with the correction, "
        f"{verdict} (a calibrated model: {reference.get('mean', float('nan')):.3f} on average, up to "
        f"{reference.get('q95', float('nan')):.3f}). Brier score {before.get('brier', float('nan')):.3f} → "
        f"{after.get('brier', float('nan')):.3f}."
    )
    if temperature is not None:
        direction = "sharpens" if temperature < 1 else "softens"
        text += f" The correction is a temperature of {temperature:.2f}: it {direction} the probabilities."
        span, n = report["correction"].get("temperature_range"), report["correction"].get("n_fitted")
        if span and n is not None:
            text += (
                f" The {n} validation galaxies it was fitted on allow anything from {span[0]:.2f} to {span[1]:.2f}"
                " (95%); with few of them, check that it helps on the test split above before relying on it."
            )
    return text


# --- regressors ------------------------------------------------------------------------------


def regressor_coverage(report: dict[str, Any]) -> go.Figure:
    """How often the predictive intervals hold the true value, per level, before and after the correction."""
    split, part = _split(report)
    if not part or not part.get("after"):
        return empty_figure("No held-out galaxies to measure on.")
    levels = _levels(report)
    fig = titled_figure(f"Predictive intervals hold the true value ({split} split)")
    for when in ("before", "after"):
        coverage = (part.get(when) or {}).get("coverage")
        if not coverage:
            continue
        fig.add_trace(
            go.Bar(
                x=[f"{key}% interval" for key in levels],
                y=[coverage.get(key, {}).get("all") for key in levels],
                name="after the correction" if when == "after" else "before (Monte Carlo spread alone)",
                marker_color="#2e86de" if when == "after" else "#bbbbbb",
                texttemplate="%{y:.0%}",
                textposition="outside",
            )
        )
    fig.add_trace(
        go.Scatter(
            x=[f"{key}% interval" for key in levels],
            y=[float(key) / 100 for key in levels],
            mode="markers",
            name="a calibrated model",
            marker=dict(symbol="line-ew-open", size=40, color="#1e8449", line=dict(width=2)),
        )
    )
    fig.update_xaxes(type="category")
    fig.update_yaxes(title="share of galaxies inside", range=[0, 1.1])
    fig.update_layout(barmode="group", legend=dict(orientation="h", yanchor="top", y=-0.15, x=0))
    return fig


def regressor_widths(report: dict[str, Any]) -> go.Figure:
    """How wide the corrected predictive intervals are on average, per target and level."""
    split, part = _split(report)
    widths = ((part or {}).get("after") or {}).get("mean_width")
    if not widths:
        return empty_figure("No held-out galaxies to measure on.")
    fig = titled_figure(f"Mean width of the predictive intervals ({split} split)")
    levels = _levels(report)
    targets = list(widths[levels[0]])
    for key in levels:
        fig.add_trace(
            go.Bar(
                x=[escape_html(t) for t in targets],
                y=[widths[key][t] for t in targets],
                name=f"{key}% interval",
                marker_color=_LEVEL_COLOURS.get(key),
            )
        )
    fig.update_xaxes(type="category", title="target")
    fig.update_yaxes(title="interval width (target's units)", rangemode="tozero")
    fig.update_layout(barmode="group", legend=dict(orientation="h", yanchor="top", y=-0.15, x=0))
    return fig


def _regressor_summary(report: dict[str, Any], split: str, part: dict[str, Any]) -> str:
    after = part.get("after") or {}
    held = ", ".join(
        f"{key}% intervals {_pct(after.get('coverage', {}).get(key, {}).get('all'))}" for key in _levels(report)
    )
    return (
        f"A regressor's predictive interval is the prediction ± a width fitted on the validation galaxies (the "
        f"scatter the model cannot explain, plus the spread of Monte Carlo passes when there are several). "
        f"On the {split} split they held the true value: {held} (a calibrated model: the level itself)."
    )


_VIEWS = {
    "tree": (_tree_summary, tree_per_question, tree_by_volunteers),
    "classification": (_classifier_summary, reliability, classifier_scores),
    "regression": (_regressor_summary, regressor_coverage, regressor_widths),
}


def calibration_view(report: dict[str, Any] | None) -> tuple[str, go.Figure, go.Figure]:
    """A run's calibration report as a Markdown summary and two figures (see the module docstring)."""
    if not report or report.get("task") not in _VIEWS:
        empty = empty_figure("No calibration report.")
        return (
            "This run has no calibration report (runs write one when they finish, if they have validation "
            "galaxies). `zoobot calibrate --model RUN` measures it for a finished run.",
            empty,
            empty,
        )
    split, part = _split(report)
    summary, first, second = _VIEWS[report["task"]]
    passes = report.get("n_samples", 1)
    text = summary(report, split, part) + (
        f"\n\n*Measured with {passes} Monte Carlo dropout passes per galaxy; the correction was fitted on "
        f"{report.get('n_val', '?')} validation galaxies and is applied to this run's predictions.*"
        if passes > 1
        else f"\n\n*The correction was fitted on {report.get('n_val', '?')} validation galaxies and is applied "
        "to this run's predictions.*"
    )
    return text, first(report), second(report)
