"""The zoobot command: complete --help, listings, surveys and clear errors."""

from __future__ import annotations

import subprocess
import sys

import pandas as pd
import pytest

from zoobot.cli import build_parser, main

COMMANDS = ["finetune", "predict", "representations", "make-survey", "pretrain", "encoders", "schemas"]


def run_cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "zoobot.cli", *args], capture_output=True, text=True,
                          timeout=300)


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


def test_unknown_encoder_is_explained(tmp_path):
    catalog = tmp_path / "c.csv"
    pd.DataFrame({"id_str": ["a"], "file_loc": ["a.png"]}).to_csv(catalog, index=False)
    done = run_cli("representations", "--encoder", "no_such_encoder_xyz", "--catalog", str(catalog),
                   "--out", str(tmp_path / "r.csv"))
    assert done.returncode == 2
    assert "no_such_encoder_xyz" in done.stderr and "Traceback" not in done.stderr
