"""Bytes of comment attachments and working files: streamed by the gateway
into storage and back, byte for byte, with access checked by their owners."""

from __future__ import annotations

import io
import os
import time
from pathlib import Path

import gazu
import pytest
from PIL import Image

from tests.e2e.media_helpers import gazu_world, png_bytes

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def world(suite):
    return gazu_world(suite)


@pytest.fixture(scope="module")
def outsider(suite, admin):
    person = suite.make_person(admin, role="user", password="bytes-pass-1")
    return suite.login(person["email"], "bytes-pass-1")


def _files(*items):
    return {f"file-{i}" if i else "file": item for i, item in enumerate(items)}


def test_attachments_round_trip_byte_exact_with_safe_headers(suite, admin, world, outsider):
    task, comment = world["task"], world["comment"]
    blob = os.urandom(300_000) + b"\x00\xff<html><script>alert(1)</script>"
    picture = png_bytes(400, 300)
    r = admin.post(f"{suite.url}/api/actions/tasks/{task['id']}/comments/{comment['id']}/add-attachment",
                   files=_files(("../../etc/passwd.html", blob, "text/html"), ("shot.png", picture, "image/png")),
                   timeout=60)
    assert r.status_code == 201, r.text
    rows = r.json()
    assert [a["name"] for a in rows] == ["../../etc/passwd.html", "shot.png"]
    assert set(rows[0]) == {"id", "name", "extension", "size"}  # Zou's shape
    assert rows[0]["size"] == len(blob) and rows[0]["extension"] == "html"
    html, png = rows
    got = admin.get(f"{suite.url}/data/attachment-files/{html['id']}/file/{html['name'].replace('/', '_')}",
                    timeout=30)
    assert got.status_code == 200, got.text
    assert got.content == blob
    assert got.headers["X-Content-Type-Options"] == "nosniff"
    disposition = got.headers["Content-Disposition"]
    assert disposition.startswith("attachment") and "/" not in disposition
    assert got.headers["Content-Type"] == "application/octet-stream"  # never rendered as HTML
    got = admin.get(f"{suite.url}/api/data/attachment-files/{png['id']}/file/shot.png", timeout=30)
    assert got.content == picture and got.headers["Content-Type"] == "image/png"
    assert got.headers["X-Content-Type-Options"] == "nosniff"
    assert got.headers["Content-Disposition"].startswith("attachment")  # pictures too (issue 6)
    ranged = admin.get(f"{suite.url}/data/attachment-files/{html['id']}/file/x", headers={"Range": "bytes=10-19"},
                       timeout=30)
    assert ranged.status_code == 206 and ranged.content == blob[10:20]
    # listed on the task with the comment
    listed = admin.get(f"{suite.url}/data/tasks/{task['id']}/attachment-files", timeout=30).json()
    assert {a["id"] for a in listed} >= {html["id"], png["id"]}
    # thumbnail of the picture; none for the other file
    thumb = admin.get(f"{suite.url}/pictures/thumbnails/attachment-files/{png['id']}.png", timeout=30)
    assert thumb.status_code == 200 and thumb.headers["Content-Type"] == "image/png"
    assert Image.open(io.BytesIO(thumb.content)).size == (150, 100)
    assert admin.get(f"{suite.url}/pictures/thumbnails/attachment-files/{html['id']}.png",
                     timeout=30).status_code == 404
    # someone outside the project gets neither
    assert outsider.get(f"{suite.url}/data/attachment-files/{png['id']}/file/shot.png", timeout=30).status_code == 403
    assert outsider.get(f"{suite.url}/pictures/thumbnails/attachment-files/{png['id']}.png",
                        timeout=30).status_code == 403
    assert outsider.post(f"{suite.url}/actions/tasks/{task['id']}/comments/{comment['id']}/add-attachment",
                         files=_files(("x.txt", b"x", "text/plain")), timeout=30).status_code == 403
    # removing the attachment removes its bytes from storage
    stored = _stored("attachments", png["id"])
    assert stored.is_file() and stored.read_bytes() == picture
    r = admin.delete(f"{suite.url}/data/tasks/{task['id']}/comments/{comment['id']}/attachments/{png['id']}",
                     timeout=30)
    assert r.status_code == 204
    assert admin.get(f"{suite.url}/data/attachment-files/{png['id']}/file/shot.png", timeout=30).status_code == 404
    deadline = time.monotonic() + 20
    while stored.exists() and time.monotonic() < deadline:
        time.sleep(0.2)
    assert not stored.exists() and not _stored("thumbnails", png["id"], ".png").exists()


def _stored(area, ident, ext=""):
    root = Path(os.environ.get("STORAGE_DIR") or Path(__file__).resolve().parents[2] / "var" / "storage")
    return root / area / ident[:2] / ident[2:4] / f"{ident}{ext}"


def test_a_client_chosen_storage_key_is_never_served(suite, admin, world):
    """A JSON body naming a storage key (someone else's file) gets no bytes."""
    task = world["task"]
    r = admin.post(f"{suite.url}/actions/tasks/{task['id']}/comment", timeout=30, json={
        "task_status_id": world["status"]["id"], "comment": "sneaky",
        "attachment_files": [{"name": "stolen.mp4", "key": "source/00/00/00000000-0000-4000-8000-000000000000.mp4"}]})
    assert r.status_code == 201, r.text
    att = r.json()["attachment_files"][0]
    assert admin.get(f"{suite.url}/data/attachment-files/{att['id']}/file/stolen.mp4", timeout=30).status_code == 404
    cid = r.json()["id"]
    before = admin.get(f"{suite.url}/data/tasks/{task['id']}/attachment-files", timeout=30).json()
    r = admin.post(f"{suite.url}/actions/tasks/{task['id']}/comments/{cid}/add-attachment", timeout=30,
                   json={"attachment_files": [{"name": "x", "key": "tmp/" + "0" * 32}]})
    assert r.status_code == 201 and r.json() == []  # Zou: no file part, nothing added
    assert admin.get(f"{suite.url}/data/tasks/{task['id']}/attachment-files", timeout=30).json() == before


def test_gazu_comment_with_attachments_stores_their_bytes(suite, world, tmp_path):
    c = world["client"]
    path = tmp_path / "notes.bin"
    data = os.urandom(70_000)
    path.write_bytes(data)
    comment = gazu.task.add_comment(world["task"], world["status"], "with a file", attachments=[str(path)],
                                    client=c)
    assert comment["text"] == "with a file" or comment.get("comment") == "with a file"
    atts = comment["attachment_files"]
    assert len(atts) == 1 and atts[0]["name"] == "notes.bin"
    dest = tmp_path / "back.bin"
    gazu.files.download_attachment_file(atts[0], str(dest), client=c) \
        if hasattr(gazu.files, "download_attachment_file") else dest.write_bytes(
            c.session.get(f"{suite.url}/api/data/attachment-files/{atts[0]['id']}/file/notes.bin",
                          headers={"Authorization": "Bearer " + c.tokens["access_token"]}).content)
    assert dest.read_bytes() == data


def test_working_file_bytes_round_trip(suite, admin, world, outsider, tmp_path):
    c = world["client"]
    r = admin.post(f"{suite.url}/actions/projects/{world['project']['id']}/set-file-tree",
                   json={"tree_name": "default"}, timeout=30)
    assert r.status_code == 200, r.text
    wf = gazu.files.new_working_file(world["task"], name="main", client=c)
    url = f"{suite.url}/data/working-files/{wf['id']}/file"
    r = admin.get(url, timeout=30)  # nothing stored yet: Zou's 404
    assert r.status_code == 404 and r.json()["message"] == f"Working file not found for: {wf['id']}"
    src = tmp_path / "scene.blend"
    data = os.urandom(1_200_000)
    src.write_bytes(data)
    stored = gazu.files.upload_working_file(wf, str(src), client=c)
    assert stored["id"] == wf["id"] and stored["size"] == len(data)
    dest = tmp_path / "back.blend"
    gazu.files.download_working_file(wf, str(dest), client=c)
    assert dest.read_bytes() == data
    got = admin.get(url, timeout=30)
    assert got.content == data and got.headers["X-Content-Type-Options"] == "nosniff"
    assert got.headers["Content-Disposition"].startswith("attachment")
    # a second upload replaces the bytes
    r = admin.post(url, files={"file": ("v2.blend", b"second version", "application/octet-stream")}, timeout=30)
    assert r.status_code == 201 and admin.get(url, timeout=30).content == b"second version"
    # outside the project: refused both ways, bytes untouched
    assert outsider.get(url, timeout=30).status_code == 403
    assert outsider.post(url, files={"file": ("evil", b"evil")}, timeout=30).status_code == 403
    assert admin.get(url, timeout=30).content == b"second version"
    assert admin.post(url, files={"file": ("empty", b"")}, timeout=30).status_code == 400
    assert admin.get(f"{suite.url}/data/working-files/not-a-uuid/file", timeout=30).status_code in (400, 404)
