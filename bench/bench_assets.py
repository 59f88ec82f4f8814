#!/usr/bin/env python3
"""Breakdown benchmark: Slate vs. the reference Zou, side by side.

Scenarios (each target is seeded the same way through its own HTTP API):

* ``assets``       -- ``GET /data/projects/<id>/assets`` on a project holding
                      ``--assets`` (default 5,000) assets.
* ``shots-tasks``  -- ``GET /data/shots/with-tasks?project_id=<id>`` on a
                      project with ``--shots`` (2,000) shots × ``--task-types``
                      (5) tasks each (created with Zou's bulk
                      ``/actions/projects/<id>/task-types/<tt>/shots/create-tasks``).
* ``casting``      -- ``GET /data/projects/<id>/sequences/<seq>/casting`` for a
                      sequence of ``--cast-shots`` (50) shots × ``--cast-assets``
                      (20) assets each.
* ``create-shots`` -- ``POST /data/projects/<id>/shots``: ``--create`` (1,000)
                      new shots in all, at each concurrency level.

Seeding is idempotent (projects are found by name). Every run reports
requests/s and latency percentiles; ``compare`` writes the JSON to
``bench/out/assets-<timestamp>.json``. Query counts do not grow with rows
(listings are a fixed number of queries); the interface test
``services/assets/tests/interface/test_assets_queries.py`` asserts it.

Examples::

    ADMIN_PASSWORD=... python bench/bench_assets.py --slate http://127.0.0.1:8080 --zou
    python bench/bench_assets.py --no-slate --zou --assets 500 --shots 200 --duration 3
"""

from __future__ import annotations

import argparse
import itertools
import os
import sys
import time
import uuid
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import requests

sys.path.insert(0, str(Path(__file__).resolve().parent))
from harness import DEFAULT_OUT_DIR, BenchError, Result, Target, compare, measure  # noqa: E402

ZOU_DEFAULT_URL = "http://127.0.0.1:5000"
SLATE_DEFAULT_URL = "http://127.0.0.1:8080"
SCENARIOS = ("assets", "shots-tasks", "casting", "create-shots")


def log(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


def _ok(r: requests.Response, what: str) -> dict | list:
    if r.status_code >= 400:
        raise BenchError(f"{what}: {r.status_code} {r.text[:200]}")
    return r.json() if r.content else {}


SEED_WORKERS = 4


def _parallel(fn, items, workers=None):
    workers = workers or SEED_WORKERS
    with ThreadPoolExecutor(workers) as pool:
        return list(pool.map(fn, items))


class World:
    """One target's seeded data."""

    def __init__(self, target: Target, tag: str):
        self.t = target
        self.tag = tag
        self.s = target.new_session()

    def _retry(self, method, path, **kw):
        """Seeding retries a 5xx (a shared database out of connections) a few times."""
        for attempt in range(30):
            r = getattr(self.s, method)(self.t.url(path), timeout=120, **kw)
            if r.status_code not in (500, 502, 503, 504):
                break
            time.sleep(1 + attempt * 0.2)
        return _ok(r, f"{method.upper()} {path}")

    def get(self, path, **params):
        return self._retry("get", path, params=params)

    def post(self, path, body):
        return self._retry("post", path, json=body)

    def put(self, path, body):
        return self._retry("put", path, json=body)

    def project(self, suffix: str) -> dict:
        name = f"bench-{self.tag}-{suffix}"
        for _ in range(3):
            found = [p for p in self.get("/data/projects", name=name) if p["name"] == name]
            if found:
                return found[0]
            try:
                return self.post("/data/projects", {"name": name, "production_type": "short"})
            except BenchError:  # a timed-out create may have happened: look again
                time.sleep(2)
        raise BenchError(f"cannot create project {name}")

    def asset_type(self) -> dict:
        return next(t for t in self.get("/data/asset-types") if t["name"] == "Character")

    def seed_assets(self, project, wanted) -> None:
        at = self.asset_type()
        have = len(self.get(f"/data/projects/{project['id']}/assets"))
        _parallel(lambda i: self.post(f"/data/projects/{project['id']}/asset-types/{at['id']}/assets/new",
                                      {"name": f"A{i:05d}"}), range(have, wanted))

    def sequence(self, project, name="SQ01") -> dict:
        return self.post(f"/data/projects/{project['id']}/sequences", {"name": name})

    def seed_shots(self, project, seq, wanted) -> list[dict]:
        have = self.get(f"/data/sequences/{seq['id']}/shots")
        _parallel(lambda i: self.post(f"/data/projects/{project['id']}/shots",
                                      {"name": f"SH{i:05d}", "sequence_id": seq["id"], "nb_frames": 24}),
                  range(len(have), wanted))
        return self.get(f"/data/sequences/{seq['id']}/shots")

    def seed_tasks(self, project, nb_types) -> None:
        types = []
        for i in range(nb_types):
            name = f"bench-tt-{i}"
            found = [t for t in self.get("/data/task-types", name=name) if t["name"] == name]
            tt = found[0] if found else self.post("/data/task-types", {"name": name, "for_entity": "Shot"})
            types.append(tt)
            self.post(f"/data/projects/{project['id']}/settings/task-types", {"task_type_id": tt["id"], "priority": i})
        for tt in types:
            self.post(f"/actions/projects/{project['id']}/task-types/{tt['id']}/shots/create-tasks", {})

    def seed_casting(self, project, shots, nb_assets) -> None:
        at = self.asset_type()
        assets = self.get(f"/data/projects/{project['id']}/assets")
        for i in range(len(assets), nb_assets):
            assets.append(self.post(f"/data/projects/{project['id']}/asset-types/{at['id']}/assets/new", {"name": f"C{i:03d}"}))
        casting = [{"asset_id": a["id"], "nb_occurences": 1} for a in assets[:nb_assets]]
        _parallel(lambda shot: self.put(f"/data/projects/{project['id']}/entities/{shot['id']}/casting", casting), shots)


def wait_tasks(world: World, project, expected: int, timeout=120.0) -> int:
    """Slate's with-tasks is fed by tasks' events: wait until they arrived."""
    deadline = time.time() + timeout
    n = 0
    while time.time() < deadline:
        rows = world.get("/data/shots/with-tasks", project_id=project["id"])
        n = sum(len(r["tasks"]) for r in rows)
        if n >= expected:
            return n
        time.sleep(1)
    return n


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--slate", default=os.environ.get("SLATE_URL", SLATE_DEFAULT_URL))
    p.add_argument("--no-slate", action="store_true")
    p.add_argument("--zou", nargs="?", const=ZOU_DEFAULT_URL, default=None)
    p.add_argument("--email", default=os.environ.get("ADMIN_EMAIL", "admin@example.com"))
    p.add_argument("--password", default=os.environ.get("ADMIN_PASSWORD"))
    p.add_argument("--zou-email", default=os.environ.get("ZOU_ADMIN_EMAIL", "admin@example.com"))
    p.add_argument("--zou-password", default=os.environ.get("ZOU_ADMIN_PASSWORD", "reference-admin-pass"))
    p.add_argument("--duration", type=float, default=10.0)
    p.add_argument("--concurrency", default="1,4")
    p.add_argument("--scenarios", default=",".join(SCENARIOS))
    p.add_argument("--assets", type=int, default=5000)
    p.add_argument("--shots", type=int, default=2000)
    p.add_argument("--task-types", type=int, default=5)
    p.add_argument("--cast-shots", type=int, default=50)
    p.add_argument("--cast-assets", type=int, default=20)
    p.add_argument("--create", type=int, default=1000)
    p.add_argument("--tag", default="v1", help="suffix of the seeded project names")
    p.add_argument("--seed-workers", type=int, default=2, help="parallel seeding requests (a shared database has few connections)")
    p.add_argument("--timeout", type=float, default=120.0)
    p.add_argument("--name", default="assets")
    p.add_argument("--out-dir", type=Path, default=DEFAULT_OUT_DIR)
    return p


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    global SEED_WORKERS
    SEED_WORKERS = max(1, args.seed_workers)
    levels = [int(x) for x in args.concurrency.split(",") if x.strip()]
    scenarios = [s for s in args.scenarios.split(",") if s]
    targets = []
    if not args.no_slate:
        if not args.password:
            raise SystemExit("Slate admin password missing: --password or ADMIN_PASSWORD")
        targets.append(Target("slate", args.slate, args.email, args.password, timeout_s=args.timeout))
    if args.zou:
        targets.append(Target("zou", args.zou, args.zou_email, args.zou_password, timeout_s=args.timeout))
    for t in targets:
        t.login()
    results: dict[str, list[Result]] = {t.name: [] for t in targets}
    meta = {"assets": args.assets, "shots": args.shots, "task_types": args.task_types,
            "cast": f"{args.cast_shots}x{args.cast_assets}", "create": args.create}

    for scenario in scenarios:
        requests_by_target = {}
        for t in targets:
            w = World(t, args.tag)
            started = time.time()
            if scenario == "assets":
                p = w.project(f"assets-{args.assets}")
                w.seed_assets(p, args.assets)
                path = f"/data/projects/{p['id']}/assets"
                requests_by_target[t.name] = lambda s, u=t.url(path): s.get(u, timeout=args.timeout)
            elif scenario == "shots-tasks":
                p = w.project(f"shots-{args.shots}")
                seq = w.sequence(p)
                w.seed_shots(p, seq, args.shots)
                w.seed_tasks(p, args.task_types)
                got = wait_tasks(w, p, args.shots * args.task_types)
                log(f"[{t.name}] {got} tasks visible in with-tasks")
                path = f"/data/shots/with-tasks?project_id={p['id']}"
                requests_by_target[t.name] = lambda s, u=t.url(path): s.get(u, timeout=args.timeout)
            elif scenario == "casting":
                p = w.project(f"casting-{args.cast_shots}x{args.cast_assets}")
                seq = w.sequence(p)
                shots = w.seed_shots(p, seq, args.cast_shots)
                w.seed_casting(p, shots, args.cast_assets)
                path = f"/data/projects/{p['id']}/sequences/{seq['id']}/casting"
                requests_by_target[t.name] = lambda s, u=t.url(path): s.get(u, timeout=args.timeout)
            else:
                p = w.project("create-shots")
                seq = w.sequence(p, f"SQ-{uuid.uuid4().hex[:6]}")
                counter = itertools.count()
                path = f"/data/projects/{p['id']}/shots"
                requests_by_target[t.name] = lambda s, u=t.url(path), seq=seq, c=counter: s.post(
                    u, json={"name": f"N{next(c):06d}", "sequence_id": seq["id"]}, timeout=args.timeout)
            log(f"[{t.name}] {scenario}: seeded in {time.time() - started:.1f}s")
            w.s.close()
        for conc in levels:
            for t in targets:
                kwargs = {"total": args.create} if scenario == "create-shots" else {"duration_s": args.duration}
                res = measure(t, scenario, requests_by_target[t.name], conc, **kwargs)
                results[t.name].append(res)
                log(f"[{t.name}] {scenario} c={conc}: {res.get('rps', 0):.1f} rps, p50 {res.get('p50_ms')} ms, "
                    f"p99 {res.get('p99_ms')} ms, errors {res.get('errors')}")
    path = compare(results.get("slate", []), results.get("zou", []), name=args.name, out_dir=args.out_dir, meta=meta)
    log(f"written {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
