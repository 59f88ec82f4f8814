"""Binary storage behind one small interface: a local directory or an
S3-compatible bucket (AWS S3, MinIO, Ceph RGW), chosen by ``STORAGE_BACKEND``.

Infrastructure only: keys are opaque, ``/``-separated strings; which keys
exist (the layout) is the business of the callers (the previews service's
``storage.py``, the gateway's ``media.py``). Every call streams: reads come
in chunks of ``CHUNK`` bytes, writes go out in parts of ``PART_SIZE`` bytes
(an S3 multipart upload), so a 2 GB movie never sits whole in memory.

``boto3`` is imported only when the S3 backend is configured; the packages
that may run with it (gateway, previews) declare it (ADR 0010).
"""

from __future__ import annotations

import os
import re
import shutil
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

from . import errors

CHUNK = 256 * 1024
PART_SIZE = 8 * 1024 * 1024  # S3 wants parts of at least 5 MiB (but the last)
_COPY_LIMIT = 5 * 1024 ** 3  # largest single CopyObject
_KEY = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*(/[A-Za-z0-9][A-Za-z0-9._-]*)*$")


def check_key(key) -> str:
    """Keys are relative, ``/``-separated, without ``..``, ``//`` or a leading
    dot or slash: nothing that could mean something else to a filesystem."""
    if not isinstance(key, str) or len(key) > 512 or not _KEY.match(key) or ".." in key:
        raise ValueError(f"bad storage key {key!r}")
    return key


@dataclass(frozen=True)
class Stat:
    size: int
    mtime: float  # seconds since the epoch
    etag: str  # quoted, ready for an ETag header


class Writer:
    """A streamed write to one key: ``write`` chunks, then ``commit``; on any
    failure ``abort`` leaves nothing behind. Used as a context manager it
    commits on success and aborts on an exception."""

    size = 0

    def write(self, data: bytes) -> None:  # pragma: no cover - interface
        raise NotImplementedError

    def commit(self) -> None:  # pragma: no cover - interface
        raise NotImplementedError

    def abort(self) -> None:  # pragma: no cover - interface
        raise NotImplementedError

    def __enter__(self):
        return self

    def __exit__(self, exc_type, exc, tb):
        if exc_type is None:
            self.commit()
        else:
            self.abort()
        return False


class BlobStore:
    """What both backends offer. Missing keys raise ``FileNotFoundError``
    (``stat`` returns None, ``delete`` is a no-op)."""

    name = "?"

    def writer(self, key: str) -> Writer:  # pragma: no cover - interface
        raise NotImplementedError

    def stat(self, key: str) -> Stat | None:  # pragma: no cover - interface
        raise NotImplementedError

    def read(self, key: str, start: int = 0, end: int | None = None) -> Iterator[bytes]:  # pragma: no cover
        """Bytes ``[start, end)`` of the object, in chunks."""
        raise NotImplementedError

    def delete(self, key: str) -> None:  # pragma: no cover - interface
        raise NotImplementedError

    def move(self, src: str, dest: str) -> None:  # pragma: no cover - interface
        raise NotImplementedError

    def sweep(self, prefix: str, older_than_seconds: float) -> int:  # pragma: no cover - interface
        """Delete objects under ``prefix`` older than the limit (and, on S3,
        abort multipart uploads started before it). Returns how many."""
        raise NotImplementedError

    def local_path(self, key: str) -> Path | None:
        """The file itself when the backend is a local directory."""
        return None

    # Derived operations, the same on both backends.
    def exists(self, key: str) -> bool:
        return self.stat(key) is not None

    def size(self, key: str) -> int:
        st = self.stat(key)
        if st is None:
            raise FileNotFoundError(key)
        return st.size

    def put_file(self, src: Path, key: str, move: bool = False, tick: Callable | None = None) -> None:
        with open(src, "rb") as fh, self.writer(key) as out:
            _pump(iter(lambda: fh.read(PART_SIZE), b""), out.write, tick)
        if move:
            Path(src).unlink(missing_ok=True)

    def get_file(self, key: str, dest: Path, tick: Callable | None = None) -> Path:
        dest = Path(dest)
        part = dest.with_name(dest.name + ".part")
        try:
            with open(part, "wb") as out:
                _pump(self.read(key), out.write, tick)
            os.replace(part, dest)
        finally:
            part.unlink(missing_ok=True)
        return dest


def _pump(chunks, write, tick, every: float = 2.0) -> None:
    last = time.monotonic()
    for chunk in chunks:
        write(chunk)
        if tick is not None and time.monotonic() - last >= every:
            tick()
            last = time.monotonic()


# ---------------------------------------------------------------- local
class LocalStore(BlobStore):
    name = "local"

    def __init__(self, root: Path):
        self.root = Path(root).resolve()

    def path(self, key: str) -> Path:
        p = (self.root / check_key(key)).resolve()
        if self.root not in p.parents:
            raise ValueError("key escapes the storage root")
        return p

    def local_path(self, key: str) -> Path | None:
        return self.path(key)

    def writer(self, key: str) -> Writer:
        return _LocalWriter(self.path(key))

    def stat(self, key: str) -> Stat | None:
        p = self.path(key)
        try:
            st = p.stat()
        except (FileNotFoundError, NotADirectoryError):
            return None
        if not p.is_file():
            return None
        return Stat(st.st_size, st.st_mtime, f'"{st.st_mtime_ns:x}-{st.st_size:x}"')

    def read(self, key: str, start: int = 0, end: int | None = None) -> Iterator[bytes]:
        fh = open(self.path(key), "rb")  # FileNotFoundError now, not at the first next()
        return _file_range(fh, start, end)

    def delete(self, key: str) -> None:
        try:
            self.path(key).unlink()
        except FileNotFoundError:
            pass

    def move(self, src: str, dest: str) -> None:
        s, d = self.path(src), self.path(dest)
        if not s.is_file():
            raise FileNotFoundError(src)
        d.parent.mkdir(parents=True, exist_ok=True)
        tmp = d.with_name(d.name + f".{uuid.uuid4().hex}.part")
        shutil.move(str(s), tmp)
        os.replace(tmp, d)  # readers never see a half-written file

    def put_file(self, src: Path, key: str, move: bool = False, tick: Callable | None = None) -> None:
        dest = self.path(key)
        dest.parent.mkdir(parents=True, exist_ok=True)
        tmp = dest.with_name(dest.name + f".{uuid.uuid4().hex}.part")
        if move:
            shutil.move(str(src), tmp)
        else:
            shutil.copyfile(src, tmp)
        os.replace(tmp, dest)

    def sweep(self, prefix: str, older_than_seconds: float) -> int:
        """Files under ``prefix`` (at any depth, as S3 objects are) older than
        the limit, and the directories they leave empty."""
        parent = self.root / check_key(prefix.strip("/"))
        cutoff = time.time() - older_than_seconds
        removed = 0
        if not parent.is_dir():
            return 0
        for dirpath, _dirs, filenames in os.walk(parent, topdown=False):
            for name in filenames:
                entry = Path(dirpath) / name
                try:
                    if entry.stat().st_mtime < cutoff:
                        entry.unlink()
                        removed += 1
                except FileNotFoundError:
                    continue
            if Path(dirpath) != parent:
                try:
                    os.rmdir(dirpath)  # only if empty
                except OSError:
                    pass
        return removed


class _LocalWriter(Writer):
    def __init__(self, dest: Path):
        self.dest = dest
        dest.parent.mkdir(parents=True, exist_ok=True)
        self.tmp = dest.with_name(dest.name + f".{uuid.uuid4().hex}.part")
        self.fh = open(self.tmp, "wb")
        self.size = 0

    def write(self, data: bytes) -> None:
        self.fh.write(data)
        self.size += len(data)

    def commit(self) -> None:
        self.fh.close()
        os.replace(self.tmp, self.dest)

    def abort(self) -> None:
        self.fh.close()
        self.tmp.unlink(missing_ok=True)


def _file_range(fh, start: int, end: int | None) -> Iterator[bytes]:
    try:
        fh.seek(start)
        remaining = None if end is None else max(0, end - start)
        while remaining is None or remaining > 0:
            chunk = fh.read(CHUNK if remaining is None else min(CHUNK, remaining))
            if not chunk:
                break
            if remaining is not None:
                remaining -= len(chunk)
            yield chunk
    finally:
        fh.close()


# ---------------------------------------------------------------- S3
class S3Store(BlobStore):
    """Objects in one bucket of an S3-compatible server. Path-style
    addressing and checksums only where required, so MinIO and Ceph RGW
    work as well as AWS."""

    name = "s3"

    def __init__(self, bucket: str, endpoint_url: str | None = None, region: str | None = None,
                 access_key: str | None = None, secret_key: str | None = None):
        import boto3
        from botocore.config import Config

        if not bucket:
            raise ValueError("S3_BUCKET is required when STORAGE_BACKEND=s3")
        self.bucket = bucket
        cfg = dict(signature_version="s3v4", s3={"addressing_style": "path"}, max_pool_connections=32,
                   retries={"max_attempts": 4, "mode": "standard"}, connect_timeout=10, read_timeout=60)
        try:
            config = Config(**cfg, request_checksum_calculation="when_required",
                            response_checksum_validation="when_required")
        except TypeError:  # botocore older than 1.36
            config = Config(**cfg)
        # A session of its own: boto3's default session is not thread-safe;
        # the client is, and is shared by the gateway's threads.
        self.client = _Guarded(boto3.session.Session().client(
            "s3", endpoint_url=endpoint_url or None, region_name=region or None,
            aws_access_key_id=access_key or None, aws_secret_access_key=secret_key or None, config=config))

    @staticmethod
    def _missing(exc) -> bool:
        code = str(getattr(exc, "response", {}).get("Error", {}).get("Code", ""))
        return code in ("404", "NoSuchKey", "NotFound", "NoSuchUpload")

    def writer(self, key: str) -> Writer:
        return _S3Writer(self, check_key(key))

    def stat(self, key: str) -> Stat | None:
        from botocore.exceptions import ClientError

        try:
            head = self.client.head_object(Bucket=self.bucket, Key=check_key(key))
        except ClientError as exc:
            if self._missing(exc):
                return None
            raise
        etag = head.get("ETag") or f'"{head["ContentLength"]:x}"'
        return Stat(int(head["ContentLength"]), head["LastModified"].timestamp(), '"' + etag.strip('"') + '"')

    def read(self, key: str, start: int = 0, end: int | None = None) -> Iterator[bytes]:
        from botocore.exceptions import ClientError

        args = {"Bucket": self.bucket, "Key": check_key(key)}
        if end is not None and end <= start:
            return iter(())
        if start or end is not None:
            args["Range"] = f"bytes={start}-{'' if end is None else end - 1}"
        try:
            body = self.client.get_object(**args)["Body"]
        except ClientError as exc:
            if self._missing(exc):
                raise FileNotFoundError(key) from None
            code = exc.response.get("Error", {}).get("Code")
            if code == "InvalidRange":
                return iter(())
            raise
        return _body_chunks(body)

    def delete(self, key: str) -> None:
        self.client.delete_object(Bucket=self.bucket, Key=check_key(key))

    def move(self, src: str, dest: str) -> None:
        st = self.stat(src)
        if st is None:
            raise FileNotFoundError(src)
        source = {"Bucket": self.bucket, "Key": check_key(src)}
        if st.size <= _COPY_LIMIT:
            self.client.copy_object(Bucket=self.bucket, Key=check_key(dest), CopySource=source)
        else:
            self._copy_multipart(source, dest, st.size)
        self.delete(src)

    def _copy_multipart(self, source, dest, size, part=1024 ** 3):
        up = self.client.create_multipart_upload(Bucket=self.bucket, Key=dest)["UploadId"]
        try:
            parts = []
            for n, offset in enumerate(range(0, size, part), start=1):
                r = self.client.upload_part_copy(
                    Bucket=self.bucket, Key=dest, UploadId=up, PartNumber=n, CopySource=source,
                    CopySourceRange=f"bytes={offset}-{min(offset + part, size) - 1}")
                parts.append({"PartNumber": n, "ETag": r["CopyPartResult"]["ETag"]})
            self.client.complete_multipart_upload(Bucket=self.bucket, Key=dest, UploadId=up,
                                                  MultipartUpload={"Parts": parts})
        except BaseException:
            self.client.abort_multipart_upload(Bucket=self.bucket, Key=dest, UploadId=up)
            raise

    def sweep(self, prefix: str, older_than_seconds: float) -> int:
        prefix = check_key(prefix.strip("/")) + "/"
        cutoff = time.time() - older_than_seconds
        removed = 0
        args = {"Bucket": self.bucket, "Prefix": prefix}
        while True:
            page = self.client.list_objects_v2(**args)
            for obj in page.get("Contents") or []:
                if obj["LastModified"].timestamp() < cutoff:
                    self.client.delete_object(Bucket=self.bucket, Key=obj["Key"])
                    removed += 1
            if not page.get("IsTruncated"):
                break
            args["ContinuationToken"] = page["NextContinuationToken"]
        for up in self.multipart_uploads(prefix):
            if up["Initiated"].timestamp() < cutoff:
                self.client.abort_multipart_upload(Bucket=self.bucket, Key=up["Key"], UploadId=up["UploadId"])
                removed += 1
        return removed

    def multipart_uploads(self, prefix: str = "") -> list[dict]:
        out, args = [], {"Bucket": self.bucket, "Prefix": prefix}
        while True:
            page = self.client.list_multipart_uploads(**args)
            out.extend(page.get("Uploads") or [])
            if not page.get("IsTruncated"):
                return out
            args.update(KeyMarker=page.get("NextKeyMarker"), UploadIdMarker=page.get("NextUploadIdMarker"))


_OUTAGE_CODES = {"NoSuchBucket", "AccessDenied", "InvalidAccessKeyId", "SignatureDoesNotMatch",
                 "ServiceUnavailable", "SlowDown", "InternalError"}


class _Guarded:
    """The boto3 client, with an unreachable or misconfigured server turned
    into ``errors.Unavailable`` (503 at the gateway, retry in a job) instead
    of a crash. The details go to the log, not to clients."""

    def __init__(self, client):
        self._client = client

    def __getattr__(self, name):
        attr = getattr(self._client, name)
        if name.startswith("_") or name in ("meta", "exceptions", "get_paginator") or not callable(attr):
            return attr

        def call(*args, **kwargs):
            try:
                return attr(*args, **kwargs)
            except Exception as exc:
                if _is_outage(exc):
                    import logging

                    logging.getLogger(__name__).error("S3 %s failed: %s", name, exc)
                    raise errors.Unavailable("Storage is unavailable") from exc
                raise
        return call


def _is_outage(exc) -> bool:
    from botocore.exceptions import BotoCoreError, ClientError

    if isinstance(exc, BotoCoreError):  # connection refused, timeouts, no credentials
        return True
    if isinstance(exc, ClientError):
        err = exc.response.get("Error", {})
        status = exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode") or 0
        return err.get("Code") in _OUTAGE_CODES or status >= 500
    return False


class _S3Writer(Writer):
    """One part buffered at most: a single PutObject when the whole body fits
    in one part, a multipart upload otherwise (aborted on failure)."""

    def __init__(self, store: S3Store, key: str):
        self.store, self.key = store, key
        self.buf = bytearray()
        self.upload_id = None
        self.parts: list[dict] = []
        self.size = 0

    def write(self, data: bytes) -> None:
        self.buf += data
        self.size += len(data)
        while len(self.buf) >= PART_SIZE:
            self._part(bytes(self.buf[:PART_SIZE]))
            del self.buf[:PART_SIZE]

    def _part(self, data: bytes) -> None:
        c = self.store.client
        if self.upload_id is None:
            self.upload_id = c.create_multipart_upload(Bucket=self.store.bucket, Key=self.key)["UploadId"]
        n = len(self.parts) + 1
        r = c.upload_part(Bucket=self.store.bucket, Key=self.key, UploadId=self.upload_id, PartNumber=n, Body=data)
        self.parts.append({"PartNumber": n, "ETag": r["ETag"]})

    def commit(self) -> None:
        c = self.store.client
        try:
            if self.upload_id is None:
                c.put_object(Bucket=self.store.bucket, Key=self.key, Body=bytes(self.buf))
            else:
                if self.buf or not self.parts:
                    self._part(bytes(self.buf))
                c.complete_multipart_upload(Bucket=self.store.bucket, Key=self.key, UploadId=self.upload_id,
                                            MultipartUpload={"Parts": self.parts})
        except BaseException:
            self.abort()
            raise
        self.buf = bytearray()

    def abort(self) -> None:
        self.buf = bytearray()
        if self.upload_id is not None:
            upload_id, self.upload_id = self.upload_id, None
            try:
                self.store.client.abort_multipart_upload(Bucket=self.store.bucket, Key=self.key,
                                                         UploadId=upload_id)
            except Exception:  # noqa: BLE001 - the sweep aborts it later
                pass


def _body_chunks(body) -> Iterator[bytes]:
    try:
        yield from body.iter_chunks(CHUNK)
    finally:
        body.close()


# ---------------------------------------------------------------- choice
_CACHE: dict = {}
_LOCK = threading.Lock()
_S3_VARS = ("S3_BUCKET", "S3_ENDPOINT_URL", "S3_REGION", "S3_ACCESS_KEY", "S3_SECRET_KEY")


def backend_name() -> str:
    name = (os.environ.get("STORAGE_BACKEND") or "local").strip().lower()
    if name not in ("local", "s3"):
        raise ValueError(f"STORAGE_BACKEND must be local or s3, not {name!r}")
    return name


def from_env(local_root: Path) -> BlobStore:
    """The configured backend (one per process and configuration)."""
    name = backend_name()
    ident = (name, str(local_root)) if name == "local" else (name, *(os.environ.get(v) or "" for v in _S3_VARS))
    store = _CACHE.get(ident)
    if store is None:
        with _LOCK:
            store = _CACHE.get(ident)
            if store is None:
                if name == "local":
                    store = LocalStore(local_root)
                else:
                    env = {v: os.environ.get(v) or None for v in _S3_VARS}
                    store = S3Store(env["S3_BUCKET"], env["S3_ENDPOINT_URL"], env["S3_REGION"],
                                    env["S3_ACCESS_KEY"], env["S3_SECRET_KEY"])
                _CACHE[ident] = store
    return store
