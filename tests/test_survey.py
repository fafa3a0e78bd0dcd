"""The synthetic survey: votes that follow the DR5 tree, targets that match the truth, determinism."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from PIL import Image
from scipy import ndimage

from zoobot.survey import (
    BAR_LABELS,
    GalaxyParams,
    SurveyError,
    make_survey,
    render_galaxy,
    sample_morphology,
    simulate_votes,
)
from zoobot.trees import get_schema

N, SIZE = 30, 64


@pytest.fixture(scope="module")
def schema():
    return get_schema("decals_dr5")


@pytest.fixture(scope="module")
def survey(tmp_path_factory) -> tuple[pd.DataFrame, Path]:
    out_dir = tmp_path_factory.mktemp("survey")
    return make_survey(N, SIZE, out_dir=out_dir, seed=3), out_dir


def _galaxy(morphology: str, **changes) -> GalaxyParams:
    params = GalaxyParams(
        morphology=morphology,
        magnitude=15.5,
        radius=0.11,
        axis_ratio=0.85,
        position_angle=0.4,
        sersic_n=3.0,
        bulge_to_total=0.2,
        bulge_colour=0.85,
        disk_colour=0.35,
    )
    if morphology == "edge_on":
        params = replace(params, axis_ratio=0.12, bulge_to_total=0.0)
    if morphology == "elliptical":
        params = replace(params, bulge_to_total=1.0)
    return replace(params, **changes)


def test_catalog_has_every_dr5_column_and_the_targets(survey, schema):
    catalog, _ = survey
    assert len(catalog) == N
    expected = ["id_str", "file_loc", "ring", "bar", "bar_label", "bulge_to_total", "axis_ratio"]
    expected += schema.label_cols + [f"{q.text}_total-votes" for q in schema.questions]
    assert set(expected) <= set(catalog.columns)
    assert catalog["id_str"].is_unique
    assert not catalog.isna().any().any()


def test_vote_counts_are_non_negative_integers(survey, schema):
    votes = survey[0][schema.label_cols]
    assert all(pd.api.types.is_integer_dtype(dtype) for dtype in votes.dtypes)
    assert (votes >= 0).all().all()


def test_votes_follow_the_tree(survey, schema):
    catalog, _ = survey
    volunteers = catalog["smooth-or-featured-dr5_total-votes"]
    assert volunteers.between(5, 40).all()
    for question in schema.questions:
        total = catalog[[a.text for a in question.answers]].sum(axis=1)
        assert (catalog[f"{question.text}_total-votes"] == total).all(), question.text
        if question.asked_after is None:
            assert (total == volunteers).all(), question.text
        else:
            assert (total == catalog[question.asked_after.text]).all(), question.text
    # only volunteers who said featured are asked whether the disk is edge-on
    assert (catalog["disk-edge-on-dr5_total-votes"] < volunteers).any()


def test_targets_agree_with_the_truth(survey):
    catalog, _ = survey
    assert (catalog["ring"] == catalog["true_ring"].astype(int)).all()
    assert (catalog["bar"] == catalog["true_bar"].map(BAR_LABELS.index)).all()
    assert (catalog["bar_label"] == catalog["true_bar"]).all()
    assert np.allclose(catalog["bulge_to_total"], catalog["true_bulge_to_total"])
    assert np.allclose(catalog["axis_ratio"], catalog["true_axis_ratio"])
    assert catalog["bulge_to_total"].between(0, 1).all()
    assert set(catalog["ring"]) == {0, 1}


def test_images_exist_with_the_right_size(survey):
    catalog, out_dir = survey
    on_disk = pd.read_csv(out_dir / "catalog.csv")
    for absolute, relative in zip(catalog["file_loc"], on_disk["file_loc"]):
        assert Path(absolute) == out_dir / relative
        with Image.open(absolute) as image:
            assert image.size == (SIZE, SIZE) and image.mode == "RGB"


def test_same_seed_gives_identical_catalog_and_image_bytes(tmp_path):
    first = make_survey(6, 48, out_dir=tmp_path / "a", seed=11)
    make_survey(6, 48, out_dir=tmp_path / "b", seed=11)
    make_survey(6, 48, out_dir=tmp_path / "c", seed=12)
    assert (tmp_path / "a/catalog.csv").read_bytes() == (tmp_path / "b/catalog.csv").read_bytes()
    assert (tmp_path / "a/catalog.csv").read_bytes() != (tmp_path / "c/catalog.csv").read_bytes()
    for loc in first["file_loc"]:
        name = Path(loc).relative_to(tmp_path / "a")
        assert (tmp_path / "a" / name).read_bytes() == (tmp_path / "b" / name).read_bytes()


def test_a_galaxy_does_not_depend_on_survey_length_or_image_size(survey, tmp_path):
    catalog, _ = survey
    short = make_survey(4, 32, out_dir=tmp_path, seed=3, image_format="jpg")
    columns = [c for c in catalog.columns if c != "file_loc"]
    pd.testing.assert_frame_equal(short[columns], catalog[columns].iloc[:4])
    assert all(loc.endswith(".jpg") and Path(loc).is_file() for loc in short["file_loc"])


def test_progress_is_reported_after_each_galaxy(tmp_path):
    calls = []
    make_survey(3, 32, out_dir=tmp_path, progress=lambda done, total: calls.append((done, total)))
    assert calls == [(1, 3), (2, 3), (3, 3)]


@pytest.mark.parametrize(
    "arguments, match",
    [
        ({"n": 0}, "n must be"),
        ({"size": 8}, "size must be"),
        ({"seed": -1}, "seed must be"),
        ({"image_format": "tif"}, "image_format must be 'png' or 'jpg'"),
    ],
)
def test_bad_arguments_are_refused(tmp_path, arguments, match):
    with pytest.raises(SurveyError, match=match):
        make_survey(**{"n": 2, "size": 32, "out_dir": tmp_path, **arguments})


def test_an_existing_survey_is_not_overwritten_by_accident(tmp_path):
    make_survey(2, 32, out_dir=tmp_path)
    with pytest.raises(SurveyError, match="already exists.*overwrite=True"):
        make_survey(2, 32, out_dir=tmp_path)
    assert len(make_survey(3, 32, out_dir=tmp_path, overwrite=True)) == 3


class _Killed(Exception):
    """Stands for the process being killed part-way through drawing a survey."""


def test_a_survey_cut_short_is_finished_by_resume_drawing_only_what_is_missing(tmp_path, monkeypatch):
    import zoobot.survey.writer as writer

    whole = make_survey(6, 32, out_dir=tmp_path / "whole", seed=5)

    def killed_after_three(done, total):
        if done == 3:
            raise _Killed

    cut = tmp_path / "cut"
    with pytest.raises(_Killed):
        make_survey(6, 32, out_dir=cut, seed=5, progress=killed_after_three)
    assert not (cut / "catalog.csv").exists()  # a survey cut short is never taken for a whole one
    images = sorted((cut / "images").iterdir())
    assert len(images) == 3
    images[1].write_bytes(images[1].read_bytes()[:60])  # an image cut short (a crash mid-write)
    (cut / "images" / ".synthetic-5-000003.png.tmp").write_bytes(b"half")  # the temporary file left behind

    drawn = []
    render = writer.render_galaxy
    monkeypatch.setattr(writer, "render_galaxy", lambda *a: drawn.append(a[0]) or render(*a))
    finished = make_survey(6, 32, out_dir=cut, seed=5, resume=True)
    assert len(drawn) == 4  # the damaged image and the three never drawn
    assert (cut / "catalog.csv").read_bytes() == (tmp_path / "whole/catalog.csv").read_bytes()
    for mine, theirs in zip(finished["file_loc"], whole["file_loc"], strict=True):
        assert Path(mine).read_bytes() == Path(theirs).read_bytes()
    assert not list((cut / "images").glob(".*"))
    drawn.clear()
    assert len(make_survey(6, 32, out_dir=cut, seed=5, resume=True)) == 6 and not drawn  # whole: nothing drawn


@pytest.mark.parametrize(
    "changes, match",
    [
        ({"axis_ratio": 0.0}, "axis_ratio must be in"),
        ({"morphology": "irregular"}, "morphology must be one of"),
        ({"arm_count": 2}, "arm_winding must be 'none' exactly when arm_count is 0"),
        ({"bulge_to_total": 0.8, "ring_fraction": 0.3}, "sum to at most 1"),
    ],
)
def test_impossible_galaxies_are_refused(changes, match):
    galaxy = _galaxy("disk")
    with pytest.raises(SurveyError, match=match):
        replace(galaxy, **changes)


def test_population_has_enough_rings_and_every_type():
    draws = [sample_morphology(np.random.default_rng([5, i])) for i in range(2000)]
    ring_fraction = np.mean([p.ring for p in draws])
    assert 0.25 <= ring_fraction <= 0.35
    assert {p.morphology for p in draws} == {"elliptical", "disk", "edge_on"}
    assert {p.arm_count for p in draws} == {0, 1, 2, 3, 4, 5}
    assert {p.disturbance for p in draws} == {"none", "minor_disturbance", "major_disturbance", "merger"}
    for p in draws:
        assert p.bulge_to_total + p.bar_fraction + p.arm_fraction + p.ring_fraction <= 1 + 1e-9
        assert not (p.ring and p.morphology == "edge_on")  # an edge-on ring would be invisible


def _axis_ratio(image: np.ndarray) -> float:
    """Minor over major axis (second moments) of the central galaxy's bright pixels."""
    light = image.astype(float).sum(axis=2)
    islands, _ = ndimage.label(light > np.median(light) + 150)
    centre = image.shape[0] // 2
    rows, cols = np.nonzero(islands == islands[centre, centre])
    eigenvalues = np.linalg.eigvalsh(np.cov(np.stack([rows, cols])))
    return float(np.sqrt(eigenvalues[0] / eigenvalues[1]))


def test_edge_on_disks_look_thin_and_ellipticals_round():
    edge_on = render_galaxy(_galaxy("edge_on"), 128, np.random.default_rng(0))
    elliptical = render_galaxy(_galaxy("elliptical", axis_ratio=0.95), 128, np.random.default_rng(0))
    assert edge_on.dtype == np.uint8 and edge_on.shape == (128, 128, 3)
    assert _axis_ratio(edge_on) < 0.3
    assert _axis_ratio(elliptical) > 0.8


def test_bulges_are_redder_than_disks():
    image = render_galaxy(
        _galaxy("disk", arm_count=2, arm_winding="medium", arm_fraction=0.4), 128, np.random.default_rng(1)
    ).astype(float)
    rows, cols = np.indices(image.shape[:2])
    r = np.hypot(rows - 63.5, cols - 63.5)
    centre, outskirts = image[r < 3], image[(r > 12) & (r < 25)]
    red_over_blue = [part[:, 0].mean() / part[:, 2].mean() for part in (centre, outskirts)]
    assert red_over_blue[0] > red_over_blue[1]


def test_rendering_is_deterministic_given_the_generator():
    params = _galaxy("disk", ring=True, ring_fraction=0.15, disturbance="merger", artifact="star")
    first = render_galaxy(params, 64, np.random.default_rng(7))
    assert np.array_equal(first, render_galaxy(params, 64, np.random.default_rng(7)))
    assert not np.array_equal(first, render_galaxy(params, 64, np.random.default_rng(8)))


def _fraction(votes: dict[str, int], answer: str, question: str, schema) -> float:
    total = sum(votes[a.text] for a in schema.get_question(question).answers)
    return votes[answer] / total


@pytest.mark.parametrize(
    "params, answer, question",
    [
        (_galaxy("elliptical"), "smooth-or-featured-dr5_smooth", "smooth-or-featured-dr5"),
        (_galaxy("edge_on"), "disk-edge-on-dr5_yes", "disk-edge-on-dr5"),
        (_galaxy("disk", bar="strong", bar_fraction=0.15), "bar-dr5_strong", "bar-dr5"),
        (
            _galaxy("disk", arm_count=3, arm_winding="loose", arm_fraction=0.4),
            "spiral-arm-count-dr5_3",
            "spiral-arm-count-dr5",
        ),
        (
            _galaxy("disk", arm_count=2, arm_winding="tight", arm_fraction=0.4),
            "spiral-winding-dr5_tight",
            "spiral-winding-dr5",
        ),
        (_galaxy("elliptical", disturbance="merger"), "merging-dr5_merger", "merging-dr5"),
        (_galaxy("elliptical", artifact="star"), "smooth-or-featured-dr5_artifact", "smooth-or-featured-dr5"),
    ],
)
def test_most_volunteers_give_the_true_answer(schema, params, answer, question):
    votes = simulate_votes(params, schema, np.random.default_rng(0), n_volunteers=400)
    assert _fraction(votes, answer, question, schema) > 0.5


def test_fainter_smaller_galaxies_confuse_volunteers_more(schema):
    bright = _galaxy("disk", arm_count=2, arm_winding="medium", arm_fraction=0.4)
    faint = replace(bright, magnitude=18.2, radius=0.05)
    assert faint.visibility < bright.visibility
    answer, question = "has-spiral-arms-dr5_yes", "has-spiral-arms-dr5"
    fractions = [
        _fraction(simulate_votes(p, schema, np.random.default_rng(0), n_volunteers=400), answer, question, schema)
        for p in (bright, faint)
    ]
    assert fractions[0] > fractions[1] + 0.1


@pytest.mark.parametrize(
    "morphology, answer, question",
    [
        ("elliptical", "smooth-or-featured-dr5_featured-or-disk", "smooth-or-featured-dr5"),  # a ring means a disk
        ("disk", "has-spiral-arms-dr5_yes", "has-spiral-arms-dr5"),  # a ring looks like tight arms
        ("disk", "spiral-winding-dr5_tight", "spiral-winding-dr5"),
    ],
)
def test_a_visible_ring_sways_the_volunteers_and_a_faint_one_less(schema, morphology, answer, question):
    plain = _galaxy(morphology)
    ringed = replace(plain, ring=True, ring_fraction=0.14, bulge_to_total=plain.bulge_to_total - 0.14)
    faint = replace(ringed, magnitude=18.2, radius=0.05)

    def fraction(params):
        votes = simulate_votes(params, schema, np.random.default_rng(0), n_volunteers=2000)
        return _fraction(votes, answer, question, schema)

    assert fraction(ringed) > fraction(plain) + 0.2
    assert fraction(faint) < fraction(ringed) - 0.1


def test_volunteers_refuse_a_tree_they_do_not_know():
    with pytest.raises(SurveyError, match="cannot"):
        simulate_votes(_galaxy("disk"), get_schema("gz2"), np.random.default_rng(0))
