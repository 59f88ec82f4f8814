"""Where preview binaries live: a local directory (``STORAGE_DIR``, default
``<repo>/var/storage``).

Key layout (the gateway's ``media.py`` resolves the same keys; keep both in
step): ``<area>/<id[0:2]>/<id[2:4]>/<id>[.<ext>]`` where ``area`` is one of
``AREAS``, ``id`` a UUID and ``ext`` one of the extensions the server chose.
Uploads arrive as ``tmp/<uuid>``. No client-supplied name is ever part of a
key, so nothing can escape the root.
"""

from __future__ import annotations

import os
import re
import shutil
import uuid
from pathlib import Path

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


def path(k: str) -> Path:
    p = (root() / k).resolve()
    if root() not in p.parents:
        raise ValueError("key escapes the storage root")
    return p


def is_upload_key(k) -> bool:
    return isinstance(k, str) and bool(_TMP.match(k))


def put_file(src: Path, k: str, move: bool = False) -> Path:
    dest = path(k)
    dest.parent.mkdir(parents=True, exist_ok=True)
    tmp = dest.with_name(dest.name + f".{uuid.uuid4().hex}.part")
    if move:
        shutil.move(str(src), tmp)
    else:
        shutil.copyfile(src, tmp)
    os.replace(tmp, dest)  # readers never see a half-written file
    return dest


def exists(k: str) -> bool:
    return path(k).is_file()


def delete(k: str) -> None:
    try:
        path(k).unlink()
    except FileNotFoundError:
        pass


def size(k: str) -> int:
    return path(k).stat().st_size


def scratch_dir() -> Path:
    d = root() / "work" / uuid.uuid4().hex
    d.mkdir(parents=True, exist_ok=True)
    return d


def sweep(older_than_seconds: float) -> int:
    """Delete scratch directories and abandoned uploads older than the limit
    (a worker or gateway killed mid-way leaves them behind)."""
    import time

    cutoff = time.time() - older_than_seconds
    removed = 0
    for parent in (root() / "work", root() / "tmp"):
        if not parent.is_dir():
            continue
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
    return removed
