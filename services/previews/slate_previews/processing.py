"""Image and movie processing, in plain Python (Pillow, ffmpeg). No nameko.

Images: original (png), preview (at most 1200 px wide), thumbnail (150x100,
centre crop) and square thumbnail (100x100). A picture above
``PREVIEW_MAX_PIXELS`` is refused from its header, before decoding
(decompression bombs).

Movies: probe (ffprobe), normalise to H.264/yuv420p mp4 at the project's fps
and resolution (letterboxed), with AAC audio or none, a low definition mp4,
a thumbnail from the first frame and a tiles strip for scrubbing. Every
ffmpeg call runs under a wall-time limit and is killed past it.
"""

from __future__ import annotations

import json
import os
import subprocess
import time
from pathlib import Path

from PIL import Image, ImageOps

IMAGE_EXTENSIONS = {"png", "jpg", "jpeg", "gif", "bmp", "tif", "tiff", "webp", "tga"}
MOVIE_EXTENSIONS = {"mp4", "mov", "avi", "mkv", "webm", "wmv", "m4v", "mxf", "mpg", "mpeg"}
THUMBNAIL_SIZE = (150, 100)
SQUARE_SIZE = (100, 100)
PREVIEW_WIDTH = 1200
LOWDEF_HEIGHT = 480
TILE_WIDTH = 150
TILE_COLUMNS = 8


class ProcessingError(Exception):
    """A file that cannot be processed; the message is shown to users."""


def max_pixels() -> int:
    return int(os.environ.get("PREVIEW_MAX_PIXELS") or 120_000_000)


def kind_of(extension: str) -> str:
    ext = (extension or "").lower()
    if ext in IMAGE_EXTENSIONS:
        return "picture"
    if ext in MOVIE_EXTENSIONS:
        return "movie"
    return "file"


def open_image(src: Path) -> Image.Image:
    Image.MAX_IMAGE_PIXELS = max_pixels()
    try:
        im = Image.open(src)
    except Image.DecompressionBombError:
        raise ProcessingError("Picture is too large (decompression bomb refused)") from None
    except Exception:  # noqa: BLE001 - Pillow raises many types for bad files
        raise ProcessingError("File is not a readable picture") from None
    w, h = im.size
    if w * h > max_pixels():
        raise ProcessingError(f"Picture is too large: {w}x{h} pixels")
    return im


def _rgb(im: Image.Image) -> Image.Image:
    if im.mode in ("RGBA", "LA") or (im.mode == "P" and "transparency" in im.info):
        return im.convert("RGBA")
    return im.convert("RGB")


def make_pictures(src: Path, out: dict[str, Path]) -> dict:
    """Writes out['original'|'previews'|'thumbnails'|'thumbnails-square'] (png)."""
    im = open_image(src)
    try:
        im.load()
    except Exception:  # noqa: BLE001
        raise ProcessingError("Picture is truncated or corrupt") from None
    im = _rgb(ImageOps.exif_transpose(im))
    width, height = im.size
    im.save(out["original"], "PNG", compress_level=1)
    preview = im
    if width > PREVIEW_WIDTH:
        preview = im.resize((PREVIEW_WIDTH, max(1, round(height * PREVIEW_WIDTH / width))), Image.LANCZOS)
    preview.save(out["previews"], "PNG", compress_level=3)
    ImageOps.fit(im, THUMBNAIL_SIZE, Image.LANCZOS).save(out["thumbnails"], "PNG")
    ImageOps.fit(im, SQUARE_SIZE, Image.LANCZOS).save(out["thumbnails-square"], "PNG")
    return {"width": width, "height": height}


def make_avatar(src: Path, dest: Path, size=(150, 150)) -> None:
    im = open_image(src)
    try:
        im = _rgb(ImageOps.exif_transpose(im))
    except Exception:  # noqa: BLE001
        raise ProcessingError("Picture is truncated or corrupt") from None
    ImageOps.fit(im, size, Image.LANCZOS).save(dest, "PNG")


# ---------------------------------------------------------------- movies
def run(cmd: list[str], time_limit: float, on_tick=None, tick_seconds: float = 2.0) -> str:
    """Run a command; kill it past ``time_limit``. ``on_tick`` is called
    while it runs (the job's heartbeat). Returns stderr's tail on failure."""
    import tempfile

    with tempfile.TemporaryFile() as err:
        proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=err, stdin=subprocess.DEVNULL,
                                preexec_fn=_die_with_parent)
        started = time.monotonic()
        last_tick = started
        try:
            while proc.poll() is None:
                now = time.monotonic()
                if now - started > time_limit:
                    proc.kill()
                    proc.wait()
                    raise ProcessingError(f"Processing took longer than {time_limit:g} s and was stopped")
                if on_tick is not None and now - last_tick >= tick_seconds:
                    on_tick()
                    last_tick = now
                _sleep(0.05)
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
        if proc.returncode != 0:
            err.seek(0)
            tail = err.read()[-600:].decode("utf-8", "replace").strip().splitlines()
            raise ProcessingError("ffmpeg failed: " + (tail[-1] if tail else f"exit {proc.returncode}"))
    return ""


def _die_with_parent() -> None:
    """ffmpeg dies with the worker (Linux): a killed worker leaves no orphan
    transcode behind; its job is re-leased by another worker."""
    try:
        import ctypes
        import signal

        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
    except Exception:  # noqa: BLE001 - not Linux: nothing to do
        pass


def _sleep(seconds: float) -> None:
    try:
        import eventlet

        eventlet.sleep(seconds)
    except ImportError:  # pragma: no cover
        time.sleep(seconds)


def probe(src: Path, time_limit: float = 60) -> dict:
    try:
        out = subprocess.run(
            ["ffprobe", "-v", "error", "-print_format", "json", "-show_streams", "-show_format", str(src)],
            capture_output=True, timeout=time_limit,
        )
    except subprocess.TimeoutExpired:
        raise ProcessingError("ffprobe timed out") from None
    if out.returncode != 0:
        raise ProcessingError("File is not a readable movie")
    info = json.loads(out.stdout or b"{}")
    video = next((s for s in info.get("streams", []) if s.get("codec_type") == "video"), None)
    if video is None:
        raise ProcessingError("Movie has no video stream")
    audio = any(s.get("codec_type") == "audio" for s in info.get("streams", []))
    duration = float(info.get("format", {}).get("duration") or video.get("duration") or 0)
    rate = video.get("avg_frame_rate") or video.get("r_frame_rate") or "0/1"
    num, _, den = rate.partition("/")
    fps = float(num) / float(den or 1) if float(den or 1) else 0.0
    frames = int(video.get("nb_frames") or 0) or int(round(duration * fps))
    return {"width": int(video.get("width") or 0), "height": int(video.get("height") or 0),
            "duration": duration, "fps": fps, "has_audio": audio, "frame_count": frames}


def parse_resolution(resolution: str | None) -> tuple[int, int]:
    try:
        w, h = str(resolution or "1920x1080").lower().split("x")
        w, h = int(w), int(h)
        if 16 <= w <= 8192 and 16 <= h <= 8192:
            return w - w % 2, h - h % 2
    except ValueError:
        pass
    return 1920, 1080


def parse_fps(fps) -> float:
    try:
        value = float(fps)
        if 1 <= value <= 120:
            return value
    except (TypeError, ValueError):
        pass
    return 25.0


def normalize(src: Path, dest: Path, width: int, height: int, fps: float, has_audio: bool,
              time_limit: float, on_tick=None) -> None:
    vf = (f"scale={width}:{height}:force_original_aspect_ratio=decrease,"
          f"pad={width}:{height}:(ow-iw)/2:(oh-ih)/2,setsar=1")
    cmd = ["ffmpeg", "-y", "-v", "error", "-i", str(src), "-map", "0:v:0", "-vf", vf, "-r", f"{fps:g}",
           "-c:v", "libx264", "-preset", "veryfast", "-crf", "20", "-pix_fmt", "yuv420p",
           "-threads", os.environ.get("FFMPEG_THREADS", "2")]
    if has_audio:
        cmd += ["-map", "0:a:0", "-c:a", "aac", "-b:a", "160k", "-ac", "2"]
    else:
        cmd += ["-an"]
    cmd += ["-movflags", "+faststart", str(dest)]
    run(cmd, time_limit, on_tick)


def lowdef(src: Path, dest: Path, has_audio: bool, time_limit: float, on_tick=None) -> None:
    cmd = ["ffmpeg", "-y", "-v", "error", "-i", str(src), "-vf", f"scale=-2:{LOWDEF_HEIGHT}",
           "-c:v", "libx264", "-preset", "veryfast", "-crf", "28", "-pix_fmt", "yuv420p",
           "-threads", os.environ.get("FFMPEG_THREADS", "2")]
    cmd += ["-c:a", "aac", "-b:a", "96k"] if has_audio else ["-an"]
    cmd += ["-movflags", "+faststart", str(dest)]
    run(cmd, time_limit, on_tick)


def first_frame(src: Path, dest: Path, time_limit: float) -> None:
    run(["ffmpeg", "-y", "-v", "error", "-i", str(src), "-frames:v", "1", str(dest)], time_limit)


def tiles(src: Path, dest: Path, frame_count: int, time_limit: float) -> None:
    count = max(1, min(frame_count or 1, 64))
    step = max(1, (frame_count or 1) // count)
    rows = max(1, -(-count // TILE_COLUMNS))
    vf = (f"select=not(mod(n\\,{step})),scale={TILE_WIDTH}:-2,"
          f"tile={TILE_COLUMNS}x{rows}")
    run(["ffmpeg", "-y", "-v", "error", "-i", str(src), "-vf", vf, "-frames:v", "1", "-an", str(dest)],
        time_limit)
