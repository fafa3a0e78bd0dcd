import os
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest

from zoobot.catalog import (
    CatalogError,
    CatalogReport,
    apply_fix,
    read_catalog,
    resolve_file_locs,
    validate_catalog,
)

VOTE_COLS = ["smooth-or-featured_smooth", "smooth-or-featured_featured", "has-bar_yes", "has-bar_no"]


def problem(report: CatalogReport, code: str):
    matches = [p for p in report.problems if p.code == code]
    assert matches, f"expected a {code} problem, got {[p.code for p in report.problems]}"
    return matches[0]


@pytest.mark.parametrize("task, cols", [("classification", ["label"]), ("regression", ["target"]), ("tree", VOTE_COLS)])
def test_clean_catalogs_pass(make_catalog, task, cols):
    df = make_catalog(n=8, task=task)
    report = validate_catalog(df, label_cols=cols, task=task)
    assert report.errors == []
    assert report.n_rows == 8 and report.n_labelled == 8 and report.n_images_found == 8
    assert set(report.label_distribution) == set(cols)


def test_tree_task_takes_columns_from_schema(make_catalog):
    schema = SimpleNamespace(label_cols=VOTE_COLS)
    df = make_catalog(n=6, task="tree").drop(columns=["has-bar_no"])
    with pytest.raises(CatalogError, match="has-bar_no") as info:
        validate_catalog(df, schema=schema)
    assert problem(info.value.report, "missing_columns").columns == ("has-bar_no",)


def test_read_csv_and_parquet_with_relative_paths(make_catalog, tmp_path):
    df = make_catalog(n=4)
    folder = Path(df.file_loc[0]).parent.parent
    relative = df.assign(
        file_loc=[os.path.relpath(p, folder) for p in df.file_loc], id_str=["001", "002", "003", "004"]
    )
    relative.to_csv(folder / "rel.csv", index=False)
    relative.to_parquet(folder / "rel.parquet")
    for name in ["rel.csv", "rel.parquet"]:
        assert list(read_catalog(folder / name).file_loc) == list(df.file_loc)  # resolved by default
        cat = read_catalog(folder / name, resolve_paths=False)
        assert list(cat.id_str) == ["001", "002", "003", "004"]  # leading zeros kept
        with pytest.raises(CatalogError, match="do not exist"):
            validate_catalog(cat, label_cols=["label"], task="classification")
        assert validate_catalog(cat, label_cols=["label"], task="classification", base_dir=folder).ok
        resolved = resolve_file_locs(cat, folder)
        assert list(resolved.file_loc) == list(df.file_loc)
        assert validate_catalog(resolved, label_cols=["label"], task="classification").ok


def test_a_catalog_read_with_pandas_is_refused_in_one_line_naming_read_catalog(make_catalog, tmp_path, monkeypatch):
    """pd.read_csv keeps file_loc relative to the catalog's folder: the dataset says how to read it instead."""
    from zoobot.data import GalaxyDataset

    df = make_catalog(n=3)
    folder = Path(df.file_loc[0]).parent.parent
    df.assign(file_loc=[os.path.relpath(p, folder) for p in df.file_loc]).to_csv(folder / "cat.csv", index=False)
    monkeypatch.chdir(tmp_path)
    with pytest.raises(CatalogError, match=r"read_catalog\('path/to/catalog.csv'\)") as info:
        GalaxyDataset(pd.read_csv(folder / "cat.csv"), input_size=32)
    assert "\n" not in str(info.value)
    assert len(GalaxyDataset(read_catalog(folder / "cat.csv"), input_size=32)) == 3
    monkeypatch.chdir(folder)  # from the catalog's own folder the relative paths do exist
    assert len(GalaxyDataset(pd.read_csv(folder / "cat.csv"), input_size=32)) == 3


def test_read_catalog_refuses_other_formats(tmp_path):
    (tmp_path / "cat.xlsx").write_bytes(b"x")
    with pytest.raises(CatalogError, match=r"\.csv or \.parquet"):
        read_catalog(tmp_path / "cat.xlsx")
    with pytest.raises(CatalogError, match="does not exist"):
        read_catalog(tmp_path / "nope.csv")


def test_missing_and_unreadable_images_are_counted_with_examples(make_catalog):
    df = make_catalog(n=10)
    Path(df.file_loc[1]).unlink()
    Path(df.file_loc[2]).unlink()
    Path(df.file_loc[3]).write_bytes(b"garbage")
    report = validate_catalog(df, label_cols=["label"], task="classification", raise_on_error=False)
    assert (report.n_images_found, report.n_images_missing, report.n_images_unreadable) == (7, 2, 1)
    assert report.missing_examples == [df.file_loc[1], df.file_loc[2]]
    assert report.unreadable_examples == [df.file_loc[3]]
    fixed = apply_fix(df, problem(report, "missing_images"))
    again = validate_catalog(fixed, label_cols=["label"], task="classification", raise_on_error=False)
    assert problem(again, "unreadable_images").rows == (1,)  # renumbered after the drop
    fixed = apply_fix(fixed, problem(again, "unreadable_images"))
    assert len(fixed) == 7
    assert validate_catalog(fixed, label_cols=["label"], task="classification").ok


def test_missing_id_and_duplicates(make_catalog):
    df = make_catalog(n=5)
    with pytest.raises(CatalogError, match="'id_str'"):
        validate_catalog(df.drop(columns="id_str"), label_cols=["label"], task="classification")
    dup = df.assign(id_str=["a", "b", "a", "c", "b"])
    report = validate_catalog(dup, label_cols=["label"], task="classification", raise_on_error=False)
    p = problem(report, "duplicate_ids")
    assert p.severity == "error" and p.rows == (2, 4)
    assert list(apply_fix(dup, p).id_str) == ["a", "b", "c"]


def test_nan_votes_refused_with_fixes(make_catalog):
    df = make_catalog(n=6, task="tree").astype({"has-bar_yes": float})
    df.loc[3, "has-bar_yes"] = np.nan
    with pytest.raises(CatalogError, match="blank") as info:
        validate_catalog(df, label_cols=VOTE_COLS, task="tree")
    p = problem(info.value.report, "nan_votes")
    assert p.rows == (3,) and p.columns == ("has-bar_yes",) and p.fixes == ("fill_zero", "drop_rows")
    filled = apply_fix(df, p)
    assert filled.loc[3, "has-bar_yes"] == 0
    assert validate_catalog(filled, label_cols=VOTE_COLS, task="tree").ok
    dropped = apply_fix(df, p, "drop_rows")
    assert list(dropped.index) == [0, 1, 2, 3, 4] and "gal_00003" not in set(dropped.id_str)


def test_negative_and_fractional_votes(make_catalog):
    df = make_catalog(n=6, task="tree").astype({c: float for c in VOTE_COLS})
    df.loc[0, "has-bar_no"] = -2
    df.loc[1, "has-bar_yes"] = 2.5
    report = validate_catalog(df, label_cols=VOTE_COLS, task="tree", raise_on_error=False)
    assert problem(report, "negative_votes").rows == (0,)
    frac = problem(report, "fractional_votes")
    assert frac.rows == (1,)
    assert apply_fix(df, frac).loc[1, "has-bar_yes"] == 2.0


def test_vote_fractions_instead_of_counts_are_recognised(make_catalog):
    df = make_catalog(n=4, task="tree")
    df[VOTE_COLS] = df[VOTE_COLS] / 50
    with pytest.raises(CatalogError, match="look like vote fractions"):
        validate_catalog(df, label_cols=VOTE_COLS, task="tree")


def test_single_class_refused(make_catalog):
    df = make_catalog(n=6).assign(label=1)
    with pytest.raises(CatalogError, match="only one class"):
        validate_catalog(df, label_cols=["label"], task="classification")


@pytest.mark.parametrize(
    "values, match", [(["spiral", "elliptical"] * 3, "holds text"), ([0, 1, 0.5, 1, 0, 1], "not whole numbers")]
)
def test_class_labels_must_be_integers(make_catalog, values, match):
    df = make_catalog(n=6).assign(label=values)
    with pytest.raises(CatalogError, match=match):
        validate_catalog(df, label_cols=["label"], task="classification")


def test_class_names_are_numbered_in_one_click(make_catalog):
    df = make_catalog(n=6).assign(label=["weak", "none", "strong", None, "none", "weak"])
    with pytest.raises(CatalogError, match="0 = 'none', 1 = 'strong', 2 = 'weak'") as info:
        validate_catalog(df, label_cols=["label"], task="classification")
    found = problem(info.value.report, "non_integer_labels")
    assert found.fixes == ("number_classes",)  # dropping the rows would drop every labelled galaxy
    fixed = apply_fix(df, found)
    assert fixed["label"].tolist()[:3] == [2, 0, 1] and np.isnan(fixed["label"][3])
    assert fixed["label_name"].tolist()[:3] == ["weak", "none", "strong"]
    assert list(fixed.columns).index("label_name") == list(fixed.columns).index("label") + 1
    report = validate_catalog(fixed, label_cols=["label"], task="classification")
    assert report.ok and report.label_distribution["label"] == {0: 2, 1: 1, 2: 2}


def test_mixed_numbers_and_names_are_not_numbered(make_catalog):
    df = make_catalog(n=6).assign(label=[0, 1, "spiral", 1, 0, 1])
    with pytest.raises(CatalogError) as info:
        validate_catalog(df, label_cols=["label"], task="classification")
    assert problem(info.value.report, "non_integer_labels").fixes == ("drop_rows",)


def test_non_numeric_regression_target(make_catalog):
    df = make_catalog(n=6, task="regression")
    df["target"] = df["target"].astype(object)
    df.loc[2, "target"] = "high"
    with pytest.raises(CatalogError, match="must be numbers") as info:
        validate_catalog(df, label_cols=["target"], task="regression")
    assert problem(info.value.report, "non_numeric_targets").rows == (2,)


@pytest.mark.parametrize("task, col", [("classification", "label"), ("regression", "target")])
def test_unlabelled_rows_are_a_warning(make_catalog, task, col):
    df = make_catalog(n=8, task=task, n_unlabelled=3)
    report = validate_catalog(df, label_cols=[col], task=task)
    assert report.ok and report.n_labelled == 5
    warning = problem(report, "unlabelled_rows")
    assert warning.severity == "warning" and warning.rows == (5, 6, 7)
    assert "get predictions" in report.summary()


def test_report_is_json_friendly(make_catalog):
    import json

    df = make_catalog(n=4, n_unlabelled=1)
    report = validate_catalog(df, label_cols=["label"], task="classification")
    loaded = json.loads(json.dumps(report.to_dict()))
    assert loaded["problems"][0]["code"] == "unlabelled_rows"


def test_fix_not_offered_is_refused(make_catalog):
    df = make_catalog(n=4).assign(label=0)
    report = validate_catalog(df, label_cols=["label"], task="classification", raise_on_error=False)
    with pytest.raises(ValueError, match="cannot be fixed"):
        apply_fix(df, problem(report, "single_class"))


def test_dropping_rows_is_not_offered_when_every_row_is_affected(tmp_path):
    catalog = pd.DataFrame(
        {"id_str": ["a", "b", "c"], "file_loc": [str(tmp_path / f"{i}.png") for i in "abc"], "label": [0, 1, 0]}
    )
    report = validate_catalog(catalog, label_cols=["label"], task="classification", raise_on_error=False)
    missing = next(p for p in report.problems if p.rows and len(p.rows) == 3)
    assert "drop_rows" not in missing.fixes
    assert "would leave nothing to train on" in missing.message
    catalog.loc[0, "file_loc"] = str(_write_png(tmp_path / "ok.png"))
    report = validate_catalog(catalog, label_cols=["label"], task="classification", raise_on_error=False)
    assert any("drop_rows" in p.fixes for p in report.problems)


def _write_png(path):
    from PIL import Image

    Image.new("RGB", (8, 8), (40, 40, 40)).save(path)
    return path


def test_few_labels_warn_but_do_not_block(make_catalog):
    from zoobot.catalog import FEW_LABELLED

    report = validate_catalog(make_catalog(n=3, task="regression"), ["target"], task="regression")
    assert report.ok and [p.code for p in report.problems] == ["few_labels"]
    assert f"at least {FEW_LABELLED}" in report.problems[0].message
    many = validate_catalog(make_catalog(n=FEW_LABELLED, task="regression"), ["target"], task="regression")
    assert not many.problems
