"""Uploads the app refuses: non-archives, zip-slip members, oversized uploads, escaping paths."""

from __future__ import annotations

import zipfile

import pytest

from app.upload_paths import check_inside, pick_base_dir
from app.uploads import UploadError, UploadLimits, extract_zip, store_upload


def _zip(path, members: dict[str, bytes]):
    with zipfile.ZipFile(path, "w") as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    return path


@pytest.mark.parametrize("member", ["../evil.png", "images/../../evil.png", "/etc/evil.png", "C:/evil.png"])
def test_zip_members_escaping_the_archive_are_refused_before_anything_is_written(tmp_path, member):
    archive = _zip(tmp_path / "images.zip", {"ok.png": b"x", member: b"y"})
    with pytest.raises(UploadError, match="outside the archive"):
        extract_zip(archive, tmp_path / "out", UploadLimits())
    assert not (tmp_path / "out").exists()


def test_a_file_that_is_not_a_zip_is_refused(tmp_path):
    fake = tmp_path / "images.zip"
    fake.write_text("not a zip")
    with pytest.raises(UploadError, match="not a zip archive"):
        extract_zip(fake, tmp_path / "out", UploadLimits())


def test_zip_bombs_and_too_many_files_are_refused(tmp_path):
    archive = _zip(tmp_path / "big.zip", {f"{i}.png": b"0" * 1000 for i in range(5)})
    with pytest.raises(UploadError, match="at most 4"):
        extract_zip(archive, tmp_path / "a", UploadLimits(max_files=4))
    with pytest.raises(UploadError, match="MB"):
        extract_zip(archive, tmp_path / "b", UploadLimits(max_mb=0.001))


def test_catalog_and_zip_land_together_so_relative_paths_resolve(tmp_path):
    catalog = tmp_path / "cat.csv"
    catalog.write_text("id_str,file_loc\na,images/a.png\n")
    archive = _zip(tmp_path / "imgs.zip", {"data/images/a.png": b"x"})
    stored = store_upload(catalog, [archive], tmp_path / "up", UploadLimits())
    assert stored.catalog == tmp_path / "up" / "cat.csv"
    assert pick_base_dir(["images/a.png"], stored.base_dirs) == tmp_path / "up" / "data"


def test_a_catalog_inside_the_zip_is_found(tmp_path):
    archive = _zip(tmp_path / "all.zip", {"set/catalog.csv": b"id_str,file_loc\n", "set/a.png": b"x"})
    stored = store_upload(None, [archive], tmp_path / "up", UploadLimits())
    assert stored.catalog.name == "catalog.csv"
    assert stored.base_dirs[0] == tmp_path / "up" / "set"


def test_an_upload_without_catalog_or_with_a_wrong_file_type_is_refused(tmp_path):
    img = tmp_path / "a.png"
    img.write_bytes(b"x")
    with pytest.raises(UploadError, match="No catalog was uploaded"):
        store_upload(None, [img], tmp_path / "up", UploadLimits())
    doc = tmp_path / "notes.docx"
    doc.write_bytes(b"x")
    with pytest.raises(UploadError, match="not a catalog"):
        store_upload(doc, [], tmp_path / "up2", UploadLimits())
    with pytest.raises(UploadError, match="neither an image"):
        store_upload(None, [doc], tmp_path / "up3", UploadLimits())


def test_paths_escaping_the_upload_folder_are_refused(tmp_path):
    root = tmp_path / "uploads"
    root.mkdir()
    check_inside([root / "a.png", root / "sub" / "b.png"], root)
    with pytest.raises(UploadError, match="point outside your uploaded files"):
        check_inside([root / "a.png", root / ".." / "secret.png"], root)
    with pytest.raises(UploadError, match="1 file_loc"):
        check_inside(["/etc/passwd"], root)


def test_two_loose_images_with_one_name_are_refused(tmp_path):
    catalog = tmp_path / "cat.csv"
    catalog.write_text("id_str,file_loc\na,a.png\n")
    for night in ("night1", "night2"):
        (tmp_path / night).mkdir()
        (tmp_path / night / "a.png").write_bytes(b"x")
    with pytest.raises(UploadError, match="both called 'a.png'"):
        store_upload(
            catalog, [tmp_path / "night1" / "a.png", tmp_path / "night2" / "a.png"], tmp_path / "up", UploadLimits()
        )
