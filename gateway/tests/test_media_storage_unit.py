"""media.py on both storage backends, in-process (werkzeug requests, no
broker): uploads stream into storage under ``tmp/<hex>``, a failed upload
leaves nothing behind, downloads honour Range/ETag, and the kept helpers
(``stream_file(resolve(key))``, ``_serve``) work on S3 as on disk."""

from __future__ import annotations

import io
import os
import socket
import uuid

import pytest
from slate_gateway import media
from slatekit import errors
from werkzeug.test import EnvironBuilder
from werkzeug.wrappers import Request


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(params=["local", "s3"])
def backend(request, tmp_path, monkeypatch):
    monkeypatch.setenv("STORAGE_DIR", str(tmp_path / "storage"))
    monkeypatch.setattr(media, "CHUNK", 64 * 1024)
    if request.param == "s3":
        bucket = f"gw-{uuid.uuid4().hex[:12]}"
        monkeypatch.setenv("STORAGE_BACKEND", "s3")
        monkeypatch.setenv("S3_ENDPOINT_URL", request.getfixturevalue("s3_endpoint"))
        monkeypatch.setenv("S3_BUCKET", bucket)
        monkeypatch.setenv("S3_REGION", "us-east-1")
        monkeypatch.setenv("S3_ACCESS_KEY", "k")
        monkeypatch.setenv("S3_SECRET_KEY", "s")
        media.store().client.create_bucket(Bucket=bucket)
    else:
        monkeypatch.delenv("STORAGE_BACKEND", raising=False)
    return request.param


def _request(method="POST", **kw) -> Request:
    return Request(EnvironBuilder(method=method, **kw).get_environ())


def _local_files(tmp_path):
    root = tmp_path / "storage"
    return [p for p in root.rglob("*") if p.is_file()] if root.exists() else []


def test_multipart_upload_is_stored_under_a_tmp_key_and_served_with_ranges(backend, tmp_path):
    data = os.urandom(300_000)
    up = media.receive_upload(_request(data={"file": (io.BytesIO(data), "../../x.png")}))
    assert up.key.startswith("tmp/") and up.filename == "../../x.png" and up.size == len(data)
    assert media.store().size(up.key) == len(data)
    assert (backend == "s3") == (_local_files(tmp_path) == [])  # S3: nothing on the local disk
    r = media.serve_key(_request("GET", headers={"Range": "bytes=10-19"}), up.key, "image/png")
    assert r.status_code == 206 and b"".join(r.response) == data[10:20]
    assert r.headers["Content-Range"] == f"bytes 10-19/{len(data)}"
    full = media._serve(_request("GET"), {"key": up.key, "content_type": "image/png", "filename": "a b.png",
                                          "attachment": True}, max_age=60)
    assert full.status_code == 200 and b"".join(full.response) == data
    assert full.headers["Content-Disposition"] == "attachment; filename=a_b.png"
    assert full.headers["Cache-Control"] == "private, max-age=60" and full.headers["Last-Modified"]
    etag = full.headers["ETag"]
    assert media.serve_key(_request("GET", headers={"If-None-Match": etag}), up.key, "image/png").status_code == 304
    # The helper other handlers call with a path keeps working on either backend.
    old = media.stream_file(_request("GET", headers={"Range": "bytes=-5"}), media.resolve(up.key), "image/png")
    assert old.status_code == 206 and b"".join(old.response) == data[-5:]
    head = media.serve_key(_request("HEAD"), up.key, "image/png")
    assert head.status_code == 200 and head.content_length == len(data) and list(head.response) == []
    up.discard()
    assert not media.store().exists(up.key)
    with pytest.raises(errors.NotFound):
        media.serve_key(_request("GET"), up.key, "image/png")


def test_upload_over_the_limit_mid_stream_leaves_nothing(backend, tmp_path, monkeypatch):
    from slatekit import blobstore

    monkeypatch.setattr(blobstore, "PART_SIZE", 5 * 1024 * 1024)
    monkeypatch.setenv("MAX_UPLOAD_BYTES", str(6 * 1024 * 1024))
    body = os.urandom(7 * 1024 * 1024)
    req = _request(data=body, content_type="application/octet-stream")
    req.environ.pop("CONTENT_LENGTH")  # as a chunked body: only counting can stop it
    with pytest.raises(errors.TooLarge):
        media.receive_upload(req)
    st = media.store()
    if backend == "s3":
        assert st.multipart_uploads() == []  # the part already sent was aborted
        assert st.client.list_objects_v2(Bucket=st.bucket).get("KeyCount") == 0
    assert _local_files(tmp_path) == []


def test_declared_length_over_the_limit_is_refused_before_storage(backend, tmp_path, monkeypatch):
    monkeypatch.setenv("MAX_UPLOAD_BYTES", "1000")
    with pytest.raises(errors.TooLarge):
        media.receive_upload(_request(data=b"x" * 1001, content_type="application/octet-stream"))
    assert _local_files(tmp_path) == [] and not (tmp_path / "storage" / "tmp").exists()


@pytest.mark.parametrize("key", ["../etc/passwd", "tmp/../../x", "previews/aa/bb/../../../../etc", "/etc/passwd",
                                 "tmp/" + "A" * 32, None])
def test_keys_outside_the_layout_are_not_found(backend, key):
    with pytest.raises(errors.NotFound):
        media.serve_key(_request("GET"), key, "image/png")


def test_unreachable_s3_is_503_for_downloads_and_uploads(monkeypatch, tmp_path):
    monkeypatch.setenv("STORAGE_DIR", str(tmp_path / "storage"))
    monkeypatch.setenv("STORAGE_BACKEND", "s3")
    monkeypatch.setenv("S3_ENDPOINT_URL", f"http://127.0.0.1:{_free_port()}")
    monkeypatch.setenv("S3_BUCKET", "gone")
    with pytest.raises(errors.Unavailable) as exc:
        media.serve_key(_request("GET"), "tmp/" + "a" * 32, "image/png")
    assert exc.value.status == 503 and exc.value.message == "Storage is unavailable"
    with pytest.raises(errors.Unavailable):
        media.receive_upload(_request(data=b"abc", content_type="application/octet-stream"))
