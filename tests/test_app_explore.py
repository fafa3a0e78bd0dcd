"""The Explore tab: a galaxy's nearest neighbours on the map, captioned with rank and label, or with
their similarity before a task is chosen."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
from app_sessions import load_catalog, new_engine

from app.engine import AppInputError, Engine
from app.engine.maps import FROZEN_NOTE, MAP_FILE, MAP_SOURCE_FILE, map_points, neighbours
from app.runs import new_session_id
from app.tabs import explore, task


@pytest.fixture
def engine(tmp_path) -> Engine:
    return new_engine(tmp_path)


def _map(engine: Engine, sid: str, ids) -> None:
    map_dir = engine.store.new_map_dir(sid)
    pd.DataFrame(
        {
            "id_str": ids,
            "umap_x": [0.0, 1, 2, 3],
            "umap_y": [0.0, 1, 2, 3],
            "f0": [1.0, 1, 0, -1],
            "f1": [0.0, 0.1, 1, 0],
        }
    ).to_parquet(map_dir / MAP_FILE)
    engine.store.update_state(sid, map_dir=str(map_dir))


def test_neighbour_captions_give_rank_and_label_or_similarity(engine, make_catalog):
    sid = new_session_id()
    catalog = make_catalog(n=4, size=32)
    load_catalog(engine, sid, catalog)
    _map(engine, sid, catalog.id_str)
    gallery = explore.show_neighbours(engine, sid, "gal_00000", 2, None)["neighbours"]
    assert [caption for _, caption in gallery] == ["chosen …_00000 · 1.000", "1. …_00001 · 0.995", "2. …_00002 · 0.000"]
    task.use_task(engine, sid, "classification", ["label"])
    gallery = explore.show_neighbours(engine, sid, "gal_00000", 2, None)["neighbours"]
    assert [caption for _, caption in gallery] == [
        "chosen …_00000 · label 0",
        "1. …_00001 · label 1",
        "2. …_00002 · label 0",
    ]


def test_the_map_joins_the_catalog_and_names_a_galaxy_not_on_it(engine, make_catalog):
    sid = new_session_id()
    assert map_points(engine, sid) is None
    assert set(explore.show_map(engine, sid)) == set(explore.VIEW) - {"source"}  # no map: the radio stays
    catalog = make_catalog(n=4, size=32)
    load_catalog(engine, sid, catalog)
    _map(engine, sid, catalog.id_str)
    points = map_points(engine, sid)
    assert list(points["label"]) == list(catalog["label"]) and "f0" not in points
    with pytest.raises(AppInputError, match="'nowhere' is not on the map"):
        neighbours(engine, sid, "nowhere", 2)


@pytest.mark.parametrize(
    ("drawn_from", "choice"),
    [("finetuned model of run r1. " + FROZEN_NOTE, "finetuned"), ("pretrained encoder demo", "pretrained")],
)
def test_the_map_says_what_it_was_drawn_from_also_after_a_reload(engine, make_catalog, drawn_from, choice):
    sid = new_session_id()
    catalog = make_catalog(n=4, size=32)
    load_catalog(engine, sid, catalog)
    _map(engine, sid, catalog.id_str)
    (Path(engine.state(sid).map_dir) / MAP_SOURCE_FILE).write_text(drawn_from)
    shown = explore.show_map(engine, sid)  # what a reload shows
    assert shown["source"].value == choice
    assert drawn_from.split(".")[0] in shown["status"] and ".." not in shown["status"]


def test_clearing_the_galaxy_clears_the_similar_galaxies(engine, make_catalog):
    sid = new_session_id()
    catalog = make_catalog(n=4, size=32)
    load_catalog(engine, sid, catalog)
    _map(engine, sid, catalog.id_str)
    assert len(explore.show_neighbours(engine, sid, "gal_00000", 2, None)["neighbours"]) == 3
    assert explore.show_neighbours(engine, sid, None, 2, None)["neighbours"] == []


@pytest.mark.parametrize("mode, said", [("head_only", True), ("full", False)])
def test_a_head_only_runs_map_is_said_to_be_the_pretrained_one(engine, make_catalog, monkeypatch, mode, said):
    import yaml

    from app.engine import maps
    from zoobot.runs import RunFolder

    sid = new_session_id()
    load_catalog(engine, sid, make_catalog(n=4, size=32))
    folder = RunFolder(engine.store.new_run_dir(sid, "classification"))
    folder.config_path.write_text(yaml.safe_dump({"task": "classification", "training_mode": mode}))
    folder.model_dir.mkdir()
    folder.model_weights_path.write_bytes(b"weights")
    engine.store.update_state(sid, run_dir=str(folder.path))
    monkeypatch.setattr(engine.manager, "submit", lambda *args, **kwargs: None)  # the map itself is not drawn here
    status = explore.start_map(engine, sid, "finetuned", None)["status"]
    assert ("same as the pretrained encoder's" in status) == said
    assert maps.head_only(folder.path) == said
