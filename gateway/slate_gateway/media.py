"""Uploads and downloads of binaries: streamed between HTTP and storage.

Binaries never ride RabbitMQ. An upload is authorised over RPC first, then
the request body (multipart or raw) is read in chunks and streamed into
storage under a temporary key (``tmp/<hex>``), counting bytes against
``MAX_UPLOAD_BYTES`` (a declared ``Content-Length`` above it is refused with
413 before any read); only the key travels to the previews service. A
download asks the previews service which key to stream (that is the access
check), then streams the object with ``Range`` support and caching headers.

Storage (``slatekit.blobstore``, chosen by ``STORAGE_BACKEND``): a local
directory ``STORAGE_DIR`` (default ``<repo>/var/storage``), or a bucket of an
S3-compatible server, where an upload is a multipart upload in parts of
``blobstore.PART_SIZE`` (aborted on failure) and a download a ranged
GetObject. Layout (same as ``services/previews/slate_previews/storage.py``,
which owns it): keys ``<area>/<id[0:2]>/<id[2:4]>/<id>.<ext>`` and
``tmp/<hex>`` for uploads. This module refuses any key outside that shape,
so none escapes the root; entry points: ``receive_upload`` and
``serve_key`` (``stream_file``/``_serve`` are kept and go through it).
"""

from __future__ import annotations

import os
import re
import time
import uuid
from pathlib import Path

from slatekit import blobstore, errors
from werkzeug.http import http_date, parse_range_header, quote_header_value
from werkzeug.sansio.multipart import Data, Epilogue, Field, File, MultipartDecoder, NeedData
from werkzeug.wrappers import Response

CHUNK = 256 * 1024
_KEY = re.compile(r"^(tmp/[0-9a-f]{32}|[a-z-]+/[0-9a-f]{2}/[0-9a-f-]{2}/[0-9a-f-]{36}(\.[a-z0-9]{1,8})?)$")


def storage_root() -> Path:
    configured = os.environ.get("STORAGE_DIR")
    if configured:
        return Path(configured).resolve()
    return (Path(__file__).resolve().parents[2] / "var" / "storage").resolve()


def store() -> blobstore.BlobStore:
    return blobstore.from_env(storage_root())


def max_upload_bytes() -> int:
    return int(os.environ.get("MAX_UPLOAD_BYTES") or 4 * 1024 ** 3)


def resolve(key: str) -> Path:
    if not isinstance(key, str) or not _KEY.match(key):
        raise errors.NotFound("File not found")
    root = storage_root()
    path = (root / key).resolve()
    if root not in path.parents:
        raise errors.NotFound("File not found")
    return path


# ---------------------------------------------------------------- uploads
class _Upload:
    def __init__(self):
        self.key = f"tmp/{uuid.uuid4().hex}"
        self.path = storage_root() / self.key  # where it lands on the local backend only
        self.filename = None
        self.size = 0
        self.writer = None

    def open(self) -> blobstore.Writer:
        self.writer = store().writer(self.key)
        return self.writer

    def discard(self):
        """Forget the upload: abort it while streaming, delete it once stored."""
        writer, self.writer = self.writer, None
        try:
            if writer is not None:
                writer.abort()
            else:
                store().delete(self.key)
        except Exception:  # noqa: BLE001 - storage unreachable: the previews sweep removes tmp/ later
            pass

    def commit(self):
        self.writer.commit()
        self.writer = None


def _chunks(request, limit: int):
    """The raw request body in chunks, never more than ``limit`` bytes."""
    stream = request.environ["wsgi.input"]
    length = request.content_length
    if length is not None and length > limit:
        raise errors.TooLarge(f"File is too large (limit {limit} bytes)")
    remaining = length
    total = 0
    while True:
        want = CHUNK if remaining is None else min(CHUNK, remaining)
        if want <= 0:
            return
        chunk = stream.read(want)
        if not chunk:
            if remaining:
                raise errors.Invalid("Upload ended before its declared length")
            return
        total += len(chunk)
        if total > limit:
            raise errors.TooLarge(f"File is too large (limit {limit} bytes)")
        if remaining is not None:
            remaining -= len(chunk)
        yield chunk


def receive_upload(request) -> _Upload:
    """Stream the first file part (or a raw body) into storage."""
    limit = max_upload_bytes()
    if request.content_length is not None and request.content_length > limit:
        raise errors.TooLarge(f"File is too large (limit {limit} bytes)")  # before storage is touched
    up = _Upload()
    try:
        out = up.open()
        # Streamed to storage as it arrives: a local file or an S3 multipart upload.
        if request.mimetype == "multipart/form-data":
            boundary = (request.mimetype_params.get("boundary") or "").encode()
            if not boundary:
                raise errors.Invalid("Multipart body without a boundary")
            decoder = MultipartDecoder(boundary, max_form_memory_size=1024 * 1024, max_parts=50)
            current = None
            done = False
            for chunk in _chunks(request, limit):
                decoder.receive_data(chunk)
                done = _drain(decoder, up, out, current_ref := [current])
                current = current_ref[0]
                if done:
                    break
            if not done:
                decoder.receive_data(None)
                _drain(decoder, up, out, [current])
        else:
            for chunk in _chunks(request, limit):
                out.write(chunk)
                up.size += len(chunk)
            up.filename = request.args.get("name") or "upload.bin"
        if up.filename is None:
            raise errors.Invalid("No file in the upload")
        if up.size == 0:
            raise errors.Invalid("The uploaded file is empty")
        up.commit()
        return up
    except BaseException:
        up.discard()
        raise


def _drain(decoder, up, out, current_ref) -> bool:
    while True:
        try:
            event = decoder.next_event()
        except Exception:  # noqa: BLE001 - werkzeug raises ValueError/413 on bad bodies
            raise errors.Invalid("Malformed multipart body") from None
        if isinstance(event, NeedData):
            return False
        if isinstance(event, Epilogue):
            return True
        if isinstance(event, File):
            if up.filename is None:
                up.filename = event.filename or "upload.bin"
                current_ref[0] = "file"
            else:
                current_ref[0] = "skip"
        elif isinstance(event, Field):
            current_ref[0] = "field"
        elif isinstance(event, Data):
            if current_ref[0] == "file":
                out.write(event.data)
                up.size += len(event.data)
                if not event.more_data:
                    current_ref[0] = "done"


def _json(payload, status=200):
    from .app import json_response

    return json_response(payload, status)


def upload_preview(gw, route, request, args, claims, context):
    """POST /pictures/preview-files/<id>: the file of a preview."""
    pid = args["instance_id"]
    gw.rpc.call("previews", "authorize_upload", {"preview_file_id": pid}, context)
    up = receive_upload(request)
    try:
        result = gw.rpc.call("previews", "upload_preview", {
            "preview_file_id": pid, "key": up.key, "original_name": up.filename, "size": up.size,
            "normalize": request.args.get("normalize", "true").lower() != "false",
        }, context, timeout=60)
    except BaseException:
        up.discard()
        raise
    if request.args.get("no_job", "").lower() == "true" and result.get("status") == "processing":
        deadline = time.monotonic() + float(os.environ.get("PREVIEW_NO_JOB_WAIT") or 300)
        while time.monotonic() < deadline and result.get("status") == "processing":
            time.sleep(0.5)
            result = gw.rpc.call("previews", "crud_get", {"model": "preview-files", "instance_id": pid}, context)
    return _json(result, 201 if route.status == 201 else 200)


def upload_thumbnail(gw, route, request, args, claims, context):
    """POST /pictures/thumbnails/<persons|organisations|projects>/<id>."""
    kind = route.fixed["kind"]
    gw.rpc.call("previews", "authorize_upload", {"preview_file_id": args["instance_id"], "kind": kind}, context)
    up = receive_upload(request)
    try:
        result = gw.rpc.call("previews", "set_thumbnail",
                             {"kind": kind, "instance_id": args["instance_id"], "key": up.key}, context, timeout=30)
    finally:
        up.discard()
    return _json(result, 201)


# ---------------------------------------------------------------- downloads
def serve_key(request, key: str, content_type: str, filename: str | None = None,
              attachment: bool = False, max_age: int = 0) -> Response:
    """Stream a stored object (either backend) with Range and caching headers."""
    if not isinstance(key, str) or not _KEY.match(key):
        raise errors.NotFound("File not found")
    st = store()
    try:
        stat = st.stat(key)
    except ValueError:
        raise errors.NotFound("File not found") from None
    if stat is None:
        raise errors.NotFound("File not found")

    def body(start, end):
        try:
            return st.read(key, start, end)
        except FileNotFoundError:
            raise errors.NotFound("File not found") from None
    return _respond(request, stat, body, content_type, filename, attachment, max_age)


def stream_file(request, path: Path, content_type: str, filename: str | None = None,
                attachment: bool = False, max_age: int = 0) -> Response:
    """Stream a file; a path under the storage root is served from the
    configured backend (so ``stream_file(request, resolve(key), …)`` works on
    S3 too), any other path from the local disk."""
    if store().name != "local":
        try:
            key = Path(path).relative_to(storage_root()).as_posix()
        except ValueError:
            key = None
        if key is not None:
            return serve_key(request, key, content_type, filename, attachment, max_age)
    try:
        st = path.stat()
    except FileNotFoundError:
        raise errors.NotFound("File not found") from None
    stat = blobstore.Stat(st.st_size, st.st_mtime, f'"{st.st_mtime_ns:x}-{st.st_size:x}"')

    def body(start, end):
        fh = open(path, "rb")
        fh.seek(start)
        return _limited(fh, end - start)
    return _respond(request, stat, body, content_type, filename, attachment, max_age)


def _respond(request, stat: blobstore.Stat, body, content_type: str, filename: str | None,
             attachment: bool, max_age: int) -> Response:
    """Headers, conditional and Range handling; ``body(start, end)`` gives
    the bytes ``[start, end)`` in chunks and is only called for a body."""
    size = stat.size
    etag = stat.etag
    headers = {
        "ETag": etag,
        "Last-Modified": http_date(stat.mtime),
        "Accept-Ranges": "bytes",
        "Cache-Control": f"private, max-age={max_age}" if max_age else "private, no-cache",
        "X-Content-Type-Options": "nosniff",
    }
    if filename:
        disposition = "attachment" if attachment else "inline"
        safe = re.sub(r'[^A-Za-z0-9._-]', "_", filename)[:200] or "file"
        headers["Content-Disposition"] = f"{disposition}; filename={quote_header_value(safe)}"
    elif attachment:
        headers["Content-Disposition"] = "attachment"
    if request.headers.get("If-None-Match") == etag:
        return Response(status=304, headers=headers)
    start, end, status = 0, size, 200
    rng = parse_range_header(request.headers.get("Range"))
    if rng is not None and request.headers.get("If-Range") in (None, etag):
        bounds = rng.range_for_length(size)
        if bounds is None:
            headers["Content-Range"] = f"bytes */{size}"
            return Response(status=416, headers=headers)
        start, end = bounds
        status = 206
        headers["Content-Range"] = f"bytes {start}-{end - 1}/{size}"
    chunks = [] if request.method == "HEAD" else body(start, end)
    resp = Response(chunks, status=status, headers=headers, content_type=content_type, direct_passthrough=True)
    resp.content_length = end - start
    return resp


def _limited(fh, length: int):
    try:
        while length > 0:
            chunk = fh.read(min(CHUNK, length))
            if not chunk:
                break
            length -= len(chunk)
            yield chunk
    finally:
        fh.close()


def _serve(request, info: dict, max_age: int = 0) -> Response:
    return serve_key(request, info.get("key"), info.get("content_type") or "application/octet-stream",
                     info.get("filename"), bool(info.get("attachment")), max_age)


class _TTLCache:
    """Per-process memo of recent download authorisations: a thumbnail wall
    asks for the same files again and again. Only ``ready`` files are kept,
    for ``MEDIA_AUTH_CACHE_SECONDS`` (default 10 s), keyed by session."""

    def __init__(self, size: int = 4096):
        import threading

        self.size = size
        self.data: dict = {}
        self.lock = threading.Lock()

    def get(self, key):
        with self.lock:
            hit = self.data.get(key)
            if hit is None or hit[0] < time.monotonic():
                self.data.pop(key, None)
                return None
            return hit[1]

    def put(self, key, value, ttl: float):
        with self.lock:
            if len(self.data) >= self.size:
                self.data.clear()
            self.data[key] = (time.monotonic() + ttl, value)


_AUTH_CACHE = _TTLCache()


def serve_preview(gw, route, request, args, claims, context):
    """GET /pictures/…/preview-files/<id>.png, /movies/…/preview-files/<id>.mp4."""
    variant = route.fixed["variant"]
    ttl = float(os.environ.get("MEDIA_AUTH_CACHE_SECONDS") or 10)
    key = (claims.get("sub"), claims.get("jti"), args["instance_id"], variant)
    info = _AUTH_CACHE.get(key) if ttl > 0 else None
    if info is None:
        info = gw.rpc.call("previews", "media_info", {"preview_file_id": args["instance_id"], "variant": variant},
                           context)
        if ttl > 0 and info.get("status") == "ready":
            _AUTH_CACHE.put(key, info, ttl)
    if route.fixed.get("download"):
        info = {**info, "attachment": True}
    return _serve(request, info, max_age=3600 if info.get("status") == "ready" else 0)


def serve_thumbnail(gw, route, request, args, claims, context):
    info = gw.rpc.call("previews", "thumbnail_info",
                       {"kind": route.fixed["kind"], "instance_id": args["instance_id"]}, context)
    return _serve(request, info, max_age=60)


def serve_build(gw, route, request, args, claims, context):
    info = gw.rpc.call("previews", "build_info",
                       {"playlist_id": args["playlist_id"], "build_job_id": args["build_job_id"]}, context)
    return _serve(request, info)


def serve_shared(gw, route, request, args, claims, context):
    info = gw.rpc.call("previews", "shared_media_info", {
        "token": args["token"], "preview_file_id": args["preview_file_id"], "variant": route.fixed["variant"]},
        context)
    return _serve(request, info, max_age=600)


def upload_background(gw, route, request, args, claims, context):
    """POST /pictures/preview-background-files/<id> (and its thumbnail route)."""
    gw.rpc.call("previews", "authorize_upload",
                {"preview_file_id": args["instance_id"], "kind": "preview-background-files"}, context)
    up = receive_upload(request)
    try:
        result = gw.rpc.call("previews", "set_background_file", {
            "instance_id": args["instance_id"], "key": up.key, "original_name": up.filename}, context, timeout=60)
    finally:
        up.discard()
    return _json(result, 201)


def serve_background(gw, route, request, args, claims, context):
    info = gw.rpc.call("previews", "background_info",
                       {"instance_id": args["instance_id"], "variant": route.fixed.get("variant", "file")}, context)
    return _serve(request, info, max_age=600)


# ---------------------------------------------------------------- several files in one body
def receive_files(request, max_files: int = 20) -> tuple[list, dict]:
    """Every file part of a multipart body (Kitsu and gazu send ``file``,
    ``file-1``… in one request), each streamed into storage under its own
    ``tmp/<hex>`` key exactly as ``receive_upload`` streams one, and the small
    text fields (at most 1 MiB in all). Empty file parts are dropped."""
    limit = max_upload_bytes()
    if request.content_length is not None and request.content_length > limit:
        raise errors.TooLarge(f"File is too large (limit {limit} bytes)")
    if request.mimetype != "multipart/form-data":
        raise errors.Invalid("A multipart body with files is expected")
    boundary = (request.mimetype_params.get("boundary") or "").encode()
    if not boundary:
        raise errors.Invalid("Multipart body without a boundary")
    decoder = MultipartDecoder(boundary, max_form_memory_size=1024 * 1024, max_parts=max_files + 50)
    state = {"uploads": [], "fields": {}, "current": None, "field": None, "buf": bytearray(), "field_bytes": 0}
    try:
        done = False
        for chunk in _chunks(request, limit):
            decoder.receive_data(chunk)
            if _drain_files(decoder, state, max_files):
                done = True
                break
        if not done:
            decoder.receive_data(None)
            _drain_files(decoder, state, max_files)
        kept = []
        for up in state["uploads"]:
            if up.writer is not None:  # a part cut short: the body ended inside it
                raise errors.Invalid("Malformed multipart body")
            if up.size > 0:
                kept.append(up)
            else:
                up.discard()
        state["uploads"] = kept
        return kept, state["fields"]
    except BaseException:
        for up in state["uploads"]:
            up.discard()
        raise


def _drain_files(decoder, state, max_files) -> bool:
    while True:
        try:
            event = decoder.next_event()
        except Exception:  # noqa: BLE001 - werkzeug raises ValueError/413 on bad bodies
            raise errors.Invalid("Malformed multipart body") from None
        if isinstance(event, NeedData):
            return False
        if isinstance(event, Epilogue):
            return True
        if isinstance(event, File):
            if len(state["uploads"]) >= max_files:
                raise errors.Invalid(f"Too many files (at most {max_files})")
            up = _Upload()
            up.filename = event.filename or "upload.bin"
            up.content_type = event.headers.get("Content-Type") if event.headers else None
            state["uploads"].append(up)
            up.open()
            state["current"], state["field"] = up, None
        elif isinstance(event, Field):
            state["current"], state["field"] = None, event.name
            state["buf"] = bytearray()
        elif isinstance(event, Data):
            up = state["current"]
            if up is not None:
                up.writer.write(event.data)
                up.size += len(event.data)
                if not event.more_data:
                    up.commit()
                    state["current"] = None
            elif state["field"] is not None:
                state["field_bytes"] += len(event.data)
                if state["field_bytes"] > 1024 * 1024:
                    raise errors.TooLarge("Form fields are too large")
                state["buf"] += event.data
                if not event.more_data:
                    state["fields"][state["field"]] = bytes(state["buf"]).decode("utf-8", "replace")
                    state["field"] = None


def _mimetype(up) -> str | None:
    import mimetypes

    given = (getattr(up, "content_type", None) or "").split(";")[0].strip().lower()
    if given and given != "application/octet-stream" and re.match(r"^[a-z0-9.+-]+/[a-z0-9.+-]+$", given):
        return given
    return mimetypes.guess_type(up.filename or "")[0] or given or None


def _adopt(gw, uploads, area, context, ident=None) -> list[dict]:
    """Have the previews service (owner of the storage layout) move each
    upload to its final key. On failure nothing stays behind."""
    out = []
    try:
        for up in uploads:
            aid = ident or str(uuid.uuid4())
            res = gw.rpc.call("previews", "adopt_upload", {"key": up.key, "area": area, "ident": aid}, context,
                              timeout=120)
            out.append({"id": aid, "name": (up.filename or "file")[:250], "size": up.size,
                        "mimetype": _mimetype(up), "key": res["key"]})
    except BaseException:
        for up in uploads:
            up.discard()
        _forget([a["key"] for a in out])
        raise
    return out


def _forget(keys) -> None:
    for key in keys:
        try:
            store().delete(key)
        except Exception:  # noqa: BLE001 - best effort: an orphan file is harmless
            pass


# ---------------------------------------------------------------- frames (made by the previews service)
def _frame_timeout() -> float:
    return float(os.environ.get("PREVIEW_FRAME_TIME_LIMIT") or 120) + 15


def serve_extract(gw, route, request, args, claims, context):
    """GET /actions/preview-files/<id>/extract-*: the previews service makes
    the file (ffmpeg, Pillow) and stores it; the gateway streams it."""
    kwargs = {"preview_file_id": args["preview_file_id"], "query": {k: request.args.get(k) for k in request.args}}
    kwargs.update(route.fixed)
    info = gw.rpc.call("previews", route.rpc, kwargs, context, timeout=_frame_timeout())
    return _serve(request, info)


# ---------------------------------------------------------------- comment attachments
def serve_attachment(gw, route, request, args, claims, context):
    """GET /data/attachment-files/<id>/file/<file_name>: the tasks service
    checks access and names the key. Always a download (``attachment``) with
    ``nosniff``: the type is the uploader's, so nothing may render in our
    origin (Zou shows pictures inline; ``<img>`` tags ignore the disposition,
    so Kitsu still shows them). HTML and SVG are sent as octet-stream."""
    info = gw.rpc.call("tasks", "attachment_download",
                       {"attachment_file_id": args["attachment_file_id"], "file_name": args.get("file_name")},
                       context)
    if not info.get("key"):
        raise errors.NotFound("Attachment file not found")
    mimetype = (info.get("mimetype") or "").split(";")[0].strip().lower()
    if not re.match(r"^[a-z0-9.+-]+/[a-z0-9.+-]+$", mimetype) or mimetype in ("text/html", "image/svg+xml"):
        mimetype = "application/octet-stream"
    return _serve(request, {"key": info["key"], "content_type": mimetype, "filename": info.get("name") or "file",
                            "attachment": True}, max_age=3600)


def serve_attachment_thumbnail(gw, route, request, args, claims, context):
    """GET /pictures/thumbnails/attachment-files/<id>.png: access by the
    tasks service, the thumbnail made (once) by the previews service."""
    aid = args["attachment_file_id"]
    info = gw.rpc.call("tasks", "attachment_download", {"attachment_file_id": aid}, context)
    thumb = gw.rpc.call("previews", "attachment_thumbnail", {
        "attachment_file_id": aid, "key": info.get("key"), "mimetype": info.get("mimetype"),
        "name": info.get("name")}, context, timeout=60)
    return _serve(request, thumb, max_age=60)


def upload_attachments(gw, route, request, args, claims, context):
    """POST /actions/tasks/<task_id>/comments/<comment_id>/add-attachment:
    every file part streamed to storage, then the rows (201, the list)."""
    ids = {"task_id": args["task_id"], "comment_id": args["comment_id"]}
    gw.rpc.call("tasks", "authorize_add_attachments", ids, context)
    if request.mimetype != "multipart/form-data":
        return _json([], 201)  # Zou: no file part, nothing added
    uploads, _fields = receive_files(request)
    if not uploads:
        return _json([], 201)
    stored = _adopt(gw, uploads, "attachments", context)
    try:
        result = gw.rpc.call("tasks", "add_attachments", {**ids, "uploads": stored}, context, timeout=30)
    except BaseException:
        _forget([a["key"] for a in stored])
        raise
    return _json(result, 201)


def comment_with_files(gw, route, request, args, claims, context):
    """POST /actions/tasks/<task_id>/comment: JSON as any route, or (gazu's
    ``add_comment(..., attachments=[...])``, Kitsu) a multipart body whose
    fields are the comment and whose files become its attachments."""
    kwargs = {**args, **route.fixed, "query": {k: request.args.get(k) for k in request.args}}
    stored = []
    if request.mimetype != "multipart/form-data":
        # a JSON body: the gateway's usual limit (media routes lift it for files)
        if request.content_length is not None and request.content_length > gw.max_body:
            raise errors.TooLarge("Request body is too large")
        request.max_content_length = gw.max_body
        body = gw.read_body(route, request)
        if body is not None:
            kwargs["body"] = body
    else:
        uploads, fields = receive_files(request)
        stored = _adopt(gw, uploads, "attachments", context) if uploads else []
        kwargs.update({"body": fields, "uploads": stored})
    if route.idempotent and request.headers.get("Idempotency-Key"):
        kwargs["idempotency_key"] = request.headers["Idempotency-Key"][:200]
    try:
        result = gw.rpc.call(route.service, route.rpc, kwargs, context)
    except BaseException:
        _forget([a["key"] for a in stored])
        raise
    return _json(result, route.status)


# ---------------------------------------------------------------- working files
def upload_working_file(gw, route, request, args, claims, context):
    """POST /data/working-files/<id>/file: the bytes to storage (201, the working file)."""
    wid = args["working_file_id"]
    gw.rpc.call("files", "authorize_working_file_upload", {"working_file_id": wid}, context)
    up = receive_upload(request)
    stored = _adopt(gw, [up], "working-files", context, ident=wid)[0]
    result = gw.rpc.call("files", "set_working_file_binary",
                         {"working_file_id": wid, "key": stored["key"], "size": up.size}, context, timeout=30)
    return _json(result, 201)


def serve_working_file(gw, route, request, args, claims, context):
    """GET /data/working-files/<id>/file: the stored bytes, as a download."""
    info = gw.rpc.call("files", "working_file_download", {"working_file_id": args["working_file_id"]}, context)
    try:
        return _serve(request, info)
    except errors.NotFound:
        raise errors.NotFound(f"Working file not found for: {args['working_file_id']}") from None


# ---------------------------------------------------------------- shared review links (guests)
def serve_shared_info(gw, route, request, args, claims, context):
    """GET /shared/playlists/<token>/…: the previews service checks the link
    (the token is the access) and names the stored file; streamed from here."""
    info = gw.rpc.call(route.service, route.rpc, {**args, **route.fixed}, context)
    return _serve(request, info, max_age=600 if info.get("status", "ready") == "ready" else 0)


def upload_shared_attachments(gw, route, request, args, claims, context):
    """POST /shared/playlists/<token>/comments/<comment_id>/attachments: a
    guest's files (``guest_id`` as a form field or in the query string),
    streamed to storage; the previews service checks link and guest and
    moves them, the tasks service records them (201, the comment)."""
    from .handlers import shared_error

    uploads, fields = receive_files(request)
    stored = [{"key": up.key, "name": (up.filename or "file")[:250], "size": up.size, "mimetype": _mimetype(up)}
              for up in uploads]
    try:
        result = gw.rpc.call("previews", "shared_add_attachments", {
            "token": args["token"], "comment_id": args["comment_id"],
            "guest_id": fields.get("guest_id") or request.args.get("guest_id"), "uploads": stored}, context,
            timeout=60)
    except errors.SlateError as exc:
        for up in uploads:
            up.discard()
        return shared_error(exc)
    except BaseException:
        for up in uploads:
            up.discard()
        raise
    return _json(result, 201)
