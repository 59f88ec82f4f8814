"""Where preview binaries live: a local directory (``STORAGE_DIR``, default
``<repo>/var/storage``) or, with ``STORAGE_BACKEND=s3``, a bucket of an
S3-compatible server (``S3_*`` settings). Both behind ``slatekit.blobstore``.

Key layout (the gateway's ``media.py`` resolves the same keys; keep both in
step): ``<area>/<id[0:2]>/<id[2:4]>/<id>[.<ext>]`` where ``area`` is one of
``AREAS``, ``id`` a UUID and ``ext`` one of the extensions the server chose.
Uploads arrive as ``tmp/<uuid>``. No client-supplied name is ever part of a
key, so nothing can escape the root.

Pillow and ffmpeg need files: they work in a local scratch directory
(``scratch_dir()``); ``local_file`` gives them a stored object there (the
file itself on the local backend, a streamed download on S3) and
``put_file`` streams their outputs back.
"""

from __future__ import annotations

import logging
import os
import re
import shutil
import tempfile
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

from slatekit import blobstore, errors

AREAS = (
    "source",  # the file as uploaded
    "original",  # normalised: picture as png, movie as H.264 mp4
    "previews",  # picture preview size (png)
    "thumbnails",  # thumbnail (png)
    "thumbnails-square",  # square thumbnail (png)
    "lowdef",  # low definition movie (mp4)
    "tiles",  # movie scrubbing tiles (png)
    "avatars",  # persons, organisations, projects thumbnails (png)
    "backgrounds",  # preview background files
    "builds",  # playlist builds (mp4, zip)
    "frames",  # extracted frames, annotated frames and their zip/pdf (a cache, swept)
    "attachments",  # comment attachments (tasks service's rows; bytes as uploaded)
    "working-files",  # working file binaries (files service's rows; bytes as uploaded)
)
_EXT = re.compile(r"^[a-z0-9]{1,8}$")
_TMP = re.compile(r"^tmp/[0-9a-f]{32}$")


def root() -> Path:
    configured = os.environ.get("STORAGE_DIR")
    if configured:
        return Path(configured).resolve()
    return (Path(__file__).resolve().parents[3] / "var" / "storage").resolve()


def key(area: str, ident: str, ext: str | None = None) -> str:
    if area not in AREAS:
        raise ValueError(f"unknown storage area {area}")
    ident = str(uuid.UUID(str(ident)))
    if ext is not None and not _EXT.match(ext):
        raise ValueError(f"bad extension {ext!r}")
    name = ident + (f".{ext}" if ext else "")
    return f"{area}/{ident[:2]}/{ident[2:4]}/{name}"


def store() -> blobstore.BlobStore:
    return blobstore.from_env(root())


def path(k: str) -> Path:
    """The file of a key on the local backend (S3 has none: use ``local_file``)."""
    p = (root() / k).resolve()
    if root() not in p.parents:
        raise ValueError("key escapes the storage root")
    return p


def is_upload_key(k) -> bool:
    return isinstance(k, str) and bool(_TMP.match(k))


def put_file(src: Path, k: str, move: bool = False, tick: Callable | None = None) -> str:
    """Store a local file under ``k`` (readers never see half of it)."""
    store().put_file(Path(src), k, move=move, tick=tick)
    return k


def move(src_key: str, dest_key: str) -> None:
    store().move(src_key, dest_key)


def local_file(k: str, work: Path, tick: Callable | None = None) -> Path:
    """A local path to read ``k`` from: the stored file itself (local
    backend: never modify it) or a copy streamed into ``work`` (S3; removed
    with the scratch directory)."""
    st = store()
    own = st.local_path(k)
    if own is not None:
        if not own.is_file():
            raise FileNotFoundError(k)
        return own
    return st.get_file(k, Path(work) / f"in-{uuid.uuid4().hex[:8]}{Path(k).suffix}", tick=tick)


def read(k: str) -> Iterator[bytes]:
    return store().read(k)


def exists(k: str) -> bool:
    return store().exists(k)


def delete(k: str) -> None:
    store().delete(k)


def size(k: str) -> int:
    return store().size(k)


def scratch_root() -> Path:
    """Local working space: ``SCRATCH_DIR``, else ``<STORAGE_DIR>/work`` on the
    local backend (same filesystem: outputs are renamed in, not copied) or
    ``<system temp>/slate-work`` with S3 (nothing under STORAGE_DIR)."""
    configured = os.environ.get("SCRATCH_DIR")
    if configured:
        return Path(configured).resolve()
    if blobstore.backend_name() == "local":
        return root() / "work"
    return Path(tempfile.gettempdir()).resolve() / "slate-work"


def scratch_dir() -> Path:
    d = scratch_root() / uuid.uuid4().hex
    d.mkdir(parents=True, exist_ok=True)
    return d


def sweep(older_than_seconds: float) -> int:
    """Delete scratch directories and abandoned uploads older than the limit
    (a worker or gateway killed mid-way leaves them behind); on S3 also
    abort multipart uploads started before it."""
    import time

    cutoff = time.time() - older_than_seconds
    removed = 0
    parent = scratch_root()
    if parent.is_dir():
        for entry in parent.iterdir():
            try:
                if entry.stat().st_mtime >= cutoff:
                    continue
                if entry.is_dir():
                    shutil.rmtree(entry, ignore_errors=True)
                else:
                    entry.unlink()
                removed += 1
            except FileNotFoundError:
                continue
    try:
        return removed + store().sweep("tmp", older_than_seconds)
    except errors.Unavailable:  # storage down: the next sweep tries again; jobs must still run
        logging.getLogger(__name__).warning("storage sweep skipped: storage unavailable")
        return removed
