import struct
import zlib

import pytest
from PIL import Image
from slate_previews import processing


def test_pictures_get_preview_thumbnail_and_square_sizes(tmp_path):
    src = tmp_path / "in.jpg"
    Image.new("RGB", (2400, 1000), (10, 20, 30)).save(src)
    out = {k: tmp_path / f"{k}.png" for k in ("original", "previews", "thumbnails", "thumbnails-square")}
    assert processing.make_pictures(src, out) == {"width": 2400, "height": 1000}
    assert Image.open(out["previews"]).size == (1200, 500)
    assert Image.open(out["thumbnails"]).size == (150, 100)
    assert Image.open(out["thumbnails-square"]).size == (100, 100)


def test_decompression_bomb_is_refused_from_its_header(tmp_path):
    def chunk(kind, data):
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    bomb = tmp_path / "bomb.png"
    bomb.write_bytes(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", 50000, 50000, 8, 2, 0, 0, 0))
                     + chunk(b"IEND", b""))
    with pytest.raises(processing.ProcessingError, match="too large"):
        processing.make_pictures(bomb, {k: tmp_path / k for k in ("original", "previews", "thumbnails",
                                                                   "thumbnails-square")})


def test_ffmpeg_past_its_time_limit_is_killed():
    with pytest.raises(processing.ProcessingError, match="longer than"):
        processing.run(["sleep", "5"], time_limit=0.3)


def test_resolution_and_fps_fall_back_to_hd_25():
    assert processing.parse_resolution("bogus") == (1920, 1080)
    assert processing.parse_resolution("1280x720") == (1280, 720)
    assert processing.parse_fps("abc") == 25.0 and processing.parse_fps("24") == 24.0


def test_sweep_removes_old_scratch_and_uploads_only(tmp_path, monkeypatch):
    import os
    import time

    from slate_previews import storage

    monkeypatch.setenv("STORAGE_DIR", str(tmp_path))
    old = storage.scratch_dir()
    fresh = storage.scratch_dir()
    (tmp_path / "tmp").mkdir()
    upload = tmp_path / "tmp" / ("a" * 32)
    upload.write_bytes(b"x")
    past = time.time() - 7200
    os.utime(old, (past, past))
    os.utime(upload, (past, past))
    assert storage.sweep(3600) == 2
    assert fresh.exists() and not old.exists() and not upload.exists()
