"""F2/F8 on the auth service: SIGKILL it while clients create persons.

During the outage the gateway answers 503 (nobody consumes auth's queue) or
504 (the request was in flight and the RPC timed out) within RPC_TIMEOUT + 1 s,
never hangs and never answers 500. After the restart everything works and
nothing ran twice: an email answered 201 exists exactly once, one answered
503 (never published) not at all, one answered 504 at most once (its request
expired in the queue), and each person has exactly one ``person:new`` event.

Two kinds of outage: a short one (3 s, restart before the in-flight requests
expire: they are redelivered to the new process and answered 201, once) and a
long one (RPC_TIMEOUT + 1 s: in-flight requests get 504 and expire in the
queue, new ones get 503 at once). Default: one of each, 4 clients (~40 s).
``SLATE_FAULT_LONG=1``: two of each, 8 clients.
"""

from __future__ import annotations

import collections
import os
import threading
import time
import uuid

import psycopg2
import pytest
import requests
from sqlalchemy.engine import make_url

pytestmark = pytest.mark.fault

LONG = os.environ.get("SLATE_FAULT_LONG") == "1"
CLIENTS = 8 if LONG else 4
SHORT_OUTAGE = 3.0


def _db_counts(env: dict, emails: list[str]) -> tuple[dict, dict]:
    url = make_url(env["DATABASE_URL"])
    conn = psycopg2.connect(host=url.host, port=url.port or 5432, user=url.username,
                            password=url.password, dbname=url.database)
    try:
        with conn.cursor() as cur:
            cur.execute("SELECT email, count(*) FROM auth.person WHERE email = ANY(%s) GROUP BY email", (emails,))
            persons = dict(cur.fetchall())
            cur.execute(
                "SELECT body->'record'->>'email', count(*) FROM auth.outbox "
                "WHERE name = 'person:new' AND body->'record'->>'email' = ANY(%s) GROUP BY 1",
                (emails,),
            )
            events = dict(cur.fetchall())
    finally:
        conn.close()
    return persons, events


def test_auth_sigkill_under_load_answers_503_504_in_time_and_runs_nothing_twice(suite):
    rpc_timeout = float(suite.env.get("RPC_TIMEOUT") or os.environ.get("RPC_TIMEOUT") or 10)
    token = suite.login().headers["Authorization"]
    run = uuid.uuid4().hex[:6]
    results: list[tuple[str, object, float, float]] = []  # email, status, started, elapsed
    lock = threading.Lock()
    stop = threading.Event()

    def client(i: int) -> None:
        s = requests.Session()
        s.headers["Authorization"] = token
        n = 0
        while not stop.is_set():
            n += 1
            email = f"kill-{run}-{i}-{n}@example.com"
            t0 = time.monotonic()
            try:
                r = s.post(suite.url + "/data/persons", timeout=rpc_timeout + 20,
                           json={"first_name": "K", "last_name": f"{i}-{n}", "email": email})
                status: object = r.status_code
                if status == 500:
                    status = f"500 {r.text[:200]}"
            except requests.Timeout:
                status = "hang"
            except requests.RequestException as exc:
                status = f"error {type(exc).__name__}"
            with lock:
                results.append((email, status, t0, time.monotonic() - t0))
            if status not in (201,):
                time.sleep(0.05)  # a real client backs off a little

    def count(status, since=0.0) -> int:
        with lock:
            return sum(1 for _, st, t0, _ in results if st == status and t0 >= since)

    def wait_for(pred, timeout, what):
        deadline = time.monotonic() + timeout
        while not pred():
            assert time.monotonic() < deadline, f"{what} not reached in {timeout} s"
            time.sleep(0.05)

    threads = [threading.Thread(target=client, args=(i,), daemon=True) for i in range(CLIENTS)]
    outages = [SHORT_OUTAGE, rpc_timeout + 1] * (2 if LONG else 1)
    kills: list[float] = []
    last_kill = None
    try:
        for t in threads:
            t.start()
        for outage in outages:
            mark = time.monotonic()
            wait_for(lambda m=mark: count(201, m) >= CLIENTS * 2, 30, "load before the kill")
            suite.kill("auth")
            last_kill = time.monotonic()
            kills.append(last_kill)
            wait_for(lambda k=last_kill, o=outage: time.monotonic() - k >= o, outage + 1, "outage")
            suite.start_service("auth")
            suite.wait_rpc("auth", timeout=60)
            restarted = time.monotonic()
            wait_for(lambda r=restarted: count(201, r) >= CLIENTS * 2, 30, "work after the restart")
        # Keep going until every request queued before the kill has either run
        # or expired, so a late execution would show in the counts below.
        wait_for(lambda: time.monotonic() - last_kill > rpc_timeout + 1, rpc_timeout + 30, "expiry window")
    finally:
        stop.set()
        for t in threads:
            t.join(timeout=rpc_timeout + 25)
        if suite.procs["auth"].poll() is not None:  # leave auth running for the next tests
            suite.start_service("auth")
            suite.wait_rpc("auth", timeout=60)
    assert not any(t.is_alive() for t in threads), "a client never got an answer"

    by_status = collections.Counter(st for _, st, _, _ in results)
    unexpected = {st: c for st, c in by_status.items() if st not in (201, 503, 504)}
    # A 400 "already exists" here means the request committed, the process
    # died before nameko acked the RPC message, and the redelivered copy ran
    # again (stopped only by the unique email): RPC is at-least-once on a
    # crash. See ADR 0003; the fix is a per-request claim (Idempotency-Key).
    assert not unexpected, f"unexpected answers: {unexpected} (all: {by_status})"
    assert by_status[503] + by_status[504] >= 1, f"no request met the outage: inconclusive ({by_status})"
    # Requests in flight at a kill: answered 201 when the new process picked
    # them up before they expired (redelivered), else 504 (expired, dropped).
    in_flight = [(e, st) for e, st, t0, el in results if any(t0 < k < t0 + el for k in kills)]
    assert in_flight, "no request was in flight at a kill: inconclusive"
    redelivered = [e for e, st in in_flight if st == 201]
    slow = [(st, round(el, 2)) for _, st, _, el in results if st in (503, 504) and el > rpc_timeout + 1]
    assert not slow, f"503/504 later than RPC_TIMEOUT + 1 s: {slow}"
    slowest = max(el for _, _, _, el in results)
    assert slowest <= rpc_timeout + 1, f"slowest answer {slowest:.1f} s"

    emails = [e for e, _, _, _ in results]
    persons, events = _db_counts(suite.env, emails)
    twice = {e: c for e, c in persons.items() if c > 1}
    assert not twice, f"created twice: {twice}"
    for email, status, _, _ in results:
        if status == 201:
            assert persons.get(email) == 1, f"{email} answered 201 but is not stored once"
        elif status == 503:
            assert email not in persons, f"{email} answered 503 yet was created"
        assert events.get(email, 0) == persons.get(email, 0), f"{email}: person:new events != persons"

    # and the suite works normally afterwards
    admin = suite.login()
    email = f"after-{run}@example.com"
    r = admin.post(suite.url + "/data/persons", json={"first_name": "A", "last_name": "After", "email": email}, timeout=rpc_timeout + 5)
    assert r.status_code == 201, r.text
    r = admin.get(suite.url + "/data/persons", params={"email": email}, timeout=rpc_timeout + 5)
    assert r.status_code == 200 and [p["email"] for p in r.json()] == [email]
    print(f"\nauth kill: outages {outages}, {CLIENTS} clients, answers {dict(by_status)}, "
          f"slowest {slowest:.2f} s, in flight at a kill: {len(in_flight)} (then 201: {len(redelivered)}), 504-answered created: "
          f"{sum(1 for e, st, _, _ in results if st == 504 and persons.get(e))}")
