"""Drawing Kitsu's fabric.js annotations with Pillow, and the PDF bundle."""

from __future__ import annotations

import re
import shutil
import subprocess

import pytest
from PIL import Image
from slate_previews import frames


def _white(path, size=(400, 200)):
    Image.new("RGB", size, (255, 255, 255)).save(path)
    return path


def _count(im, color, tol=40):
    return sum(1 for px in im.getdata() if all(abs(a - b) <= tol for a, b in zip(px[:3], color, strict=False)))


def test_colours_are_read_as_css():
    assert frames.parse_color("#ff0000") == (255, 0, 0, 255)
    assert frames.parse_color("#0f0") == (0, 255, 0, 255)
    assert frames.parse_color("rgba(0, 0, 255, 0.5)") == (0, 0, 255, 128)
    assert frames.parse_color("red", 0.5) == (255, 0, 0, 128)
    assert frames.parse_color("transparent") is None and frames.parse_color("nonsense") is None


def test_path_is_drawn_in_its_colour_scaled_from_its_canvas(tmp_path):
    src = _white(tmp_path / "in.png")
    # drawn on a canvas twice smaller than the frame: lands twice as far
    annotation = {"time": 0, "drawing": {"objects": [{
        "type": "path", "stroke": "#ff0000", "strokeWidth": 4, "fill": None,
        "canvasWidth": 200, "canvasHeight": 100,
        "path": [["M", 10, 10], ["L", 90, 10], ["Q", 95, 50, 90, 90]],
    }]}}
    out = frames.draw_annotation(src, tmp_path / "out.png", annotation)
    im = Image.open(out).convert("RGB")
    assert im.size == (400, 200)
    assert _count(im, (255, 0, 0)) > 300
    assert im.getpixel((100, 20))[:3] == (255, 0, 0)  # (50, 10) on the canvas
    assert im.getpixel((300, 150)) == (255, 255, 255)  # nothing drawn there


def test_moved_path_follows_left_and_top(tmp_path):
    src = _white(tmp_path / "in.png")
    obj = {"type": "path", "stroke": "#0000ff", "strokeWidth": 6, "left": 300, "top": 150,
           "width": 40, "height": 0, "pathOffset": {"x": 20, "y": 10},
           "path": [["M", 0, 10], ["L", 40, 10]]}
    im = Image.open(frames.draw_annotation(src, tmp_path / "o.png", {"drawing": {"objects": [obj]}})).convert("RGB")
    # fabric's box includes the stroke: centre at (300 + 46/2, 150 + 6/2)
    def blue(x, y):
        px = im.getpixel((x, y))
        return px[0] < 60 and px[2] > 200

    def white(x, y):
        return min(im.getpixel((x, y))) > 240

    assert blue(323, 153) and blue(343, 153) and blue(304, 153)
    assert white(296, 153) and white(350, 153)  # round caps: 3 px past the ends
    assert white(323, 160) and white(323, 146)
    assert im.getpixel((20, 10)) == (255, 255, 255)


def test_shapes_text_and_groups_are_drawn(tmp_path):
    src = _white(tmp_path / "in.png")
    objs = [
        {"type": "rect", "left": 10, "top": 10, "width": 50, "height": 30, "fill": "#00ff00", "stroke": None},
        {"type": "circle", "left": 100, "top": 10, "radius": 20, "fill": "rgba(0,0,255,1)"},
        {"type": "line", "x1": 200, "y1": 20, "x2": 300, "y2": 20, "stroke": "#ff00ff", "strokeWidth": 6,
         "left": 200, "top": 17, "width": 100, "height": 0},
        {"type": "i-text", "text": "HELLO", "left": 10, "top": 120, "fontSize": 40, "fill": "#ff8000"},
        {"type": "group", "left": 300, "top": 120, "width": 40, "height": 40, "objects": [
            {"type": "rect", "left": -20, "top": -20, "width": 40, "height": 40, "fill": "#00ffff"}]},
        {"type": "eraser-or-unknown"},
    ]
    im = Image.open(frames.draw_annotation(src, tmp_path / "o.png", {"drawing": {"objects": objs}})).convert("RGB")
    assert im.getpixel((35, 25)) == (0, 255, 0)
    assert im.getpixel((120, 30)) == (0, 0, 255)
    assert _count(im, (255, 0, 255)) > 200
    assert _count(im, (255, 128, 0), tol=60) > 100
    assert im.getpixel((320, 140)) == (0, 255, 255)


def test_rotation_turns_a_rect(tmp_path):
    src = _white(tmp_path / "in.png")
    obj = {"type": "rect", "left": 200, "top": 100, "originX": "center", "originY": "center",
           "width": 160, "height": 10, "angle": 90, "fill": "#000000"}
    im = Image.open(frames.draw_annotation(src, tmp_path / "o.png", {"drawing": {"objects": [obj]}})).convert("RGB")
    assert im.getpixel((200, 40)) == (0, 0, 0)  # vertical now
    assert im.getpixel((270, 100)) == (255, 255, 255)


def test_garbage_objects_are_skipped(tmp_path):
    src = _white(tmp_path / "in.png")
    objs = [None, 3, {"type": "path", "path": "nonsense"}, {"type": "path", "path": [["M", "x", 1]]},
            {"type": "rect", "width": "abc"}, {"type": "text", "text": 12}]
    im = Image.open(frames.draw_annotation(src, tmp_path / "o.png", {"drawing": {"objects": objs}}))
    assert im.size == (400, 200)


def test_pdf_has_one_page_per_frame(tmp_path):
    pics = [_white(tmp_path / f"{i}.png") for i in range(3)]
    pdf = frames.bundle_pdf(pics, tmp_path / "b.pdf").read_bytes()
    assert pdf.startswith(b"%PDF")
    assert len(re.findall(rb"/Type\s*/Page\b(?!s)", pdf)) == 3


@pytest.mark.skipif(shutil.which("ffmpeg") is None, reason="ffmpeg not installed")
def test_extract_frame_picks_the_numbered_frame(tmp_path):
    movie = tmp_path / "m.mp4"
    # 10 frames at 10 fps: frames 1-5 red, 6-10 blue
    subprocess.run(["ffmpeg", "-y", "-v", "error", "-f", "lavfi", "-i", "color=red:size=64x48:rate=10:duration=0.5",
                    "-f", "lavfi", "-i", "color=blue:size=64x48:rate=10:duration=0.5", "-filter_complex",
                    "[0][1]concat=n=2:v=1", "-c:v", "libx264", "-pix_fmt", "yuv420p", str(movie)], check=True)
    five = Image.open(frames.extract_frame(movie, tmp_path / "5.png", 5, 10.0, 30)).convert("RGB")
    six = Image.open(frames.extract_frame(movie, tmp_path / "6.png", 6, 10.0, 30)).convert("RGB")
    assert five.size == (64, 48)
    assert five.getpixel((32, 24))[0] > 200 and six.getpixel((32, 24))[2] > 200
    with pytest.raises(frames.ProcessingError):
        frames.extract_frame(movie, tmp_path / "x.png", 50, 10.0, 30)


def test_sweep_drops_old_frames_only(tmp_path, monkeypatch):
    import os
    import time

    from slate_previews import extracts, storage

    monkeypatch.setenv("STORAGE_DIR", str(tmp_path))
    monkeypatch.delenv("STORAGE_BACKEND", raising=False)
    old = storage.key("frames", "11111111-1111-4111-8111-111111111111", "png")
    new = storage.key("frames", "11112222-1111-4111-8111-111111111111", "pdf")  # same directory
    for k in (old, new):
        p = tmp_path / k
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_bytes(b"x")
    os.utime(tmp_path / old, (time.time() - 7200, time.time() - 7200))
    assert extracts.sweep_frames(3600) == 1
    assert not storage.exists(old) and storage.exists(new)
