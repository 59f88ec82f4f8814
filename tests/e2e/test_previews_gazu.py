"""Publishing versions with gazu 1.3.1: pictures and movies, processing,
serving (thumbnails, lowdef, Range), annotations and playlists."""

from __future__ import annotations

import time

import gazu
import pytest
import requests

from tests.e2e.media_helpers import gazu_world, make_clip, make_png, png_bytes

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def world(suite):
    return gazu_world(suite)


def wait_ready(admin, url, pid, timeout=120):
    deadline = time.monotonic() + timeout
    while True:
        pf = admin.get(f"{url}/data/preview-files/{pid}", timeout=10).json()
        if pf["status"] != "processing" or time.monotonic() > deadline:
            return pf
        time.sleep(0.3)


def test_png_preview_is_ready_with_thumbnails(suite, admin, world, tmp_path):
    c = world["client"]
    pf = gazu.task.add_preview(world["task"], world["comment"], str(make_png(tmp_path / "v1.png", 640, 360)), client=c)
    assert pf["status"] == "ready" and pf["extension"] == "png"
    assert (pf["width"], pf["height"]) == (640, 360)
    got = admin.get(f"{suite.url}/api/data/preview-files/{pf['id']}").json()
    assert got["revision"] == 1 and got["task_id"] == world["task"]["id"]
    thumb = tmp_path / "thumb.png"
    gazu.files.download_preview_file_thumbnail(pf, str(thumb), client=c)
    from PIL import Image

    assert Image.open(thumb).size == (150, 100)
    r = admin.get(f"{suite.url}/pictures/thumbnails-square/preview-files/{pf['id']}.png")
    assert r.status_code == 200 and r.headers["Content-Type"] == "image/png"
    assert "max-age" in r.headers["Cache-Control"] and r.headers["ETag"]
    assert admin.get(f"{suite.url}/pictures/thumbnails-square/preview-files/{pf['id']}.png",
                     headers={"If-None-Match": r.headers["ETag"]}).status_code == 304


@pytest.mark.parametrize("audio", [True, False], ids=["with-sound", "silent"])
def test_publish_movie_is_normalised_with_lowdef_and_tiles(suite, admin, world, tmp_path, audio):
    c = world["client"]
    clip = make_clip(tmp_path / "clip.mp4", audio=audio)
    comment, pf = gazu.task.publish_preview(world["task"], world["status"], comment="movie",
                                            preview_file_path=str(clip), client=c)
    assert pf["status"] in ("processing", "ready")
    done = wait_ready(admin, suite.url, pf["id"])
    assert done["status"] == "ready", done
    assert done["extension"] == "mp4" and done["duration"] > 0
    assert (done["width"], done["height"]) == (1920, 1080)  # project resolution
    assert done["data"]["has_audio"] is audio and done["data"]["frame_count"] > 0
    # as Zou: the upload's figures in data.original_*, file_size the normalised movie's, is_movie unset
    assert (done["data"]["original_width"], done["data"]["original_height"]) == (320, 240)
    assert done["data"]["original_file_size"] == clip.stat().st_size and done["data"]["original_duration"] > 0
    assert done["file_size"] not in (0, clip.stat().st_size) and done["is_movie"] is False
    assert done["original_name"] == "clip"
    low = tmp_path / "low.mp4"
    gazu.files.download_preview_movie(pf, str(low), client=c) if hasattr(gazu.files, "download_preview_movie") else None
    r = admin.get(f"{suite.url}/movies/low/preview-files/{pf['id']}.mp4")
    assert r.status_code == 200 and r.headers["Content-Type"] == "video/mp4" and len(r.content) > 1000
    part = admin.get(f"{suite.url}/movies/originals/preview-files/{pf['id']}.mp4", headers={"Range": "bytes=0-99"})
    assert part.status_code == 206 and len(part.content) == 100
    assert part.headers["Content-Range"].startswith("bytes 0-99/")
    tiles = admin.get(f"{suite.url}/movies/tiles/preview-files/{pf['id']}.png")
    assert tiles.status_code == 200 and tiles.headers["Content-Type"] == "image/png"


def test_broken_movie_ends_broken_with_a_reason(suite, admin, world, tmp_path):
    c = world["client"]
    bad = tmp_path / "bad.mp4"
    bad.write_bytes(b"not a movie at all" * 100)
    pf = gazu.task.add_preview(world["task"], world["comment"], str(bad), client=c)
    done = wait_ready(admin, suite.url, pf["id"])
    assert done["status"] == "broken" and done["data"]["error"]


def test_annotations_merge_additions_updates_and_deletions(suite, admin, world, tmp_path):
    c = world["client"]
    pf = gazu.task.add_preview(world["task"], world["comment"], str(make_png(tmp_path / "a.png")), client=c)
    url = f"{suite.url}/actions/preview-files/{pf['id']}/update-annotations"
    a = {"time": 0, "drawing": {"objects": [{"id": "a", "type": "path"}, {"id": "b", "type": "path"}]}}
    r = admin.put(url, json={"additions": [a], "updates": [], "deletions": []})
    assert r.status_code == 200
    r = admin.put(url, json={"additions": [], "updates": [{"time": 0, "drawing": {"objects": [{"id": "a", "type": "text"}]}}],
                             "deletions": [{"time": 0, "objects": ["b"]}]})
    assert r.json()["annotations"] == [{"time": 0, "drawing": {"objects": [{"id": "a", "type": "text"}]}}]


def test_upload_refuses_oversize_and_bombs_and_serves_other_files_as_attachments(suite, admin, world):
    c = world["client"]
    pf = gazu.task.add_preview  # noqa: F841 - gazu used below for the preview rows
    base = f"{suite.url}/actions/tasks/{world['task']['id']}/comments/{world['comment']['id']}/add-preview"
    one = admin.post(base, json={}).json()
    # A PNG header claiming 50 000 x 50 000 pixels: refused before decoding.
    import struct
    import zlib

    ihdr = struct.pack(">IIBBBBB", 50000, 50000, 8, 2, 0, 0, 0)
    chunk = lambda t, d: struct.pack(">I", len(d)) + t + d + struct.pack(">I", zlib.crc32(t + d))  # noqa: E731
    bomb = b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(b"\0" * 1000)) + chunk(b"IEND", b"")
    r = admin.post(f"{suite.url}/pictures/preview-files/{one['id']}", files={"file": ("bomb.png", bomb)})
    assert r.status_code == 400 and "too large" in r.json()["message"]
    two = admin.post(base, json={}).json()
    r = admin.post(f"{suite.url}/pictures/preview-files/{two['id']}",
                   files={"file": ("../../evil.html", b"<script>alert(1)</script>")})
    assert r.status_code == 201, r.text
    got = admin.get(f"{suite.url}/pictures/originals/preview-files/{two['id']}/download")
    assert got.headers["Content-Disposition"].startswith("attachment")
    assert got.headers["X-Content-Type-Options"] == "nosniff"
    three = admin.post(base, json={}).json()
    # A declared 5 TB body is refused before the server reads it.
    import socket
    from urllib.parse import urlparse

    u = urlparse(suite.url)
    with socket.create_connection((u.hostname, u.port), timeout=10) as sock:
        sock.sendall((f"POST /pictures/preview-files/{three['id']} HTTP/1.1\r\nHost: {u.netloc}\r\n"
                      f"Authorization: {admin.headers['Authorization']}\r\n"
                      f"Content-Type: application/octet-stream\r\nContent-Length: {5 * 1024 ** 4}\r\n\r\n").encode()
                     + b"x" * 1000)
        status_line = sock.recv(200).split(b"\r\n")[0]
    assert b" 413 " in status_line
    assert admin.get(f"{suite.url}/data/preview-files/{three['id']}").json()["status"] == "processing"


def test_playlists_with_gazu(suite, admin, world, tmp_path):
    c = world["client"]
    pf = gazu.task.add_preview(world["task"], world["comment"], str(make_png(tmp_path / "p.png")), client=c)
    playlist = gazu.playlist.new_playlist(world["project"], "Dailies", client=c)
    assert playlist["project_id"] == world["project"]["id"]
    updated = gazu.playlist.add_entity_to_playlist(playlist, world["asset"], preview_file=pf, client=c)
    assert updated["shots"][0]["preview_file_id"] == pf["id"]
    flat = admin.get(f"{suite.url}/data/entities/{world['asset']['id']}/preview-files").json()
    assert pf["id"] in [p["id"] for p in flat]
    grouped = admin.get(f"{suite.url}/data/playlists/entities/{world['asset']['id']}/preview-files").json()
    heads = grouped[world["task_type"]["id"]]  # one entry per revision, other positions under "previews" (Zou)
    assert pf["id"] in [p["id"] for p in heads] + [q["id"] for p in heads for q in p["previews"]]
    names = [p["name"] for p in gazu.playlist.all_playlists_for_project(world["project"], client=c)]
    assert "Dailies" in names
    link = admin.post(f"{suite.url}/data/playlists/{playlist['id']}/share").json()
    shared = requests.get(f"{suite.url}/shared/playlists/{link['token']}").json()
    assert shared["id"] == playlist["id"]
    thumb = requests.get(f"{suite.url}/shared/playlists/{link['token']}/pictures/thumbnails/preview-files/{pf['id']}.png")
    assert thumb.status_code == 200


def test_avatar_upload_and_serving(suite, admin):
    me = admin.get(f"{suite.url}/auth/authenticated").json()["user"]
    r = admin.post(f"{suite.url}/pictures/thumbnails/persons/{me['id']}", files={"file": ("me.png", png_bytes())})
    assert r.status_code == 201, r.text
    got = admin.get(f"{suite.url}/pictures/thumbnails/persons/{me['id']}.png")
    assert got.status_code == 200 and got.headers["Content-Type"] == "image/png"


def test_preview_background_upload_and_serving(suite, admin):
    bg = admin.post(f"{suite.url}/data/preview-background-files", json={"name": "Studio"}).json()
    r = admin.post(f"{suite.url}/pictures/preview-background-files/{bg['id']}", files={"file": ("studio.png", png_bytes())})
    assert r.status_code == 201, r.text
    assert r.json()["extension"] == "png" and r.json()["file_size"] > 0
    got = admin.get(f"{suite.url}/pictures/preview-background-files/{bg['id']}.png")
    assert got.status_code == 200 and got.content == png_bytes()
    thumb = admin.get(f"{suite.url}/pictures/thumbnails/preview-background-files/{bg['id']}.png")
    assert thumb.status_code == 200 and thumb.headers["Content-Type"] == "image/png"
    bad = admin.post(f"{suite.url}/pictures/preview-background-files/{bg['id']}", files={"file": ("x.exe", b"MZ")})
    assert bad.status_code == 400 and "Wrong file format" in bad.json()["message"]
