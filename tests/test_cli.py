"""The zoobot command: complete --help, listings, surveys, prediction with any finetuned model, clear errors."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from zoobot.cli import build_parser, main

COMMANDS = [
    "finetune",
    "predict",
    "calibrate",
    "suggest",
    "representations",
    "make-survey",
    "template-catalog",
    "pretrain",
    "encoders",
    "schemas",
]


def run_cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "zoobot.cli", *args], capture_output=True, text=True, timeout=300)


@pytest.mark.parametrize("command", COMMANDS)
def test_every_command_documents_every_option(command, capsys):
    with pytest.raises(SystemExit) as exit_info:
        main([command, "--help"])
    assert exit_info.value.code == 0
    text = capsys.readouterr().out
    subparser = build_parser()._subparsers._group_actions[0].choices[command]
    for action in subparser._actions:
        if action.option_strings and action.dest != "help":
            assert action.help, f"{command} {action.option_strings} has no help text"
            assert action.option_strings[-1] in text


def test_listings_name_the_demo_encoder_and_the_named_trees(capsys):
    assert main(["schemas"]) == 0
    out = capsys.readouterr().out
    assert "decals_dr5" in out and "10 questions, 34 answers" in out
    assert main(["encoders"]) == 0
    out = capsys.readouterr().out
    assert "hf_hub:mwalmsley/zoobot-encoder-convnext_nano" in out


def test_make_survey_writes_a_catalog_and_refuses_to_overwrite(tmp_path):
    out = tmp_path / "survey"
    done = run_cli("make-survey", "--n", "4", "--size", "32", "--out", str(out))
    assert done.returncode == 0, done.stderr
    catalog = pd.read_csv(out / "catalog.csv")
    assert len(catalog) == 4 and (out / catalog["file_loc"].iloc[0]).is_file()
    again = run_cli("make-survey", "--n", "4", "--size", "32", "--out", str(out))
    assert again.returncode == 2 and "--overwrite" in again.stderr and "Traceback" not in again.stderr
    assert run_cli("make-survey", "--n", "4", "--size", "32", "--out", str(out), "--overwrite").returncode == 0


def test_the_template_catalog_reads_and_names_every_column(tmp_path, capsys, monkeypatch):
    from zoobot.catalog import TEMPLATE_COLUMNS, read_catalog, validate_catalog

    monkeypatch.chdir(tmp_path)
    assert main(["template-catalog"]) == 0
    out = capsys.readouterr().out
    assert all(f"{column}: " in out for column in TEMPLATE_COLUMNS)
    catalog = read_catalog("catalog_template.csv")
    assert list(catalog.columns) == list(TEMPLATE_COLUMNS) and catalog["id_str"].is_unique
    assert catalog["file_loc"][0] == str(tmp_path / "images" / "galaxy_001.png")  # relative to the catalog
    # the only problem is that its images are examples: every label column is usable as it is
    report = validate_catalog(catalog, label_cols=["ring"], task="classification", raise_on_error=False)
    assert {p.code for p in report.errors} == {"missing_images"}
    assert main(["template-catalog", "--out", "t.txt"]) == 2 and ".csv" in capsys.readouterr().err


def test_unknown_encoder_is_explained(tmp_path):
    catalog = tmp_path / "c.csv"
    pd.DataFrame({"id_str": ["a"], "file_loc": ["a.png"]}).to_csv(catalog, index=False)
    done = run_cli(
        "representations",
        "--encoder",
        "no_such_encoder_xyz",
        "--catalog",
        str(catalog),
        "--out",
        str(tmp_path / "r.csv"),
    )
    assert done.returncode == 2
    assert "no_such_encoder_xyz" in done.stderr and "Traceback" not in done.stderr


ZOOBOT_2_9 = Path(__file__).parent / "fixtures" / "zoobot" / "2.9"


def test_predict_with_a_hub_name_from_the_offline_cache(tmp_path):
    """End to end: a finetuned Zoobot repo on the Hub (read from the local cache), from a fresh process."""
    env = {**os.environ, "HF_HOME": str(ZOOBOT_2_9 / "hf_home"), "HF_HUB_OFFLINE": "1"}
    env.pop("HF_HUB_CACHE", None)
    out = tmp_path / "predictions.csv"
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "zoobot.cli",
            "predict",
            "--model",
            "zoobot-fixtures/zoobot-finetuned-test_tree",
            "--catalog",
            str(ZOOBOT_2_9 / "catalog.csv"),
            "--out",
            str(out),
        ],
        capture_output=True,
        text=True,
        timeout=300,
        env=env,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    predictions = pd.read_csv(out)
    assert len(predictions) == 12 and set(predictions["id_str"]) == set(pd.read_csv(ZOOBOT_2_9 / "catalog.csv").id_str)


@pytest.mark.parametrize(
    "model",
    [
        str(ZOOBOT_2_9.parent / "2.0" / "checkpoints" / "regressor.ckpt"),  # a checkpoint real Zoobot 2.0 wrote
        str(ZOOBOT_2_9 / "project_checkpoints" / "classifier.ckpt"),  # one this package wrote
        "hf_hub:zoobot-fixtures/zoobot-finetuned-test_classifier",
    ],
)
def test_predict_with_a_checkpoint_or_a_hub_name(model, tmp_path, monkeypatch, capsys):
    import huggingface_hub.constants as hf_constants

    monkeypatch.setattr(hf_constants, "HF_HUB_CACHE", str(ZOOBOT_2_9 / "hf_home" / "hub"))
    monkeypatch.setattr(hf_constants, "HF_HUB_OFFLINE", True)
    out = tmp_path / "predictions.csv"
    assert main(["predict", "--model", model, "--catalog", str(ZOOBOT_2_9 / "catalog.csv"), "--out", str(out)]) == 0
    assert "Wrote predictions for 12 galaxies" in capsys.readouterr().out
    assert len(pd.read_csv(out)) == 12


def test_predict_with_nothing_to_load_is_explained(tmp_path, capsys):
    code = main(
        [
            "predict",
            "--model",
            str(tmp_path / "missing.ckpt"),
            "--catalog",
            str(ZOOBOT_2_9 / "catalog.csv"),
            "--out",
            str(tmp_path / "p.csv"),
        ]
    )
    assert code == 2 and "No finetuned model found" in capsys.readouterr().err
