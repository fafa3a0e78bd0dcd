"""The Label next tab: the galaxies to label next after a run, labelled with one click (or a CSV), added to
a new catalog, and the next round trained from the previous run's weights."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import gradio as gr
import pandas as pd
import pytest
from app_sessions import load_catalog, new_engine

from app.engine import labelling
from app.main import build_app
from app.run_reading import summarise_run
from app.runs import new_session_id
from app.tabs import label_next, train
from zoobot.runs import RunConfig, RunFolder, run_finetune


@pytest.fixture
def session_with_run(tmp_path, make_catalog):
    """A session whose catalog has 8 galaxies without labels, and a finished tiny classification run on it."""
    engine, sid = new_engine(tmp_path), new_session_id()
    catalog = make_catalog(n=32, size=32, n_unlabelled=8)
    load_catalog(engine, sid, catalog)
    engine.store.update_state(sid, task="classification", label_cols=["label"])
    folder = RunFolder(engine.store.new_run_dir(sid, "classification"))
    folder.catalog_path.write_bytes(Path(engine.state(sid).catalog_path).read_bytes())
    config = RunConfig(
        task="classification",
        catalog=str(folder.catalog_path),
        label_cols=["label"],
        run_dir=str(folder.path),
        encoder="test_convnext",
        image_size=32,
        batch_size=8,
        max_epochs=1,
        learning_rate=1e-3,
    )
    run_finetune(config, accelerator="cpu")
    engine.store.update_state(sid, run_dir=str(folder.path))
    return engine, sid, folder


def _finish(engine, sid, kind):
    engine.manager.wait(engine.manager.latest(sid, kind).id, timeout=300)


def test_before_any_galaxies_are_found_the_tab_says_what_to_do_next(session_with_run, tmp_path):
    engine, sid, folder = session_with_run
    assert label_next.show_suggestions(engine, sid)["status"] == (
        f"Run `{folder.name}` has finished: choose how to pick the galaxies, then **Find the galaxies to label**."
    )
    other = new_session_id()  # no run yet
    assert label_next.show_suggestions(engine, other)["status"] == "Find the galaxies to label once a run has finished."


def test_the_loop_suggest_label_add_and_train_the_next_round(session_with_run, tmp_path):
    engine, sid, previous = session_with_run
    label_next.start_suggestions(engine, sid, "bald", 4, "run")
    _finish(engine, sid, "suggest")
    shown = label_next.poll_suggestions(engine, sid)
    assert len(shown["gallery"].value) == 4 and "by *Most to learn*" in shown["status"]
    # the unlabelled galaxies only, ranked, with the reason in words
    table, info = labelling.suggestions(engine, sid)
    assert set(table["id_str"]) <= {f"gal_{i:05d}" for i in range(24, 32)} and info["strategy"] == "bald"
    assert list(table["score"]) == sorted(table["score"], reverse=True)
    assert [c for _, c in shown["answer"].choices] == ["0", "1"]
    chosen = label_next.choose_galaxy(engine, sid, 0)
    # BALD samples the head's Laplace posterior by default, fitted on the run's training galaxies
    assert (
        "picked because the model's draws from the Laplace posterior disagree: mutual information" in chosen["galaxy"]
    )
    assert info["posterior"] == "laplace" and "draws from a Laplace posterior" in shown["status"]
    assert "the mean of the model's draws, so it can differ a little from the one on the Results tab" in shown["status"]
    # opened again (a reload), the form says how these galaxies were ranked
    opened = label_next.open_tab(engine, sid)
    assert (opened["strategy"], opened["pool"], opened["include_labelled"]) == ("bald", "run", False)
    assert set(opened) == set(label_next.OPENED)

    # one click labels the galaxy and opens the next one
    clicked = label_next.label_galaxy(engine, sid, 0, "1")
    assert clicked["selected"] == 1 and "1 label given" in clicked["given"]
    assert [Path(p).name for p in clicked["downloads"]] == ["suggestions.csv", "labels.csv"]
    assert "✓" in clicked["gallery"].value[0]["caption"] and "✓" not in clicked["gallery"].value[1]["caption"]
    # a CSV of labels, by class name, for another suggested galaxy
    upload = tmp_path / "labels.csv"
    names = dict(labelling.answer_choices(previous.read_config()))
    pd.DataFrame({"id_str": [table["id_str"][2]], "label": [next(iter(names))]}).to_csv(upload, index=False)
    assert "2 labels given" in label_next.upload(engine, sid, str(upload))["given"]

    added = label_next.add_to_catalog(engine, sid)
    assert "catalog_round_1.csv" in added["given"]
    assert engine.state(sid).catalog_name == "catalog round 1 (2 new labels)"
    catalog = engine.catalog(sid).set_index("id_str")
    assert catalog.loc[table["id_str"][0], "label"] == 1 and catalog.loc[table["id_str"][2], "label"] == 0
    assert catalog["label"].notna().sum() == 24 + 2
    # nothing done before is lost: the previous run keeps the catalog it trained on
    assert pd.read_parquet(previous.catalog_path)["label"].notna().sum() == 24
    assert any(p.endswith("catalog_round_1.csv") for p in added["downloads"])

    started = label_next.next_round(engine, sid)
    assert started["round_timer"].active
    _finish(engine, sid, "train")
    polled = label_next.poll_round(engine, sid)
    new_run = RunFolder(polled["run_version"])
    assert new_run.path != previous.path and new_run.read_config().init_from == str(previous.path)
    assert new_run.read_progress()["warm_start"].startswith("encoder and head from")
    # the Runs table names its catalog as the Data tab does, not the run folder's copy
    assert summarise_run(new_run.path).catalog == "catalog round 1 (2 new labels)"
    assert "has finished" in polled["round"]

    # the round after, unticked: afresh from the pretrained encoder, the same settings and catalog
    fresh = label_next.next_round(engine, sid, continue_from_previous=False)
    assert "fresh head" in fresh["round"]
    _finish(engine, sid, "train")
    polled = label_next.poll_round(engine, sid)
    fresh_run = RunFolder(polled["run_version"])
    assert fresh_run.path not in (previous.path, new_run.path) and fresh_run.read_config().init_from is None
    assert "started from the pretrained encoder, with a fresh head" in polled["round"]
    assert pd.read_parquet(fresh_run.catalog_path)["label"].notna().sum() == 24 + 2

    # labels for a galaxy already labelled are counted as given again, not as new
    again = tmp_path / "again.csv"
    pd.DataFrame({"id_str": ["gal_00000", table["id_str"][1]], "label": list(names)[:2]}).to_csv(again, index=False)
    label_next.upload(engine, sid, str(again))
    label_next.add_to_catalog(engine, sid)
    assert engine.state(sid).catalog_name == "catalog round 2 (1 new label, 1 labelled again)"


def test_labelling_every_galaxy_leaves_whole_class_numbers(session_with_run, tmp_path):
    engine, sid, previous = session_with_run
    catalog = pd.read_parquet(previous.catalog_path)
    missing = catalog.loc[catalog["label"].isna(), "id_str"]
    upload = tmp_path / "all.csv"
    pd.DataFrame({"id_str": missing, "label": [k % 2 for k in range(len(missing))]}).to_csv(upload, index=False)
    label_next.upload(engine, sid, str(upload))
    path = labelling.add_labels(engine, sid)
    written = pd.read_csv(path)
    assert written["label"].notna().all() and written["label"].dtype == "int64"  # 1, not 1.0
    assert engine.catalog(sid)["label"].dtype == "int64"


def test_plain_refusals(session_with_run, tmp_path):
    engine, sid, _ = session_with_run
    labelling.submit_suggestions(engine, sid, "bald", 4, "run", "dropout")  # the dropdown's other choice
    _finish(engine, sid, "suggest")
    assert labelling.suggestions(engine, sid)[1]["posterior"] == "dropout"
    assert "(Monte Carlo dropout)" in label_next.show_suggestions(engine, sid)["status"]
    with pytest.raises(gr.Error, match="where the model's draws come from"):
        label_next.start_suggestions(engine, sid, "bald", 4, "run", "ensemble")
    # another session sees none of this session's suggestions, and has no run to rank for
    other = new_session_id()
    assert label_next.show_suggestions(engine, other)["gallery"].value == []
    with pytest.raises(gr.Error, match="No run yet"):
        label_next.start_suggestions(engine, other, "bald", 4, "run")
    with pytest.raises(gr.Error, match="Click a galaxy first"):
        label_next.label_galaxy(engine, sid, None, "1")
    with pytest.raises(gr.Error, match="No labels given yet"):
        label_next.add_to_catalog(engine, sid)
    engine.replace_catalog(sid, engine.catalog(sid).assign(label=lambda d: d["label"].fillna(0)))
    with pytest.raises(gr.Error, match="catalog loaded on the Data tab already has a label.*Rank labelled"):
        label_next.start_suggestions(engine, sid, "bald", 4, "data")
    # ticked, the labelled galaxies are ranked instead (the demo survey is all labelled)
    label_next.start_suggestions(engine, sid, "bald", 4, "data", labelling.DEFAULT_POSTERIOR, True)
    _finish(engine, sid, "suggest")
    table, info = labelling.suggestions(engine, sid)
    assert len(table) == 4 and info["include_labelled"] and set(table["id_str"]) <= set(engine.catalog(sid)["id_str"])
    opened = label_next.open_tab(engine, sid)  # after a reload the box is ticked, as for these galaxies
    assert opened["include_labelled"] is True and opened["pool"] == "data"
    bad = tmp_path / "bad.csv"
    pd.DataFrame({"id_str": ["gal_00030"], "label": ["spiral"]}).to_csv(bad, index=False)
    with pytest.raises(gr.Error, match="Unknown class"):
        label_next.upload(engine, sid, str(bad))
    stranger = tmp_path / "stranger.csv"
    pd.DataFrame({"id_str": ["nowhere"], "label": [1]}).to_csv(stranger, index=False)
    with pytest.raises(gr.Error, match="in no catalog here"):
        label_next.upload(engine, sid, str(stranger))


def test_every_strategy_of_the_library_has_its_choice_caption_and_name_in_the_tab():
    from zoobot.active_learning import STRATEGIES

    assert sorted(value for _, value in label_next.STRATEGY_CHOICES) == sorted(STRATEGIES)
    assert set(label_next._SCORE) == set(label_next._SHORT_NAME) == set(STRATEGIES)
    for shown, value in label_next.STRATEGY_CHOICES:
        assert shown.startswith(label_next._SHORT_NAME[value])


def test_a_tree_answer_is_one_volunteers_vote_on_the_first_question():
    config = RunConfig(
        task="tree", catalog="c.csv", label_cols=["x"], run_dir="r", schema="decals_dr5", encoder="test_convnext"
    )
    from zoobot.trees import get_schema

    schema = get_schema("decals_dr5")
    config.label_cols = list(schema.label_cols)
    choices = labelling.answer_choices(config)
    assert [shown for shown, _ in choices] == ["smooth", "featured-or-disk", "artifact"]
    row = labelling._label_row(config, choices[1][1])
    assert row[choices[1][1]] == 1 and sum(row.values()) == 1 and set(row) == set(schema.label_cols)


def test_a_tree_click_adds_one_vote_to_the_votes_a_galaxy_has_and_a_class_replaces_a_class():
    from zoobot.trees import get_schema

    cols = list(get_schema("decals_dr5").label_cols)
    smooth, featured, spiral = cols[0], cols[1], "has-spiral-arms-dr5_yes"
    catalog = pd.DataFrame({"id_str": ["a", "b"], "file_loc": ["a.jpg", "b.jpg"]})
    for col in cols:
        catalog[col] = 0
    catalog.loc[0, [smooth, featured, spiral]] = [6, 30, 27]
    catalog.loc[1, cols] = float("nan")  # never shown to volunteers
    config = RunConfig(task="tree", catalog="c.csv", label_cols=cols, run_dir="r", schema="decals_dr5")
    click = labelling._label_row(config, featured)
    labels = pd.DataFrame([{"id_str": i, "file_loc": f"{i}.jpg", **click} for i in ("a", "b", "new")])
    merged, again = labelling.merge_labels(catalog, labels, cols, "tree")
    rows = merged.set_index("id_str")
    assert again == 1 and list(rows.index) == ["a", "b", "new"]
    assert (rows.loc["a", smooth], rows.loc["a", featured], rows.loc["a", spiral]) == (6, 31, 27)
    assert rows.loc["b", featured] == 1 and rows.loc["new", featured] == 1 and rows.loc["b", smooth] == 0
    classes = pd.DataFrame({"id_str": ["a"], "file_loc": ["a.jpg"], "ring": [0]})
    relabelled, again = labelling.merge_labels(classes.assign(ring=1), classes, ["ring"], "classification")
    assert again == 1 and relabelled["ring"].tolist() == [0]


def test_a_tree_galaxy_picked_for_a_later_question_says_which_and_how_to_vote_on_it():
    from zoobot.trees import get_schema

    config = RunConfig(
        task="tree",
        catalog="c.csv",
        label_cols=list(get_schema("decals_dr5").label_cols),
        run_dir="r",
        schema="decals_dr5",
    )
    row = {"rank": 1, "id_str": "g1", "reason": "the draws disagree", "question": "spiral-arm-count-dr5"}
    text = label_next._galaxy_text(pd.DataFrame([row]), 0, {}, config)
    assert "first question, *smooth-or-featured-dr5*" in text
    assert "To give votes on *spiral-arm-count-dr5* itself, upload a CSV of vote counts" in text


def test_the_data_tab_shows_the_catalog_with_the_labels_added_at_once(session_with_run, tmp_path):
    engine, sid, previous = session_with_run
    catalog = pd.read_parquet(previous.catalog_path)
    upload = tmp_path / "labels.csv"
    missing = catalog.loc[catalog["label"].isna(), "id_str"][:2]
    pd.DataFrame({"id_str": missing, "label": [0, 1]}).to_csv(upload, index=False)
    label_next.upload(engine, sid, str(upload))  # kept on disk: the page below reads it
    demo = build_app(tmp_path / "runs")  # the fixture's runs folder: the page finds the session there
    events = list(demo.fns.values())
    # the page opens: the app checks the session's saved catalog again (a new app), as a job
    next(f for f in events if f.name == "on_load").fn(sid)
    check = next(f for f in events if f.name == "poll_catalog_job" and f.trigger_after is None)
    timer = next(i for i, c in enumerate(check.outputs) if isinstance(c, gr.Timer))
    deadline = time.monotonic() + 120
    while check.fn(sid)[timer].active:
        assert time.monotonic() < deadline
        time.sleep(0.2)
    added = next(f for f in events if f.name == "add_to_catalog")
    added.fn(sid)
    then = [f for f in events if f.trigger_after == added._id and f.trigger_only_on_success]
    assert [f.name for f in then] == ["show_catalog"]
    shown = dict(zip([c.elem_id for c in then[0].outputs], then[0].fn(sid), strict=True))
    assert "catalog round 1 (2 new labels)" in shown["data-status"]


def test_the_train_tab_follows_the_next_round_as_it_follows_a_run_started_there(session_with_run, tmp_path):
    """The run "Train the next round" starts is followed live on the Train tab (its status, loss curves and
    timer), as a run its own Start button started is, not only after a reload."""
    _, sid, previous = session_with_run
    demo = build_app(tmp_path / "runs")  # the fixture's runs folder: the page finds the session there
    events = list(demo.fns.values())
    tick = next(f for f in events if f.name == "poll_training" and f.trigger_after is None)

    def train_tab(event: Any, session_id: str = sid) -> dict[str, Any]:
        return dict(zip(train.POLL, event.fn(session_id, None), strict=True))

    assert previous.name in train_tab(tick)["status"]
    round_started = next(f for f in events if f.name == "next_round")
    round_started.fn(sid, True)
    then = [f for f in events if f.trigger_after == round_started._id and f.trigger_only_on_success]
    assert [f.name for f in then] == ["poll_training"] and then[0].outputs == tick.outputs
    shown = train_tab(then[0])
    assert previous.name not in shown["status"] and shown["timer"].active
    new_run = shown["status"].split("`")[1]
    deadline = time.monotonic() + 300
    while shown["timer"].active and time.monotonic() < deadline:
        time.sleep(0.5)
        shown = train_tab(tick)
    assert f"Run `{new_run}` finished" in shown["status"] and shown["loss_plot"].data
    assert Path(shown["finished_run"]).name == new_run != previous.name
    # a reload shows the new run too, and another session none of it
    reload = next(f for f in events if f.name == "on_load")
    assert new_run in dict(zip([c.elem_id for c in reload.outputs], reload.fn(sid), strict=True))["train-status"]
    assert train_tab(tick, new_session_id())["status"] == ""
