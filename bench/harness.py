"""Small, dependency-light load harness for comparing Slate against Zou.

Only the standard library and ``requests`` are used.

* :class:`Target` names one API instance (base URL + credentials). It logs in
  once with ``POST {base}/auth/login`` and hands every worker thread its own
  :class:`requests.Session` carrying ``Authorization: Bearer <token>``.
* :func:`measure` runs a *bounded* load (by request count, by wall-clock
  duration, or both -- whichever is reached first) with N threads, each
  calling ``make_request(session) -> requests.Response`` in a loop, and returns
  throughput / latency figures.
* :func:`compare` prints a Slate-vs-Zou table and writes the same data as JSON
  to ``bench/out/<name>-<timestamp>.json``.

Safety: every URL must point at the loopback interface (``127.0.0.1``,
``localhost`` or ``::1``). This is checked when a :class:`Target` is built and
again by a transport adapter mounted on every session, so a ``make_request``
callback (or a redirect) cannot reach any other host.
"""

from __future__ import annotations

import datetime as _dt
import http.cookiejar
import json
import math
import os
import platform
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import requests
from requests.adapters import HTTPAdapter

__all__ = [
    "LOOPBACK_HOSTS",
    "BenchError",
    "Result",
    "Target",
    "assert_loopback",
    "compare",
    "measure",
]

LOOPBACK_HOSTS: frozenset[str] = frozenset({"127.0.0.1", "localhost", "::1"})
DEFAULT_OUT_DIR: Path = Path(__file__).resolve().parent / "out"

Result = dict[str, Any]
MakeRequest = Callable[[requests.Session], requests.Response]


class BenchError(RuntimeError):
    """Raised for configuration or login problems (never for load errors)."""


def assert_loopback(url: str) -> None:
    """Raise :class:`BenchError` unless *url* is http(s) on a loopback host."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https"):
        raise BenchError(f"refusing non-http(s) URL: {url!r}")
    host = (parts.hostname or "").lower()
    if host not in LOOPBACK_HOSTS:
        raise BenchError(
            f"refusing non-loopback host {host!r} in {url!r} (allowed: {', '.join(sorted(LOOPBACK_HOSTS))})"
        )


class _LoopbackOnlyAdapter(HTTPAdapter):
    """Transport adapter that refuses to send anything off the loopback."""

    def send(self, request: requests.PreparedRequest, *args: Any, **kwargs: Any) -> requests.Response:  # type: ignore[override]
        assert_loopback(request.url or "")
        return super().send(request, *args, **kwargs)


def _new_session(pool_size: int = 4) -> requests.Session:
    """A session that only talks to loopback hosts and keeps no cookies.

    Cookies are rejected so every request is authenticated by the bearer
    header alone (Zou's login also sets JWT cookies; keeping them would make
    the two servers' auth paths differ between scenarios).
    """
    session = requests.Session()
    session.cookies.set_policy(http.cookiejar.DefaultCookiePolicy(allowed_domains=[]))
    adapter = _LoopbackOnlyAdapter(pool_connections=1, pool_maxsize=pool_size, max_retries=0)
    session.mount("http://", adapter)
    session.mount("https://", adapter)
    return session


@dataclass
class Target:
    """One API under test: a loopback base URL plus login credentials."""

    name: str
    base_url: str
    email: str
    password: str
    timeout_s: float = 30.0
    _token: str | None = field(default=None, init=False, repr=False)
    _local: threading.local = field(default_factory=threading.local, init=False, repr=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, init=False, repr=False)

    def __post_init__(self) -> None:
        self.base_url = self.base_url.rstrip("/")
        assert_loopback(self.base_url)

    def url(self, path: str) -> str:
        """Absolute URL for an API path such as ``/data/persons``."""
        return f"{self.base_url}/{path.lstrip('/')}"

    def login(self, force: bool = False) -> str:
        """Log in once (or again with *force*) and return the access token.

        No retry on failure: Zou locks an account after 5 failed logins.
        """
        with self._lock:
            if self._token is not None and not force:
                return self._token
            with _new_session() as session:
                resp = session.post(
                    self.url("/auth/login"),
                    json={"email": self.email, "password": self.password},
                    timeout=self.timeout_s,
                )
            if resp.status_code != 200:
                raise BenchError(
                    f"[{self.name}] login as {self.email} failed: HTTP {resp.status_code} {resp.text[:200]!r}"
                )
            try:
                token = resp.json()["access_token"]
            except (ValueError, KeyError, TypeError) as exc:
                raise BenchError(f"[{self.name}] login response has no access_token") from exc
            self._token = str(token)
            return self._token

    def new_session(self, authenticated: bool = True) -> requests.Session:
        """A fresh loopback-only session, with the bearer header if asked."""
        session = _new_session()
        if authenticated:
            session.headers["Authorization"] = f"Bearer {self.login()}"
        return session

    def session(self) -> requests.Session:
        """The calling thread's authenticated session (created on first use)."""
        sess: requests.Session | None = getattr(self._local, "session", None)
        if sess is None:
            sess = self.new_session()
            self._local.session = sess
        return sess

    def close_session(self) -> None:
        """Close the calling thread's session, if any."""
        sess: requests.Session | None = getattr(self._local, "session", None)
        if sess is not None:
            sess.close()
            self._local.session = None


def _percentile(sorted_values: Sequence[float], pct: float) -> float:
    """Nearest-rank percentile of an ascending sequence (0.0 when empty)."""
    if not sorted_values:
        return 0.0
    rank = max(1, math.ceil(pct / 100.0 * len(sorted_values)))
    return sorted_values[min(rank, len(sorted_values)) - 1]


def measure(
    target: Target,
    label: str,
    make_request: MakeRequest,
    concurrency: int,
    duration_s: float | None = None,
    total: int | None = None,
    *,
    expected_status: Collection[int] = (),
    warmup_per_worker: int = 1,
    max_error_samples: int = 5,
) -> Result:
    """Run a bounded load against *target* and return its figures.

    ``concurrency`` threads each take the thread's own session and call
    ``make_request(session)`` until the load is bounded: after ``total``
    requests in all, after ``duration_s`` seconds, or whichever comes first
    when both are given. At least one bound is required. Each worker first
    sends ``warmup_per_worker`` unmeasured requests (to open connections),
    then all start together.

    A request is an error when it raises (connection refused, timeout, ...),
    or when its status is >= 400 and not listed in ``expected_status``.

    Returns a dict with ``target``, ``label``, ``concurrency``, ``n`` (all
    measured requests), ``ok``, ``errors``, ``rps``, ``attempt_rps``,
    ``p50_ms``, ``p99_ms``, ``mean_ms``, ``max_ms``, ``elapsed_s``,
    ``status_counts`` and a few ``error_samples``. ``rps`` and the latency
    figures cover successful requests only (``ok / elapsed``), so a failing
    server cannot look fast; ``attempt_rps`` is ``n / elapsed``.
    """
    if concurrency < 1:
        raise BenchError("concurrency must be >= 1")
    if duration_s is None and total is None:
        raise BenchError("measure() needs duration_s and/or total so the load stops by itself")
    if duration_s is not None and duration_s <= 0:
        raise BenchError("duration_s must be > 0")
    if total is not None and total < 1:
        raise BenchError("total must be >= 1")
    assert_loopback(target.base_url)
    target.login()  # fail fast, before starting threads

    expected = frozenset(expected_status)
    lock = threading.Lock()
    issued = 0
    latencies: list[float] = []
    statuses: Counter[str] = Counter()
    attempts = 0
    errors = 0
    error_samples: list[str] = []
    setup_failures: list[BaseException] = []
    barrier = threading.Barrier(concurrency + 1)
    deadline: list[float] = [math.inf]

    def take_ticket() -> bool:
        nonlocal issued
        if time.perf_counter() >= deadline[0]:
            return False
        with lock:
            if total is not None and issued >= total:
                return False
            issued += 1
            return True

    def record(latency_s: float, status: str, is_error: bool, detail: str) -> None:
        nonlocal attempts, errors
        with lock:
            attempts += 1
            statuses[status] += 1
            if is_error:
                errors += 1
                if len(error_samples) < max_error_samples:
                    error_samples.append(detail)
            else:
                latencies.append(latency_s)

    def worker() -> None:
        session: requests.Session | None = None
        try:
            session = target.session()
            for _ in range(warmup_per_worker):
                try:
                    make_request(session)
                except requests.RequestException:
                    pass
        except BaseException as exc:  # noqa: BLE001 - reported after the run
            with lock:
                setup_failures.append(exc)
        try:
            barrier.wait()
        except threading.BrokenBarrierError:
            return
        try:
            if session is None:
                return
            while take_ticket():
                start = time.perf_counter()
                try:
                    resp = make_request(session)
                except requests.RequestException as exc:
                    record(time.perf_counter() - start, type(exc).__name__, True, repr(exc)[:200])
                    continue
                latency = time.perf_counter() - start
                code = resp.status_code
                is_error = code >= 400 and code not in expected
                detail = f"HTTP {code} {resp.request.method} {resp.url}: {resp.text[:150]!r}" if is_error else ""
                record(latency, str(code), is_error, detail)
        finally:
            target.close_session()

    threads = [
        threading.Thread(target=worker, name=f"bench-{target.name}-{i}", daemon=True) for i in range(concurrency)
    ]
    for t in threads:
        t.start()
    # All workers have their session and finished warm-up once the barrier trips.
    barrier.wait()
    started = time.perf_counter()
    if duration_s is not None:
        deadline[0] = started + duration_s
    for t in threads:
        t.join()
    elapsed = time.perf_counter() - started

    if setup_failures:
        raise BenchError(f"[{target.name}] {label}: worker setup failed: {setup_failures[0]!r}")

    lat_sorted = sorted(latencies)
    ok = len(lat_sorted)
    return {
        "target": target.name,
        "base_url": target.base_url,
        "label": label,
        "concurrency": concurrency,
        "n": attempts,
        "ok": ok,
        "errors": errors,
        "rps": round(ok / elapsed, 2) if elapsed > 0 else 0.0,
        "attempt_rps": round(attempts / elapsed, 2) if elapsed > 0 else 0.0,
        "p50_ms": round(_percentile(lat_sorted, 50) * 1000, 2),
        "p99_ms": round(_percentile(lat_sorted, 99) * 1000, 2),
        "mean_ms": round(sum(lat_sorted) / ok * 1000, 2) if ok else 0.0,
        "max_ms": round(lat_sorted[-1] * 1000, 2) if ok else 0.0,
        "elapsed_s": round(elapsed, 3),
        "duration_s": duration_s,
        "total": total,
        "status_counts": dict(sorted(statuses.items())),
        "error_samples": error_samples,
    }


def _redacted_argv() -> list[str]:
    """``sys.argv`` with the value of any ``*password*`` option masked."""
    if not sys.argv or not sys.argv[0]:
        return []
    argv = [Path(sys.argv[0]).name]
    mask_next = False
    for arg in sys.argv[1:]:
        if mask_next:
            argv.append("***")
            mask_next = False
        elif arg.startswith("-") and "password" in arg.lower():
            if "=" in arg:
                argv.append(arg.split("=", 1)[0] + "=***")
            else:
                argv.append(arg)
                mask_next = True
        else:
            argv.append(arg)
    return argv


def _ratio(numerator: float | None, denominator: float | None) -> float | None:
    if numerator is None or denominator is None or denominator == 0:
        return None
    return round(numerator / denominator, 3)


def _fmt(value: float | None, spec: str = ".1f") -> str:
    return "-" if value is None else format(value, spec)


def compare(
    results_slate: Sequence[Result],
    results_zou: Sequence[Result],
    *,
    name: str = "bench",
    out_dir: Path | str = DEFAULT_OUT_DIR,
    meta: Mapping[str, Any] | None = None,
    stream: Any = None,
) -> Path:
    """Print a Slate-vs-Zou table and write it as JSON; return the JSON path.

    Rows are matched on ``(label, concurrency)``; either side may be missing
    (e.g. when only one target was run). Ratios, both "higher is better for
    Slate":

    * ``rps_ratio``  = Slate rps / Zou rps
    * ``p99_ratio``  = Zou p99 / Slate p99
    """
    out = stream if stream is not None else sys.stdout
    keyed_s = {(r["label"], r["concurrency"]): r for r in results_slate}
    keyed_z = {(r["label"], r["concurrency"]): r for r in results_zou}
    keys: list[tuple[str, int]] = []
    for key in [*keyed_s, *keyed_z]:
        if key not in keys:
            keys.append(key)

    rows: list[dict[str, Any]] = []
    for label, conc in keys:
        s = keyed_s.get((label, conc))
        z = keyed_z.get((label, conc))
        rows.append(
            {
                "scenario": label,
                "concurrency": conc,
                "slate": s,
                "zou": z,
                "rps_ratio": _ratio(s and s["rps"], z and z["rps"]),
                "p99_ratio": _ratio(z and z["p99_ms"], s and s["p99_ms"]),
            }
        )

    header = (
        f"{'scenario':<22} {'conc':>4} | "
        f"{'slate rps':>9} {'p50ms':>8} {'p99ms':>8} {'err':>5} | "
        f"{'zou rps':>9} {'p50ms':>8} {'p99ms':>8} {'err':>5} | "
        f"{'rps x':>6} {'p99 x':>6}"
    )
    print(header, file=out)
    print("-" * len(header), file=out)
    for row in rows:
        s, z = row["slate"] or {}, row["zou"] or {}
        print(
            f"{row['scenario']:<22} {row['concurrency']:>4} | "
            f"{_fmt(s.get('rps')):>9} {_fmt(s.get('p50_ms'), '.2f'):>8} "
            f"{_fmt(s.get('p99_ms'), '.2f'):>8} {_fmt(s.get('errors'), 'd'):>5} | "
            f"{_fmt(z.get('rps')):>9} {_fmt(z.get('p50_ms'), '.2f'):>8} "
            f"{_fmt(z.get('p99_ms'), '.2f'):>8} {_fmt(z.get('errors'), 'd'):>5} | "
            f"{_fmt(row['rps_ratio'], '.2f'):>6} {_fmt(row['p99_ratio'], '.2f'):>6}",
            file=out,
        )
    print("rps x = Slate rps / Zou rps; p99 x = Zou p99 / Slate p99 (both: >1 means Slate is better)", file=out)

    now = _dt.datetime.now(_dt.UTC)
    doc = {
        "name": name,
        "date": now.isoformat(timespec="seconds"),
        "machine": {
            "hostname": platform.node(),
            "platform": platform.platform(),
            "cpus": os.cpu_count(),
            "python": platform.python_version(),
        },
        "command": _redacted_argv(),
        "meta": dict(meta or {}),
        "ratios": {
            "rps_ratio": "slate.rps / zou.rps",
            "p99_ratio": "zou.p99_ms / slate.p99_ms",
        },
        "rows": rows,
    }
    out_path = Path(out_dir)
    out_path.mkdir(parents=True, exist_ok=True)
    path = out_path / f"{name}-{now.strftime('%Y%m%d-%H%M%S')}.json"
    path.write_text(json.dumps(doc, indent=2) + "\n", encoding="utf-8")
    print(f"wrote {path}", file=out)
    return path
