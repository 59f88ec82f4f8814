"""Entrypoints of the previews service: preview files (add to a comment,
upload, processing, serving metadata, annotations), preview backgrounds,
thumbnails of persons/organisations/projects, playlists and build jobs.

Binaries never come through here: the gateway streams an upload into
storage and passes its key (``tmp/<hex>``); for downloads it asks
``media_info`` which storage key to stream, after the access check.
Movie processing runs in the ``work`` timer on the ``job`` table (lease,
heartbeat, retry, give up), inside this process.
"""

from __future__ import annotations

import datetime as dt
import logging
import os
import secrets
import shutil
import time
import uuid
from pathlib import Path

from nameko.rpc import rpc
from nameko.timer import timer
from slatekit.consumer import subscribe
from slatekit.crud import apply_body, apply_filters, list_rows, now, row_dict, valid_uuid
from slatekit.errors import SLATE_ERRORS, Forbidden, Invalid, NotFound
from slatekit.health import HealthMixin
from slatekit.service_rpc import ServiceRpc
from slatekit.store import Store
from sqlalchemy import func, select

from . import annotations as annot
from . import jobs, processing, storage
from .extracts import ExtractsMixin
from .models import (
    BuildJob,
    Job,
    Playlist,
    PreviewBackgroundFile,
    PreviewFile,
    ProjectRef,
    SharedLink,
    TaskRef,
    Thumbnail,
    metadata,
)
from .shared import SharedMixin

log = logging.getLogger(__name__)
expected = {"expected_exceptions": SLATE_ERRORS}

HIDDEN = ("comment_id", "project_id", "entity_id", "task_type_id", "source_key", "error")
MANAGERS = {"admin", "manager"}
SUPERVISORS = {"admin", "manager", "supervisor"}
CRUD = {
    "preview-files": (PreviewFile, "preview-file", "PreviewFile"),
    "playlists": (Playlist, "playlist", "Playlist"),
    "preview-background-files": (PreviewBackgroundFile, "preview-background-file", "PreviewBackgroundFile"),
}
WRITABLE = {
    "preview-files": ("name", "description", "validation_status", "position", "revision", "data"),
    "playlists": ("name", "shots", "project_id", "episode_id", "task_type_id", "for_client", "for_entity",
                  "is_for_all"),
    "preview-background-files": ("name", "archived", "is_default"),
}
THUMBNAIL_KINDS = {"persons": "person", "organisations": "organisation", "projects": "project",
                   "preview-background-files": "preview-background-file"}
CONTENT_TYPES = {"png": "image/png", "jpg": "image/jpeg", "jpeg": "image/jpeg", "gif": "image/gif",
                 "webp": "image/webp", "bmp": "image/bmp", "tif": "image/tiff", "tiff": "image/tiff",
                 "mp4": "video/mp4", "mov": "video/quicktime", "webm": "video/webm", "pdf": "application/pdf",
                 "zip": "application/zip", "hdr": "image/vnd.radiance", "exr": "image/x-exr"}
VALIDATION_STATUSES = {"neutral", "validated", "rejected"}
_LAST_SWEEP = float("-inf")
BACKGROUND_EXTENSIONS = {"hdr", "exr", "png", "jpg", "jpeg"}


def _ts(value):
    if not value:
        return None
    try:
        return dt.datetime.fromisoformat(str(value)).replace(tzinfo=None)
    except ValueError:
        return None


def _ext_of(name) -> str:
    ext = Path(str(name or "")).suffix.lower().lstrip(".")
    return ext if ext.isalnum() and 0 < len(ext) <= 6 else "bin"


def _clean_name(name) -> str:
    base = Path(str(name or "file").replace("\\", "/")).name
    return "".join(c for c in base if c.isprintable() and c not in '"<>')[:250] or "file"


class PreviewsService(HealthMixin, ExtractsMixin, SharedMixin):
    name = "previews"
    store = Store(metadata)
    rpc_out = ServiceRpc()

    @property
    def caller(self):
        return self.store.caller


    # ------------------------------------------------------------ dumps
    def _pf_dump(self, pf: PreviewFile, public: bool = True, comments: bool = False) -> dict:
        doc = row_dict(pf, hidden=HIDDEN if public else ("source_key",), type_name="PreviewFile")
        # Zou's columns Slate has no use for, null as on Zou; duration a float.
        doc.setdefault("token_in", None)
        doc.setdefault("token_out", None)
        doc["duration"] = float(doc.get("duration") or 0)
        if public:
            doc["is_movie"] = False  # a deprecated column Zou never sets (Slate keeps it for itself)
        if comments:  # Zou serialises the comments relation on add-preview and GET
            doc["comments"] = [pf.comment_id] if pf.comment_id else []
        if pf.status == "broken" and pf.error:
            doc["data"] = {**(pf.data or {}), "error": pf.error}
        return doc

    def _record(self, pf: PreviewFile) -> dict:
        return self._pf_dump(pf, public=False)

    def _emit_pf(self, s, name: str, pf: PreviewFile, **extra) -> None:
        data = {"preview_file_id": pf.id, "comment_id": pf.comment_id, **extra}
        self.store.emit(s, name, data, project_id=pf.project_id, record=self._record(pf))

    # ------------------------------------------------------------ access
    def _team(self, s, project_id) -> list | None:
        proj = s.get(ProjectRef, project_id) if project_id else None
        if proj is not None and proj.team is not None:
            return proj.team
        try:
            team = self.rpc_out.call("assets", "get_project_team", project_id=project_id, timeout=5)
        except Exception:  # noqa: BLE001 - owner unreachable: no proof of membership
            return None
        if isinstance(team, list):
            # assets answers [{person_id, role}]
            return [(t.get("person_id") or t.get("id")) if isinstance(t, dict) else t for t in team]
        return None

    def _check_read(self, s, project_id) -> None:
        if self.caller.role in MANAGERS or not project_id:
            return
        team = self._team(s, project_id)
        if team is None or self.caller.user_id not in team:
            raise Forbidden("You don't have access to this project")

    def _task(self, s, task_id) -> TaskRef:
        task_id = valid_uuid(task_id, "task id")
        ref = s.get(TaskRef, task_id)
        if ref is not None:
            return ref
        try:
            task = self.rpc_out.call("tasks", "get_task", task_id=task_id, timeout=5)
        except Exception as exc:  # noqa: BLE001
            if type(exc).__name__ == "NotFound" or "NotFound" in str(getattr(exc, "exc_type", "")):
                raise NotFound(f"Task {task_id} not found") from None
            raise NotFound(f"Task {task_id} not found") from None
        ref = TaskRef(id=task_id, project_id=task.get("project_id"), entity_id=task.get("entity_id"),
                      task_type_id=task.get("task_type_id"), assignees=task.get("assignees") or [],
                      updated_at=_ts(task.get("updated_at")))
        s.merge(ref)
        s.flush()
        return ref

    def _check_task_write(self, s, task: TaskRef) -> None:
        role = self.caller.role
        if role in MANAGERS:
            return
        if role == "client":
            raise Forbidden("Clients cannot publish previews")
        if role == "vendor" and self.caller.user_id not in (task.assignees or []):
            raise Forbidden("You are not assigned to this task")
        self._check_read(s, task.project_id)

    def _preview(self, s, preview_file_id) -> PreviewFile:
        pf = s.get(PreviewFile, valid_uuid(preview_file_id, "preview file id"))
        if pf is None:
            raise NotFound(f"Preview file {preview_file_id} not found")
        return pf

    # ------------------------------------------------------------ add-preview
    @rpc(**expected)
    def add_preview(self, task_id, comment_id, query=None, body=None):
        """A new preview file revision on a comment (Zou's add-preview)."""
        body = body if isinstance(body, dict) else {}
        comment_id = valid_uuid(comment_id, "comment id")
        revision = body.get("revision")
        if revision is not None:
            try:
                revision = int(revision)
            except (TypeError, ValueError):
                raise Invalid("revision must be an integer") from None
            if revision < 0:
                raise Invalid("revision must be positive")
        with self.store.begin() as s:
            task = self._task(s, task_id)
            self._check_task_write(s, task)
            self._check_comment(task.id, comment_id)
            # Serialise revision picking per task (two uploads at once).
            s.execute(select(func.pg_advisory_xact_lock(func.hashtext(task.id))))
            on_comment = list(s.scalars(select(PreviewFile).where(PreviewFile.comment_id == comment_id)
                                        .order_by(PreviewFile.position)))
            position = 1
            if revision is None and not on_comment:
                revision = (s.scalar(select(func.max(PreviewFile.revision))
                                     .where(PreviewFile.task_id == task.id)) or 0) + 1
            else:
                if revision is None:
                    revision = on_comment[0].revision
                elif not on_comment and s.scalar(select(func.count()).where(
                        PreviewFile.task_id == task.id, PreviewFile.revision == revision)):
                    raise Invalid(f"Revision {revision} already exists for this task")
                position = (s.scalar(select(func.max(PreviewFile.position)).where(
                    PreviewFile.task_id == task.id, PreviewFile.revision == revision)) or 0) + 1
            pf = PreviewFile(
                name=str(uuid.uuid4())[:13], revision=revision, position=position, task_id=task.id,
                person_id=self.caller.user_id, comment_id=comment_id, project_id=task.project_id,
                entity_id=task.entity_id, task_type_id=task.task_type_id, status="processing",
                annotations=None, source="webgui", extension="mp4", file_size=0, duration=0.0,
            )  # Zou: extension mp4 and annotations null until an upload / a drawing
            s.add(pf)
            s.flush()
            self._emit_pf(s, "preview-file:new", pf, task_id=task.id, revision=revision)
            return self._pf_dump(pf, comments=True)

    def _check_comment(self, task_id, comment_id):
        try:
            comment = self.rpc_out.call("tasks", "get_comment", comment_id=comment_id, timeout=5)
        except Exception as exc:  # noqa: BLE001
            if getattr(exc, "exc_type", None) == "NotFound" or type(exc).__name__ == "NotFound":
                raise NotFound(f"Comment {comment_id} not found") from None
            # tasks unreachable: the task is known (projection); the comment
            # link is confirmed when tasks consumes preview-file:new.
            log.warning("could not check comment %s: %s", comment_id, exc)
            return
        if isinstance(comment, dict) and comment.get("object_id") not in (None, task_id):
            raise Invalid("This comment does not belong to this task")

    @rpc(**expected)
    def remove_preview_from_comment(self, task_id, comment_id, preview_file_id, query=None, body=None):
        with self.store.begin() as s:
            pf = self._preview(s, preview_file_id)
            if pf.task_id != valid_uuid(task_id, "task id") or pf.comment_id != valid_uuid(comment_id, "comment id"):
                raise NotFound("Preview file not found on this comment")
            task = self._task(s, pf.task_id)
            self._check_task_write(s, task)
            doc = self._record(pf)
            s.delete(pf)
            self.store.emit(s, "preview-file:delete", {"preview_file_id": doc["id"], "comment_id": pf.comment_id},
                            project_id=pf.project_id, record=doc)
            return None

    @rpc(**expected)
    def attach_preview_to_comment(self, task_id, comment_id, preview_file_id, query=None, body=None):
        """Zou's POST …/comments/<comment_id>/preview-files/<id>: a further
        preview file on the comment's revision."""
        with self.store.begin() as s:
            pf = self._preview(s, preview_file_id)
            task = self._task(s, task_id)
            self._check_task_write(s, task)
            pf.comment_id = valid_uuid(comment_id, "comment id")
            pf.updated_at = now()
            s.flush()
            self._emit_pf(s, "preview-file:update", pf)
            return self._pf_dump(pf)

    # ------------------------------------------------------------ upload
    @rpc(**expected)
    def authorize_upload(self, preview_file_id, kind="preview-files"):
        """Checked before the gateway streams a body into storage."""
        with self.store.session() as s:
            if kind == "preview-files":
                pf = self._preview(s, preview_file_id)
                task = self._task(s, pf.task_id)
                self._check_task_write(s, task)
                return {"id": pf.id}
            if kind == "preview-background-files":
                if self.caller.role not in MANAGERS:
                    raise Forbidden("Only managers can upload backgrounds")
                bg = s.get(PreviewBackgroundFile, valid_uuid(preview_file_id))
                if bg is None:
                    raise NotFound("Preview background file not found")
                return {"id": bg.id}
            self._check_thumbnail_write(s, kind, valid_uuid(preview_file_id))
            return {"id": preview_file_id}

    def _check_thumbnail_write(self, s, kind, instance_id):
        if kind not in THUMBNAIL_KINDS:
            raise NotFound("Unknown thumbnail kind")
        if kind == "persons":
            if self.caller.role != "admin" and self.caller.user_id != instance_id:
                raise Forbidden("You can only change your own avatar")
        elif self.caller.role not in MANAGERS:
            raise Forbidden("Only managers can change this thumbnail")

    def _take_upload(self, key: str) -> str:
        """The upload key, once checked (shape and presence in storage)."""
        if not storage.is_upload_key(key):
            raise Invalid("Bad upload key")
        if not storage.exists(key):
            raise Invalid("Upload not found in storage")
        return key

    @rpc(**expected)
    def upload_preview(self, preview_file_id, key, original_name=None, size=0, normalize=True, query=None):
        """Store an uploaded file as the preview's source and process it:
        pictures right away, movies through the job queue."""
        self._take_upload(key)
        ext = _ext_of(original_name)
        kind = processing.kind_of(ext)
        with self.store.begin() as s:
            pf = s.get(PreviewFile, valid_uuid(preview_file_id, "preview file id"), with_for_update=True)
            if pf is None:
                storage.delete(key)
                raise NotFound(f"Preview file {preview_file_id} not found")
            task = self._task(s, pf.task_id)
            self._check_task_write(s, task)
            source_key = storage.key("source", pf.id, ext)
            storage.move(key, source_key)
            pf.source_key = source_key
            # Zou keeps the name without its extension ("frame.png" -> "frame")
            cleaned = _clean_name(original_name)
            pf.original_name = (cleaned.rsplit(".", 1)[0] if "." in cleaned else cleaned)[:250]
            pf.file_size = int(size or storage.size(source_key))
            pf.extension = ext if kind != "movie" else "mp4"
            pf.is_movie = kind == "movie"
            pf.error = None
            if kind == "picture":
                try:
                    info = self._pictures(pf.id, source_key)
                    pf.width, pf.height = info["width"], info["height"]
                    pf.extension = "png" if ext not in ("png", "jpg", "jpeg", "gif") else ext
                    pf.status = "ready"
                except processing.ProcessingError as exc:
                    pf.status, pf.error = "broken", str(exc)
                    storage.delete(source_key)
            elif kind == "movie":
                pf.status = "processing"
                s.add(Job(kind="movie", target_id=pf.id, status="queued", attempts=0,
                          max_attempts=jobs.max_attempts(), payload={"normalize": bool(normalize)}))
            else:
                pf.extension = ext
                pf.status = "ready"
            pf.updated_at = now()
            s.flush()
            self._emit_pf(s, "preview-file:add-file", pf, task_id=pf.task_id, revision=pf.revision,
                          extension=pf.extension)
            if pf.status != "processing":
                self._emit_pf(s, "preview-file:update", pf, status=pf.status)
            doc = self._pf_dump(pf)
        if doc["status"] == "broken":
            raise Invalid(f"Preview file is broken: {(doc.get('data') or {}).get('error')}",
                          {"preview_file_id": doc["id"]})
        return doc

    def _pictures(self, ident: str, source_key: str) -> dict:
        work = storage.scratch_dir()
        try:
            src = storage.local_file(source_key, work)
            out = {area: work / f"{area}.png" for area in ("original", "previews", "thumbnails",
                                                            "thumbnails-square")}
            info = processing.make_pictures(src, out)
            for area, path in out.items():
                storage.put_file(path, storage.key(area, ident, "png"), move=True)
            return info
        finally:
            shutil.rmtree(work, ignore_errors=True)

    # ------------------------------------------------------------ job worker
    @timer(interval=float(os.environ.get("PREVIEW_POLL_SECONDS") or 0.5))
    def work(self):
        """Run queued (or orphaned) jobs until the queue is empty."""
        global _LAST_SWEEP
        if time.monotonic() - _LAST_SWEEP > 600:
            _LAST_SWEEP = time.monotonic()
            storage.sweep(max(jobs.time_limit() * 2, 3600))
        for _ in range(20):
            with self.store.begin() as s:
                job = jobs.lease(s)
                if job is None:
                    return
                job_id, kind, target, attempts, limit = job.id, job.kind, job.target_id, job.attempts, job.max_attempts
                payload = dict(job.payload or {})
            if attempts > limit:
                self._give_up(job_id, kind, target, f"Processing stopped {limit} times (worker lost)")
                continue
            try:
                if kind == "movie":
                    result = self._movie(job_id, target)
                else:
                    result = self._build(job_id, target, payload)
            except processing.ProcessingError as exc:
                self._give_up(job_id, kind, target, str(exc))
                continue
            except Exception as exc:  # noqa: BLE001 - unexpected: retry while attempts remain
                log.exception("job %s failed (attempt %s)", job_id, attempts)
                if attempts >= limit:
                    self._give_up(job_id, kind, target, f"Processing failed: {type(exc).__name__}")
                else:
                    with self.store.begin() as s:
                        j = s.get(Job, job_id)
                        j.status, j.error, j.lease_until = "queued", str(exc)[:500], None
                continue
            self._finish(job_id, kind, target, result)

    def _heartbeat(self, job_id):
        def tick():
            with self.store.begin() as s:
                jobs.heartbeat(s, job_id)
        return tick

    def _movie(self, job_id, preview_file_id) -> dict:
        with self.store.session() as s:
            pf = s.get(PreviewFile, preview_file_id)
            if pf is None or not pf.source_key:
                raise processing.ProcessingError("Preview file or its upload is gone")
            proj = s.get(ProjectRef, pf.project_id) if pf.project_id else None
            fps = processing.parse_fps(proj.fps if proj else None)
            width, height = processing.parse_resolution(proj.resolution if proj else None)
            source_key = pf.source_key
        if not storage.exists(source_key):
            raise processing.ProcessingError("Uploaded movie is missing from storage")
        limit = jobs.time_limit()
        tick = self._heartbeat(job_id)
        work = storage.scratch_dir()
        try:
            src = storage.local_file(source_key, work, tick)
            info = processing.probe(src)
            norm = work / "original.mp4"
            processing.normalize(src, norm, width, height, fps, info["has_audio"], limit, tick)
            tick()
            low = work / "lowdef.mp4"
            processing.lowdef(norm, low, info["has_audio"], limit, tick)
            tick()
            out_info = processing.probe(norm)
            frame = work / "frame.png"
            processing.first_frame(norm, frame, limit)
            pics = {area: work / f"{area}.png" for area in ("original-frame", "previews", "thumbnails",
                                                             "thumbnails-square")}
            processing.make_pictures(frame, {"original": pics["original-frame"], **{k: v for k, v in pics.items() if k != "original-frame"}})
            tiles = work / "tiles.png"
            processing.tiles(norm, tiles, out_info["frame_count"], limit)
            sizes = {"normalized": norm.stat().st_size, "source": src.stat().st_size}
            storage.put_file(norm, storage.key("original", preview_file_id, "mp4"), move=True, tick=tick)
            storage.put_file(low, storage.key("lowdef", preview_file_id, "mp4"), move=True, tick=tick)
            storage.put_file(tiles, storage.key("tiles", preview_file_id, "png"), move=True)
            storage.put_file(pics["original-frame"], storage.key("original", preview_file_id, "png"), move=True)
            for area in ("previews", "thumbnails", "thumbnails-square"):
                storage.put_file(pics[area], storage.key(area, preview_file_id, "png"), move=True)
        finally:
            shutil.rmtree(work, ignore_errors=True)
        # Zou: file_size is the normalised movie's; the upload's in data.original_*
        return {"width": out_info["width"], "height": out_info["height"], "duration": out_info["duration"],
                "file_size": sizes["normalized"],
                "data": {"frame_count": out_info["frame_count"], "fps": fps, "has_audio": info["has_audio"],
                         "source_width": info["width"], "source_height": info["height"],
                         "movie_prefixes": ["previews", "lowdef"], "original_width": info["width"],
                         "original_height": info["height"], "original_duration": info.get("duration"),
                         "original_file_size": sizes["source"]}}

    def _finish(self, job_id, kind, target, result):
        with self.store.begin() as s:
            job = s.get(Job, job_id)
            job.status, job.lease_until, job.error = "done", None, None
            if kind == "movie":
                pf = s.get(PreviewFile, target)
                if pf is None:
                    return
                pf.status = "ready"
                pf.width, pf.height, pf.duration = result["width"], result["height"], result["duration"]
                pf.file_size = result.get("file_size") or pf.file_size
                pf.data = {**(pf.data or {}), **result["data"]}
                pf.updated_at = now()
                s.flush()
                self._emit_pf(s, "preview-file:update", pf, status="ready")
            else:
                self._build_done(s, target, "succeeded", None)

    def _give_up(self, job_id, kind, target, reason):
        log.warning("job %s (%s %s) failed: %s", job_id, kind, target, reason)
        with self.store.begin() as s:
            job = s.get(Job, job_id)
            job.status, job.lease_until, job.error = "failed", None, reason[:1000]
            if kind == "movie":
                pf = s.get(PreviewFile, target)
                if pf is None:
                    return
                pf.status, pf.error, pf.updated_at = "broken", reason[:1000], now()
                s.flush()
                self._emit_pf(s, "preview-file:update", pf, status="broken")
            else:
                self._build_done(s, target, "failed", reason)

    # ------------------------------------------------------------ serving
    @rpc(**expected)
    def media_info(self, preview_file_id, variant):
        """Which stored file a download route streams, after the access check."""
        with self.store.session() as s:
            pf = self._preview(s, preview_file_id)
            self._check_read(s, pf.project_id)
            kind = processing.kind_of(_ext_of(pf.source_key or ""))
            if variant in ("previews", "thumbnails", "thumbnails-square", "tiles"):
                key = storage.key(variant, pf.id, "png")
                ext = "png"
            elif variant == "lowdef":
                key, ext = storage.key("lowdef", pf.id, "mp4"), "mp4"
            elif variant == "movie":
                key, ext = storage.key("original", pf.id, "mp4"), "mp4"
            elif variant == "original":
                if kind == "picture":
                    key, ext = storage.key("original", pf.id, "png"), "png"
                    if pf.source_key and pf.extension != "png":
                        key, ext = pf.source_key, _ext_of(pf.source_key)
                elif kind == "movie":
                    key, ext = storage.key("original", pf.id, "mp4"), "mp4"
                else:
                    key, ext = pf.source_key, _ext_of(pf.source_key)
            elif variant == "source":
                key, ext = pf.source_key, _ext_of(pf.source_key)
            else:
                raise NotFound("Unknown media variant")
            if not key:
                raise NotFound("Preview file has no file yet")
            attachment = kind == "file" or variant == "source"
            name = f"{pf.name or pf.id}.{ext}" if variant != "source" else f"{pf.original_name or pf.id}.{ext}"
            return {"key": key, "content_type": CONTENT_TYPES.get(ext, "application/octet-stream"),
                    "status": pf.status, "filename": name, "attachment": attachment,
                    "updated_at": row_dict(pf)["updated_at"]}

    @rpc(**expected)
    def set_thumbnail(self, kind, instance_id, key):
        """Avatar, organisation logo or project thumbnail from an upload."""
        self._take_upload(key)
        instance_id = valid_uuid(instance_id)
        with self.store.begin() as s:
            self._check_thumbnail_write(s, kind, instance_id)
            dest = storage.key("avatars", instance_id, "png")
            work = storage.scratch_dir()
            try:
                src = storage.local_file(key, work)
                processing.make_avatar(src, work / "a.png", (150, 150) if kind == "persons" else (300, 200))
                storage.put_file(work / "a.png", dest, move=True)
            except processing.ProcessingError as exc:
                raise Invalid(str(exc)) from None
            finally:
                shutil.rmtree(work, ignore_errors=True)
                storage.delete(key)
            row = s.get(Thumbnail, (kind, instance_id))
            if row is None:
                s.add(Thumbnail(kind=kind, instance_id=instance_id, updated_at=now()))
            else:
                row.updated_at = now()
            event = f"{THUMBNAIL_KINDS[kind]}:set-thumbnail"
            self.store.emit(s, event, {f"{THUMBNAIL_KINDS[kind].replace('-', '_')}_id": instance_id},
                            project_id=instance_id if kind == "projects" else None,
                            record={"id": instance_id, "has_avatar": True, "thumbnail": True})
            return {"id": instance_id, "type": THUMBNAIL_KINDS[kind].capitalize(), "has_avatar": True}

    @rpc(**expected)
    def thumbnail_info(self, kind, instance_id):
        instance_id = valid_uuid(instance_id)
        with self.store.session() as s:
            if kind not in THUMBNAIL_KINDS or s.get(Thumbnail, (kind, instance_id)) is None:
                raise NotFound("Thumbnail not found")
            return {"key": storage.key("avatars", instance_id, "png"), "content_type": "image/png"}

    @rpc(**expected)
    def set_background_file(self, instance_id, key, original_name=None):
        """The file of a preview background (HDR, EXR or picture) and its
        thumbnail (ffmpeg reads HDR/EXR, Pillow the rest)."""
        self._take_upload(key)
        ext = _ext_of(original_name)
        if ext not in BACKGROUND_EXTENSIONS:
            storage.delete(key)
            raise Invalid(f"Wrong file format: .{ext} (expected one of {', '.join(sorted(BACKGROUND_EXTENSIONS))})")
        if self.caller.role not in MANAGERS:
            storage.delete(key)
            raise Forbidden("Only managers can upload backgrounds")
        with self.store.begin() as s:
            bg = s.get(PreviewBackgroundFile, valid_uuid(instance_id), with_for_update=True)
            if bg is None:
                storage.delete(key)
                raise NotFound("Preview background file not found")
            dest = storage.key("backgrounds", bg.id, ext)
            storage.move(key, dest)
            work = storage.scratch_dir()
            try:
                thumb = work / "t.png"
                src = storage.local_file(dest, work)
                if processing.kind_of(ext) == "picture":
                    processing.make_avatar(src, thumb, (150, 100))
                    storage.put_file(thumb, storage.key("thumbnails", bg.id, "png"), move=True)
                else:
                    try:
                        processing.run(["ffmpeg", "-y", "-v", "error", "-i", str(src), "-vf",
                                        "scale=150:-2", "-frames:v", "1", str(thumb)], 60)
                        storage.put_file(thumb, storage.key("thumbnails", bg.id, "png"), move=True)
                    except (processing.ProcessingError, FileNotFoundError):
                        # This ffmpeg build may not decode HDR: keep the file, no thumbnail.
                        log.warning("no thumbnail for background %s (.%s)", bg.id, ext)
            except processing.ProcessingError as exc:
                storage.delete(dest)
                raise Invalid(f"Background cannot be read: {exc}") from None
            finally:
                shutil.rmtree(work, ignore_errors=True)
            bg.original_name = _clean_name(original_name)[:250]
            bg.extension = ext
            bg.file_size = storage.size(dest)
            bg.updated_at = now()
            s.flush()
            doc = self._dump(bg, "preview-background-files")
            self.store.emit(s, "preview-background-file:update", {"preview_background_file_id": bg.id},
                            record=doc)
            return doc

    @rpc(**expected)
    def background_info(self, instance_id, variant="file"):
        with self.store.session() as s:
            bg = s.get(PreviewBackgroundFile, valid_uuid(instance_id))
            if bg is None or not bg.extension:
                raise NotFound("Preview background file not found")
            if variant == "thumbnail":
                return {"key": storage.key("thumbnails", bg.id, "png"), "content_type": "image/png"}
            return {"key": storage.key("backgrounds", bg.id, bg.extension),
                    "content_type": CONTENT_TYPES.get(bg.extension, "application/octet-stream"),
                    "filename": f"{bg.name}.{bg.extension}"}

    # ------------------------------------------------------------ annotations & position
    @rpc(**expected)
    def update_annotations(self, preview_file_id, query=None, body=None):
        body = body if isinstance(body, dict) else {}
        with self.store.begin() as s:
            pf = s.get(PreviewFile, valid_uuid(preview_file_id, "preview file id"), with_for_update=True)
            if pf is None:
                raise NotFound(f"Preview file {preview_file_id} not found")
            task = self._task(s, pf.task_id)
            if self.caller.role == "vendor":
                self._check_task_write(s, task)
            else:
                self._check_read(s, pf.project_id)
            pf.annotations = annot.merge(pf.annotations or [], body.get("additions") or [],
                                         body.get("updates") or [], body.get("deletions") or [])
            pf.updated_at = now()
            s.flush()
            self._emit_pf(s, "preview-file:annotation-update", pf, updated_at=row_dict(pf)["updated_at"])
            return self._pf_dump(pf)

    @rpc(**expected)
    def update_position(self, preview_file_id, query=None, body=None):
        body = body if isinstance(body, dict) else {}
        try:
            position = int(body.get("position"))
        except (TypeError, ValueError):
            raise Invalid("position must be an integer") from None
        with self.store.begin() as s:
            pf = self._preview(s, preview_file_id)
            self._check_task_write(s, self._task(s, pf.task_id))
            siblings = list(s.scalars(select(PreviewFile).where(
                PreviewFile.task_id == pf.task_id, PreviewFile.revision == pf.revision, PreviewFile.id != pf.id)
                .order_by(PreviewFile.position)))
            position = max(1, min(position, len(siblings) + 1))
            siblings.insert(position - 1, pf)
            for i, sib in enumerate(siblings, start=1):
                if sib.position != i:
                    sib.position = i
                    sib.updated_at = now()
            s.flush()
            self._emit_pf(s, "preview-file:update", pf)
            # Zou answers the whole revision, in its new order.
            return [self._pf_dump(p) for p in siblings]

    # ------------------------------------------------------------ lists
    @rpc(**expected)
    def task_previews(self, task_id, query=None, body=None):
        with self.store.session() as s:
            task = self._task(s, task_id)
            self._check_read(s, task.project_id)
            rows = s.scalars(select(PreviewFile).where(PreviewFile.task_id == task.id)
                             .order_by(PreviewFile.revision.desc(), PreviewFile.position))
            return [self._pf_dump(p) for p in rows]

    @rpc(**expected)
    def entity_preview_files(self, entity_id=None, shot_id=None, edit_id=None, concept_id=None, query=None, body=None):
        """Zou: ``/data/entities/<id>/preview-files`` is a flat list of
        ``present()`` dicts; the shot, edit, concept and playlist variants
        group by task type id, each revision's other positions under
        ``previews``. An id that is no entity: 404."""
        by_type = entity_id is None or (query or {}).get("by_task_type")
        try:
            entity_id = valid_uuid(entity_id or shot_id or edit_id or concept_id, "entity id")
        except Invalid:
            raise NotFound("Entity not found") from None
        with self.store.session() as s:
            rows = list(s.scalars(select(PreviewFile).where(PreviewFile.entity_id == entity_id)
                                  .order_by(PreviewFile.revision.desc(), PreviewFile.position,
                                            PreviewFile.created_at)))
            if rows:
                self._check_read(s, rows[0].project_id)
            elif s.scalar(select(TaskRef.project_id).where(TaskRef.entity_id == entity_id).limit(1)) is None:
                self._check_entity_exists(entity_id)
            if (concept_id or edit_id) and self.caller.role == "client":
                raise Forbidden("Clients cannot list these previews")
            if not by_type:
                return [self._pf_present(p) for p in rows]
            return self._by_task_type(rows)

    def _check_entity_exists(self, entity_id) -> None:
        try:
            self.rpc_out.call("assets", "get_entities_linked_with_tasks", entity_id=entity_id, timeout=5)
        except Exception as exc:  # noqa: BLE001 - only a proven "not found" is one
            if type(exc).__name__ == "NotFound" or "NotFound" in str(getattr(exc, "exc_type", "")):
                raise NotFound("Entity not found") from None

    @staticmethod
    def _pf_present(pf: PreviewFile) -> dict:
        """Zou's ``PreviewFile.present()``."""
        doc = row_dict(pf, type_name="PreviewFile")
        return {k: doc.get(k) for k in ("id", "name", "original_name", "extension", "revision", "position",
                                         "file_size", "status", "validation_status", "task_id", "person_id",
                                         "created_at", "token_in", "token_out")}

    @staticmethod
    def _by_task_type(rows) -> dict:
        """Zou's get_entity_previews_by_task_type: per task type, one entry
        per revision (newest first), its other positions under ``previews``."""
        grouped: dict = {}
        for p in rows:
            data = p.data or {}
            doc = row_dict(p)
            light = {"id": p.id, "revision": p.revision, "original_name": p.original_name,
                     "extension": p.extension, "width": p.width, "height": p.height,
                     "duration": float(p.duration or 0), "status": p.status, "annotations": p.annotations,
                     "created_at": doc.get("created_at"), "task_id": p.task_id,
                     "original_width": data.get("original_width"), "original_height": data.get("original_height"),
                     "original_duration": data.get("original_duration"),
                     "original_file_size": data.get("original_file_size")}
            revisions = grouped.setdefault(p.task_type_id, {})
            if p.revision in revisions:
                revisions[p.revision]["previews"].append({**light, "position": p.position,
                                                          "task_type_id": p.task_type_id})
            else:
                revisions[p.revision] = {**light, "previews": []}
        return {tt: list(revs.values()) for tt, revs in grouped.items()}

    @rpc(**expected)
    def project_preview_files(self, project_id, query=None, body=None):
        project_id = valid_uuid(project_id, "project id")
        with self.store.session() as s:
            self._check_read(s, project_id)
            stmt = apply_filters(select(PreviewFile).where(PreviewFile.project_id == project_id), PreviewFile, query)
            return list_rows(s, PreviewFile, stmt.order_by(PreviewFile.created_at), query, self._pf_dump)

    @rpc(**expected)
    def running_preview_files(self, query=None, body=None):
        with self.store.session() as s:
            stmt = select(PreviewFile).where(PreviewFile.status == "processing").order_by(PreviewFile.created_at)
            if self.caller.role not in MANAGERS:
                raise Forbidden("Managers only")
            return [self._pf_dump(p) for p in s.scalars(stmt)]

    # ------------------------------------------------------------ generic CRUD
    def _model(self, model):
        if model not in CRUD:
            raise NotFound(f"Model {model} not found")
        return CRUD[model]

    def _dump(self, obj, model):
        if model == "preview-files":
            return self._pf_dump(obj)
        return row_dict(obj, type_name=CRUD[model][2])

    @rpc(**expected)
    def crud_list(self, model, query=None, body=None):
        cls = self._model(model)[0]
        with self.store.session() as s:
            stmt = apply_filters(select(cls), cls, query, forbidden=("source_key",))
            if model != "preview-background-files" and self.caller.role not in MANAGERS:
                team_ids = self._visible_projects(s)
                stmt = stmt.where(cls.project_id.in_(team_ids))
            stmt = stmt.order_by(cls.created_at, cls.id)
            return list_rows(s, cls, stmt, query, lambda o: self._dump(o, model))

    def _visible_projects(self, s) -> list:
        rows = s.scalars(select(ProjectRef).where(ProjectRef.team.contains([self.caller.user_id])))
        return [r.id for r in rows]

    @rpc(**expected)
    def crud_get(self, model, instance_id, query=None, body=None):
        cls = self._model(model)[0]
        with self.store.session() as s:
            obj = s.get(cls, valid_uuid(instance_id))
            if obj is None:
                raise NotFound(f"{CRUD[model][2]} {instance_id} not found")
            if model != "preview-background-files":
                self._check_read(s, obj.project_id)
            if model == "preview-files":
                return self._pf_dump(obj, comments=True)
            if model == "playlists":  # Zou's CRUD read serialises the build_jobs relation
                return self._pl_raw(s, obj, build_jobs=True)
            return self._dump(obj, model)

    @rpc(**expected)
    def crud_create(self, model, query=None, body=None):
        cls, prefix, type_name = self._model(model)
        if not isinstance(body, dict):
            raise Invalid("A JSON object is expected")
        if model == "preview-files":
            raise Invalid("Preview files are created with add-preview on a comment")
        if not body.get("name") or not isinstance(body.get("name"), str):
            raise Invalid("Field name is required", {"field": "name"})
        with self.store.begin() as s:
            obj = cls()
            apply_body(obj, body, WRITABLE[model])
            if model == "playlists":
                if not body.get("project_id"):
                    raise Invalid("Field project_id is required", {"field": "project_id"})
                obj.project_id = valid_uuid(body["project_id"], "project id")
                self._check_playlist_write(s, obj.project_id)
                obj.shots = self._clean_shots(s, body["shots"]) if body.get("shots") is not None else None
                obj.created_by = self.caller.user_id
            elif self.caller.role not in MANAGERS:
                raise Forbidden("Only managers can create this")
            s.add(obj)
            s.flush()
            doc = self._dump(obj, model)
            if model == "playlists":
                doc["build_jobs"] = []  # Zou answers the new playlist with its (empty) relation
            self.store.emit(s, f"{prefix}:new", {f"{prefix.replace('-', '_')}_id": obj.id},
                            project_id=getattr(obj, "project_id", None), record=doc)
            return doc

    def _check_playlist_write(self, s, project_id):
        if self.caller.role in MANAGERS:
            return
        if self.caller.role != "supervisor":
            raise Forbidden("Only managers and supervisors can edit playlists")
        self._check_read(s, project_id)

    def _clean_shots(self, s, shots):
        """Zou's playlist pre_update: each entry becomes exactly
        ``{entity_id, preview_file_id}`` (``id`` is the entity's when
        ``entity_id`` is missing, as Kitsu sends the list back), and a
        preview of another entity, or none at all, is unpinned (null)."""
        if not isinstance(shots, list):
            raise Invalid("shots must be a list")
        out = []
        for item in shots:
            if not isinstance(item, dict) or not (item.get("entity_id") or item.get("id")):
                raise Invalid("Each playlist entry needs an entity_id")
            out.append({"entity_id": valid_uuid(item.get("entity_id") or item.get("id"), "entity id"),
                        "preview_file_id": valid_uuid(item["preview_file_id"], "preview file id")
                        if item.get("preview_file_id") else None})
        pf_ids = {e["preview_file_id"] for e in out if e["preview_file_id"]}
        owners = dict(s.execute(select(PreviewFile.id, PreviewFile.entity_id)
                                .where(PreviewFile.id.in_(pf_ids))).all()) if pf_ids else {}
        for e in out:
            if e["preview_file_id"] and owners.get(e["preview_file_id"]) != e["entity_id"]:
                e["preview_file_id"] = None
        return out

    @rpc(**expected)
    def crud_update(self, model, instance_id, query=None, body=None):
        cls, prefix, type_name = self._model(model)
        if not isinstance(body, dict):
            raise Invalid("A JSON object is expected")
        with self.store.begin() as s:
            obj = s.get(cls, valid_uuid(instance_id), with_for_update=True)
            if obj is None:
                raise NotFound(f"{type_name} {instance_id} not found")
            if model == "playlists":
                self._check_playlist_write(s, obj.project_id)
                if "shots" in body:
                    body = {**body, "shots": self._clean_shots(s, body["shots"])}
                body.pop("project_id", None)
            elif model == "preview-files":
                self._check_task_write(s, self._task(s, obj.task_id))
                if "validation_status" in body and body["validation_status"] not in VALIDATION_STATUSES:
                    raise Invalid("Unknown validation status")
            elif self.caller.role not in MANAGERS:
                raise Forbidden("Only managers can edit this")
            apply_body(obj, body, WRITABLE[model])
            if model == "preview-background-files" and body.get("is_default"):
                for other in s.scalars(select(PreviewBackgroundFile).where(PreviewBackgroundFile.id != obj.id,
                                                                            PreviewBackgroundFile.is_default)):
                    other.is_default = False
            obj.updated_at = now()
            s.flush()
            doc = self._dump(obj, model)
            record = self._record(obj) if model == "preview-files" else doc
            self.store.emit(s, f"{prefix}:update", {f"{prefix.replace('-', '_')}_id": obj.id},
                            project_id=getattr(obj, "project_id", None), record=record)
            return doc

    @rpc(**expected)
    def crud_delete(self, model, instance_id, query=None, body=None):
        cls, prefix, type_name = self._model(model)
        with self.store.begin() as s:
            obj = s.get(cls, valid_uuid(instance_id))
            if obj is None:
                raise NotFound(f"{type_name} {instance_id} not found")
            if model == "playlists":
                self._check_playlist_write(s, obj.project_id)
                s.query(SharedLink).filter(SharedLink.playlist_id == obj.id).delete()
            elif self.caller.role not in MANAGERS:
                raise Forbidden("Only managers can delete this")
            record = self._record(obj) if model == "preview-files" else self._dump(obj, model)
            s.delete(obj)
            self.store.emit(s, f"{prefix}:delete", {f"{prefix.replace('-', '_')}_id": record["id"]},
                            project_id=getattr(obj, "project_id", None), record=record)
        if model == "preview-files":
            for area, ext in (("original", "png"), ("original", "mp4"), ("previews", "png"), ("thumbnails", "png"),
                              ("thumbnails-square", "png"), ("lowdef", "mp4"), ("tiles", "png")):
                storage.delete(storage.key(area, record["id"], ext))
        return None

    # ------------------------------------------------------------ playlists
    def _playlist(self, s, playlist_id) -> Playlist:
        pl = s.get(Playlist, valid_uuid(playlist_id, "playlist id"))
        if pl is None:
            raise NotFound(f"Playlist {playlist_id} not found")
        return pl

    def _pl_summary(self, pl: Playlist) -> dict:
        doc = row_dict(pl, hidden=("shots",), type_name="Playlist")
        if doc.get("for_entity") is None:
            doc["for_entity"] = "shot"
        first = next((e.get("preview_file_id") for e in (pl.shots or []) if e.get("preview_file_id")), None)
        if first:
            doc["first_preview_file_id"] = first
        return doc

    def _pl_raw(self, s, pl: Playlist, build_jobs: bool = False) -> dict:
        """Zou's ``Playlist.serialize()``; with ``build_jobs`` the relation
        as the CRUD read and the /all list serialise it (ids, oldest first)."""
        doc = row_dict(pl, type_name="Playlist")
        if build_jobs:
            doc["build_jobs"] = list(s.scalars(select(BuildJob.id).where(BuildJob.playlist_id == pl.id)
                                               .order_by(BuildJob.created_at)))
        return doc

    def _pl_full(self, s, pl: Playlist, with_annotations: bool = False) -> dict:
        """Zou's get_playlist_with_preview_file_revisions: each shot gets its
        entity id as ``id``, its previews by task type (``preview_files``,
        revisions mixed) and the positioned preview's fields; an entry whose
        preview is gone loses its ``preview_file_id``. Statuses there are
        Zou's labels ("Ready"), as Zou serialises them in this view."""
        doc = row_dict(pl, type_name="Playlist")
        doc["build_jobs"] = [{"id": b.id, "status": b.status, "created_at": row_dict(b).get("created_at"),
                              "message": b.message} for b in s.scalars(
            select(BuildJob).where(BuildJob.playlist_id == pl.id).order_by(BuildJob.created_at.desc()))]
        entries = [dict(e) for e in (pl.shots or []) if isinstance(e, dict)]
        entity_ids = {str(e.get("id") or e.get("shot_id") or e.get("entity_id")) for e in entries
                      if e.get("id") or e.get("shot_id") or e.get("entity_id")}
        rows = list(s.scalars(select(PreviewFile).where(PreviewFile.entity_id.in_(entity_ids)).order_by(
            PreviewFile.revision.desc(), PreviewFile.position, PreviewFile.created_at))) if entity_ids else []
        by_entity: dict = {}
        light_of: dict = {}
        for p in rows:
            light = {"id": p.id, "revision": p.revision, "extension": p.extension, "width": p.width,
                     "height": p.height, "duration": float(p.duration or 0), "status": (p.status or "").capitalize(),
                     "created_at": row_dict(p).get("created_at"), "task_id": p.task_id}
            if with_annotations:
                light["annotations"] = p.annotations
            light_of[p.id] = light
            revisions = by_entity.setdefault(p.entity_id, {}).setdefault(p.task_type_id, {})
            if p.revision in revisions:
                revisions[p.revision]["previews"].append(light)
            else:
                light["previews"] = []
                revisions[p.revision] = light
        shots = []
        for entry in entries:
            entity_id = entry.get("id") or entry.get("shot_id") or entry.get("entity_id")
            if entity_id:
                entry.setdefault("id", entity_id)
            grouped = by_entity.get(str(entity_id)) if entity_id else None
            entry["preview_files"] = {tt: list(revs.values()) for tt, revs in grouped.items()} if grouped else []
            pf = light_of.get(entry.get("preview_file_id"))
            if pf is not None:
                entry.update({"preview_file_extension": pf["extension"], "preview_file_revision": pf["revision"],
                              "preview_file_width": pf["width"], "preview_file_height": pf["height"],
                              "preview_file_duration": pf["duration"], "preview_file_status": pf["status"],
                              "preview_file_task_id": pf["task_id"],
                              "preview_file_previews": pf.get("previews", [])})
                if with_annotations:
                    entry["preview_file_annotations"] = pf.get("annotations")
            else:
                entry.pop("preview_file_id", None)
            shots.append(entry)
        doc["shots"] = shots
        return doc

    def _project_playlists(self, project_id, query, extra=()):
        query = query or {}
        project_id = valid_uuid(project_id, "project id")
        with self.store.session() as s:
            self._check_read(s, project_id)
            stmt = select(Playlist).where(Playlist.project_id == project_id, *extra)
            if self.caller.role == "client" or str(query.get("for_client", "")).lower() == "true":
                stmt = stmt.where(Playlist.for_client.is_(True))
            if query.get("task_type_id"):
                stmt = stmt.where(Playlist.task_type_id == valid_uuid(query["task_type_id"], "task type id"))
            if query.get("for_entity"):
                stmt = stmt.where(Playlist.for_entity == str(query["for_entity"]))
            sort = query.get("sort_by") or "updated_at"
            # Zou's apply_sort_by: any column, dates newest first, else updated_at
            column = Playlist.__table__.columns.get(sort) if sort != "shots" else None
            order = (column.desc() if sort in ("created_at", "updated_at") else column) \
                if column is not None else Playlist.updated_at.desc()
            try:
                page = max(1, int(query.get("page") or 1))
            except ValueError:
                raise Invalid("page must be an integer") from None
            stmt = stmt.order_by(order, Playlist.id).limit(20).offset((page - 1) * 20)
            return [self._pl_summary(p) for p in s.scalars(stmt)]

    @rpc(**expected)
    def project_playlists(self, project_id, query=None, body=None):
        return self._project_playlists(project_id, query)

    @rpc(**expected)
    def all_project_playlists(self, project_id, query=None, body=None):
        """Zou: admins only; every playlist serialised whole (shots and
        build_jobs); ``?page=n`` answers Zou's page envelope of 100."""
        query = query or {}
        if self.caller.role != "admin":
            raise Forbidden("Admins only")
        project_id = valid_uuid(project_id, "project id")
        try:
            page = int(query.get("page") or -1)
        except ValueError:
            raise Invalid("page must be an integer") from None
        with self.store.session() as s:
            if s.get(ProjectRef, project_id) is None:  # Zou: an unknown project is a 404
                try:
                    self.rpc_out.call("assets", "get_project", project_id=project_id, timeout=5)
                except Exception as exc:  # noqa: BLE001 - only a proven "not found" is one
                    if type(exc).__name__ == "NotFound" or "NotFound" in str(getattr(exc, "exc_type", "")):
                        raise NotFound(f"Project {project_id} not found") from None
            stmt = select(Playlist).where(Playlist.project_id == project_id).order_by(Playlist.created_at,
                                                                                       Playlist.id)
            if page < 1:
                return [self._pl_raw(s, p, build_jobs=True) for p in s.scalars(stmt)]
            total = s.scalar(select(func.count()).select_from(Playlist).where(Playlist.project_id == project_id))
            limit, offset = 100, (page - 1) * 100
            rows = [] if total < offset else [self._pl_raw(s, p, build_jobs=True)
                                              for p in s.scalars(stmt.limit(limit).offset(offset))]
            return {"data": rows, "total": total, "nb_pages": -(-total // limit), "limit": limit,
                    "offset": offset, "page": page}

    @rpc(**expected)
    def episode_playlists(self, project_id, episode_id, query=None, body=None):
        """Zou: "main" is the project-wide playlists not for all, "all" the
        project-wide ones for all (``is_for_all``)."""
        if episode_id == "main":
            extra = (Playlist.episode_id.is_(None), Playlist.is_for_all.isnot(True))
        elif episode_id == "all":
            extra = (Playlist.episode_id.is_(None), Playlist.is_for_all.is_(True))
        else:
            extra = (Playlist.episode_id == valid_uuid(episode_id, "episode id"),)
        return self._project_playlists(project_id, query, extra)

    @rpc(**expected)
    def project_playlist(self, project_id, playlist_id, query=None, body=None):
        with self.store.session() as s:
            pl = self._playlist(s, playlist_id)
            if pl.project_id != valid_uuid(project_id, "project id"):
                raise NotFound(f"Playlist {playlist_id} not found")
            self._check_read(s, pl.project_id)
            if self.caller.role == "client" and not pl.for_client:
                raise Forbidden("This playlist is not shared with clients")
            return self._pl_full(s, pl)

    def _latest_preview(self, s, entity_id, task_type_id=None):
        stmt = select(PreviewFile.id).where(PreviewFile.entity_id == entity_id)
        if task_type_id:
            stmt = stmt.where(PreviewFile.task_type_id == task_type_id)
        return s.scalar(stmt.order_by(PreviewFile.revision.desc(), PreviewFile.created_at.desc()).limit(1))

    def _add_entities(self, playlist_id, items):
        if not isinstance(items, list) or not items:
            raise Invalid("A list of entities is expected")
        with self.store.begin() as s:
            pl = s.get(Playlist, valid_uuid(playlist_id, "playlist id"), with_for_update=True)
            if pl is None:
                raise NotFound(f"Playlist {playlist_id} not found")
            self._check_playlist_write(s, pl.project_id)
            shots = list(pl.shots or [])
            present = {(e.get("entity_id"), e.get("preview_file_id")) for e in shots}
            for item in items:
                if not isinstance(item, dict) or not item.get("entity_id"):
                    raise Invalid("Each entry needs an entity_id")
                entity_id = valid_uuid(item["entity_id"], "entity id")
                pf_id = item.get("preview_file_id")
                pf_id = valid_uuid(pf_id, "preview file id") if pf_id else self._latest_preview(
                    s, entity_id, pl.task_type_id)
                if (entity_id, pf_id) in present:
                    continue
                present.add((entity_id, pf_id))
                # Zou's entry: the couple, without an id, the preview only when there is one
                shots.append({"entity_id": entity_id, **({"preview_file_id": pf_id} if pf_id else {})})
            pl.shots = shots
            pl.updated_at = now()
            s.flush()
            doc = self._pl_raw(s, pl)  # Zou answers playlist.serialize()
            self.store.emit(s, "playlist:update", {"playlist_id": pl.id}, project_id=pl.project_id,
                            record=row_dict(pl, type_name="Playlist"))
            return doc

    @rpc(**expected)
    def add_entity(self, playlist_id, query=None, body=None):
        return self._add_entities(playlist_id, [body] if isinstance(body, dict) else body)

    @rpc(**expected)
    def add_entities(self, playlist_id, query=None, body=None):
        if isinstance(body, dict):
            body = body.get("entities") or body.get("entity_ids")
            if isinstance(body, list) and body and isinstance(body[0], str):
                body = [{"entity_id": e} for e in body]
        return self._add_entities(playlist_id, body)

    @rpc(**expected)
    def entity_playlist_previews(self, entity_id, query=None, body=None):
        """Zou's /data/playlists/entities/<id>/preview-files: by task type."""
        return self.entity_preview_files(entity_id=entity_id, query={**(query or {}), "by_task_type": "1"})

    @rpc(**expected)
    def temp_playlist(self, project_id, query=None, body=None):
        """Zou's generate_temp_playlist: per task, its entity as a playlist
        entry (``id`` the entity's, name and parent, Zou's whole key set with
        "" where it does not apply), the previews of the entity by task type
        and the task type's latest revision positioned; ``entity_ids`` add
        the entity's latest previewed task; ``?sort=true`` sorts as Zou."""
        query = query or {}
        body = body if isinstance(body, dict) else {}
        task_ids, entity_ids = body.get("task_ids") or [], body.get("entity_ids") or []
        if not isinstance(task_ids, list) or not isinstance(entity_ids, list):
            raise Invalid("task_ids must be a list")
        with self.store.session() as s:
            self._check_read(s, valid_uuid(project_id, "project id"))
            tasks = [self._task(s, tid) for tid in task_ids[:500]]
            for eid in entity_ids[:500]:
                latest = s.scalar(select(PreviewFile.task_id).where(
                    PreviewFile.entity_id == valid_uuid(eid, "entity id"))
                    .order_by(PreviewFile.created_at.desc()).limit(1))
                if latest:
                    tasks.append(self._task(s, latest))
            info = {}
            if tasks:
                try:
                    info = self.rpc_out.call("tasks", "shared_shots_info", task_ids=[t.id for t in tasks],
                                             timeout=10) or {}
                except Exception:  # noqa: BLE001 - names are a nicety; the player still plays
                    info = {}
            out = []
            for task in tasks:
                rows = list(s.scalars(select(PreviewFile).where(PreviewFile.entity_id == task.entity_id).order_by(
                    PreviewFile.revision.desc(), PreviewFile.position, PreviewFile.created_at)))
                previews = self._by_task_type(rows)
                meta = info.get(task.id) or {}
                kind = ((meta.get("preview_file_task_type") or {}).get("for_entity") or "").lower()
                parent = meta.get("parent_name") or ""
                entry = {"id": task.entity_id, "name": meta.get("name", ""), "preview_file_task_id": task.id,
                         "parent_name": parent, "episode_id": "", "episode_name": "", "sequence_id": "",
                         "sequence_name": parent if kind == "shot" else "", "asset_type_id": "",
                         "asset_type_name": parent if kind == "asset" else ""}
                chosen = (previews.get(task.task_type_id) or [None])[0] or next(
                    (revs[0] for revs in previews.values() if revs), None)
                if chosen is not None:
                    entry.update({"preview_file_id": chosen["id"], "preview_file_extension": chosen["extension"],
                                  "preview_file_width": chosen["width"], "preview_file_height": chosen["height"],
                                  "preview_file_duration": chosen["duration"],
                                  "preview_file_revision": chosen["revision"],
                                  "preview_file_status": chosen["status"],
                                  "preview_file_annotations": chosen["annotations"] or [],
                                  "preview_file_previews": chosen["previews"]})
                entry["preview_files"] = previews
                out.append(entry)
            if str(query.get("sort", "false")).lower() == "true":
                out.sort(key=lambda e: (e["episode_name"], e["sequence_name"], e["asset_type_name"], e["name"]))
            return out

    # ------------------------------------------------------------ build jobs
    @rpc(**expected)
    def build_playlist(self, playlist_id, job_type="movie", query=None, body=None):
        with self.store.begin() as s:
            pl = self._playlist(s, playlist_id)
            self._check_read(s, pl.project_id)
            ids = [e["preview_file_id"] for e in pl.shots or [] if e.get("preview_file_id")]
            if not ids:
                raise Invalid("The playlist has no previews to build")
            bj = BuildJob(playlist_id=pl.id, status="running", job_type=job_type)
            s.add(bj)
            s.flush()
            s.add(Job(kind="build", target_id=bj.id, status="queued", max_attempts=jobs.max_attempts(),
                      payload={"job_type": job_type, "preview_file_ids": ids}))
            doc = row_dict(bj, type_name="BuildJob")
            self.store.emit(s, "build-job:new", {"build_job_id": bj.id, "playlist_id": pl.id},
                            project_id=pl.project_id, record=doc)
            return doc

    def _build(self, job_id, build_job_id, payload) -> dict:
        import zipfile

        work = storage.scratch_dir()
        try:
            with self.store.session() as s:
                previews = {p.id: p for p in s.scalars(select(PreviewFile).where(
                    PreviewFile.id.in_(payload.get("preview_file_ids") or [])))}
            ordered = [previews[i] for i in payload.get("preview_file_ids") or [] if i in previews]
            if payload.get("job_type") == "archive":
                dest = work / "build.zip"
                with zipfile.ZipFile(dest, "w", zipfile.ZIP_STORED) as zf:
                    for pf in ordered:
                        key = pf.source_key
                        if key and storage.exists(key):  # streamed from storage into the zip
                            with zf.open(f"{pf.name}_v{pf.revision}.{_ext_of(key)}", "w", force_zip64=True) as dst:
                                for chunk in storage.read(key):
                                    dst.write(chunk)
                storage.put_file(dest, storage.key("builds", build_job_id, "zip"), move=True)
                return {}
            movies = [storage.local_file(storage.key("original", p.id, "mp4"), work, self._heartbeat(job_id))
                      for p in ordered if p.is_movie and storage.exists(storage.key("original", p.id, "mp4"))]
            if not movies:
                raise processing.ProcessingError("No ready movie in the playlist")
            listing = work / "list.txt"
            listing.write_text("".join(f"file '{m}'\n" for m in movies))
            dest = work / "build.mp4"
            processing.run(["ffmpeg", "-y", "-v", "error", "-f", "concat", "-safe", "0", "-i", str(listing),
                            "-c:v", "libx264", "-preset", "veryfast", "-pix_fmt", "yuv420p", "-an",
                            "-movflags", "+faststart", str(dest)], jobs.time_limit(), self._heartbeat(job_id))
            storage.put_file(dest, storage.key("builds", build_job_id, "mp4"), move=True)
            return {}
        finally:
            shutil.rmtree(work, ignore_errors=True)

    def _build_done(self, s, build_job_id, status, message):
        bj = s.get(BuildJob, build_job_id)
        if bj is None:
            return
        bj.status, bj.message, bj.ended_at, bj.updated_at = status, message, now(), now()
        s.flush()
        pl = s.get(Playlist, bj.playlist_id)
        self.store.emit(s, "build-job:update", {"build_job_id": bj.id, "playlist_id": bj.playlist_id,
                                                "status": status}, project_id=pl.project_id if pl else None,
                        record=row_dict(bj, type_name="BuildJob"))

    @rpc(**expected)
    def get_build_job(self, playlist_id, build_job_id, query=None, body=None):
        with self.store.session() as s:
            pl = self._playlist(s, playlist_id)
            self._check_read(s, pl.project_id)
            bj = s.get(BuildJob, valid_uuid(build_job_id, "build job id"))
            if bj is None or bj.playlist_id != pl.id:
                raise NotFound("Build job not found")
            return row_dict(bj, type_name="BuildJob")

    @rpc(**expected)
    def delete_build_job(self, playlist_id, build_job_id, query=None, body=None):
        with self.store.begin() as s:
            pl = self._playlist(s, playlist_id)
            self._check_playlist_write(s, pl.project_id)
            bj = s.get(BuildJob, valid_uuid(build_job_id, "build job id"))
            if bj is None or bj.playlist_id != pl.id:
                raise NotFound("Build job not found")
            doc = row_dict(bj, type_name="BuildJob")
            s.delete(bj)
            self.store.emit(s, "build-job:delete", {"build_job_id": doc["id"], "playlist_id": pl.id},
                            project_id=pl.project_id, record=doc)
        for ext in ("mp4", "zip"):
            storage.delete(storage.key("builds", doc["id"], ext))
        return None

    @rpc(**expected)
    def project_build_jobs(self, project_id, query=None, body=None):
        project_id = valid_uuid(project_id, "project id")
        with self.store.session() as s:
            self._check_read(s, project_id)
            ids = select(Playlist.id).where(Playlist.project_id == project_id)
            rows = s.scalars(select(BuildJob).where(BuildJob.playlist_id.in_(ids)).order_by(BuildJob.created_at.desc()))
            return [row_dict(b, type_name="BuildJob") for b in rows]

    @rpc(**expected)
    def build_info(self, playlist_id, build_job_id):
        with self.store.session() as s:
            pl = self._playlist(s, playlist_id)
            self._check_read(s, pl.project_id)
            bj = s.get(BuildJob, valid_uuid(build_job_id, "build job id"))
            if bj is None or bj.playlist_id != pl.id:
                raise NotFound("Build job not found")
            if bj.status != "succeeded":
                raise NotFound(f"Build job is {bj.status}")
            ext = "zip" if bj.job_type == "archive" else "mp4"
            return {"key": storage.key("builds", bj.id, ext), "content_type": CONTENT_TYPES[ext],
                    "filename": f"{pl.name}.{ext}", "attachment": True}

    # ------------------------------------------------------------ shared links
    @rpc(**expected)
    def share_playlist(self, playlist_id, query=None, body=None):
        with self.store.begin() as s:
            pl = self._playlist(s, playlist_id)
            self._check_playlist_write(s, pl.project_id)
            link = SharedLink(token=secrets.token_urlsafe(24), playlist_id=pl.id, created_by=self.caller.user_id)
            body = body if isinstance(body, dict) else {}
            if body.get("expiration_date"):
                link.expires_at = _ts(body["expiration_date"])
            if "can_comment" in body:
                if not isinstance(body["can_comment"], bool):
                    raise Invalid("Validation error.", {"data": {"errors": [
                        {"field": "can_comment", "message": "Input should be a valid boolean"}]}})
                link.can_comment = body["can_comment"]
            if body.get("password"):
                if not isinstance(body["password"], str):
                    raise Invalid("Validation error.", {"data": {"errors": [
                        {"field": "password", "message": "Input should be a valid string"}]}})
                from .shared import hash_password

                link.password_hash = hash_password(body["password"])
            s.add(link)
            s.flush()
            doc = {**row_dict(link, hidden=("password_hash",), type_name="PlaylistShare"),
                   "has_password": bool(link.password_hash)}
            self.store.emit(s, "playlist:share", {"playlist_id": pl.id}, project_id=pl.project_id,
                            record={"id": link.id, "playlist_id": pl.id})
            return doc

    @rpc(**expected)
    def playlist_shares(self, playlist_id, query=None, body=None):
        with self.store.session() as s:
            pl = self._playlist(s, playlist_id)
            self._check_playlist_write(s, pl.project_id)
            return [{**row_dict(li, hidden=("password_hash",), type_name="PlaylistShare"),
                     "has_password": bool(li.password_hash)} for li in
                    s.scalars(select(SharedLink).where(SharedLink.playlist_id == pl.id))]

    @rpc(**expected)
    def unshare_playlist(self, playlist_id, token, query=None, body=None):
        with self.store.begin() as s:
            pl = self._playlist(s, playlist_id)
            self._check_playlist_write(s, pl.project_id)
            link = s.scalars(select(SharedLink).where(SharedLink.token == str(token),
                                                      SharedLink.playlist_id == pl.id)).first()
            if link is None:
                raise NotFound("Share link not found")
            s.delete(link)
        return None

    def _shared(self, s, token) -> Playlist:
        link = s.scalars(select(SharedLink).where(SharedLink.token == str(token))).first()
        if link is None or (link.expires_at and link.expires_at < now()):
            raise NotFound("Shared playlist not found")
        pl = s.get(Playlist, link.playlist_id)
        if pl is None:
            raise NotFound("Shared playlist not found")
        return pl

    @rpc(**expected)
    def shared_playlist(self, token, query=None, body=None):
        with self.store.session() as s:
            pl = self._shared(s, token)
            self._check_share_password(s, token, query)
            return self._shared_playlist_doc(s, pl)

    @rpc(**expected)
    def shared_context(self, token, query=None, body=None):
        with self.store.session() as s:
            pl = self._shared(s, token)
            self._check_share_password(s, token, query)
            proj = s.get(ProjectRef, pl.project_id)
            summary = self._pl_summary(pl)
            project = {"id": pl.project_id, "name": proj.name if proj else None, "fps": proj.fps if proj else None,
                       "ratio": None, "resolution": proj.resolution if proj else None, "team": []}
        # Zou's shape (project line, task types, task statuses); the guest
        # picks its comment's status among those flagged is_client_allowed.
        doc = {"project": project, "task_types": [], "task_statuses": []}
        try:
            parts = self.rpc_out.call("tasks", "shared_project_context", project_id=project["id"], timeout=10)
            project.update({k: v for k, v in (parts.get("project") or {}).items() if v is not None})
            doc["task_types"], doc["task_statuses"] = parts["task_types"], parts["task_statuses"]
        except Exception:  # noqa: BLE001 - tasks down: the page still plays, without statuses
            log.warning("shared context: tasks unavailable for project %s", project["id"])
        doc["playlist"] = summary
        return doc

    @rpc(**expected)
    def shared_preview_file(self, token, preview_file_id, query=None, body=None):
        with self.store.session() as s:
            pl = self._shared(s, token)
            pf_id = valid_uuid(preview_file_id, "preview file id")
            if pf_id not in {e.get("preview_file_id") for e in pl.shots or []}:
                raise NotFound("Preview file not found in this playlist")
            return self._pf_dump(self._preview(s, pf_id))

    @rpc(**expected)
    def shared_media_info(self, token, preview_file_id, variant):
        with self.store.session() as s:
            pl = self._shared(s, token)
            pf_id = valid_uuid(preview_file_id, "preview file id")
            if pf_id not in {e.get("preview_file_id") for e in pl.shots or []}:
                raise NotFound("Preview file not found in this playlist")
        # The token is the authorisation here; reuse the lookup as admin.
        with self.store.session() as s:
            pf = self._preview(s, pf_id)
            area = {"thumbnails": ("thumbnails", "png"), "tiles": ("tiles", "png"),
                    "movie": ("original", "mp4"), "original": ("original", "png")}.get(variant)
            if area is None:
                raise NotFound("Unknown media variant")
            if variant == "original" and pf.is_movie:
                area = ("original", "mp4")
            return {"key": storage.key(area[0], pf.id, area[1]), "content_type": CONTENT_TYPES[area[1]],
                    "filename": f"{pf.name}.{area[1]}", "attachment": False, "status": pf.status}

    # ------------------------------------------------------------ projections
    @subscribe("task:new", "task:update", "task:delete")
    def on_task(self, event):
        record = event.get("record") or {}
        if not record.get("id"):
            return
        with self.store.begin() as s:
            if not self.store.claim(s, event):
                return
            current = s.get(TaskRef, record["id"])
            if event.get("name") == "task:delete":
                if current is not None:
                    s.delete(current)
                return
            stamp = _ts(record.get("updated_at"))
            if current is not None and current.updated_at and stamp and stamp < current.updated_at:
                return
            ref = current or TaskRef(id=record["id"])
            ref.project_id = record.get("project_id")
            ref.entity_id = record.get("entity_id")
            ref.task_type_id = record.get("task_type_id")
            ref.assignees = list(record.get("assignees") or [])
            ref.updated_at = stamp
            if current is None:
                s.add(ref)

    @subscribe("project:new", "project:update", "project:delete")
    def on_project(self, event):
        record = event.get("record") or {}
        if not record.get("id"):
            return
        with self.store.begin() as s:
            if not self.store.claim(s, event):
                return
            current = s.get(ProjectRef, record["id"])
            if event.get("name") == "project:delete":
                if current is not None:
                    s.delete(current)
                return
            stamp = _ts(record.get("updated_at"))
            if current is not None and current.updated_at and stamp and stamp < current.updated_at:
                return
            ref = current or ProjectRef(id=record["id"])
            ref.name = record.get("name")
            team = record.get("team")
            if team is not None:
                ref.team = [t["id"] if isinstance(t, dict) else t for t in team]
            ref.fps = str(record.get("fps")) if record.get("fps") is not None else ref.fps
            ref.resolution = record.get("resolution") or ref.resolution
            ref.updated_at = stamp
            if current is None:
                s.add(ref)

    @subscribe("person:update", "person:delete")
    def on_person(self, event):
        """Cleared avatar (has_avatar false) or deleted person: drop the file."""
        record = event.get("record") or {}
        pid = record.get("id")
        if not pid or (event.get("name") == "person:update" and record.get("has_avatar") is not False):
            return
        with self.store.begin() as s:
            if not self.store.claim(s, event):
                return
            row = s.get(Thumbnail, ("persons", pid))
            if row is not None:
                s.delete(row)
        storage.delete(storage.key("avatars", pid, "png"))


Service = PreviewsService
