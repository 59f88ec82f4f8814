"""Previews on S3-compatible storage: a second suite, started here with
``STORAGE_BACKEND=s3`` against moto's S3 server, driven with gazu and HTTP.
Nothing may land under its local ``STORAGE_DIR``; uploads are multipart
uploads (aborted on failure), downloads ranged GETs."""

from __future__ import annotations

import hashlib
import os
import time
from pathlib import Path

import gazu
import pytest
import requests

from tests.conftest import ADMIN_EMAIL, ADMIN_PASSWORD, Suite, service_names
from tests.e2e.media_helpers import gazu_world, make_clip, make_png

pytestmark = pytest.mark.e2e

BUCKET = "slate-previews-e2e"
LIMIT = 12 * 1024 * 1024  # MAX_UPLOAD_BYTES of this suite: above one 8 MiB part


@pytest.fixture(scope="module")
def s3(s3_endpoint):
    import boto3

    client = boto3.client("s3", endpoint_url=s3_endpoint, region_name="us-east-1",
                          aws_access_key_id="slate-test", aws_secret_access_key="slate-test-secret")
    client.create_bucket(Bucket=BUCKET)
    return {"endpoint": s3_endpoint, "client": client}


@pytest.fixture(scope="module")
def s3_suite(s3, tmp_path_factory):
    """All services and the gateway on their own database and vhost (the
    session's local-storage suite must not answer these RPCs), with S3."""
    from slatekit import db
    from slatekit.rpc_client import RpcPool
    from slatekit.testing import drop_test_env, make_test_env

    saved = dict(os.environ)
    try:
        env = make_test_env()
    finally:  # make_test_env points this process at the new run: undo that
        os.environ.clear()
        os.environ.update(saved)
        db.reset_engines()
    base = tmp_path_factory.mktemp("s3-suite")
    env.update({
        "STORAGE_BACKEND": "s3", "S3_ENDPOINT_URL": s3["endpoint"], "S3_BUCKET": BUCKET,
        "S3_REGION": "us-east-1", "S3_ACCESS_KEY": "slate-test", "S3_SECRET_KEY": "slate-test-secret",
        "STORAGE_DIR": str(base / "storage"), "SCRATCH_DIR": str(base / "scratch"),
        "MAX_UPLOAD_BYTES": str(LIMIT), "MEDIA_AUTH_CACHE_SECONDS": "0",
    })
    (base / "logs").mkdir()
    s = Suite(env, base / "logs")
    try:
        for name in service_names():
            s.start_service(name)
        s.start_gateway()
        for name in service_names():
            s.wait_rpc(name)
        s.wait_ready()
        pool = RpcPool(env["AMQP_URI"])
        pool.call("auth", "set_password", {"email": ADMIN_EMAIL, "password": ADMIN_PASSWORD}, {"role": "admin"},
                  timeout=30)
        pool.close()
        s.storage_dir = base / "storage"
        s.scratch_dir = base / "scratch"
        yield s
    finally:
        s.stop()
        if not os.environ.get("SLATE_KEEP_TEST_ENV"):
            drop_test_env(env)


@pytest.fixture(scope="module")
def admin(s3_suite) -> requests.Session:
    return s3_suite.login()


@pytest.fixture(scope="module")
def world(s3_suite):
    return gazu_world(s3_suite)


def keys(s3, prefix="") -> set[str]:
    out = set()
    for page in s3["client"].get_paginator("list_objects_v2").paginate(Bucket=BUCKET, Prefix=prefix):
        out.update(o["Key"] for o in page.get("Contents") or [])
    return out


def key(area, ident, ext):
    return f"{area}/{ident[:2]}/{ident[2:4]}/{ident}.{ext}"


def files_under(path: Path) -> list[Path]:
    return [p for p in path.rglob("*") if p.is_file()] if path.exists() else []


def wait_ready(admin, url, pid, timeout=120):
    deadline = time.monotonic() + timeout
    while True:
        pf = admin.get(f"{url}/data/preview-files/{pid}", timeout=10).json()
        if pf["status"] != "processing" or time.monotonic() > deadline:
            return pf
        time.sleep(0.3)


def test_picture_and_movie_previews_are_stored_in_the_bucket(s3_suite, s3, admin, world, tmp_path):
    c, url = world["client"], s3_suite.url
    png = gazu.task.add_preview(world["task"], world["comment"], str(make_png(tmp_path / "v1.png", 640, 360)),
                                client=c)
    assert png["status"] == "ready" and (png["width"], png["height"]) == (640, 360)
    thumb = tmp_path / "thumb.png"
    gazu.files.download_preview_file_thumbnail(png, str(thumb), client=c)
    from PIL import Image

    assert Image.open(thumb).size == (150, 100)
    r = admin.get(f"{url}/pictures/thumbnails/preview-files/{png['id']}.png")
    assert r.status_code == 200 and r.headers["Content-Type"] == "image/png" and r.content == thumb.read_bytes()
    assert r.headers["ETag"] and r.headers["Last-Modified"] and "max-age" in r.headers["Cache-Control"]
    assert admin.get(f"{url}/pictures/thumbnails/preview-files/{png['id']}.png",
                     headers={"If-None-Match": r.headers["ETag"]}).status_code == 304

    clip = make_clip(tmp_path / "clip.mp4", audio=True)
    _, movie = gazu.task.publish_preview(world["task"], world["status"], comment="movie",
                                         preview_file_path=str(clip), client=c)
    done = wait_ready(admin, url, movie["id"])
    assert done["status"] == "ready", done
    assert done["extension"] == "mp4" and done["duration"] > 0 and done["data"]["has_audio"] is True
    low = admin.get(f"{url}/movies/low/preview-files/{movie['id']}.mp4")
    assert low.status_code == 200 and low.headers["Content-Type"] == "video/mp4" and len(low.content) > 1000
    assert int(low.headers["Content-Length"]) == len(low.content)
    part = admin.get(f"{url}/movies/low/preview-files/{movie['id']}.mp4", headers={"Range": "bytes=100-299"})
    assert part.status_code == 206 and part.content == low.content[100:300]
    assert part.headers["Content-Range"] == f"bytes 100-299/{len(low.content)}"
    tail = admin.get(f"{url}/movies/low/preview-files/{movie['id']}.mp4", headers={"Range": "bytes=-10"})
    assert tail.status_code == 206 and tail.content == low.content[-10:]
    out = admin.get(f"{url}/movies/low/preview-files/{movie['id']}.mp4",
                    headers={"Range": f"bytes={len(low.content) + 5}-"})
    assert out.status_code == 416

    stored = keys(s3)
    for area, ext in (("source", "png"), ("original", "png"), ("previews", "png"), ("thumbnails", "png"),
                      ("thumbnails-square", "png")):
        assert key(area, png["id"], ext) in stored, (area, sorted(stored))
    for area, ext in (("source", "mp4"), ("original", "mp4"), ("lowdef", "mp4"), ("tiles", "png"),
                      ("thumbnails", "png"), ("previews", "png")):
        assert key(area, movie["id"], ext) in stored, (area, sorted(stored))
    body = s3["client"].get_object(Bucket=BUCKET, Key=key("lowdef", movie["id"], "mp4"))["Body"].read()
    assert body == low.content
    assert keys(s3, "tmp/") == set()  # uploads moved to their place, none left behind
    assert files_under(s3_suite.storage_dir) == []  # nothing written to the local storage root
    assert files_under(s3_suite.scratch_dir) == []  # scratch cleaned up after processing


def test_upload_over_one_part_is_multipart_and_ranges_cross_parts(s3_suite, s3, admin, world):
    url = s3_suite.url
    base = f"{url}/actions/tasks/{world['task']['id']}/comments/{world['comment']['id']}/add-preview"
    pf = admin.post(base, json={}).json()
    data = os.urandom(9 * 1024 * 1024 + 123)  # one full 8 MiB part and a short last one
    r = admin.post(f"{url}/pictures/preview-files/{pf['id']}", files={"file": ("../../scene.bin", data)})
    assert r.status_code == 201, r.text
    stored = keys(s3)
    assert key("source", pf["id"], "bin") in stored  # the client's name is no part of any key
    assert not any("scene" in k or ".." in k for k in stored)
    got = admin.get(f"{url}/pictures/originals/preview-files/{pf['id']}/download")
    assert got.status_code == 200 and hashlib.sha256(got.content).digest() == hashlib.sha256(data).digest()
    assert got.headers["Content-Disposition"].startswith("attachment")
    edge = 8 * 1024 * 1024
    r = admin.get(f"{url}/pictures/originals/preview-files/{pf['id']}/download",
                  headers={"Range": f"bytes={edge - 50}-{edge + 49}"})
    assert r.status_code == 206 and r.content == data[edge - 50:edge + 50]
    assert files_under(s3_suite.storage_dir) == []


def test_oversize_upload_is_refused_and_its_multipart_upload_aborted(s3_suite, s3, admin, world):
    url = s3_suite.url
    base = f"{url}/actions/tasks/{world['task']['id']}/comments/{world['comment']['id']}/add-preview"
    pf = admin.post(base, json={}).json()

    def body():  # chunked: no Content-Length, so the limit is hit mid-stream, after a part was sent
        for _ in range(LIMIT // (1024 * 1024) + 4):
            yield os.urandom(1024 * 1024)

    try:
        r = admin.post(f"{url}/pictures/preview-files/{pf['id']}?name=huge.bin", data=body(),
                       headers={"Content-Type": "application/octet-stream"}, timeout=60)
        assert r.status_code == 413, r.text
        assert r.json()["message"].startswith("File is too large")
    except requests.ConnectionError:
        pass  # the gateway may close the connection before the client finished sending
    deadline = time.monotonic() + 10
    while s3["client"].list_multipart_uploads(Bucket=BUCKET).get("Uploads") and time.monotonic() < deadline:
        time.sleep(0.2)
    assert not s3["client"].list_multipart_uploads(Bucket=BUCKET).get("Uploads")
    assert keys(s3, "tmp/") == set()
    assert admin.get(f"{url}/data/preview-files/{pf['id']}").json()["status"] == "processing"  # never got a file
    # A declared length over the limit: 413 before a byte is read or sent to S3.
    r = admin.post(f"{url}/pictures/preview-files/{pf['id']}", data=b"x" * (LIMIT + 1),
                   headers={"Content-Type": "application/octet-stream"})
    assert r.status_code == 413
    assert not s3["client"].list_multipart_uploads(Bucket=BUCKET).get("Uploads")


def test_deleting_a_preview_removes_its_objects(s3_suite, s3, admin, world, tmp_path):
    c = world["client"]
    pf = gazu.task.add_preview(world["task"], world["comment"], str(make_png(tmp_path / "d.png")), client=c)
    assert key("thumbnails", pf["id"], "png") in keys(s3)
    r = admin.delete(f"{s3_suite.url}/data/preview-files/{pf['id']}?force=true")
    assert r.status_code == 204, r.text
    left = {k for k in keys(s3) if pf["id"] in k and not k.startswith("source/")}
    assert left == set()


def test_avatars_backgrounds_and_playlist_builds_on_s3(s3_suite, s3, admin, world, tmp_path):
    import io
    import zipfile

    from tests.e2e.media_helpers import png_bytes

    url, c = s3_suite.url, world["client"]
    me = admin.get(f"{url}/auth/authenticated").json()["user"]
    r = admin.post(f"{url}/pictures/thumbnails/persons/{me['id']}", files={"file": ("me.png", png_bytes())})
    assert r.status_code == 201, r.text
    assert admin.get(f"{url}/pictures/thumbnails/persons/{me['id']}.png").status_code == 200
    assert key("avatars", me["id"], "png") in keys(s3)

    bg = admin.post(f"{url}/data/preview-background-files", json={"name": "Studio S3"}).json()
    r = admin.post(f"{url}/pictures/preview-background-files/{bg['id']}", files={"file": ("studio.png", png_bytes())})
    assert r.status_code == 201 and r.json()["file_size"] == len(png_bytes()), r.text
    assert admin.get(f"{url}/pictures/preview-background-files/{bg['id']}.png").content == png_bytes()
    assert admin.get(f"{url}/pictures/thumbnails/preview-background-files/{bg['id']}.png").status_code == 200

    clip = make_clip(tmp_path / "pl.mp4", audio=False)
    _, movie = gazu.task.publish_preview(world["task"], world["status"], comment="for the playlist",
                                         preview_file_path=str(clip), client=c)
    assert wait_ready(admin, url, movie["id"])["status"] == "ready"
    playlist = gazu.playlist.new_playlist(world["project"], "Dailies S3", client=c)
    gazu.playlist.add_entity_to_playlist(playlist, world["asset"], preview_file=movie, client=c)
    for route, ext in (("download/zip", "zip"), ("build/mp4", "mp4")):
        job = admin.get(f"{url}/data/playlists/{playlist['id']}/{route}").json()
        deadline = time.monotonic() + 120
        while job["status"] == "running" and time.monotonic() < deadline:
            time.sleep(0.3)
            job = admin.get(f"{url}/data/playlists/{playlist['id']}/jobs/{job['id']}").json()
        assert job["status"] == "succeeded", job
        assert key("builds", job["id"], ext) in keys(s3)
        got = admin.get(f"{url}/data/playlists/{playlist['id']}/jobs/{job['id']}/build/mp4")
        assert got.status_code == 200 and got.headers["Content-Disposition"].startswith("attachment")
        if ext == "zip":
            names = zipfile.ZipFile(io.BytesIO(got.content)).namelist()
            assert len(names) == 1 and names[0].endswith(".mp4")
        else:
            assert got.content[4:8] == b"ftyp"
    assert files_under(s3_suite.storage_dir) == [] and files_under(s3_suite.scratch_dir) == []
