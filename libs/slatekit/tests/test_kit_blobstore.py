"""Both storage backends behave the same: the local directory and an
S3-compatible server (moto's, started here on a free port)."""

from __future__ import annotations

import os
import socket
import time
import uuid

import pytest
from slatekit import blobstore


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(params=["local", "s3"])
def store(request, tmp_path):
    if request.param == "local":
        return blobstore.LocalStore(tmp_path / "root")
    endpoint = request.getfixturevalue("s3_endpoint")
    bucket = f"slate-{uuid.uuid4().hex[:12]}"
    st = blobstore.S3Store(bucket, endpoint, "us-east-1", "test-key", "test-secret")
    st.client.create_bucket(Bucket=bucket)
    return st


def _put(store, key, data: bytes):
    with store.writer(key) as w:
        for i in range(0, len(data), 100_000):
            w.write(data[i:i + 100_000])


def _get(store, key, start=0, end=None) -> bytes:
    return b"".join(store.read(key, start, end))


def test_put_get_size_exists_delete(store):
    data = os.urandom(300_000)
    key = "previews/ab/cd/abcd.png"
    assert not store.exists(key) and store.stat(key) is None
    _put(store, key, data)
    assert store.exists(key)
    assert store.size(key) == len(data)
    st = store.stat(key)
    assert st.size == len(data) and st.etag.startswith('"') and st.etag.endswith('"')
    assert abs(st.mtime - time.time()) < 120
    assert _get(store, key) == data
    store.delete(key)
    assert not store.exists(key)
    store.delete(key)  # deleting twice is fine
    with pytest.raises(FileNotFoundError):
        store.size(key)
    with pytest.raises(FileNotFoundError):
        _get(store, key)


def test_ranged_reads(store):
    data = bytes(range(256)) * 1000
    _put(store, "tmp/" + "a" * 32, data)
    k = "tmp/" + "a" * 32
    assert _get(store, k, 0, 10) == data[:10]
    assert _get(store, k, 1000, 1500) == data[1000:1500]
    assert _get(store, k, len(data) - 7) == data[-7:]
    assert _get(store, k, 5, 5) == b""


def test_multipart_write_spans_parts(store, monkeypatch):
    monkeypatch.setattr(blobstore, "PART_SIZE", 5 * 1024 * 1024)  # S3's smallest part
    data = os.urandom(11 * 1024 * 1024 + 17)  # two full parts and a short last one
    _put(store, "lowdef/12/34/big.mp4", data)
    assert store.size("lowdef/12/34/big.mp4") == len(data)
    assert _get(store, "lowdef/12/34/big.mp4") == data
    if store.name == "s3":
        assert store.multipart_uploads() == []


def test_failed_write_leaves_nothing(store, monkeypatch):
    monkeypatch.setattr(blobstore, "PART_SIZE", 5 * 1024 * 1024)
    key = "tmp/" + "b" * 32
    with pytest.raises(RuntimeError):
        with store.writer(key) as w:
            w.write(os.urandom(6 * 1024 * 1024))  # one part already sent
            if store.name == "s3":
                assert len(store.multipart_uploads()) == 1
            raise RuntimeError("client went away")
    assert not store.exists(key)
    if store.name == "s3":
        assert store.multipart_uploads() == []  # aborted, not left to bill
    else:
        assert list((store.root / "tmp").iterdir()) == []


def test_put_file_get_file_and_move(store, tmp_path):
    src = tmp_path / "src.bin"
    data = os.urandom(70_000)
    src.write_bytes(data)
    store.put_file(src, "source/aa/bb/x.mov", move=True)
    assert not src.exists()
    store.move("source/aa/bb/x.mov", "original/aa/bb/x.mp4")
    assert not store.exists("source/aa/bb/x.mov")
    dest = store.get_file("original/aa/bb/x.mp4", tmp_path / "copy.mp4")
    assert dest.read_bytes() == data
    with pytest.raises(FileNotFoundError):
        store.move("source/aa/bb/nothing", "original/aa/bb/y")


def test_sweep_removes_only_old_uploads(store, monkeypatch):
    _put(store, "tmp/" + "c" * 32, b"old")
    _put(store, "previews/00/11/keep.png", b"kept")
    assert store.sweep("tmp", 3600) == 0  # nothing is old yet
    if store.name == "s3":  # (moto reports every upload as initiated in 2010: made after the check above)
        store.client.create_multipart_upload(Bucket=store.bucket, Key="tmp/" + "d" * 32)
    if store.name == "local":
        past = time.time() - 7200
        os.utime(store.path("tmp/" + "c" * 32), (past, past))
    else:  # an S3 server stamps its own times: move the clock instead
        later = time.time() + 7200
        monkeypatch.setattr(blobstore.time, "time", lambda: later)
    removed = store.sweep("tmp", 3600)
    monkeypatch.undo()
    assert removed == (2 if store.name == "s3" else 1)
    assert not store.exists("tmp/" + "c" * 32)
    assert store.exists("previews/00/11/keep.png")
    if store.name == "s3":
        assert store.multipart_uploads() == []


@pytest.mark.parametrize("bad", ["../etc/passwd", "/abs", "a//b", "a/../../b", ".hidden", "", None, "a/./b"])
def test_keys_that_could_escape_are_refused(store, bad):
    with pytest.raises(ValueError):
        store.writer(bad)
    with pytest.raises(ValueError):
        store.stat(bad)


def test_backend_is_chosen_by_setting(tmp_path, monkeypatch, s3_endpoint):
    monkeypatch.delenv("STORAGE_BACKEND", raising=False)
    assert blobstore.from_env(tmp_path).name == "local"
    monkeypatch.setenv("STORAGE_BACKEND", "s3")
    monkeypatch.setenv("S3_BUCKET", "b1")
    monkeypatch.setenv("S3_ENDPOINT_URL", s3_endpoint)
    st = blobstore.from_env(tmp_path)
    assert st.name == "s3" and st.bucket == "b1"
    assert blobstore.from_env(tmp_path) is st
    monkeypatch.setenv("STORAGE_BACKEND", "ftp")
    with pytest.raises(ValueError):
        blobstore.from_env(tmp_path)


def test_an_unreachable_s3_server_is_unavailable_not_a_crash(tmp_path):
    from slatekit import errors

    st = blobstore.S3Store("nowhere", f"http://127.0.0.1:{_free_port()}", "us-east-1", "k", "s")
    started = time.monotonic()
    with pytest.raises(errors.Unavailable):
        st.stat("tmp/" + "e" * 32)
    with pytest.raises(errors.Unavailable):
        _get(st, "tmp/" + "e" * 32)
    with pytest.raises(errors.Unavailable):
        _put(st, "tmp/" + "e" * 32, b"data")
    assert time.monotonic() - started < 60


def test_a_missing_bucket_is_unavailable(s3_endpoint):
    from slatekit import errors

    st = blobstore.S3Store("no-such-bucket-here", s3_endpoint, "us-east-1", "k", "s")
    with pytest.raises(errors.Unavailable):
        _put(st, "tmp/" + "e" * 32, b"data")


def test_sweep_looks_at_every_object_under_the_prefix(store):
    old, fresh = "frames/ab/cd/old.png", "frames/ab/cd/fresh.png"
    _put(store, old, b"1")
    _put(store, fresh, b"2")
    if store.name == "local":
        past = time.time() - 7200
        os.utime(store.path(old), (past, past))
        for d in (store.path(old).parent, store.path(old).parent.parent):
            os.utime(d, (past, past))  # an old directory holding a fresh file
        assert store.sweep("frames", 3600) == 1
    else:  # the bucket stamps both now: nothing is old yet
        assert store.sweep("frames", 3600) == 0
        store.delete(old)
    assert not store.exists(old) and store.exists(fresh)
