"""Every command in the README runs, so the README cannot go stale.

The quickstart's two commands are run by CI (`.ci/run` runs the marked test command; the browser
test starts the app through the `zoobot-app` console script). Here: the Python API examples, the
command-line walkthrough and the custom-schema YAML.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

ROOT = Path(__file__).resolve().parent.parent
README = (ROOT / "README.md").read_text()


def blocks(language: str) -> list[str]:
    return re.findall(rf"```{language}\n(.*?)```", README, re.S)


def test_quickstart_has_the_two_commands():
    bash = blocks("bash")
    assert "pip install . && zoobot-app" in bash[0]
    assert 'pip install ".[test]" && python -m pytest -n 2 --dist loadfile' in bash[1]


def smaller(code: str, replacements: dict[str, str]) -> str:
    """``code`` with the README's survey size and epochs lowered, to keep the suite's time: the README
    quotes what its own sizes score (measured once, by hand); here every line runs, on fewer galaxies."""
    for old, new in replacements.items():
        assert old in code, f"the README no longer says {old!r}; update this test"
        code = code.replace(old, new)
    return code


@pytest.mark.slow
def test_python_examples_run(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    code = smaller("\n".join(blocks("python")), {"n=400": "n=160", "max_epochs=10": "max_epochs=3"})
    namespace: dict = {}
    exec(compile(code, "README.md", "exec"), namespace)  # noqa: S102 - our own README
    ring = pd.read_csv(tmp_path / "results/ring/predictions.csv")
    assert len(ring) == 160 and ring["id_str"].is_unique
    tree = pd.read_csv(tmp_path / "results/tree/predictions.csv")
    assert any(c.endswith("_fraction") for c in tree.columns)
    assert namespace["coords"].shape == (160, 2)
    printed = capsys.readouterr().out  # each model's score beside its baseline
    for baseline in ("always answering the most common class", "always predicting the average", "as the average"):
        assert baseline in printed


@pytest.mark.slow
def test_command_line_walkthrough_runs(tmp_path):
    walkthrough = next(b for b in blocks("bash") if "zoobot finetune --config" in b)
    scripts = Path(sys.executable).parent
    env = {**os.environ, "PATH": f"{scripts}{os.pathsep}{os.environ['PATH']}", "HF_HUB_OFFLINE": "1"}
    assert shutil.which("zoobot", path=env["PATH"]), "the zoobot console script is installed"
    walkthrough = smaller(walkthrough, {"--n 400": "--n 200", "max_epochs: 10": "max_epochs: 3"})
    result = subprocess.run(
        ["bash", "-euo", "pipefail", "-c", walkthrough],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=900,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    predictions = pd.read_csv(tmp_path / "ring_predictions.csv")
    assert len(predictions) == 200
    reps = pd.read_parquet(tmp_path / "demo_survey/representations.parquet")
    assert {"umap_x", "umap_y"} <= set(reps.columns)
    assert (tmp_path / "runs/ring/test_metrics.json").is_file()
    assert "always answering the most common class" in result.stdout
    assert "zoobot finetune --config runs/ring/config.yaml --run-dir runs/ring-rerun" in result.stdout


def test_custom_schema_yaml_is_valid():
    from zoobot.schemas import Schema

    schema = Schema.from_yaml(blocks("yaml")[0])
    assert schema.label_cols == [
        "smooth-or-featured_smooth",
        "smooth-or-featured_featured-or-disk",
        "smooth-or-featured_artifact",
        "has-ring_yes",
        "has-ring_no",
    ]
    assert schema.get_question("has-ring").asked_after.text == "smooth-or-featured_featured-or-disk"


def test_every_cli_command_named_in_the_readme_exists():
    from zoobot.cli import build_parser

    commands = set(re.findall(r"`zoobot ([a-z-]+)", README)) | set(
        re.findall(r"^zoobot ([a-z-]+)", "\n".join(blocks("bash")), re.M)
    )
    known = set(build_parser()._subparsers._group_actions[0].choices)
    assert commands and commands <= known, commands - known


def test_every_image_the_readme_shows_exists():
    images = re.findall(r"!\[[^\]]*\]\(([^)]+)\)", README)
    assert len(images) >= 8
    missing = [path for path in images if not (ROOT / path).is_file()]
    assert not missing, missing


def test_long_reproduction_commands_are_accepted_as_written():
    """The demo-encoder reproduction (30+ CPU minutes) is too long to run here; each of its
    commands is at least checked to parse, flag by flag, so a renamed option cannot slip by."""
    import shlex

    from zoobot.cli import build_parser

    walkthrough_and_quickstart = [b for b in blocks("bash") if "zoobot finetune --config" in b or "pip install" in b]
    lines = [
        line.split("#")[0].strip()
        for block in blocks("bash")
        if block not in walkthrough_and_quickstart
        for line in block.splitlines()
    ]
    lines = [line for line in lines if line]
    assert any(line.startswith("python benchmarks/") for line in lines)
    assert any(line.startswith("python scripts/") for line in lines)
    for line in lines:
        words = shlex.split(line)
        if words[0] == "zoobot":
            build_parser().parse_args(words[1:])
        elif words[0] == "python" and words[1].startswith(("benchmarks/", "scripts/")):
            help_text = subprocess.run(
                [sys.executable, str(ROOT / words[1]), "--help"],
                capture_output=True,
                text=True,
                timeout=120,
                check=True,
            ).stdout
            for flag in (w for w in words[2:] if w.startswith("--")):
                assert flag in help_text, f"{words[1]} has no option {flag}"
        else:
            raise AssertionError(f"README command not covered by a test: {line}")
