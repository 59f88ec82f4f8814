#!/usr/bin/env python3
"""Tasks benchmark: Slate vs. the reference Zou.

Scenarios (each at every ``--concurrency`` level, against every target):

* ``comment``        -- ``POST /actions/tasks/<id>/comment`` with a status change
                        (alternating wip / wfa over the seeded tasks).
* ``task``           -- ``GET /data/tasks/<id>``.
* ``project-tasks``  -- ``GET /data/projects/<id>/tasks`` on a project of
                        ``--tasks`` tasks (default 10,000).
* ``user-tasks``     -- ``GET /data/user/tasks`` as an artist assigned to
                        ``--assigned`` tasks (default 200).

Seeding (idempotent, through each target's HTTP API): project ``BenchTasks``,
sequences and shots, one task per shot task type (``create-tasks``), an
artist in the team with tasks assigned. Slate's projects and shots belong to
the assets service; while its routes are not served, pass ``--slate-amqp``
(the running Slate's AMQP_URI) and the script publishes the ``project:new``,
``sequence:new`` and ``shot:new`` events assets would publish.

Examples::

    ADMIN_PASSWORD=... python bench/bench_tasks.py --zou --duration 10 --concurrency 1,8
    python bench/bench_tasks.py --no-slate --zou --duration 3   # Zou only

Only loopback URLs are accepted. Results: a table, and JSON in bench/out/.
"""

from __future__ import annotations

import argparse
import datetime as dt
import itertools
import os
import sys
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import requests

sys.path.insert(0, str(Path(__file__).resolve().parent))
from harness import DEFAULT_OUT_DIR, BenchError, Target, compare, measure  # noqa: E402

ZOU_DEFAULT_URL = "http://127.0.0.1:5000"
SLATE_DEFAULT_URL = "http://127.0.0.1:8080"
SCENARIOS = ("comment", "task", "project-tasks", "user-tasks")
PROJECT = "BenchTasks"
ARTIST_PASSWORD = "bench-artist-pass-1"


def log(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


def ok(resp: requests.Response, what: str):
    if resp.status_code >= 400:
        raise BenchError(f"{what}: HTTP {resp.status_code} {resp.text[:200]!r}")
    return resp.json() if resp.content else None


class Seeder:
    def __init__(self, target: Target, amqp: str | None = None):
        self.t = target
        self.s = target.session()
        self.amqp = amqp

    def get(self, path, **params):
        return ok(self.s.get(self.t.url(path), params=params, timeout=120), f"GET {path}")

    def post(self, path, body):
        return ok(self.s.post(self.t.url(path), json=body, timeout=300), f"POST {path}")

    def publish(self, name, data, record):
        from kombu import Connection, Exchange, Producer

        now = dt.datetime.utcnow().replace(microsecond=0).isoformat()
        record = dict(record, updated_at=now)
        body = {"event_id": str(uuid.uuid4()), "name": name, "source": "assets", "occurred_at": now,
                "actor_id": None, "project_id": data.get("project_id"), "trace_id": None, "data": data,
                "record": record}
        with Connection(self.amqp) as conn:
            ex = Exchange("slate.events", type="topic", durable=True)
            Producer(conn.default_channel, exchange=ex).publish(body, routing_key=name, serializer="json",
                                                               declare=[ex], delivery_mode=2)

    def project(self, team=()):
        resp = self.s.get(self.t.url("/data/projects"), params={"name": PROJECT}, timeout=60)
        if resp.status_code == 200 and resp.json():
            return resp.json()[0]["id"], False
        resp = self.s.post(self.t.url("/data/projects"), json={"name": PROJECT}, timeout=60)
        if resp.status_code == 201:
            return resp.json()["id"], True
        if not self.amqp:
            raise BenchError(f"[{self.t.name}] cannot create a project (HTTP {resp.status_code}); pass --slate-amqp")
        pid = os.environ.get("BENCH_SLATE_PROJECT_ID") or str(uuid.uuid5(uuid.NAMESPACE_URL, PROJECT))
        self.publish("project:new", {"project_id": pid}, {"id": pid, "name": PROJECT, "team": list(team),
                                                          "status": "open", "max_retakes": 0, "type": "Project"})
        return pid, True

    def shots(self, pid, count):
        existing = self.s.get(self.t.url(f"/data/projects/{pid}/shots"), timeout=120)
        have = len(existing.json()) if existing.status_code == 200 else 0
        names = [f"SH{i:05d}" for i in range(have, count)]
        if not names:
            return
        per_seq = 100
        if self.amqp and existing.status_code != 200:
            for i, name in enumerate(names):
                seq = str(uuid.uuid5(uuid.NAMESPACE_URL, f"{pid}-SQ{i // per_seq}"))
                if i % per_seq == 0:
                    self.publish("sequence:new", {"sequence_id": seq, "project_id": pid},
                                 {"id": seq, "name": f"SQ{i // per_seq:03d}", "project_id": pid, "type": "Sequence"})
                sid = str(uuid.uuid5(uuid.NAMESPACE_URL, f"{pid}-{name}"))
                self.publish("shot:new", {"shot_id": sid, "project_id": pid},
                             {"id": sid, "name": name, "project_id": pid, "parent_id": seq, "type": "Shot",
                              "nb_frames": 24, "canceled": False, "data": {}})
            time.sleep(5)  # let the tasks service project them
            return
        seqs = {}
        for i in range(have, count, per_seq):
            seqs[i // per_seq] = self.post(f"/data/projects/{pid}/sequences", {"name": f"SQ{i // per_seq:03d}"})["id"]

        def make(item):
            i, name = item
            for _ in range(5):
                r = self.t.session().post(self.t.url(f"/data/projects/{pid}/shots"),
                                          json={"name": name, "sequence_id": seqs[(have + i) // per_seq]},
                                          timeout=60)
                if r.status_code < 500:
                    return
                time.sleep(1)

        with ThreadPoolExecutor(4) as pool:
            list(pool.map(make, enumerate(names)))

    def tasks(self, pid, wanted):
        shot_types = [t for t in self.get("/data/task-types") if t["for_entity"] == "Shot"]
        have = self.get(f"/data/projects/{pid}/tasks")
        if len(have) >= wanted:
            return have
        # Slate's tasks service learns shots from assets' events: repeat the
        # (idempotent) bulk creation until its projection has caught up.
        shots = self.s.get(self.t.url(f"/data/projects/{pid}/shots"), timeout=120)
        ids = [x["id"] for x in shots.json()] if shots.status_code == 200 else []
        chunks = [ids[i:i + 250] for i in range(0, len(ids), 250)] or [[]]
        for _ in range(30):
            for tt in shot_types:
                # Chunks of shots keep each call well under Slate's RPC timeout.
                for chunk in chunks:
                    self.post(f"/actions/projects/{pid}/task-types/{tt['id']}/shots/create-tasks", chunk)
            have = self.get(f"/data/projects/{pid}/tasks")
            if len(have) >= wanted:
                break
            time.sleep(2)
        return have

    def artist(self, pid, tasks, assigned):
        email = "bench-artist@bench.example.com"
        found = self.get("/data/persons", email=email)
        if found:
            person = found[0]
        else:
            resp = self.s.post(self.t.url("/data/persons"), json={
                "first_name": "Bench", "last_name": "Artist", "email": email, "role": "user",
                "password": ARTIST_PASSWORD}, timeout=60)
            if resp.status_code == 201:
                person = resp.json()
            else:
                # Zou caps active accounts (USER_LIMIT): reuse a person the auth
                # benchmark seeded and give it a known password.
                found = self.get("/data/persons", email="bench-person-00000@bench.example.com")
                if not found:
                    raise BenchError(f"cannot create the artist: {resp.text[:200]}")
                person = found[0]
                ok(self.s.put(self.t.url(f"/data/persons/{person['id']}"), json={"role": "user"}, timeout=60),
                   "set role")
                ok(self.s.post(self.t.url(f"/actions/persons/{person['id']}/change-password"),
                               json={"password": ARTIST_PASSWORD, "password_2": ARTIST_PASSWORD}, timeout=60),
                   "set password")
        self.s.post(self.t.url(f"/data/projects/{pid}/team"), json={"person_id": person["id"]}, timeout=60)
        mine = [t["id"] for t in tasks if person["id"] in (t.get("assignees") or [])]
        todo = [t["id"] for t in tasks if person["id"] not in (t.get("assignees") or [])][: max(0, assigned - len(mine))]
        for i in range(0, len(todo), 100):
            ok(self.s.put(self.t.url(f"/actions/persons/{person['id']}/assign"), json={"task_ids": todo[i:i + 100]},
                          timeout=300), "assign")
        return person


def seed(target: Target, n_tasks: int, assigned: int, amqp: str | None):
    sd = Seeder(target, amqp)
    pid, _ = sd.project()
    shot_types = [t for t in sd.get("/data/task-types") if t["for_entity"] == "Shot"]
    n_shots = -(-n_tasks // max(1, len(shot_types)))
    log(f"[{target.name}] seeding {n_shots} shots x {len(shot_types)} task types in {PROJECT}")
    sd.shots(pid, n_shots)
    tasks = sd.tasks(pid, n_tasks)
    artist = sd.artist(pid, tasks, assigned)
    statuses = {s["short_name"]: s["id"] for s in sd.get("/data/task-status")}
    log(f"[{target.name}] {len(tasks)} tasks; artist {artist['email']}")
    return pid, tasks, artist, statuses


def scenario(target, name, pid, tasks, statuses):
    timeout = target.timeout_s
    if name == "comment":
        cycle = itertools.cycle([(t["id"], st) for t in tasks[:200] for st in (statuses["wip"], statuses["wfa"])])

        def post(s):
            task_id, status_id = next(cycle)
            return s.post(target.url(f"/actions/tasks/{task_id}/comment"),
                          json={"task_status_id": status_id, "comment": "bench"}, timeout=timeout)

        return post
    if name == "task":
        ids = itertools.cycle([t["id"] for t in tasks[:500]])
        return lambda s: s.get(target.url(f"/data/tasks/{next(ids)}"), timeout=timeout)
    if name == "project-tasks":
        return lambda s: s.get(target.url(f"/data/projects/{pid}/tasks"), timeout=timeout)
    if name == "user-tasks":
        return lambda s: s.get(target.url("/data/user/tasks"), timeout=timeout)
    raise BenchError(name)


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--slate", default=os.environ.get("SLATE_URL", SLATE_DEFAULT_URL))
    p.add_argument("--no-slate", action="store_true")
    p.add_argument("--slate-amqp", default=os.environ.get("SLATE_AMQP_URI"),
                   help="publish assets' events here when assets' routes are not served")
    p.add_argument("--zou", nargs="?", const=ZOU_DEFAULT_URL, default=None)
    p.add_argument("--email", default=os.environ.get("ADMIN_EMAIL", "admin@example.com"))
    p.add_argument("--password", default=os.environ.get("ADMIN_PASSWORD"))
    p.add_argument("--zou-email", default=os.environ.get("ZOU_ADMIN_EMAIL", "admin@example.com"))
    p.add_argument("--zou-password", default=os.environ.get("ZOU_ADMIN_PASSWORD", "reference-admin-pass"))
    p.add_argument("--duration", type=float, default=10.0)
    p.add_argument("--concurrency", default="1,8")
    p.add_argument("--scenarios", default=",".join(SCENARIOS))
    p.add_argument("--tasks", type=int, default=10000)
    p.add_argument("--assigned", type=int, default=200)
    p.add_argument("--timeout", type=float, default=60.0)
    p.add_argument("--out-dir", type=Path, default=DEFAULT_OUT_DIR)
    p.add_argument("--start-suite", action="store_true",
                   help="start a throw-away Slate (own database and vhost, as the tests do) and bench it")
    args = p.parse_args(argv)
    suite = None
    if args.start_suite and not args.no_slate:
        suite, env = start_suite()
        args.slate, args.password, args.slate_amqp = suite.url, "admin-test-password", env["AMQP_URI"]
    try:
        return run(p, args)
    finally:
        if suite is not None:
            suite.stop()
            from slatekit.testing import drop_test_env

            drop_test_env(env)


def run(p, args) -> int:
    levels = [int(x) for x in args.concurrency.split(",") if x.strip()]
    names = [x for x in args.scenarios.split(",") if x]
    targets = []
    if not args.no_slate:
        if not args.password:
            p.error("Slate admin password missing: --password or ADMIN_PASSWORD")
        targets.append((Target("slate", args.slate, args.email, args.password, timeout_s=args.timeout),
                        args.slate_amqp))
    if args.zou:
        targets.append((Target("zou", args.zou, args.zou_email, args.zou_password, timeout_s=args.timeout), None))
    if not targets:
        p.error("nothing to benchmark")
    worlds = {}
    for t, amqp in targets:
        t.login()
        worlds[t.name] = seed(t, args.tasks, args.assigned, amqp)
    results = {t.name: [] for t, _ in targets}
    for name in names:
        for conc in levels:
            for t, _ in targets:
                pid, tasks, artist, statuses = worlds[t.name]
                who = t
                if name == "user-tasks":
                    who = Target(t.name, t.base_url, artist["email"], ARTIST_PASSWORD, timeout_s=t.timeout_s)
                    who.login()
                res = measure(who, name, scenario(who, name, pid, tasks, statuses), conc,
                              duration_s=args.duration)
                results[t.name].append(res)
                log(f"[{t.name}] {name} c={conc}: {res['rps']} rps, p50 {res.get('p50_ms')} ms, "
                    f"errors {res['errors']}")
    compare(results.get("slate", []), results.get("zou", []), name="tasks", out_dir=args.out_dir,
            meta={"tasks": args.tasks, "assigned": args.assigned})
    return 0


def start_suite():
    """The whole Slate suite as processes, like the tests' ``suite`` fixture."""
    import tempfile

    root = Path(__file__).resolve().parents[1]
    sys.path.insert(0, str(root))
    from slatekit.rpc_client import RpcPool
    from slatekit.testing import make_test_env
    from tests.conftest import ADMIN_EMAIL, ADMIN_PASSWORD, Suite, service_names

    env = make_test_env()
    suite = Suite(dict(env), Path(tempfile.mkdtemp(prefix="bench-tasks-")))
    try:
        for name in service_names():
            suite.start_service(name)
        suite.start_gateway()
        for name in service_names():
            suite.wait_rpc(name, timeout=180)
        suite.wait_ready(timeout=120)
    except BaseException:
        suite.stop()
        from slatekit.testing import drop_test_env

        drop_test_env(env)
        raise
    pool = RpcPool(env["AMQP_URI"])
    pool.call("auth", "set_password", {"email": ADMIN_EMAIL, "password": ADMIN_PASSWORD}, {"role": "admin"},
              timeout=30)
    pool.close()
    log(f"[slate] suite started at {suite.url} (logs in {suite.log_dir})")
    return suite, env


if __name__ == "__main__":
    sys.exit(main())
