"""The previews storage layer on S3 (moto's server): sources are fetched to
local scratch for Pillow/ffmpeg, outputs streamed back, scratch lives outside
STORAGE_DIR, and the sweep clears abandoned uploads and multipart uploads."""

from __future__ import annotations

import os
import socket
import time
import uuid

import pytest


@pytest.fixture
def s3_storage(s3_endpoint, tmp_path, monkeypatch):
    from slate_previews import storage

    bucket = f"prev-{uuid.uuid4().hex[:12]}"
    for name, value in {"STORAGE_BACKEND": "s3", "S3_ENDPOINT_URL": s3_endpoint, "S3_BUCKET": bucket,
                        "S3_REGION": "us-east-1", "S3_ACCESS_KEY": "k", "S3_SECRET_KEY": "s",
                        "STORAGE_DIR": str(tmp_path / "storage"), "SCRATCH_DIR": str(tmp_path / "scratch")}.items():
        monkeypatch.setenv(name, value)
    storage.store().client.create_bucket(Bucket=bucket)
    return storage


def test_pictures_are_made_from_a_fetched_copy_and_stored_back(s3_storage, tmp_path):
    from PIL import Image
    from slate_previews import processing

    storage = s3_storage
    ident = str(uuid.uuid4())
    src = tmp_path / "in.png"
    Image.new("RGB", (400, 300), (10, 200, 30)).save(src)
    source_key = storage.key("source", ident, "png")
    storage.put_file(src, source_key)
    work = storage.scratch_dir()
    assert work.parent == tmp_path / "scratch"
    local = storage.local_file(source_key, work)
    assert local.parent == work and local.read_bytes() == src.read_bytes()
    out = {area: work / f"{area}.png" for area in ("original", "previews", "thumbnails", "thumbnails-square")}
    assert processing.make_pictures(local, out) == {"width": 400, "height": 300}
    for area, path in out.items():
        storage.put_file(path, storage.key(area, ident, "png"), move=True)
        assert not path.exists()
    assert storage.size(storage.key("thumbnails", ident, "png")) > 0
    assert b"".join(storage.read(storage.key("original", ident, "png")))[:8] == b"\x89PNG\r\n\x1a\n"
    storage.delete(storage.key("original", ident, "png"))
    assert not storage.exists(storage.key("original", ident, "png"))
    assert not (tmp_path / "storage").exists()  # nothing under STORAGE_DIR


def test_scratch_defaults_outside_storage_dir_with_s3(s3_storage, monkeypatch, tmp_path):
    monkeypatch.delenv("SCRATCH_DIR")
    assert tmp_path / "storage" not in s3_storage.scratch_root().parents
    monkeypatch.setenv("STORAGE_BACKEND", "local")
    assert s3_storage.scratch_root() == (tmp_path / "storage").resolve() / "work"


def test_missing_object_is_file_not_found(s3_storage, tmp_path):
    with pytest.raises(FileNotFoundError):
        s3_storage.local_file(s3_storage.key("source", str(uuid.uuid4()), "mp4"), tmp_path)
    with pytest.raises(FileNotFoundError):
        s3_storage.move("tmp/" + "0" * 32, s3_storage.key("source", str(uuid.uuid4()), "mp4"))


def test_sweep_clears_old_scratch_uploads_and_multipart_uploads(s3_storage, tmp_path, monkeypatch):
    storage = s3_storage
    st = storage.store()
    old_dir = storage.scratch_dir()
    past = time.time() - 7200
    os.utime(old_dir, (past, past))
    fresh_dir = storage.scratch_dir()
    src = tmp_path / "u.bin"
    src.write_bytes(b"abandoned")
    upload = "tmp/" + "f" * 32
    kept = storage.key("previews", str(uuid.uuid4()), "png")
    storage.put_file(src, upload)
    storage.put_file(src, kept)
    assert storage.sweep(3600) == 1  # the old scratch directory only
    assert not old_dir.exists() and fresh_dir.exists() and storage.exists(upload)
    st.client.create_multipart_upload(Bucket=st.bucket, Key="tmp/" + "9" * 32)
    later = time.time() + 7200
    with monkeypatch.context() as m:  # the bucket stamps objects with the real clock: move ours instead
        m.setattr(time, "time", lambda: later)
        removed = storage.sweep(3600)
    assert removed == 3  # the other scratch directory (old by now too), the tmp/ object, the multipart upload
    assert not storage.exists(upload) and st.multipart_uploads() == []
    assert storage.exists(kept)


def test_sweep_survives_an_unreachable_bucket(tmp_path, monkeypatch):
    from slate_previews import storage

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    for name, value in {"STORAGE_BACKEND": "s3", "S3_ENDPOINT_URL": f"http://127.0.0.1:{port}",
                        "S3_BUCKET": "gone", "SCRATCH_DIR": str(tmp_path / "scratch")}.items():
        monkeypatch.setenv(name, value)
    old = storage.scratch_dir()
    past = time.time() - 7200
    os.utime(old, (past, past))
    assert storage.sweep(3600) == 1 and not old.exists()  # scratch swept, the bucket part skipped
