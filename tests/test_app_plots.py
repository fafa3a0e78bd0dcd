"""The app's figures stay readable: the epoch axis of long runs, long column names in titles."""

from __future__ import annotations

import pandas as pd
import pytest

from app import plots, plots_tree


@pytest.mark.parametrize("n_epochs, dtick", [(3, 1), (12, 1), (50, 5), (200, 17)])
def test_long_runs_keep_the_epoch_axis_readable(n_epochs, dtick):
    metrics = pd.DataFrame({"epoch": range(n_epochs), "train_loss": 1.0, "val_loss": 1.0, "val_accuracy": 0.5})
    for figure in (plots.loss_curves(metrics), plots.metric_curve(metrics)):
        assert figure.layout.xaxis.dtick == dtick
        assert n_epochs / figure.layout.xaxis.dtick <= 12


def test_a_long_column_name_wraps_the_plot_title_instead_of_running_off_it():
    fig = plots.label_distribution(pd.Series([0.1, 0.5, 0.9] * 10), "smooth-or-featured-dr5_featured-or-disk_fraction")
    lines = fig.layout.title.text.split("<br>")
    assert len(lines) > 1 and all(len(line) <= 50 for line in lines)
    assert "".join(lines).replace(" ", "") == "smooth-or-featured-dr5_featured-or-disk_fraction:30labelledgalaxies"
    assert fig.layout.margin.t > plots.empty_figure("").layout.margin.t  # room for the extra line
    assert plots.label_distribution(pd.Series([1, 2]), "bar").layout.title.text == "bar: 2 labelled galaxies"


@pytest.mark.parametrize(
    "stage, epoch, words, not_words",
    [
        ("testing and predicting", 10, "testing and predicting", "epoch"),
        ("training", 10, "epoch 10 of 10", "epoch 11"),
        ("computing features", 0, "30 of 120 galaxies", "epoch"),
    ],
)
def test_progress_names_the_stage_and_never_counts_past_the_last_epoch(stage, epoch, words, not_words):
    from app.plots import progress_html

    text = progress_html(
        {"status": "running", "stage": stage, "epoch": epoch, "max_epochs": 10, "step": 30, "total_steps": 120}
    )
    assert words in text and not_words not in text


@pytest.mark.parametrize("name", ["decals_dr5", "gz2", "gz_candels", "gz_evo_v2"])
def test_the_tree_drawing_has_no_crossing_arrows(name):
    from zoobot.trees import get_schema

    figure = plots_tree.schema_tree(get_schema(name))
    arrows = [(a.ax, a.ay, a.x) for a in figure.layout.annotations if a.showarrow]
    assert arrows
    for i, (ax0, ay0, x0) in enumerate(arrows):
        for ax1, ay1, x1 in arrows[i + 1 :]:
            if ay0 == ay1:  # two arrows between the same two rows cross when their ends swap order
                assert (ax0 - ax1) * (x0 - x1) >= 0, (ax0, x0, ax1, x1)


def test_progress_says_a_run_started_from_the_previous_model():
    from app.plots import progress_html

    warm = progress_html({"status": "running", "stage": "training", "warm_start": "encoder and head from <run 1>"})
    assert "started from the previous model: encoder and head from &lt;run 1&gt;" in warm
    assert "previous model" not in progress_html({"status": "running", "stage": "training"})
