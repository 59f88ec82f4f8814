"""Frames of a movie preview, annotated frames (PNG, zip, PDF) and tiles,
made by the previews service with ffmpeg and Pillow, streamed by the gateway."""

from __future__ import annotations

import io
import re
import subprocess
import time
import zipfile

import gazu
import pytest
from PIL import Image

from tests.e2e.media_helpers import gazu_world

pytestmark = pytest.mark.e2e

RED = (255, 0, 0)


def two_colour_clip(path, fps=25):
    """Frames 1-10 black, 11-20 white (at the default project fps)."""
    subprocess.run(["ffmpeg", "-y", "-v", "error",
                    "-f", "lavfi", "-i", f"color=black:size=320x180:rate={fps}:duration=0.4",
                    "-f", "lavfi", "-i", f"color=white:size=320x180:rate={fps}:duration=0.4",
                    "-filter_complex", "[0][1]concat=n=2:v=1", "-c:v", "libx264", "-preset", "ultrafast",
                    "-pix_fmt", "yuv420p", str(path)], check=True, timeout=60)
    return path


def _wait_ready(admin, url, pid, timeout=180):
    deadline = time.monotonic() + timeout
    while True:
        pf = admin.get(f"{url}/data/preview-files/{pid}", timeout=10).json()
        if pf["status"] != "processing" or time.monotonic() > deadline:
            return pf
        time.sleep(0.3)


def _stroke(colour, y, canvas=(1920, 1080)):
    return {"type": "path", "stroke": colour, "strokeWidth": 12, "fill": None, "id": f"s{y}",
            "canvasWidth": canvas[0], "canvasHeight": canvas[1],
            "path": [["M", 200, y], ["L", 1700, y], ["Q", 1750, y + 100, 1700, y + 200]]}


@pytest.fixture(scope="module")
def movie(suite, admin, tmp_path_factory):
    world = gazu_world(suite)
    clip = two_colour_clip(tmp_path_factory.mktemp("frames") / "clip.mp4")
    _comment, pf = gazu.task.publish_preview(world["task"], world["status"], comment="movie",
                                             preview_file_path=str(clip), client=world["client"])
    done = _wait_ready(admin, suite.url, pf["id"])
    assert done["status"] == "ready", done
    fps = float(done["data"]["fps"])
    # annotations on frame 1 (black) and frame 14 (white)
    body = {"additions": [{"time": 0, "drawing": {"objects": [_stroke("#ff0000", 300)]}},
                          {"time": round(13 / fps, 4), "drawing": {"objects": [_stroke("rgba(255,0,0,1)", 500)]}}]}
    r = admin.put(f"{suite.url}/actions/preview-files/{pf['id']}/update-annotations", json=body, timeout=15)
    assert r.status_code == 200, r.text
    return {**world, "pf": done, "fps": fps}


def _png(r):
    assert r.status_code == 200, r.text
    assert r.headers["Content-Type"] == "image/png"
    return Image.open(io.BytesIO(r.content)).convert("RGB")


def _reds(im):
    return sum(1 for p in im.getdata() if p[0] > 220 and p[1] < 40 and p[2] < 40)


def test_extract_frame_is_a_png_of_the_movie_size_at_that_frame(suite, admin, movie):
    pf = movie["pf"]
    url = f"{suite.url}/api/actions/preview-files/{pf['id']}/extract-frame"
    first = _png(admin.get(url, params={"frame_number": 1}, timeout=60))
    assert first.size == (pf["width"], pf["height"])
    assert max(first.getpixel((960, 540))) < 40  # black half
    later = _png(admin.get(url, params={"frame_number": 15}, timeout=60))
    assert min(later.getpixel((960, 540))) > 200  # white half
    # Zou: no frame_number (or 0) is the first frame
    assert max(_png(admin.get(url, timeout=60)).getpixel((960, 540))) < 40
    again = admin.get(url, params={"frame_number": 15}, timeout=60)
    assert again.content == admin.get(url, params={"frame_number": 15}, timeout=60).content
    assert "inline" in again.headers["Content-Disposition"]


def test_bad_frame_numbers_get_zou_400s(suite, admin, movie):
    base = f"{suite.url}/actions/preview-files/{movie['pf']['id']}"
    r = admin.get(base + "/extract-frame", params={"frame_number": "abc"}, timeout=30)
    assert r.status_code == 400 and r.json() == {"error": True, "message": "Wrong value for parameter frame_number.",
                                                 "data": None}
    r = admin.get(base + "/extract-frame", params={"frame_number": 5000}, timeout=30)
    assert r.status_code == 400 and "past the end" in r.json()["message"]
    r = admin.get(base + "/extract-annotated-frame", params={"frame_number": 0}, timeout=30)
    assert r.status_code == 400 and r.json()["message"] == "Validation error."
    assert r.json()["data"]["errors"][0]["field"] == "frame_number"
    r = admin.get(base + "/extract-annotated-frame", timeout=30)
    assert r.status_code == 400 and r.json()["message"] == "frame_number is required for movie previews"
    r = admin.get(base + "/extract-annotated-frame", params={"frame_number": 7}, timeout=30)
    assert r.status_code == 400 and r.json() == {"error": True, "message": "No annotation found for frame 7"}
    r = admin.get(f"{suite.url}/actions/preview-files/{'0' * 8}-0000-4000-8000-{'0' * 12}/extract-frame",
                  timeout=30)
    assert r.status_code == 404


def test_annotated_frame_has_the_drawing_in_its_colour(suite, admin, movie):
    base = f"{suite.url}/actions/preview-files/{movie['pf']['id']}"
    plain = _png(admin.get(base + "/extract-frame", params={"frame_number": 1}, timeout=60))
    drawn = _png(admin.get(base + "/extract-annotated-frame", params={"frame_number": 1}, timeout=60))
    assert _reds(plain) == 0
    assert _reds(drawn) > 10000  # a 12 px stroke ~1500 px long, and its curve
    assert drawn.getpixel((960, 300)) == RED  # on the stroke (canvas = movie size)
    assert max(drawn.getpixel((960, 900))) < 40  # the frame elsewhere
    on_white = _png(admin.get(base + "/extract-annotated-frame", params={"frame_number": 14}, timeout=60))
    assert on_white.getpixel((960, 500)) == RED and min(on_white.getpixel((960, 900))) > 200


def test_annotated_frames_as_zip_and_pdf(suite, admin, movie):
    base = f"{suite.url}/actions/preview-files/{movie['pf']['id']}"
    r = admin.get(base + "/extract-annotated-frames", timeout=120)
    assert r.status_code == 200, r.text
    assert r.headers["Content-Type"] == "application/zip"
    assert r.headers["Content-Disposition"].startswith("attachment")
    assert "_annotated_frames.zip" in r.headers["Content-Disposition"]
    names = sorted(zipfile.ZipFile(io.BytesIO(r.content)).namelist())
    assert len(names) == 2 and names[0].endswith("_frame_1.png") and names[1].endswith("_frame_14.png")
    r = admin.get(base + "/extract-annotated-frames-pdf", timeout=120)
    assert r.status_code == 200, r.text
    assert r.headers["Content-Type"] == "application/pdf"
    assert r.content.startswith(b"%PDF")
    assert len(re.findall(rb"/Type\s*/Page\b(?!s)", r.content)) == 2
    assert "_annotated_frames.pdf" in r.headers["Content-Disposition"]


def test_extract_tile_remakes_the_tiles(suite, admin, movie):
    r = admin.get(f"{suite.url}/actions/preview-files/{movie['pf']['id']}/extract-tile", timeout=60)
    tiles = _png(r)
    assert tiles.size[0] > tiles.size[1] > 0


def test_only_managers_of_the_project_extract(suite, admin, movie):
    base = f"{suite.url}/actions/preview-files/{movie['pf']['id']}"
    outsider = suite.make_person(admin, role="manager", password="frames-pass-1")
    s = suite.login(outsider["email"], "frames-pass-1")
    assert s.get(base + "/extract-frame", params={"frame_number": 1}, timeout=30).status_code == 403
    assert s.get(base + "/extract-annotated-frames-pdf", timeout=30).status_code == 403
    artist = suite.make_person(admin, role="user", password="frames-pass-2")
    a = suite.login(artist["email"], "frames-pass-2")
    assert a.get(base + "/extract-frame", timeout=30).status_code == 403
    assert a.get(base + "/extract-tile", timeout=30).status_code == 403  # not in the team


def test_picture_preview_annotated(suite, admin, movie, tmp_path):
    from tests.e2e.media_helpers import make_png

    c = movie["client"]
    pf = gazu.task.add_preview(movie["task"], movie["comment"], str(make_png(tmp_path / "p.png", 640, 360)),
                               client=c)
    body = {"additions": [{"time": 0, "drawing": {"objects": [_stroke("#ff0000", 100, canvas=(640, 360))]}}]}
    assert admin.put(f"{suite.url}/actions/preview-files/{pf['id']}/update-annotations", json=body,
                     timeout=15).status_code == 200
    base = f"{suite.url}/actions/preview-files/{pf['id']}"
    im = _png(admin.get(base + "/extract-annotated-frame", timeout=60))
    assert im.size == (640, 360) and _reds(im) > 1000
    r = admin.get(base + "/extract-frame", timeout=30)
    assert r.status_code == 404  # Zou: extract-frame is for movies
