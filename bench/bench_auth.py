#!/usr/bin/env python3
"""Auth / persons benchmark: Slate vs. the reference Zou.

Scenarios (each run at every ``--concurrency`` level, against every target):

* ``login``          -- ``POST /auth/login`` with the admin's *correct*
                        credentials (password hashing dominates).
* ``authenticated``  -- ``GET /auth/authenticated`` with a bearer token
                        (token decode + session/person lookup).
* ``persons``        -- ``GET /data/persons`` once the target holds at least
                        ``--persons`` (default 1,000) persons (query +
                        serialisation of a large list). Each target is seeded
                        first through ``POST /data/persons`` as the admin.

Examples::

    ADMIN_PASSWORD=... python bench/bench_auth.py --zou
    python bench/bench_auth.py --slate http://127.0.0.1:8080 --zou http://127.0.0.1:5000 \\
        --email admin@example.com --password ... --duration 10 --concurrency 1,8,32
    python bench/bench_auth.py --no-slate --zou --duration 3   # Zou only

Only loopback URLs are accepted. Results are printed as a table and written
to ``bench/out/<name>-<timestamp>.json`` (see bench/README.md).
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import requests

sys.path.insert(0, str(Path(__file__).resolve().parent))
from harness import DEFAULT_OUT_DIR, BenchError, Result, Target, compare, measure  # noqa: E402

ZOU_DEFAULT_URL = "http://127.0.0.1:5000"
ZOU_DEFAULT_EMAIL = "admin@example.com"
ZOU_DEFAULT_PASSWORD = "reference-admin-pass"
SLATE_DEFAULT_URL = "http://127.0.0.1:8080"
SCENARIOS = ("login", "authenticated", "persons")
SEED_EMAIL = "bench-person-{:05d}@bench.example.com"
SEED_WORKERS = 4

Scenario = Callable[[requests.Session], requests.Response]


def log(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


def scenario_request(target: Target, scenario: str) -> Scenario:
    """The ``make_request`` callable for *scenario* against *target*."""
    timeout = target.timeout_s
    if scenario == "login":
        url = target.url("/auth/login")
        creds = {"email": target.email, "password": target.password}
        return lambda s: s.post(url, json=creds, timeout=timeout)
    if scenario == "authenticated":
        url = target.url("/auth/authenticated")
        return lambda s: s.get(url, timeout=timeout)
    if scenario == "persons":
        url = target.url("/data/persons")
        return lambda s: s.get(url, timeout=timeout)
    raise BenchError(f"unknown scenario {scenario!r}")


def list_persons(target: Target, session: requests.Session) -> list[dict]:
    resp = session.get(target.url("/data/persons"), timeout=target.timeout_s)
    if resp.status_code != 200:
        raise BenchError(f"[{target.name}] GET /data/persons: HTTP {resp.status_code} {resp.text[:200]!r}")
    data = resp.json()
    if not isinstance(data, list):
        raise BenchError(f"[{target.name}] GET /data/persons did not return a JSON list")
    return data


def seed_persons(target: Target, wanted: int) -> int:
    """Create persons until *target* lists at least *wanted*; return the count.

    Seeded persons use ``bench-person-NNNNN@bench.example.com``. Zou caps
    *active* users (``USER_LIMIT``, 100 by default); when a create is refused
    with "User limit reached" the remaining persons are created with
    ``"active": false`` -- they are still listed by ``GET /data/persons``.
    """
    with target.new_session() as session:
        existing = list_persons(target, session)
        missing = wanted - len(existing)
        if missing <= 0:
            log(f"[{target.name}] {len(existing)} persons present, no seeding needed")
            return len(existing)
        emails = {str(p.get("email", "")).lower() for p in existing}
        indices: list[int] = []
        i = 0
        while len(indices) < missing:
            if SEED_EMAIL.format(i) not in emails:
                indices.append(i)
            i += 1
        log(f"[{target.name}] {len(existing)} persons present, creating {missing} ...")

    inactive = {"flag": False}

    def create(idx: int) -> None:
        sess = target.session()
        body: dict[str, object] = {
            "first_name": "Bench",
            "last_name": f"Person{idx:05d}",
            "email": SEED_EMAIL.format(idx),
        }
        if inactive["flag"]:
            body["active"] = False
        resp = sess.post(target.url("/data/persons"), json=body, timeout=target.timeout_s)
        if resp.status_code in (200, 201):
            return
        if resp.status_code == 400 and "user limit" in resp.text.lower() and "active" not in body:
            inactive["flag"] = True
            body["active"] = False
            resp = sess.post(target.url("/data/persons"), json=body, timeout=target.timeout_s)
            if resp.status_code in (200, 201):
                return
        raise BenchError(
            f"[{target.name}] POST /data/persons ({body['email']}): HTTP {resp.status_code} {resp.text[:200]!r}"
        )

    def create_chunk(chunk: Sequence[int]) -> None:
        try:
            for idx in chunk:
                create(idx)
        finally:
            target.close_session()

    chunks = [indices[k::SEED_WORKERS] for k in range(SEED_WORKERS)]
    with ThreadPoolExecutor(max_workers=SEED_WORKERS) as pool:
        for fut in [pool.submit(create_chunk, c) for c in chunks if c]:
            fut.result()
    if inactive["flag"]:
        log(f"[{target.name}] active-user limit reached: some seeded persons are inactive")

    with target.new_session() as session:
        count = len(list_persons(target, session))
    if count < wanted:
        raise BenchError(f"[{target.name}] seeding left {count} persons (< {wanted})")
    log(f"[{target.name}] {count} persons present")
    return count


def parse_concurrency(text: str) -> list[int]:
    try:
        levels = [int(x) for x in text.split(",") if x.strip()]
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"bad --concurrency {text!r}") from exc
    if not levels or any(c < 1 for c in levels):
        raise argparse.ArgumentTypeError("--concurrency needs positive integers, e.g. 1,8,32")
    return levels


def parse_scenarios(text: str) -> list[str]:
    names = [x.strip() for x in text.split(",") if x.strip()]
    unknown = [n for n in names if n not in SCENARIOS]
    if not names or unknown:
        raise argparse.ArgumentTypeError(f"scenarios must be among {','.join(SCENARIOS)}")
    return names


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        description="Benchmark auth and persons endpoints of Slate (and optionally Zou).",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    p.add_argument(
        "--slate", default=os.environ.get("SLATE_URL", SLATE_DEFAULT_URL), help="Slate base URL (env SLATE_URL)"
    )
    p.add_argument("--no-slate", action="store_true", help="do not benchmark Slate")
    p.add_argument(
        "--zou",
        nargs="?",
        const=ZOU_DEFAULT_URL,
        default=None,
        help=f"also benchmark Zou at this URL (bare --zou: {ZOU_DEFAULT_URL})",
    )
    p.add_argument(
        "--email",
        default=os.environ.get("ADMIN_EMAIL", "admin@example.com"),
        help="Slate admin email (env ADMIN_EMAIL)",
    )
    p.add_argument(
        "--password",
        default=os.environ.get("ADMIN_PASSWORD"),
        help="Slate admin password (env ADMIN_PASSWORD; required for Slate)",
    )
    p.add_argument(
        "--zou-email",
        default=os.environ.get("ZOU_ADMIN_EMAIL", ZOU_DEFAULT_EMAIL),
        help="Zou admin email (env ZOU_ADMIN_EMAIL)",
    )
    p.add_argument(
        "--zou-password",
        default=os.environ.get("ZOU_ADMIN_PASSWORD", ZOU_DEFAULT_PASSWORD),
        help="Zou admin password (env ZOU_ADMIN_PASSWORD)",
    )
    p.add_argument("--duration", type=float, default=10.0, help="seconds per (scenario, concurrency, target) run")
    p.add_argument("--total", type=int, default=None, help="also stop each run after this many requests")
    p.add_argument(
        "--concurrency",
        type=parse_concurrency,
        default=parse_concurrency("1,8,32"),
        help="comma-separated thread counts",
    )
    p.add_argument(
        "--scenarios",
        type=parse_scenarios,
        default=list(SCENARIOS),
        help="comma-separated subset of " + ",".join(SCENARIOS),
    )
    p.add_argument("--persons", type=int, default=1000, help="seed targets to at least this many persons")
    p.add_argument("--timeout", type=float, default=30.0, help="per-request timeout (s)")
    p.add_argument("--name", default="auth", help="output file prefix")
    p.add_argument("--out-dir", type=Path, default=DEFAULT_OUT_DIR, help="JSON output directory")
    return p


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.duration <= 0:
        parser.error("--duration must be > 0")

    try:
        slate: Target | None = None
        if not args.no_slate:
            if not args.password:
                parser.error("Slate admin password missing: pass --password or set ADMIN_PASSWORD")
            slate = Target("slate", args.slate, args.email, args.password, timeout_s=args.timeout)
        zou: Target | None = None
        if args.zou:
            zou = Target("zou", args.zou, args.zou_email, args.zou_password, timeout_s=args.timeout)
        targets = [t for t in (slate, zou) if t is not None]
        if not targets:
            parser.error("nothing to benchmark (--no-slate without --zou)")

        for t in targets:
            t.login()  # once, fail fast: no retries (Zou locks after 5 failures)
            log(f"[{t.name}] logged in at {t.base_url} as {t.email}")

        results: dict[str, list[Result]] = {t.name: [] for t in targets}
        for scenario in args.scenarios:
            if scenario == "persons":
                for t in targets:
                    seed_persons(t, args.persons)
            for conc in args.concurrency:
                # Interleave targets per level so machine drift hits both alike.
                for t in targets:
                    res = measure(
                        t, scenario, scenario_request(t, scenario), conc, duration_s=args.duration, total=args.total
                    )
                    results[t.name].append(res)
                    log(
                        f"[{t.name}] {scenario:<14} c={conc:<3} n={res['n']:<6} err={res['errors']:<4} "
                        f"rps={res['rps']:<9} p50={res['p50_ms']}ms p99={res['p99_ms']}ms"
                    )
                    if res["error_samples"]:
                        log(f"    first error: {res['error_samples'][0]}")
    except (BenchError, requests.RequestException) as exc:
        log(f"error: {exc}")
        return 2

    meta = {
        "targets": {t.name: t.base_url for t in targets},
        "scenarios": args.scenarios,
        "concurrency": args.concurrency,
        "duration_s": args.duration,
        "total": args.total,
        "persons": args.persons,
    }
    compare(results.get("slate", []), results.get("zou", []), name=args.name, out_dir=args.out_dir, meta=meta)
    total_errors = sum(r["errors"] for rs in results.values() for r in rs)
    return 1 if total_errors else 0


if __name__ == "__main__":
    sys.exit(main())
