#!/usr/bin/env python3
"""Previews benchmark: Slate vs. the reference Zou, side by side.

Scenarios, against every target:

* ``thumbnail``  -- ``GET /pictures/thumbnails/preview-files/<id>.png`` at
                    ``--concurrency`` (default 32): rps and p99.
* ``movie``      -- upload-to-ready time of a 10-second 1080p H.264 clip
                    (``add-preview`` + upload + wait until ``ready``).
* ``picture``    -- upload-to-ready time of a 4K PNG.
* ``bigupload``  -- peak RSS of the server's processes (found by their
                    listening port) while a ``--big-mb`` (default 1024) file
                    is streamed as a multipart upload with a Content-Length.
                    Slate's gateway must run with ``MAX_BODY_BYTES`` above the
                    upload size (see bench/README.md).

Each target gets its own project, asset, task and comment through gazu.

    python bench/bench_previews.py --slate http://127.0.0.1:8080 --password ... --zou
    python bench/bench_previews.py --no-slate --zou --scenarios thumbnail,picture

Only loopback URLs are accepted; results go to ``bench/out/previews-*.json``.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path
from urllib.parse import urlsplit

import requests

sys.path.insert(0, str(Path(__file__).resolve().parent))
from harness import DEFAULT_OUT_DIR, BenchError, Target, compare, measure  # noqa: E402

SCENARIOS = ("thumbnail", "movie", "picture", "bigupload")


def log(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


def world(target: Target) -> dict:
    import gazu

    client = gazu.client.create_client(target.base_url)
    gazu.log_in(target.email, target.password, client=client)
    n = uuid.uuid4().hex[:6]
    project = gazu.project.new_project(f"Bench previews {n}", client=client)
    asset_type = gazu.asset.new_asset_type(f"Bench {n}", client=client)
    asset = gazu.asset.new_asset(project, asset_type, f"Asset {n}", client=client)
    task_type = gazu.task.new_task_type(f"BenchTT {n}", client=client)
    task = gazu.task.new_task(asset, task_type, client=client)
    status = gazu.task.get_task_status_by_short_name("wip", client=client) or gazu.task.all_task_statuses(client=client)[0]
    comment = gazu.task.add_comment(task, status, "bench", client=client)
    return {"client": client, "task": task, "comment": comment}


def add_preview(target: Target, w: dict) -> str:
    s = target.session()
    r = s.post(target.url(f"/actions/tasks/{w['task']['id']}/comments/{w['comment']['id']}/add-preview"), json={},
               timeout=60)
    r.raise_for_status()
    return r.json()["id"]


def upload_to_ready(target: Target, w: dict, path: Path, timeout: float = 600) -> dict:
    s = target.session()
    started = time.perf_counter()
    pid = add_preview(target, w)
    with open(path, "rb") as fh:
        r = s.post(target.url(f"/pictures/preview-files/{pid}"), files={"file": (path.name, fh)}, timeout=timeout)
    uploaded = time.perf_counter() - started
    if r.status_code >= 400:
        return {"ok": False, "status": r.status_code, "body": r.text[:200]}
    status = "processing"
    while time.perf_counter() - started < timeout:
        status = s.get(target.url(f"/data/preview-files/{pid}"), timeout=30).json().get("status")
        if status != "processing":
            break
        time.sleep(0.2)
    return {"ok": status == "ready", "status": status, "upload_s": round(uploaded, 2),
            "ready_s": round(time.perf_counter() - started, 2), "preview_file_id": pid}


# ---------------------------------------------------------------- memory
def listening_pids(port: int) -> set[int]:
    """Processes holding a listening socket on ``port`` (server and workers)."""
    inodes = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            lines = Path(table).read_text().splitlines()[1:]
        except OSError:
            continue
        for line in lines:
            parts = line.split()
            if parts[3] == "0A" and int(parts[1].rsplit(":", 1)[1], 16) == port:
                inodes.add(parts[9])
    pids = set()
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            for fd in (proc / "fd").iterdir():
                link = os.readlink(fd)
                if link.startswith("socket:[") and link[8:-1] in inodes:
                    pids.add(int(proc.name))
                    break
        except OSError:
            continue
    return pids


def rss_mb(pids: set[int]) -> float:
    total = 0
    for pid in pids:
        try:
            for line in Path(f"/proc/{pid}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    total += int(line.split()[1])
        except OSError:
            pass
    return total / 1024


class _Body:
    """A file-like multipart body of ``size`` random bytes, generated while
    read: the client never holds it either, and requests sends a
    Content-Length (not chunked) because it has a length."""

    def __init__(self, size: int, boundary: str, filename: str):
        self.head = (f"--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"{filename}\"\r\n"
                     "Content-Type: application/octet-stream\r\n\r\n").encode()
        self.tail = f"\r\n--{boundary}--\r\n".encode()
        self.size = size
        self.length = len(self.head) + size + len(self.tail)
        self.pos = 0
        self.chunk = os.urandom(1024 * 1024)

    def __len__(self):
        return self.length

    def read(self, n: int = -1) -> bytes:
        if n is None or n < 0:
            n = 1024 * 1024
        out = bytearray()
        while len(out) < n and self.pos < self.length:
            want = n - len(out)
            if self.pos < len(self.head):
                part = self.head[self.pos:self.pos + want]
            elif self.pos < len(self.head) + self.size:
                left = len(self.head) + self.size - self.pos
                part = self.chunk[: min(want, left, len(self.chunk))]
            else:
                off = self.pos - len(self.head) - self.size
                part = self.tail[off:off + want]
            out += part
            self.pos += len(part)
        return bytes(out)


def multipart_stream(size: int, boundary: str, filename: str):
    body = _Body(size, boundary, filename)
    return body.length, body


def big_upload(target: Target, w: dict, size_mb: int) -> dict:
    port = urlsplit(target.base_url).port or 80
    pids = listening_pids(port)
    if not pids:
        return {"ok": False, "error": f"no process found listening on port {port} (run as the same user)"}
    baseline = rss_mb(pids)
    peak = [baseline]
    stop = threading.Event()

    def sample():
        while not stop.is_set():
            peak[0] = max(peak[0], rss_mb(pids | listening_pids(port)))
            time.sleep(0.05)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    pid = add_preview(target, w)
    boundary = uuid.uuid4().hex
    length, body = multipart_stream(size_mb * 1024 * 1024, boundary, "big.zip")
    started = time.perf_counter()
    try:
        r = target.session().post(target.url(f"/pictures/preview-files/{pid}"), data=body, timeout=3600,
                                  headers={"Content-Type": f"multipart/form-data; boundary={boundary}"})
        status = r.status_code
        if status >= 400:
            log(f"[{target.name}] big upload refused: {r.text[:200]}")
    except requests.RequestException as exc:
        status = f"error: {exc}"
    elapsed = time.perf_counter() - started
    stop.set()
    sampler.join()
    return {"ok": status in (200, 201), "status": status, "seconds": round(elapsed, 2),
            "rss_baseline_mb": round(baseline, 1), "rss_peak_mb": round(peak[0], 1),
            "rss_growth_mb": round(peak[0] - baseline, 1), "mb_per_s": round(size_mb / elapsed, 1)}


# ---------------------------------------------------------------- media
def make_movie(path: Path) -> Path:
    subprocess.run(["ffmpeg", "-y", "-v", "error", "-f", "lavfi", "-i", "testsrc2=size=1920x1080:rate=25:duration=10",
                    "-f", "lavfi", "-i", "sine=frequency=440:duration=10", "-c:v", "libx264", "-preset", "veryfast",
                    "-pix_fmt", "yuv420p", "-c:a", "aac", "-shortest", str(path)], check=True, timeout=600)
    return path


def make_4k_png(path: Path) -> Path:
    from PIL import Image

    im = Image.effect_noise((3840, 2160), 64).convert("RGB")
    im.save(path, "PNG", compress_level=1)
    return path


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--slate", default="http://127.0.0.1:8080")
    p.add_argument("--no-slate", action="store_true")
    p.add_argument("--email", default=os.environ.get("ADMIN_EMAIL", "admin@example.com"))
    p.add_argument("--password", default=os.environ.get("ADMIN_PASSWORD"))
    p.add_argument("--zou", nargs="?", const="http://127.0.0.1:5000", default=None)
    p.add_argument("--zou-email", default="admin@example.com")
    p.add_argument("--zou-password", default="reference-admin-pass")
    p.add_argument("--scenarios", default=",".join(SCENARIOS))
    p.add_argument("--concurrency", type=int, default=32)
    p.add_argument("--duration", type=float, default=10.0)
    p.add_argument("--big-mb", type=int, default=1024)
    p.add_argument("--start-slate", action="store_true",
                   help="start a throwaway Slate (own database and vhost, like the test suite) and bench it")
    p.add_argument("--name", default="previews")
    p.add_argument("--out-dir", default=str(DEFAULT_OUT_DIR))
    args = p.parse_args(argv)
    scenarios = [s.strip() for s in args.scenarios.split(",") if s.strip()]
    if args.start_slate:
        with throwaway_slate(args.big_mb) as (url, password):
            args.slate, args.password = url, password
            return run(args, scenarios)
    return run(args, scenarios)


def throwaway_slate(big_mb: int):
    """The whole suite as processes on a fresh database and vhost (as the
    tests do), the gateway allowed bodies above the big upload."""
    import contextlib

    @contextlib.contextmanager
    def cm():
        root = Path(__file__).resolve().parents[1]
        sys.path.insert(0, str(root))
        import eventlet  # noqa: F401 - slatekit.testing imports nameko bits

        from slatekit import testing
        from tests import conftest

        env = testing.make_test_env()
        env["MAX_BODY_BYTES"] = str((big_mb + 16) * 1024 * 1024)
        env["LOG_LEVEL"] = "WARNING"
        logs = Path(tempfile.mkdtemp(prefix="bench-slate-logs-"))
        suite = conftest.Suite(env, logs)
        try:
            for name in conftest.service_names():
                suite.start_service(name)
            suite.start_gateway()
            for name in conftest.service_names():
                suite.wait_rpc(name)
            suite.wait_ready()
            from slatekit.rpc_client import RpcPool

            pool = RpcPool(env["AMQP_URI"])
            pool.call("auth", "set_password", {"email": conftest.ADMIN_EMAIL, "password": conftest.ADMIN_PASSWORD},
                      {"role": "admin"}, timeout=30)
            pool.close()
            log(f"throwaway Slate at {suite.url} (logs {logs})")
            yield suite.url, conftest.ADMIN_PASSWORD
        finally:
            suite.stop()
            testing.drop_test_env(env)

    return cm()


def run(args, scenarios) -> int:
    targets = []
    if not args.no_slate:
        if not args.password:
            raise SystemExit("Slate admin password missing: --password or ADMIN_PASSWORD")
        targets.append(Target("slate", args.slate, args.email, args.password, timeout_s=600))
    if args.zou:
        targets.append(Target("zou", args.zou, args.zou_email, args.zou_password, timeout_s=600))
    if not targets:
        raise SystemExit("nothing to benchmark")
    results = {t.name: [] for t in targets}
    extra = {t.name: {} for t in targets}
    try:
        with tempfile.TemporaryDirectory(prefix="bench-previews-") as tmp:
            tmp = Path(tmp)
            worlds = {t.name: world(t) for t in targets}
            for t in targets:
                t.login()
            if "thumbnail" in scenarios:
                png = tmp / "small.png"
                from PIL import Image

                Image.new("RGB", (640, 360), (30, 120, 200)).save(png)
                for t in targets:
                    res = upload_to_ready(t, worlds[t.name], png)
                    pid = res["preview_file_id"]
                    url = t.url(f"/pictures/thumbnails/preview-files/{pid}.png")
                    r = measure(t, "thumbnail", lambda s, url=url: s.get(url, timeout=30), args.concurrency,
                                duration_s=args.duration)
                    results[t.name].append(r)
                    log(f"[{t.name}] thumbnail c={args.concurrency} rps={r['rps']} p99={r['p99_ms']}ms err={r['errors']}")
            if "picture" in scenarios:
                png = make_4k_png(tmp / "uhd.png")
                for t in targets:
                    extra[t.name]["picture_4k"] = upload_to_ready(t, worlds[t.name], png)
                    log(f"[{t.name}] 4K PNG: {extra[t.name]['picture_4k']}")
            if "movie" in scenarios:
                mov = make_movie(tmp / "hd10s.mp4")
                for t in targets:
                    extra[t.name]["movie_1080p_10s"] = upload_to_ready(t, worlds[t.name], mov)
                    log(f"[{t.name}] 10 s 1080p movie: {extra[t.name]['movie_1080p_10s']}")
            if "bigupload" in scenarios:
                for t in targets:
                    extra[t.name]["big_upload"] = big_upload(t, worlds[t.name], args.big_mb)
                    log(f"[{t.name}] {args.big_mb} MB upload: {extra[t.name]['big_upload']}")
    except (BenchError, requests.RequestException) as exc:
        log(f"error: {exc}")
        return 2
    meta = {"targets": {t.name: t.base_url for t in targets}, "scenarios": scenarios,
            "concurrency": args.concurrency, "duration_s": args.duration, "big_mb": args.big_mb, "timings": extra}
    compare(results.get("slate", []), results.get("zou", []), name=args.name, out_dir=args.out_dir, meta=meta)
    for name, values in extra.items():
        for key, value in values.items():
            print(f"{name:6} {key:16} {value}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
