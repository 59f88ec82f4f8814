"""RPCs that make files on request, mixed into the previews service: a
frame of a movie, its tiles again, annotated frames (PNG, zip, PDF), the
thumbnail of an image attachment, and storing an upload for another owner
(comment attachments, working files).

Each RPC checks access, does its ffmpeg/Pillow work here (in the service,
never in the gateway) under ``PREVIEW_FRAME_TIME_LIMIT`` for the whole
request, stores the result under ``frames/`` and returns the key for the
gateway to stream (``media.serve_extract``). A result's key is derived from
what it depends on (preview, frame, annotations, last update), so asking
again is served from storage; the ``frames`` area is swept after
``PREVIEW_FRAME_KEEP_SECONDS``.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import re
import shutil
import time
import uuid

from nameko.rpc import rpc
from nameko.timer import timer
from slatekit.consumer import subscribe
from slatekit.crud import valid_uuid
from slatekit.errors import SLATE_ERRORS, Forbidden, Invalid, NotFound

from . import frames, processing, storage
from .models import ProjectRef

log = logging.getLogger(__name__)
expected = {"expected_exceptions": SLATE_ERRORS}

ATTACHMENT_PICTURES = {"png", "jpg", "jpeg", "gif", "webp", "bmp", "tif", "tiff"}
ANNOTATED_PICTURES = {"png", "jpg", "jpeg", "jpe"}
ADOPT_AREAS = ("attachments", "working-files")


def frame_time_limit() -> float:
    return float(os.environ.get("PREVIEW_FRAME_TIME_LIMIT") or 120)


def max_annotated_frames() -> int:
    return int(os.environ.get("PREVIEW_MAX_ANNOTATED_FRAMES") or 200)


def keep_seconds() -> float:
    return float(os.environ.get("PREVIEW_FRAME_KEEP_SECONDS") or 3600)


def _wrong(name: str) -> Invalid:
    # Zou's ArgsMixin: 400 with ``data: null``
    return Invalid(f"Wrong value for parameter {name}.", {"data": None})


def _validation(message: str) -> Invalid:
    # Zou's pydantic validation of query args
    return Invalid("Validation error.", {"data": {"errors": [{"field": "frame_number", "message": message}]}})


def _slug(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9]+", "_", text).strip("_")[:150] or "preview"


def _offload(fn, *args):
    """Pillow work (drawing, PDF) runs in a native thread so the service's
    eventlet hub keeps answering RPCs and heartbeats meanwhile (a 1080p
    frame takes ~0.4 s to draw on this machine)."""
    try:
        from eventlet import tpool
    except ImportError:  # pragma: no cover
        return fn(*args)
    return tpool.execute(fn, *args)


class _Deadline:
    def __init__(self, seconds: float):
        self.end = time.monotonic() + seconds
        self.seconds = seconds

    def left(self) -> float:
        left = self.end - time.monotonic()
        if left <= 0:
            raise Invalid(f"Extraction took longer than {self.seconds:g} s and was stopped", {"data": None})
        return left


class ExtractsMixin:
    """Needs the service's ``store``, ``_preview``, ``_check_read`` and ``caller``."""

    # ------------------------------------------------------------ helpers
    def _check_manager_access(self, s, project_id) -> None:
        """Zou's check_manager_project_access: an admin, or a manager of the project."""
        role = self.caller.role
        if role == "admin":
            return
        if role != "manager":
            raise Forbidden("You are not allowed to extract frames of this preview")
        team = self._team(s, project_id) if project_id else None
        if team is None or self.caller.user_id not in team:
            raise Forbidden("You are not allowed to extract frames of this preview")

    def _fps(self, s, pf) -> float:
        fps = (pf.data or {}).get("fps")
        if not fps:
            proj = s.get(ProjectRef, pf.project_id) if pf.project_id else None
            fps = proj.fps if proj else None
        return processing.parse_fps(fps)

    def _base_name(self, s, pf) -> str:
        proj = s.get(ProjectRef, pf.project_id) if pf.project_id else None
        name = f"{proj.name if proj and proj.name else 'preview'}_v{pf.revision or 1}"
        if (pf.position or 1) > 1:
            name = f"{name}-{pf.position}"
        return _slug(name)

    @staticmethod
    def _result_key(pf, variant: str, *parts) -> str:
        digest = hashlib.sha1(json.dumps([pf.id, str(pf.updated_at), variant, *parts], sort_keys=True,
                                         default=str).encode()).hexdigest()
        return str(uuid.uuid5(uuid.NAMESPACE_URL, f"slate:{digest}"))

    @staticmethod
    def _info(key, content_type, filename, attachment=False) -> dict:
        return {"key": key, "content_type": content_type, "filename": filename, "attachment": attachment,
                "status": "ready"}

    def _movie_key(self, pf) -> str:
        if not pf.is_movie or pf.extension != "mp4":
            raise NotFound("Preview file is not a movie")
        if pf.status != "ready":
            raise NotFound("preview file binary is not available")
        return storage.key("original", pf.id, "mp4")

    @staticmethod
    def _frame_number(query, default=0) -> int:
        raw = (query or {}).get("frame_number")
        if raw in (None, ""):
            return default
        try:
            return int(raw)
        except (TypeError, ValueError):
            raise _wrong("frame_number") from None

    def _check_in_movie(self, pf, frame_number: int) -> None:
        count = (pf.data or {}).get("frame_count")
        if isinstance(count, int) and count > 0 and frame_number > count:
            raise Invalid(f"Frame {frame_number} is past the end of the movie ({count} frames)", {"data": None})

    def _extract(self, movie_key, work, frame_number, fps, deadline) -> os.PathLike:
        movie = storage.local_file(movie_key, work)
        dest = work / f"frame-{frame_number}-{uuid.uuid4().hex[:6]}.png"
        try:
            return frames.extract_frame(movie, dest, frame_number, fps, deadline.left())
        except processing.ProcessingError as exc:
            raise Invalid(str(exc), {"data": None}) from None

    # ------------------------------------------------------------ RPCs
    @rpc(**expected)
    def extract_frame(self, preview_file_id, query=None):
        """Zou's extract-frame: frame ``frame_number`` (1-based; 0 or less is
        the first) of a movie preview, as PNG at the movie's size."""
        frame_number = max(1, self._frame_number(query, 0))
        with self.store.session() as s:
            pf = self._preview(s, preview_file_id)
            self._check_manager_access(s, pf.project_id)
            movie_key = self._movie_key(pf)
            self._check_in_movie(pf, frame_number)
            fps = self._fps(s, pf)
            key = storage.key("frames", self._result_key(pf, "frame", frame_number), "png")
        if not storage.exists(key):
            deadline = _Deadline(frame_time_limit())
            work = storage.scratch_dir()
            try:
                out = self._extract(movie_key, work, frame_number, fps, deadline)
                storage.put_file(out, key, move=True)
            finally:
                shutil.rmtree(work, ignore_errors=True)
        return self._info(key, "image/png", f"{pf.id}_{frame_number}.png")

    @rpc(**expected)
    def extract_tile(self, preview_file_id, query=None):
        """Zou's extract-tile: the scrubbing tiles of a movie, made again and
        stored as the preview's tiles."""
        with self.store.session() as s:
            pf = self._preview(s, preview_file_id)
            self._check_read(s, pf.project_id)
            if not pf.is_movie:
                raise Invalid("Preview file is not a movie", {"data": None})
            movie_key = storage.key("lowdef", pf.id, "mp4")
            if pf.status != "ready" or not storage.exists(movie_key):
                raise NotFound("preview file binary is not available")
            count = (pf.data or {}).get("frame_count") or 0
        key = storage.key("tiles", pf.id, "png")
        work = storage.scratch_dir()
        try:
            movie = storage.local_file(movie_key, work)
            dest = work / "tiles.png"
            try:
                processing.tiles(movie, dest, int(count) or processing.probe(movie)["frame_count"],
                                 frame_time_limit())
            except processing.ProcessingError as exc:
                raise Invalid(str(exc), {"data": None}) from None
            storage.put_file(dest, key, move=True)
        finally:
            shutil.rmtree(work, ignore_errors=True)
        return self._info(key, "image/png", f"{pf.id}_tile.png")

    def _annotations(self, pf) -> list:
        return [a for a in (pf.annotations or []) if isinstance(a, dict)]

    @staticmethod
    def _annotation_frame(annotation, fps) -> int | None:
        try:
            t = float(annotation.get("time"))
        except (TypeError, ValueError):
            return None
        return max(1, round(t * fps) + 1)

    @rpc(**expected)
    def extract_annotated_frame(self, preview_file_id, query=None):
        """Zou's extract-annotated-frame: the frame (movie) or the picture with
        the annotation drawn on it. ``frame_number`` is required for movies."""
        raw = (query or {}).get("frame_number")
        frame_number = None
        if raw not in (None, ""):
            try:
                frame_number = int(raw)
            except (TypeError, ValueError):
                raise _validation("Input should be a valid integer, unable to parse string as an integer") from None
            if frame_number < 1:
                raise _validation("Input should be greater than or equal to 1")
        with self.store.session() as s:
            pf = self._preview(s, preview_file_id)
            self._check_manager_access(s, pf.project_id)
            annotations = self._annotations(pf)
            ext = (pf.extension or "").lower()
            fps = self._fps(s, pf)
            if ext == "mp4":
                if frame_number is None:
                    raise Invalid("frame_number is required for movie previews", {"data": None})
                target, tolerance = (frame_number - 1) / fps, 1 / (2 * fps)
                annotation = next((a for a in annotations if self._near(a, target, tolerance)), None)
                if annotation is None:
                    raise Invalid(f"No annotation found for frame {frame_number}")
                movie_key = self._movie_key(pf)
                self._check_in_movie(pf, frame_number)
            elif ext in ANNOTATED_PICTURES:
                if not annotations:
                    raise Invalid("No annotation found on picture preview")
                annotation, movie_key, frame_number = annotations[0], None, 1
            else:
                raise Invalid(f"Cannot extract annotated frame from preview with extension {ext!r}",
                              {"data": None})
            key = storage.key("frames", self._result_key(pf, "annotated", frame_number, annotation), "png")
            name = f"{self._base_name(s, pf)}_frame_{frame_number}.png"
        if not storage.exists(key):
            deadline = _Deadline(frame_time_limit())
            work = storage.scratch_dir()
            try:
                out = self._render(pf, movie_key, work, frame_number, fps, annotation, deadline)
                storage.put_file(out, key, move=True)
            finally:
                shutil.rmtree(work, ignore_errors=True)
        return self._info(key, "image/png", name)

    @staticmethod
    def _near(annotation, target, tolerance) -> bool:
        try:
            return abs(float(annotation.get("time")) - target) <= tolerance
        except (TypeError, ValueError):
            return False

    def _render(self, pf, movie_key, work, frame_number, fps, annotation, deadline):
        if movie_key is not None:
            src = self._extract(movie_key, work, frame_number, fps, deadline)
        else:
            picture_key = storage.key("previews", pf.id, "png")
            if pf.status != "ready" or not storage.exists(picture_key):
                raise NotFound("preview file binary is not available")
            src = storage.local_file(picture_key, work)
        dest = work / f"annotated-{frame_number}-{uuid.uuid4().hex[:6]}.png"
        try:
            return _offload(frames.draw_annotation, src, dest, annotation)
        except (OSError, ValueError) as exc:
            raise Invalid(f"Cannot draw the annotation: {exc}", {"data": None}) from None

    @rpc(**expected)
    def extract_annotated_frames(self, preview_file_id, fmt="zip", query=None):
        """Zou's extract-annotated-frames (zip of PNGs) and
        extract-annotated-frames-pdf (one page per annotated frame)."""
        if fmt not in ("zip", "pdf"):
            raise NotFound("Unknown bundle format")
        with self.store.session() as s:
            pf = self._preview(s, preview_file_id)
            self._check_manager_access(s, pf.project_id)
            annotations = self._annotations(pf)
            if not annotations:
                raise Invalid("Preview file has no annotations")
            ext = (pf.extension or "").lower()
            fps = self._fps(s, pf)
            base = self._base_name(s, pf)
            if ext == "mp4":
                movie_key = self._movie_key(pf)
                count = (pf.data or {}).get("frame_count")
                wanted = []
                for a in annotations:
                    n = self._annotation_frame(a, fps)
                    # Zou skips the frames ffmpeg cannot extract (past the end)
                    if n is not None and not (isinstance(count, int) and count > 0 and n > count):
                        wanted.append((n, a))
            elif ext in ANNOTATED_PICTURES:
                movie_key = None
                wanted = list(enumerate(annotations, start=1))
            else:
                raise Invalid(f"Cannot extract annotated frames from preview with extension {ext!r}",
                              {"data": None})
            if not wanted:
                raise Invalid("No annotated frame could be extracted from this preview")
            if len(wanted) > max_annotated_frames():
                raise Invalid(f"Too many annotated frames ({len(wanted)}; at most {max_annotated_frames()})",
                              {"data": None})
            key = storage.key("frames", self._result_key(pf, f"bundle-{fmt}", annotations), fmt)
        if not storage.exists(key):
            deadline = _Deadline(frame_time_limit())
            work = storage.scratch_dir()
            try:
                entries = []
                for n, a in wanted:
                    path = self._render(pf, movie_key, work, n, fps, a, deadline)
                    entries.append((f"{base}_frame_{n}.png", path))
                    deadline.left()
                dest = work / f"bundle.{fmt}"
                if fmt == "zip":
                    _offload(frames.bundle_zip, entries, dest)
                else:
                    _offload(frames.bundle_pdf, [p for _, p in entries], dest)
                storage.put_file(dest, key, move=True)
            finally:
                shutil.rmtree(work, ignore_errors=True)
        content_type = "application/zip" if fmt == "zip" else "application/pdf"
        return self._info(key, content_type, f"{base}_annotated_frames.{fmt}", attachment=True)

    # ------------------------------------------------------------ other owners' files
    @rpc(**expected)
    def adopt_upload(self, key, area, ident):
        """Gateway only (after the owner authorised the upload): move an
        upload (``tmp/<hex>``) to ``<area>/…/<ident>`` and return that key.
        Only the areas of other owners' files are allowed."""
        if area not in ADOPT_AREAS:
            raise Invalid("Unknown storage area")
        if not storage.is_upload_key(key) or not storage.exists(key):
            raise Invalid("Upload not found in storage")
        dest = storage.key(area, valid_uuid(ident))
        storage.move(key, dest)
        return {"key": dest, "size": storage.size(dest)}

    @rpc(**expected)
    def attachment_thumbnail(self, attachment_file_id, key, mimetype=None, name=None):
        """Gateway only, after the tasks service authorised the read and gave
        the attachment's key: a 150x100 PNG thumbnail of an image
        attachment, made once and kept under ``thumbnails/``."""
        attachment_file_id = valid_uuid(attachment_file_id, "attachment file id")
        ext = os.path.splitext(str(name or ""))[1].lower().lstrip(".")
        is_picture = ext in ATTACHMENT_PICTURES or str(mimetype or "").lower().startswith("image/")
        if not key or not is_picture or ext == "svg" or "svg" in str(mimetype or "").lower():
            raise NotFound(f"Picture file was not found for attachment: {attachment_file_id}")
        thumb = storage.key("thumbnails", attachment_file_id, "png")
        if not storage.exists(thumb):
            if not storage.exists(key):
                raise NotFound(f"Picture file was not found for attachment: {attachment_file_id}")
            work = storage.scratch_dir()
            try:
                processing.make_avatar(storage.local_file(key, work), work / "t.png", processing.THUMBNAIL_SIZE)
                storage.put_file(work / "t.png", thumb, move=True)
            except processing.ProcessingError:
                raise NotFound(f"Picture file was not found for attachment: {attachment_file_id}") from None
            finally:
                shutil.rmtree(work, ignore_errors=True)
        return {"key": thumb, "content_type": "image/png", "status": "ready"}

    @subscribe("attachment-file:delete", "comment:delete", "working-file:delete")
    def on_file_row_deleted(self, event):
        """Bytes go with their row: an attachment (alone or with its
        comment) or a working file deleted by its owner. Deleting twice is
        harmless, so a redelivered event needs no inbox."""
        record = event.get("record") or {}
        name = event.get("name")
        if name == "working-file:delete":
            areas, ids = ("working-files",), [record.get("id")]
        elif name == "comment:delete":
            areas = ("attachments", "thumbnails")
            ids = [a.get("id") for a in record.get("attachment_files") or [] if isinstance(a, dict)]
        else:
            areas, ids = ("attachments", "thumbnails"), [record.get("id")]
        for ident in ids:
            try:
                ident = str(uuid.UUID(str(ident)))
            except ValueError:
                continue
            for area in areas:
                storage.delete(storage.key(area, ident, "png" if area == "thumbnails" else None))

    @timer(interval=600)
    def sweep_frames(self):
        """Extracted frames and bundles are a cache: drop the old ones."""
        try:
            sweep_frames(keep_seconds())
        except Exception:  # noqa: BLE001 - a sweep failure must not stop the service
            log.exception("could not sweep extracted frames")


def sweep_frames(older_than_seconds: float) -> int:
    """Delete extracted frames and bundles older than the limit (by each
    file's age, on either backend)."""
    return storage.store().sweep("frames", older_than_seconds)
