"""The decision tree drawn: one node per question (its answers on hover), an arrow from the answer that
leads to each follow-up question, rows by depth in an order where arrows never cross."""

from __future__ import annotations

import html
from typing import Any

import plotly.graph_objects as go

from app.plots import titled_figure


def schema_tree(schema: Any) -> go.Figure:
    """Draw a decision tree: one box per question (with its answers), arrows from the answer
    that leads to each follow-up question."""
    questions = list(schema.questions)
    parent_of = {q.text: q.asked_after.question.text if q.asked_after is not None else None for q in questions}
    depth: dict[str, int] = {}
    for q in questions:  # questions come parents first
        parent = parent_of[q.text]
        depth[q.text] = depth[parent] + 1 if parent in depth else 0
    rows: dict[int, list[str]] = {}
    for q in questions:
        rows.setdefault(depth[q.text], []).append(q.text)
    # Each row in its parents' order (then the schema's): every question has one parent in the row
    # above, so arrows between rows never cross.
    for level in sorted(rows)[1:]:
        above = {name: i for i, name in enumerate(rows[level - 1])}
        rows[level].sort(key=lambda name: above.get(parent_of[name] or "", -1))
    pos = {}
    for level, names in rows.items():
        for i, name in enumerate(names):
            pos[name] = ((i + 1) / (len(names) + 1), -level)
    fig = titled_figure(f"Decision tree: {len(questions)} questions, {len(schema.label_cols)} answers")
    for q in questions:
        if q.asked_after is None:
            continue
        (x0, y0), (x1, y1) = pos[q.asked_after.question.text], pos[q.text]
        fig.add_annotation(
            x=x1,
            y=y1 + 0.18,
            ax=x0,
            ay=y0 - 0.18,
            xref="x",
            yref="y",
            axref="x",
            ayref="y",
            showarrow=True,
            arrowhead=2,
            arrowcolor="#999",
            text="",
        )
        fig.add_annotation(
            x=(x0 + x1) / 2,
            y=(y0 + y1) / 2,
            text=html.escape(q.asked_after.short_text),
            showarrow=False,
            font=dict(size=10, color="#555"),
            bgcolor="white",
        )
    # Alternate labels above and below the nodes so neighbours in a crowded row do not overlap.
    label_side = {
        name: ("top center" if i % 2 == 0 else "bottom center")
        for names in rows.values()
        for i, name in enumerate(names)
    }
    fig.add_trace(
        go.Scatter(
            x=[pos[q.text][0] for q in questions],
            y=[pos[q.text][1] for q in questions],
            mode="markers+text",
            text=[f"<b>{html.escape(q.text)}</b>" for q in questions],
            textposition=[label_side[q.text] for q in questions],
            marker=dict(size=14, color="#2e86de"),
            hovertext=["<br>".join(html.escape(a.short_text) for a in q.answers) for q in questions],
            hoverinfo="text",
            showlegend=False,
        )
    )
    levels = max(rows) + 1
    fig.update_xaxes(visible=False, range=[0, 1])
    fig.update_yaxes(visible=False, range=[-levels + 0.5, 0.6])
    fig.update_layout(height=max(320, 110 * levels))
    return fig
