"""The shipping files agree with each other: Dockerfile, README front matter, pyproject, CI."""

from __future__ import annotations

import re
import sys
from pathlib import Path

import pytest
import yaml

if sys.version_info >= (3, 11):
    import tomllib
else:  # Python 3.10: the same parser, from PyPI (the test extra installs it)
    import tomli as tomllib

ROOT = Path(__file__).resolve().parent.parent


def readme() -> str:
    return (ROOT / "README.md").read_text()


def front_matter() -> dict:
    match = re.match(r"^---\n(.*?)\n---\n", (ROOT / "space" / "README.md").read_text(), re.S)
    assert match, "space/README.md (the Space's card) must start with the Spaces front matter between --- lines"
    return yaml.safe_load(match.group(1))


def test_the_readme_has_no_front_matter_and_the_space_gets_its_card(tmp_path):
    """GitHub and PyPI show README.md without the Space's settings; make_space.py gives the Space its card."""
    import runpy
    import subprocess

    make_space = runpy.run_path(str(ROOT / "scripts" / "make_space.py"))["make_space"]

    assert readme().startswith("# Zoobot App\n")
    repo = tmp_path / "repo"
    (repo / "space").mkdir(parents=True)
    (repo / "space" / "README.md").write_text((ROOT / "space" / "README.md").read_text())
    (repo / "README.md").write_text(readme())
    (repo / "Dockerfile").write_text("FROM python\n")
    (repo / "notes.txt").write_text("not tracked\n")
    subprocess.run(["git", "init", "-q"], cwd=repo, check=True)
    subprocess.run(["git", "add", "space", "README.md", "Dockerfile"], cwd=repo, check=True)
    out = make_space(tmp_path / "space_repo", root=repo)
    assert (out / "README.md").read_text() == (ROOT / "space" / "README.md").read_text()
    assert (out / "Dockerfile").is_file() and not (out / "notes.txt").exists()


def dockerfile_instructions() -> list[tuple[str, str]]:
    text = (ROOT / "Dockerfile").read_text().replace("\\\n", " ")
    rows = []
    for line in text.splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            keyword, _, rest = line.partition(" ")
            rows.append((keyword.upper(), rest.strip()))
    return rows


def docker_env() -> dict[str, str]:
    env = {}
    for keyword, rest in dockerfile_instructions():
        if keyword == "ENV":
            env.update(dict(re.findall(r"(\w+)=(\S+)", rest)))
    return env


def test_front_matter_is_a_docker_space_on_the_apps_port():
    meta = front_matter()
    assert meta["sdk"] == "docker"
    assert int(meta["app_port"]) == 7860
    assert meta.get("suggested_hardware")


def test_dockerfile_serves_the_app_on_the_front_matter_port_as_uid_1000():
    rows = dockerfile_instructions()
    env = docker_env()
    port = str(front_matter()["app_port"])
    assert ("EXPOSE", port) in rows
    assert env["GRADIO_SERVER_NAME"] == "0.0.0.0"
    assert env["GRADIO_SERVER_PORT"] == port
    assert env["HF_HOME"].startswith("/home/user")
    assert env["ZOOBOT_HOSTED"] == "1"
    assert any(k == "RUN" and "--uid 1000" in rest for k, rest in rows)
    assert ("USER", "user") in rows
    cmd = next(rest for k, rest in rows if k == "CMD")
    assert '"zoobot-app"' in cmd and '"--hosted"' in cmd and f'"{port}"' in cmd
    # Runs stay under the working directory: Gradio then hands files out as copies, and never
    # serves the runs folder itself (where other sessions' files live).
    runs_dir = re.search(r'"--runs-dir", "([^"]+)"', cmd).group(1)
    assert not runs_dir.startswith("/")


def test_dockerfile_entry_point_is_a_console_script_of_the_package():
    scripts = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["scripts"]
    cmd = next(rest for k, rest in dockerfile_instructions() if k == "CMD")
    program = re.findall(r'"([^"]+)"', cmd)[0]
    assert program in scripts
    module, _, function = scripts[program].partition(":")
    imported = __import__(module, fromlist=[function])
    assert callable(getattr(imported, function))


def test_dockerfile_installs_the_way_the_readme_says():
    install = re.search(r"^pip install \.(?: |$)", readme(), re.M)
    assert install, "the README's quickstart installs with `pip install .`"
    runs = [rest for k, rest in dockerfile_instructions() if k == "RUN" and "pip install" in rest]
    assert len(runs) == 1
    words = runs[0].split()
    assert words[:2] == ["pip", "install"] and words[-1] == "."


def test_ci_runs_the_readme_test_command_in_a_fresh_venv():
    ci = (ROOT / ".ci" / "run").read_text()
    assert "python3 -m venv" in ci and "<!-- test-command -->" in ci
    block = readme().split("<!-- test-command -->", 1)[1]
    command = re.search(r"```bash\n(.*?)```", block, re.S).group(1)
    assert "pytest" in command and 'pip install ".[test]"' in command


def test_wheel_bundles_the_demo_encoder_as_package_data():
    build = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["hatch"]["build"]
    wheel = build["targets"]["wheel"]
    assert set(wheel["packages"]) == {"zoobot", "app"}
    assert wheel["force-include"]["assets"] == "zoobot/_assets"
    assert (ROOT / "assets" / "demo_encoder" / "config.json").is_file()


def _declared(requirements: list[str]) -> set[str]:
    """Normalised distribution names of PEP 508 requirement strings."""
    return {re.sub(r"[-_.]+", "-", re.match(r"[A-Za-z0-9._-]+", r).group(0)).lower() for r in requirements}


# Runs with real Zoobot in a virtual environment of its own, described by its requirements files.
ZOOBOT_FIXTURES = ROOT / "scripts" / "zoobot_fixtures"


def _third_party_imports(folder: str) -> set[str]:
    """Top-level names of the modules that ``folder``'s Python files import, stdlib and ours left out."""
    import ast

    names = set()
    for path in (ROOT / folder).rglob("*.py"):
        if folder != "scripts/zoobot_fixtures" and path.is_relative_to(ZOOBOT_FIXTURES):
            continue
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Import):
                names |= {alias.name.split(".")[0] for alias in node.names}
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names.add(node.module.split(".")[0])
    local = {path.stem for path in (ROOT / folder).rglob("*.py")}  # e.g. tests/app_sessions.py
    return names - set(sys.stdlib_module_names) - local - {"zoobot", "app", "__future__"}


@pytest.mark.parametrize(
    "folder, extras", [("zoobot", []), ("app", []), ("scripts", []), ("benchmarks", []), ("tests", ["test"])]
)
def test_every_imported_package_is_declared(folder, extras):
    from importlib.metadata import packages_distributions

    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    declared = _declared(project["dependencies"])
    for extra in extras:
        declared |= _declared(project["optional-dependencies"][extra])
    providers = packages_distributions()
    undeclared = {
        name for name in _third_party_imports(folder) if not _declared(providers.get(name, [name])) & declared
    }
    assert not undeclared, (
        f"{folder}/ imports {sorted(undeclared)}, which pyproject.toml does not "
        f"declare in dependencies{' or ' + ', '.join(extras) if extras else ''}"
    )


def test_the_zoobot_fixture_script_declares_its_imports_in_its_own_requirements():
    from importlib.metadata import packages_distributions

    declared: set[str] = set()
    for requirements in ZOOBOT_FIXTURES.glob("requirements-*.txt"):
        lines = [line.strip() for line in requirements.read_text().splitlines()]
        declared |= _declared([line for line in lines if line and not line.startswith("#")])
    providers = packages_distributions()
    undeclared = {
        name
        for name in _third_party_imports("scripts/zoobot_fixtures")
        if not _declared(providers.get(name, [name])) & declared
    }
    assert not undeclared, f"scripts/zoobot_fixtures imports {sorted(undeclared)}, missing from its requirements files"
