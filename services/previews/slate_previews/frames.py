"""Frames of a preview, and annotations drawn on them, in plain Python
(ffmpeg, Pillow). No nameko.

- ``extract_frame``: one frame of a movie as PNG. Frame numbers are
  1-based, as Kitsu's player counts them (frame ``n`` starts at
  ``(n - 1) / fps``); ffmpeg seeks accurately, under a wall-time limit.
- ``draw_annotation``: Kitsu's annotations are fabric.js canvas objects
  (``{"time", "drawing": {"objects": [...]}}``). Drawn: ``path`` (M/L/Q/C/Z
  commands, Kitsu's pencil), ``psstroke`` (pressure brush, width per
  point), ``line``, ``arrow``, ``polyline``, ``polygon``, ``rect``,
  ``circle``, ``ellipse``, ``triangle``, ``text``/``i-text``/``textbox``
  and ``group`` (children in the group's frame), with stroke and fill
  colours (``#rgb``, ``#rrggbb``, ``rgb()``, ``rgba()``, CSS names),
  ``opacity``, ``strokeWidth``, position, scale, flips and rotation
  (``angle``) around fabric's ``originX``/``originY``. Coordinates are in
  the canvas the drawing was made on (``canvasWidth``/``canvasHeight`` on
  the object, else the image size) and are scaled to the frame.
  Skipped (not drawn): erasers (``eraser`` masks are ignored, so erased
  strokes show whole), shadows, gradients and patterns, dash arrays, line
  caps and joins other than round, text rotation, text styles per
  character and fonts other than DejaVu Sans (or Pillow's default font).
- ``bundle_zip`` / ``bundle_pdf``: annotated frames as a zip of PNGs, or
  one PDF page per frame (Pillow writes the PDF: no other dependency).
"""

from __future__ import annotations

import math
import re
import zipfile
from pathlib import Path

from PIL import Image, ImageColor, ImageDraw, ImageFont

from .processing import ProcessingError, run

SUPERSAMPLE = 2  # the overlay is drawn at twice the size, then reduced: cheap anti-aliasing
MAX_OBJECTS = 5000  # per frame: a bound on drawing work for one request
FONT_PATHS = ("/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf", "/usr/share/fonts/dejavu/DejaVuSans.ttf")


# ---------------------------------------------------------------- ffmpeg
def frame_time(frame_number: int, fps: float) -> float:
    """Seek target of a 1-based frame: a quarter frame before its start, so
    that float rounding never lands on the next frame."""
    return max(0.0, (frame_number - 1.25) / fps)


def extract_frame(movie: Path, dest: Path, frame_number: int, fps: float, time_limit: float) -> Path:
    run(["ffmpeg", "-y", "-v", "error", "-ss", f"{frame_time(frame_number, fps):.6f}", "-i", str(movie),
         "-frames:v", "1", "-update", "1", "-an", str(dest)], time_limit)
    if not dest.is_file() or dest.stat().st_size == 0:
        raise ProcessingError(f"Frame {frame_number} is past the end of the movie")
    return dest


# ---------------------------------------------------------------- colours
_RGBA = re.compile(r"^\s*rgba?\(\s*([\d.]+)\s*,\s*([\d.]+)\s*,\s*([\d.]+)\s*(?:,\s*([\d.]+%?)\s*)?\)\s*$", re.I)


def parse_color(value, opacity: float = 1.0):
    """RGBA tuple of a CSS colour, or None (no colour, transparent, unreadable)."""
    if not isinstance(value, str) or not value.strip() or value.strip().lower() in ("transparent", "none"):
        return None
    m = _RGBA.match(value)
    if m:
        r, g, b = (max(0, min(255, int(float(x)))) for x in m.groups()[:3])
        a = m.group(4)
        if a is None:
            alpha = 1.0
        elif a.endswith("%"):
            alpha = float(a[:-1]) / 100
        else:
            alpha = float(a)
        rgba = (r, g, b, alpha)
    else:
        try:
            c = ImageColor.getrgb(value.strip())
        except ValueError:
            return None
        rgba = (c[0], c[1], c[2], (c[3] / 255) if len(c) == 4 else 1.0)
    alpha = max(0.0, min(1.0, rgba[3] * opacity))
    return rgba[0], rgba[1], rgba[2], round(alpha * 255)


# ---------------------------------------------------------------- geometry
def _num(obj, name, default=0.0) -> float:
    value = obj.get(name, default)
    try:
        value = float(value if value is not None else default)
    except (TypeError, ValueError):
        return float(default)
    return value if math.isfinite(value) else float(default)


_ORIGINS = {"left": 0.0, "top": 0.0, "center": 0.5, "right": 1.0, "bottom": 1.0}


def _origin(value, default: str) -> float:
    if isinstance(value, (int, float)):
        return float(value)
    return _ORIGINS.get(str(value or default).lower(), _ORIGINS[default])


def _matmul(a, b):
    """Compose 2x3 affine matrices (a after b)."""
    return (a[0] * b[0] + a[2] * b[1], a[1] * b[0] + a[3] * b[1],
            a[0] * b[2] + a[2] * b[3], a[1] * b[2] + a[3] * b[3],
            a[0] * b[4] + a[2] * b[5] + a[4], a[1] * b[4] + a[3] * b[5] + a[5])


def _apply(m, x, y):
    return m[0] * x + m[2] * y + m[4], m[1] * x + m[3] * y + m[5]


def object_matrix(obj: dict, width: float, height: float):
    """Matrix from an object's own frame (origin at its centre) to its
    parent's: fabric's translate(centre) . rotate(angle) . scale(flip)."""
    sx = _num(obj, "scaleX", 1) or 1.0
    sy = _num(obj, "scaleY", 1) or 1.0
    if obj.get("flipX"):
        sx = -sx
    if obj.get("flipY"):
        sy = -sy
    angle = math.radians(_num(obj, "angle"))
    cos, sin = math.cos(angle), math.sin(angle)
    # (left, top) is where the origin point sits; the centre is offset from
    # it by the scaled size, in the rotated frame. fabric's box includes the
    # stroke (strokeWidth, default 1, scaled unless strokeUniform).
    stroke = max(0.0, _num(obj, "strokeWidth", 1))
    box_w = width * abs(sx) + (stroke if obj.get("strokeUniform") else stroke * abs(sx))
    box_h = height * abs(sy) + (stroke if obj.get("strokeUniform") else stroke * abs(sy))
    ox = (0.5 - _origin(obj.get("originX"), "left")) * box_w
    oy = (0.5 - _origin(obj.get("originY"), "top")) * box_h
    cx = _num(obj, "left") + ox * cos - oy * sin
    cy = _num(obj, "top") + ox * sin + oy * cos
    return (cos * sx, sin * sx, -sin * sy, cos * sy, cx, cy)


def _bbox(points):
    xs = [p[0] for p in points]
    ys = [p[1] for p in points]
    return min(xs), min(ys), max(xs), max(ys)


def _path_commands(raw) -> list[list]:
    if isinstance(raw, str):
        out = []
        for op, args in re.findall(r"([MLQCZmlqcz])([^MLQCZmlqcz]*)", raw):
            out.append([op.upper(), *[float(n) for n in re.findall(r"-?\d*\.?\d+(?:e-?\d+)?", args)]])
        return out
    if isinstance(raw, list):
        out = []
        for cmd in raw:
            if isinstance(cmd, list) and cmd and isinstance(cmd[0], str):
                try:
                    out.append([cmd[0].upper(), *[float(v) for v in cmd[1:]]])
                except (TypeError, ValueError):
                    continue
        return out
    return []


def _path_polylines(commands) -> list[list[tuple]]:
    """Absolute M/L/Q/C/Z commands flattened to polylines (curves sampled)."""
    lines: list[list[tuple]] = []
    cur = start = None
    for cmd in commands:
        op, a = cmd[0], cmd[1:]
        if op == "M" and len(a) >= 2:
            cur = start = (a[0], a[1])
            lines.append([cur])
        elif op == "L" and len(a) >= 2:
            cur = (a[0], a[1])
            if not lines:
                lines.append([])
            lines[-1].append(cur)
        elif op == "Q" and len(a) >= 4 and cur is not None:
            p0, p1, p2 = cur, (a[0], a[1]), (a[2], a[3])
            lines[-1].extend(_bezier((p0, p1, p2), 8))
            cur = p2
        elif op == "C" and len(a) >= 6 and cur is not None:
            p0, p1, p2, p3 = cur, (a[0], a[1]), (a[2], a[3]), (a[4], a[5])
            lines[-1].extend(_bezier((p0, p1, p2, p3), 12))
            cur = p3
        elif op == "Z" and start is not None and lines:
            lines[-1].append(start)
            cur = start
    return [line for line in lines if len(line) >= 1]


def _bezier(points, steps):
    out = []
    for i in range(1, steps + 1):
        t = i / steps
        pts = list(points)
        while len(pts) > 1:  # de Casteljau
            pts = [((1 - t) * p[0] + t * q[0], (1 - t) * p[1] + t * q[1]) for p, q in zip(pts, pts[1:], strict=False)]
        out.append(pts[0])
    return out


# ---------------------------------------------------------------- drawing
class _Canvas:
    def __init__(self, size, scale_x, scale_y):
        self.image = Image.new("RGBA", size, (0, 0, 0, 0))
        self.draw = ImageDraw.Draw(self.image)
        self.sx, self.sy = scale_x, scale_y
        self.count = 0

    def to_px(self, m, x, y):
        px, py = _apply(m, x, y)
        return px * self.sx, py * self.sy

    def width(self, obj, m) -> int:
        # stroke width scales with the object's scale and the canvas factor
        scale = math.hypot(m[0], m[1]) * self.sx
        return max(1, round(_num(obj, "strokeWidth", 1) * scale))

    def polyline(self, points, color, width):
        if color is None or not points:
            return
        if len(points) == 1:
            points = [points[0], points[0]]
        self.draw.line(points, fill=color, width=width, joint="curve")
        r = width / 2
        if r >= 1.5:  # round caps
            for p in (points[0], points[-1]):
                self.draw.ellipse([p[0] - r, p[1] - r, p[0] + r, p[1] + r], fill=color)

    def shape(self, points, fill, stroke, width):
        if len(points) < 3:
            return
        if fill is not None:
            self.draw.polygon(points, fill=fill)
        if stroke is not None:
            self.polyline(points + [points[0]], stroke, width)


def _colors(obj, default_stroke=None):
    opacity = _num(obj, "opacity", 1)
    stroke = parse_color(obj.get("stroke"), opacity)
    fill = parse_color(obj.get("fill"), opacity)
    if stroke is None and default_stroke is not None:
        stroke = parse_color(default_stroke, opacity)
    return stroke, fill


def _centred(obj, anchors, parent):
    """Matrix for shapes whose points are in canvas coordinates around a
    ``pathOffset`` (paths, polylines, lines): local point minus the offset."""
    if not anchors:
        return None
    x0, y0, x1, y1 = _bbox(anchors)
    offset = obj.get("pathOffset") if isinstance(obj.get("pathOffset"), dict) else None
    px = _num(offset, "x", (x0 + x1) / 2) if offset else (x0 + x1) / 2
    py = _num(offset, "y", (y0 + y1) / 2) if offset else (y0 + y1) / 2
    w = _num(obj, "width", x1 - x0) if obj.get("width") is not None else x1 - x0
    h = _num(obj, "height", y1 - y0) if obj.get("height") is not None else y1 - y0
    if obj.get("left") is None or obj.get("top") is None:
        # as fabric places a new shape: its box (stroke included) around the points
        half = max(0.0, _num(obj, "strokeWidth", 1)) / 2
        obj = {**obj, "left": x0 - half, "top": y0 - half, "originX": "left", "originY": "top"}
    m = _matmul(parent, object_matrix(obj, w, h))
    return _matmul(m, (1, 0, 0, 1, -px, -py))


def _draw(canvas: _Canvas, obj, parent=(1, 0, 0, 1, 0, 0)) -> None:
    if not isinstance(obj, dict) or obj.get("visible") is False:
        return
    canvas.count += 1
    if canvas.count > MAX_OBJECTS:
        return
    kind = str(obj.get("type") or "").lower()
    if kind == "path":
        lines = _path_polylines(_path_commands(obj.get("path")))
        anchors = [p for line in lines for p in line]
        m = _centred(obj, anchors, parent)
        if m is None:
            return
        stroke, fill = _colors(obj, "#000000" if not obj.get("fill") else None)
        width = canvas.width(obj, m)
        for line in lines:
            pts = [canvas.to_px(m, *p) for p in line]
            canvas.polyline(pts, stroke, width)
    elif kind == "psstroke":
        raw = [p for p in obj.get("strokePoints") or [] if isinstance(p, dict)]
        anchors = [(_num(p, "x"), _num(p, "y")) for p in raw]
        offset = obj.get("strokeOffset")
        m = _centred({**obj, "pathOffset": offset} if isinstance(offset, dict) else obj, anchors, parent)
        if m is None:
            return
        stroke, fill = _colors(obj, "#000000")
        base = canvas.width(obj, m)
        pts = [canvas.to_px(m, *a) for a in anchors]
        for i, (a, b) in enumerate(zip(pts, pts[1:], strict=False)):
            pressure = raw[i].get("pressure")
            w = max(1, round(base * (float(pressure) if isinstance(pressure, (int, float)) else 1.0)))
            canvas.polyline([a, b], stroke, w)
    elif kind in ("line", "arrow"):
        x1, y1, x2, y2 = (_num(obj, k) for k in ("x1", "y1", "x2", "y2"))
        m = _centred({k: v for k, v in obj.items() if k != "pathOffset"}, [(x1, y1), (x2, y2)], parent)
        stroke, fill = _colors(obj, "#000000")
        stroke = stroke or fill
        width = canvas.width(obj, m)
        a, b = canvas.to_px(m, x1, y1), canvas.to_px(m, x2, y2)
        canvas.polyline([a, b], stroke, width)
        if kind == "arrow" and stroke is not None:
            head = max(width * 3, _num(obj, "arrowHeadSize", 15) * canvas.sx)
            ang = math.atan2(b[1] - a[1], b[0] - a[0])
            left = (b[0] - head * math.cos(ang - math.pi / 6), b[1] - head * math.sin(ang - math.pi / 6))
            right = (b[0] - head * math.cos(ang + math.pi / 6), b[1] - head * math.sin(ang + math.pi / 6))
            canvas.draw.polygon([b, left, right], fill=stroke)
    elif kind in ("polyline", "polygon"):
        anchors = [(_num(p, "x"), _num(p, "y")) for p in obj.get("points") or [] if isinstance(p, dict)]
        m = _centred(obj, anchors, parent)
        if m is None:
            return
        stroke, fill = _colors(obj, "#000000" if kind == "polyline" else None)
        pts = [canvas.to_px(m, *a) for a in anchors]
        if kind == "polygon":
            canvas.shape(pts, fill, stroke, canvas.width(obj, m))
        else:
            canvas.polyline(pts, stroke, canvas.width(obj, m))
    elif kind in ("rect", "triangle", "circle", "ellipse"):
        if kind == "circle":
            w = h = 2 * _num(obj, "radius", _num(obj, "width") / 2)
        elif kind == "ellipse":
            w, h = 2 * _num(obj, "rx", _num(obj, "width") / 2), 2 * _num(obj, "ry", _num(obj, "height") / 2)
        else:
            w, h = _num(obj, "width"), _num(obj, "height")
        if w <= 0 or h <= 0:
            return
        m = _matmul(parent, object_matrix(obj, w, h))
        if kind == "rect":
            local = [(-w / 2, -h / 2), (w / 2, -h / 2), (w / 2, h / 2), (-w / 2, h / 2)]
        elif kind == "triangle":
            local = [(0, -h / 2), (w / 2, h / 2), (-w / 2, h / 2)]
        else:
            local = [(w / 2 * math.cos(t), h / 2 * math.sin(t))
                     for t in (2 * math.pi * i / 72 for i in range(72))]
        stroke, fill = _colors(obj)
        canvas.shape([canvas.to_px(m, *p) for p in local], fill, stroke, canvas.width(obj, m))
    elif kind in ("text", "i-text", "textbox"):
        _draw_text(canvas, obj, parent)
    elif kind == "group":
        w, h = _num(obj, "width"), _num(obj, "height")
        m = _matmul(parent, object_matrix(obj, w, h))
        for child in obj.get("objects") or []:
            _draw(canvas, child, m)
    # other types (images, custom classes) are skipped


def _font(size: int):
    for candidate in FONT_PATHS:
        if Path(candidate).is_file():
            try:
                return ImageFont.truetype(candidate, size=size)
            except OSError:
                continue
    try:
        return ImageFont.load_default(size=size)
    except TypeError:  # Pillow < 10.1
        return ImageFont.load_default()


def _draw_text(canvas: _Canvas, obj, parent):
    text = obj.get("text")
    if not isinstance(text, str) or not text:
        return
    text = text[:2000]
    m = _matmul(parent, object_matrix(obj, _num(obj, "width"), _num(obj, "height")))
    scale = math.hypot(m[2], m[3]) * canvas.sy
    size = max(4, min(2000, round(_num(obj, "fontSize", 40) * scale)))
    font = _font(size)
    stroke, fill = _colors(obj)
    color = fill or stroke or (0, 0, 0, 255)
    x0, y0 = canvas.to_px(m, -_num(obj, "width") / 2, -_num(obj, "height") / 2)
    background = parse_color(obj.get("backgroundColor"), _num(obj, "opacity", 1))
    if background is not None:
        box = canvas.draw.multiline_textbbox((x0, y0), text, font=font)
        canvas.draw.rectangle(box, fill=background)
    canvas.draw.multiline_text((x0, y0), text, fill=color, font=font)


def annotation_objects(annotation) -> list:
    if not isinstance(annotation, dict):
        return []
    drawing = annotation.get("drawing")
    objs = drawing.get("objects") if isinstance(drawing, dict) else annotation.get("objects")
    return objs if isinstance(objs, list) else []


def draw_annotation(src: Path, dest: Path, annotation: dict) -> Path:
    """The picture at ``src`` with the annotation's objects drawn on it, as PNG."""
    with Image.open(src) as im:
        base = im.convert("RGBA")
    objects = annotation_objects(annotation)
    if objects:
        w, h = base.size
        first = next((o for o in objects if isinstance(o, dict)), {})
        canvas_w = _num(first, "canvasWidth") or w
        canvas_h = _num(first, "canvasHeight") or h
        canvas = _Canvas((w * SUPERSAMPLE, h * SUPERSAMPLE), w * SUPERSAMPLE / canvas_w, h * SUPERSAMPLE / canvas_h)
        for obj in objects:
            if isinstance(obj, dict) and (obj.get("canvasWidth") or obj.get("canvasHeight")):
                canvas.sx = w * SUPERSAMPLE / (_num(obj, "canvasWidth") or canvas_w)
                canvas.sy = h * SUPERSAMPLE / (_num(obj, "canvasHeight") or canvas_h)
            _draw(canvas, obj)
        overlay = canvas.image.resize((w, h), Image.LANCZOS) if SUPERSAMPLE != 1 else canvas.image
        base = Image.alpha_composite(base, overlay)
    base.convert("RGB").save(dest, "PNG", compress_level=3)
    return dest


# ---------------------------------------------------------------- bundles
def bundle_zip(entries: list[tuple[str, Path]], dest: Path) -> Path:
    with zipfile.ZipFile(dest, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, path in entries:
            zf.write(path, name)
    return dest


def bundle_pdf(paths: list[Path], dest: Path, resolution: float = 150.0) -> Path:
    """One page per picture (PDF has no alpha: pages are RGB)."""
    if not paths:
        raise ProcessingError("No annotated frame to put in a PDF")
    pages = []
    try:
        for p in paths:
            with Image.open(p) as im:
                pages.append(im.convert("RGB"))
        pages[0].save(dest, "PDF", save_all=True, append_images=pages[1:], resolution=resolution)
    finally:
        for page in pages:
            page.close()
    return dest
