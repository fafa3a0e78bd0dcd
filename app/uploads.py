"""Taking uploads in safely: size and count caps over the whole upload (every zip in it unpacked)
and the session's room left, zip archives without path tricks, an upload landing whole or not at all
(it is unpacked into a hidden folder renamed into place at the end), and (hosted mode) image paths
that must stay inside the session's upload folder."""

from __future__ import annotations

import os
import secrets
import shutil
import stat
import zipfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any

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
        advice: What a refusal suggests doing instead.
    """

    max_mb: float = 500.0
    max_files: int = 20000
    advice: str = "Upload fewer or smaller files, or run the app on your own computer for larger ones."


MAX_NAME_BYTES = 255
"""Longest file or folder name most file systems take (longer ones fail with "File name too long")."""


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


def is_image_name(name: str) -> bool:
    return name.lower().endswith(IMAGE_SUFFIXES)


def _is_file(path: Path) -> bool:
    """``path.is_file()``, False (not an error) for a name too long or with a NUL in it."""
    try:
        return path.is_file()
    except (OSError, ValueError):
        return False


def safe_member_path(name: str) -> PurePosixPath:
    """The relative path of a zip member, refusing absolute paths and ``..`` parts.

    Raises:
        UploadError: If the member would land outside the folder it is unpacked into.
    """
    path = PurePosixPath(name.replace("\\", "/"))
    if path.is_absolute() or name.startswith(("/", "\\")) or (len(name) > 1 and name[1] == ":") or ".." in path.parts:
        raise UploadError(
            f"The zip file holds '{name}', a path that points outside the archive. "
            "Zip the image folder again with relative paths only (no '..', no leading '/')."
        )
    if any(len(part.encode("utf-8")) > MAX_NAME_BYTES for part in path.parts) or "\x00" in name:
        raise UploadError(
            f"The zip file holds a file or folder whose name is too long (over {MAX_NAME_BYTES} "
            f"characters) or not a name, e.g. '{name[:60]}…'. Rename it and zip the files again."
        )
    return path


def _zip_members(archive: zipfile.ZipFile) -> list[zipfile.ZipInfo]:
    """The members to unpack (no folders, no macOS metadata), each checked for path tricks and links.

    Raises:
        UploadError: A member with a path outside the archive, a name too long, or a link.
    """
    members = [
        m
        for m in archive.infolist()
        if not m.is_dir()
        and not m.filename.startswith("__MACOSX/")
        and not PurePosixPath(m.filename).name.startswith("._")
    ]
    for member in members:
        safe_member_path(member.filename)
        if stat.S_ISLNK(member.external_attr >> 16):
            raise UploadError(f"The zip file holds a link ('{member.filename}'); zip the files themselves instead.")
    return members


def _open_zip(zip_path: Path) -> zipfile.ZipFile:
    try:
        if zipfile.is_zipfile(zip_path):
            return zipfile.ZipFile(zip_path)
    except (OSError, zipfile.BadZipFile, ValueError):
        pass
    raise UploadError(
        f"'{zip_path.name}' is not a zip archive. Upload the images as a .zip file, or select the image files "
        "themselves."
    )


def extract_zip(
    zip_path: str | Path, dest: str | Path, limits: UploadLimits, budget: list[int] | None = None
) -> list[Path]:
    """Unpack an uploaded zip archive into ``dest``, checking every member first.

    Args:
        zip_path: The uploaded file.
        dest: Folder to unpack into (created if missing).
        limits: Caps on the unpacked size and number of files.
        budget: ``[bytes left]`` shared by every zip of one upload: what this one writes is taken from
            it, and unpacking stops with an error if a member inflates past it (whatever its header said).

    Returns:
        The unpacked files.

    Raises:
        UploadError: If the file is not a zip archive, holds a path outside the archive or a link,
            or unpacks to more files or bytes than allowed.
    """
    zip_path, dest = Path(zip_path), Path(dest)
    with _open_zip(zip_path) as archive:
        members = _zip_members(archive)
        declared = sum(m.file_size for m in members)
        _check_limits(len(members), declared, limits)
        budget = (
            budget if budget is not None else [int(limits.max_mb * 1e6) if limits.max_mb != float("inf") else 2**62]
        )
        dest.mkdir(parents=True, exist_ok=True)
        written = []
        for member in members:
            target = dest / safe_member_path(member.filename)
            try:
                target.parent.mkdir(parents=True, exist_ok=True)
                with archive.open(member) as src, open(target, "xb") as out:
                    _copy_within(src, out, budget, limits)
            except (FileExistsError, IsADirectoryError, NotADirectoryError) as err:
                raise UploadError(
                    f"The zip file holds '{member.filename}' twice, or as both a file and a folder; "
                    "zip the images again so each path is used once."
                ) from err
            except (zipfile.BadZipFile, EOFError) as err:
                raise UploadError(
                    f"'{zip_path.name}' is damaged ('{member.filename}' does not unpack); zip the images again."
                ) from err
            written.append(target)
    return written


def _copy_within(src: Any, out: Any, budget: list[int], limits: UploadLimits) -> None:
    """Copy a member in blocks, taking its bytes from ``budget`` (a zip may lie about its sizes)."""
    while block := src.read(1 << 20):
        budget[0] -= len(block)
        if budget[0] < 0:
            raise UploadError(
                f"The upload unpacks to more than {limits.max_mb:.0f} MB, the most allowed here. " + limits.advice
            )
        out.write(block)


def _check_limits(n_files: int, n_bytes: int, limits: UploadLimits) -> None:
    if n_files > limits.max_files:
        raise UploadError(
            f"The upload holds {n_files} files; at most {limits.max_files} are allowed here. " + limits.advice
        )
    if n_bytes > limits.max_mb * 1e6:
        raise UploadError(
            f"The upload is {n_bytes / 1e6:.0f} MB unpacked; at most {limits.max_mb:.0f} MB is allowed "
            "here. " + limits.advice
        )


def _unpacked_size(paths: Sequence[Path]) -> tuple[int, int]:
    """Files and bytes an upload holds once every zip in it is unpacked (from the zips' headers)."""
    n_files = n_bytes = 0
    for path in paths:
        if path.suffix.lower() == ".zip" or not is_image_name(path.name):
            with _open_zip(path) as archive:
                members = _zip_members(archive)
            n_files += len(members)
            n_bytes += sum(m.file_size for m in members)
        else:
            n_files += 1
            n_bytes += path.stat().st_size
    return n_files, n_bytes


def store_upload(
    catalog_file: str | Path | None,
    image_files: Sequence[str | Path],
    dest: str | Path,
    limits: UploadLimits,
    room_mb: float | None = None,
) -> StoredUpload:
    """Copy an upload (a catalog, plus zips of images or many image files) into ``dest``, whole or not at all.

    The catalog goes to ``dest``, loose images to ``dest`` and a zip is unpacked into ``dest``, so
    ``file_loc`` written relative to the catalog's folder or to the zip's root both resolve. With
    no catalog file, the zip must hold exactly one catalog. The caps apply to the whole upload, every
    zip in it unpacked, and are checked before anything is written; everything lands in a hidden
    folder first, renamed to ``dest`` at the end, and removed if anything fails (a refusal, a full disk).

    Args:
        catalog_file: The catalog table, or ``None`` if a zip holds it.
        image_files: Zips of images, or image files.
        dest: The new folder for this upload (must not exist yet).
        limits: Caps on one upload.
        room_mb: Megabytes the session may still store (its quota less its earlier uploads), if capped.

    Raises:
        UploadError: If there is no catalog, the files are not catalogs or images, or the caps are
            exceeded.
    """
    dest = Path(dest)
    images = [Path(p) for p in image_files or []]
    if catalog_file is not None and not _is_catalog(str(catalog_file)):
        raise UploadError(
            f"'{Path(catalog_file).name}' is not a catalog: upload a .csv or .parquet table with "
            "one row per galaxy (columns id_str, file_loc and your labels)."
        )
    for path in images:
        if (
            (path.suffix.lower() == ".zip" or not is_image_name(path.name))
            and path.suffix.lower() != ".zip"
            and not zipfile.is_zipfile(path)
        ):
            raise UploadError(f"'{path.name}' is neither an image (PNG, JPEG, FITS) nor a zip archive of images.")
    n_files, n_bytes = _unpacked_size(images)
    n_files += 1 if catalog_file else 0
    n_bytes += Path(catalog_file).stat().st_size if catalog_file else 0
    _check_limits(n_files, n_bytes, limits)
    if room_mb is not None and n_bytes > room_mb * 1e6:
        raise UploadError(
            f"This upload is {n_bytes / 1e6:.0f} MB unpacked, but your session has only "
            f"{max(room_mb, 0):.0f} MB of room left. Delete uploads you no longer need (Your files, at "
            "the bottom of the page), or upload less. " + limits.advice
        )
    budget = [
        min(
            int(limits.max_mb * 1e6) if limits.max_mb != float("inf") else 2**62,
            int(room_mb * 1e6) if room_mb is not None else 2**62,
        )
    ]
    staging = dest.with_name(f".{dest.name}.{secrets.token_hex(4)}.partial")
    try:
        stored = _store(catalog_file, images, staging, limits, budget)
        os.rename(staging, dest)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    moved = {p: dest / p.relative_to(staging) for p in (stored.catalog, *stored.base_dirs)}
    return StoredUpload(folder=dest, catalog=moved[stored.catalog], base_dirs=tuple(moved[p] for p in stored.base_dirs))


def _store(
    catalog_file: str | Path | None, images: list[Path], dest: Path, limits: UploadLimits, budget: list[int]
) -> StoredUpload:
    dest.mkdir(parents=True)
    base_dirs: list[Path] = [dest]
    found_catalogs: list[Path] = []
    for path in images:
        if path.suffix.lower() == ".zip" or not is_image_name(path.name):
            unpacked = extract_zip(path, dest, limits, budget)
            found_catalogs += [p for p in unpacked if _is_catalog(p.name)]
            tops = {p.relative_to(dest).parts[0] for p in unpacked if len(p.relative_to(dest).parts) > 1}
            if len(tops) == 1:
                base_dirs.append(dest / tops.pop())
        elif (dest / path.name).exists():
            raise UploadError(
                f"Two uploaded images are both called '{path.name}'; rename one, or upload the images "
                "as a zip that keeps their folders."
            )
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


def folder_bytes(folder: str | Path) -> int:
    """Bytes of every file under ``folder`` (0 if it does not exist)."""
    total = 0
    for root, _, files in os.walk(folder):
        for name in files:
            try:
                total += os.lstat(os.path.join(root, name)).st_size
            except OSError:
                continue  # removed while counting
    return total
