"""Assemble the Hugging Face Space: the repository's files, with ``space/README.md`` as the README.

A Space reads its settings (``sdk: docker``, ``app_port``, ...) from the front matter of its
``README.md``. The repository's own README has none, so GitHub and PyPI show a clean page; this script
writes a copy of the repository (its git-tracked files, as committed or staged) whose ``README.md``
is the Space's card, ready to push::

    python scripts/make_space.py --out space_repo
    cd space_repo && git init -b main && git add -A && git commit -m "Zoobot App" \\
        && git push --force https://huggingface.co/spaces/<owner>/<space> main
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SPACE_README = ROOT / "space" / "README.md"


def tracked_files(root: Path) -> list[Path]:
    """The repository's files git knows (committed or staged), relative to ``root``."""
    listed = subprocess.run(["git", "ls-files", "-z"], cwd=root, capture_output=True, check=True).stdout
    return [Path(name) for name in listed.decode().split("\0") if name]


def make_space(out: Path, root: Path = ROOT) -> Path:
    """Copy the repository's tracked files into ``out`` (which must not exist), with the Space's card
    as ``README.md``; returns ``out``."""
    if out.exists():
        raise SystemExit(f"{out} exists already; give a new folder (the Space is written from scratch).")
    for name in tracked_files(root):
        source = root / name
        if source.is_file():  # a file deleted but not yet committed is left out
            target = out / name
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, target)
    shutil.copyfile(root / SPACE_README.relative_to(ROOT), out / "README.md")
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, required=True, help="folder to write the Space into (must not exist)")
    args = parser.parse_args()
    make_space(args.out)
    print(f"Wrote the Space to {args.out}; push it to your Space's git repository.")


if __name__ == "__main__":
    main()
