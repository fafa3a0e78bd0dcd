"""Where an upload's files are, as the catalog names them: a catalog's ``file_loc`` matched to the files of
its upload (by their trailing path parts), the folder relative paths resolve against, and the check that no
path leaves the upload (hosted mode).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from pathlib import Path, PurePosixPath, PureWindowsPath

from app.uploads import UploadError, _is_file, is_image_name


def check_inside(paths: Iterable[str | Path], root: str | Path) -> None:
    """Refuse any path that resolves outside ``root`` (hosted mode: only the session's uploads).

    Raises:
        UploadError: Naming how many paths escape, with an example.
    """
    root = Path(root).resolve()
    outside = [str(p) for p in paths if not _resolves_inside(p, root)]
    if outside:
        raise UploadError(
            f"{len(outside)} file_loc value(s) point outside your uploaded files, e.g. '{outside[0]}'. "
            "On this hosted app, file_loc must be relative paths to the images you uploaded "
            "(e.g. images/galaxy_001.png)."
        )


def _resolves_inside(path: str | Path, root: Path) -> bool:
    try:
        return Path(path).resolve().is_relative_to(root)
    except (OSError, ValueError, RuntimeError):  # a NUL in the name, a link loop
        return False


def pick_base_dir(file_locs: Sequence[str], candidates: Sequence[Path]) -> Path:
    """The candidate folder under which the most relative ``file_loc`` exist (first on a tie)."""
    sample = [f for f in file_locs[:200] if isinstance(f, str)]
    best, best_hits = candidates[0], -1
    for folder in candidates:
        hits = sum(_is_file(folder / f) for f in sample)
        if hits > best_hits:
            best, best_hits = folder, hits
    return best


def _path_parts(file_loc: str) -> tuple[str, ...]:
    """The parts of a path written on any system (``/home/me/a.png``, ``C:\\me\\a.png``, ``images/a.png``)."""
    if "\\" in file_loc:
        return PureWindowsPath(file_loc).parts
    return PurePosixPath(file_loc).parts


def match_uploaded_files(file_locs: Sequence[object], folder: str | Path, base_dir: str | Path) -> list[object]:
    """Point each ``file_loc`` at the uploaded image it names, whatever folders it was written with.

    A ``file_loc`` that exists relative to ``base_dir`` is kept. Any other is matched to the uploaded
    image with the same file name; when several uploaded images share the name, to the one whose
    folders agree with the most trailing folders of the ``file_loc``. So a catalog written on the
    astronomer's own machine (``/home/me/cutouts/J1234.png``) finds ``J1234.png`` in the upload.
    Values that match nothing are kept, for the image check to report as missing.

    Args:
        file_locs: The catalog's ``file_loc`` values.
        folder: The upload's folder (every image in it may be matched).
        base_dir: The folder relative ``file_loc`` are relative to.

    Returns:
        The ``file_loc`` values, matched ones as absolute paths inside ``folder``.

    Raises:
        UploadError: If a ``file_loc`` fits two or more uploaded images equally well.
    """
    folder, base_dir = Path(folder), Path(base_dir)
    by_name: dict[str, list[Path]] = {}
    for path in sorted(folder.rglob("*")):
        if path.is_file() and is_image_name(path.name):
            by_name.setdefault(path.name, []).append(path)
    matched: list[object] = []
    ambiguous: list[tuple[str, list[Path]]] = []
    for loc in file_locs:
        if not isinstance(loc, str) or not loc.strip() or _is_file(base_dir / loc):
            matched.append(loc)
            continue
        parts = _path_parts(loc.strip())
        candidates = by_name.get(parts[-1], []) if parts else []
        if len(candidates) > 1:
            scores = [_trailing_match(parts, c.relative_to(folder).parts) for c in candidates]
            best = [c for c, score in zip(candidates, scores, strict=True) if score == max(scores)]
            if len(best) > 1:
                ambiguous.append((loc, best))
            candidates = best[:1]
        matched.append(str(candidates[0]) if candidates else loc)
    if ambiguous:
        loc, paths = ambiguous[0]
        shown = " and ".join(f"'{p.relative_to(folder).as_posix()}'" for p in paths[:2])
        raise UploadError(
            f"{len(ambiguous)} file_loc value(s) could be more than one uploaded image, e.g. '{loc}' could be "
            f"{shown}. Write file_loc as the path inside your upload (e.g. {paths[0].relative_to(folder).as_posix()}), "
            "or give each image its own file name."
        )
    return matched


def _trailing_match(a: tuple[str, ...], b: tuple[str, ...]) -> int:
    """How many trailing path parts ``a`` and ``b`` share."""
    n = 0
    while n < min(len(a), len(b)) and a[-1 - n] == b[-1 - n]:
        n += 1
    return n
