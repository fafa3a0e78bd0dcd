"""Taking uploads in safely: size and count caps, zip archives without path tricks, and (hosted
mode) image paths that must stay inside the session's upload folder."""

from __future__ import annotations

import shutil
import stat
import zipfile
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path, PurePosixPath, PureWindowsPath

CATALOG_SUFFIXES = (".csv", ".parquet", ".pq")
IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".fits", ".fit", ".fits.gz")


class UploadError(ValueError):
    """An upload the app refuses; the message says why and what to do."""


@dataclass(frozen=True)
class UploadLimits:
    """Caps on what one upload may hold.

    Attributes:
        max_mb: Largest total size, in megabytes, of the files (after unzipping).
        max_files: Most files (after unzipping).
    """

    max_mb: float = 500.0
    max_files: int = 20000


@dataclass(frozen=True)
class StoredUpload:
    """Where an upload landed.

    Attributes:
        folder: The new folder holding everything from this upload.
        catalog: The catalog file (uploaded directly, or the only catalog inside the zip).
        base_dirs: Folders that relative ``file_loc`` may be relative to, most likely first.
    """

    folder: Path
    catalog: Path
    base_dirs: tuple[Path, ...]


def _is_catalog(name: str) -> bool:
    return name.lower().endswith(CATALOG_SUFFIXES)


def _is_image(name: str) -> bool:
    return name.lower().endswith(IMAGE_SUFFIXES)


def safe_member_path(name: str) -> PurePosixPath:
    """The relative path of a zip member, refusing absolute paths and ``..`` parts.

    Raises:
        UploadError: If the member would land outside the folder it is unpacked into.
    """
    path = PurePosixPath(name.replace("\\", "/"))
    if path.is_absolute() or name.startswith(("/", "\\")) or (len(name) > 1 and name[1] == ":") \
            or ".." in path.parts:
        raise UploadError(
            f"The zip file holds '{name}', a path that points outside the archive. "
            "Zip the image folder again with relative paths only (no '..', no leading '/')."
        )
    return path


def extract_zip(zip_path: str | Path, dest: str | Path, limits: UploadLimits) -> list[Path]:
    """Unpack an uploaded zip archive into ``dest``, checking every member first.

    Args:
        zip_path: The uploaded file.
        dest: Folder to unpack into (created if missing).
        limits: Caps on the unpacked size and number of files.

    Returns:
        The unpacked files.

    Raises:
        UploadError: If the file is not a zip archive, holds a path outside the archive or a link,
            or unpacks to more files or bytes than allowed.
    """
    zip_path, dest = Path(zip_path), Path(dest)
    if not zipfile.is_zipfile(zip_path):
        raise UploadError(
            f"'{zip_path.name}' is not a zip archive. Upload the images as a .zip file, or select the image files "
            "themselves."
        )
    with zipfile.ZipFile(zip_path) as archive:
        members = [m for m in archive.infolist() if not m.is_dir()
                   and not m.filename.startswith("__MACOSX/") and not PurePosixPath(m.filename).name.startswith("._")]
        for member in members:
            safe_member_path(member.filename)
            if stat.S_ISLNK(member.external_attr >> 16):
                raise UploadError(f"The zip file holds a link ('{member.filename}'); zip the files themselves instead.")
        _check_limits(len(members), sum(m.file_size for m in members), limits)
        dest.mkdir(parents=True, exist_ok=True)
        written = []
        for member in members:
            target = dest / safe_member_path(member.filename)
            target.parent.mkdir(parents=True, exist_ok=True)
            with archive.open(member) as src, open(target, "wb") as out:
                shutil.copyfileobj(src, out)
            written.append(target)
    return written


def _check_limits(n_files: int, n_bytes: int, limits: UploadLimits) -> None:
    if n_files > limits.max_files:
        raise UploadError(f"The upload holds {n_files} files; at most {limits.max_files} are allowed here. "
                          "Upload a smaller catalog, or run the app on your own computer for larger ones.")
    if n_bytes > limits.max_mb * 1e6:
        raise UploadError(f"The upload is {n_bytes / 1e6:.0f} MB; at most {limits.max_mb:.0f} MB is allowed here. "
                          "Upload fewer or smaller images, or run the app on your own computer for larger ones.")


def store_upload(catalog_file: str | Path | None, image_files: Sequence[str | Path], dest: str | Path,
                 limits: UploadLimits) -> StoredUpload:
    """Copy an upload (a catalog, plus a zip of images or many image files) into ``dest``.

    The catalog goes to ``dest``, loose images to ``dest`` and a zip is unpacked into ``dest``, so
    ``file_loc`` written relative to the catalog's folder or to the zip's root both resolve. With
    no catalog file, the zip must hold exactly one catalog.

    Raises:
        UploadError: If there is no catalog, the files are not catalogs or images, or the caps are
            exceeded.
    """
    dest = Path(dest)
    images = [Path(p) for p in image_files or []]
    sizes = sum(p.stat().st_size for p in images) + (Path(catalog_file).stat().st_size if catalog_file else 0)
    _check_limits(len(images) + (1 if catalog_file else 0), sizes, limits)
    if catalog_file is not None and not _is_catalog(str(catalog_file)):
        raise UploadError(f"'{Path(catalog_file).name}' is not a catalog: upload a .csv or .parquet table with "
                          "one row per galaxy (columns id_str, file_loc and your labels).")
    dest.mkdir(parents=True, exist_ok=True)
    base_dirs: list[Path] = [dest]
    found_catalogs: list[Path] = []
    for path in images:
        if path.suffix.lower() == ".zip" or not _is_image(path.name):
            if path.suffix.lower() != ".zip" and not zipfile.is_zipfile(path):
                raise UploadError(f"'{path.name}' is neither an image (PNG, JPEG, FITS) nor a zip archive of images.")
            unpacked = extract_zip(path, dest, limits)
            found_catalogs += [p for p in unpacked if _is_catalog(p.name)]
            tops = {p.relative_to(dest).parts[0] for p in unpacked if len(p.relative_to(dest).parts) > 1}
            if len(tops) == 1:
                base_dirs.append(dest / tops.pop())
        elif (dest / path.name).exists():
            raise UploadError(f"Two uploaded images are both called '{path.name}'; rename one, or upload the images "
                              "as a zip that keeps their folders.")
        else:
            shutil.copy(path, dest / path.name)
    if catalog_file is not None:
        catalog = dest / Path(catalog_file).name
        shutil.copy(catalog_file, catalog)
    elif len(found_catalogs) == 1:
        catalog = found_catalogs[0]
        base_dirs.insert(0, catalog.parent)
    elif not found_catalogs:
        raise UploadError("No catalog was uploaded. Add the catalog table (.csv or .parquet) with one row per galaxy.")
    else:
        names = ", ".join(p.name for p in found_catalogs[:3])
        raise UploadError(f"The zip holds several catalogs ({names}); upload the one to use as the catalog file.")
    return StoredUpload(folder=dest, catalog=catalog, base_dirs=tuple(dict.fromkeys(base_dirs)))


def check_inside(paths: Iterable[str | Path], root: str | Path) -> None:
    """Refuse any path that resolves outside ``root`` (hosted mode: only the session's uploads).

    Raises:
        UploadError: Naming how many paths escape, with an example.
    """
    root = Path(root).resolve()
    outside = [str(p) for p in paths if not Path(p).resolve().is_relative_to(root)]
    if outside:
        raise UploadError(
            f"{len(outside)} file_loc value(s) point outside your uploaded files, e.g. '{outside[0]}'. "
            "On this hosted app, file_loc must be relative paths to the images you uploaded "
            "(e.g. images/galaxy_001.png)."
        )


def pick_base_dir(file_locs: Sequence[str], candidates: Sequence[Path]) -> Path:
    """The candidate folder under which the most relative ``file_loc`` exist (first on a tie)."""
    sample = [f for f in file_locs[:200] if isinstance(f, str)]
    best, best_hits = candidates[0], -1
    for folder in candidates:
        hits = sum((folder / f).is_file() for f in sample)
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
        if path.is_file() and _is_image(path.name):
            by_name.setdefault(path.name, []).append(path)
    matched: list[object] = []
    ambiguous: list[tuple[str, list[Path]]] = []
    for loc in file_locs:
        if not isinstance(loc, str) or not loc.strip() or (base_dir / loc).is_file():
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
