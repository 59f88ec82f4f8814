#!/usr/bin/env python3
"""Event delivery latency: from a committed change to a socket.io client and
to an AMQP subscriber, at a target rate, with N connected socket.io clients.

The change is ``PUT /data/persons/<id>`` through the gateway (auth commits
the row and its ``person:update`` outbox row in one transaction; the relay
publishes it; the events stream relays it to every client, the probe queue
receives it). Latency = receipt time − the envelope's ``occurred_at`` (set
inside the committing transaction; same host clock), for every (client, event) pair.

    python bench/bench_events.py                    # boots a private suite (test DB + vhost), 50 clients, 50 and 200 ev/s
    python bench/bench_events.py --slate http://127.0.0.1:8080 --stream http://127.0.0.1:8090 \\
        --amqp amqp://guest:guest@127.0.0.1:5672/ --email admin@example.com --password ...

Clients connect to the stream process directly (the gateway relay is
polling-only and holds one gateway thread per client: docs/adr/0008).
Only loopback URLs are used. Results go to bench/out/events-<timestamp>.json.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import sys
import threading
import time
from pathlib import Path

import requests
import socketio
from kombu import Connection, Queue

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "bench"))
sys.path.insert(0, str(ROOT))
from harness import DEFAULT_OUT_DIR, assert_loopback  # noqa: E402


def pct(values, p):
    if not values:
        return None
    values = sorted(values)
    k = min(len(values) - 1, max(0, int(round(p / 100.0 * (len(values) - 1)))))
    return round(values[k] * 1000, 2)


def occurred(data_or_env) -> float:
    ts = data_or_env["occurred_at"]
    return dt.datetime.fromisoformat(ts).replace(tzinfo=dt.timezone.utc).timestamp()


class Clients:
    def __init__(self, stream_url, token, n):
        self.lat: list[float] = []
        self.lock = threading.Lock()
        self.tag = None
        self.clients = []
        for _ in range(n):
            c = socketio.Client(reconnection=False)
            c.on("person:update", self._on, namespace="/events")
            c.connect(stream_url, auth={"token": token}, namespaces=["/events"], wait_timeout=20)
            self.clients.append(c)

    def _on(self, data):
        now = time.time()
        if self.tag and data.get("person_id") in self.tag:
            with self.lock:
                self.lat.append(now - occurred(data))

    def close(self):
        for c in self.clients:
            c.disconnect()


class Probe(threading.Thread):
    def __init__(self, amqp):
        super().__init__(daemon=True)
        self.amqp, self.lat, self.tag, self.running = amqp, [], None, True
        self.ready = threading.Event()

    def run(self):
        from slatekit.events import EVENTS_EXCHANGE

        with Connection(self.amqp) as conn:
            q = Queue(f"bench.events.{os.getpid()}", exchange=EVENTS_EXCHANGE, routing_key="person:update",
                      exclusive=True, auto_delete=True)(conn.channel())
            q.declare()

            def on(body, message):
                now = time.time()
                if self.tag and body["data"].get("person_id") in self.tag:
                    self.lat.append(now - occurred(body))
                message.ack()

            with conn.Consumer(q, callbacks=[on], accept=["json"]):
                self.ready.set()
                while self.running:
                    try:
                        conn.drain_events(timeout=0.5)
                    except Exception:  # noqa: BLE001 - timeout
                        pass


def run_rate(base, session_factory, person_ids, rate, seconds, clients, probe):
    tag = set(person_ids)
    clients.lat.clear()
    probe.lat.clear()
    clients.tag, probe.tag = tag, tag
    total = int(rate * seconds)
    sent, errors = [0], [0]
    start = time.monotonic()
    lock = threading.Lock()
    workers = min(64, max(4, rate // 2))

    def worker(idx):
        s = session_factory()
        while True:
            with lock:
                i = sent[0]
                if i >= total:
                    return
                sent[0] += 1
            due = start + i / rate
            delay = due - time.monotonic()
            if delay > 0:
                time.sleep(delay)
            pid = person_ids[i % len(person_ids)]
            r = s.put(f"{base}/data/persons/{pid}", json={"phone": str(i)}, timeout=30)
            if r.status_code != 200:
                errors[0] += 1

    threads = [threading.Thread(target=worker, args=(k,)) for k in range(workers)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    send_time = time.monotonic() - start
    expected = (total - errors[0]) * len(clients.clients)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and (len(clients.lat) < expected or len(probe.lat) < total - errors[0]):
        time.sleep(0.2)
    return {
        "rate_target": rate, "events": total, "errors": errors[0], "achieved_rate": round(total / send_time, 1),
        "clients": len(clients.clients),
        "socketio": {"received": len(clients.lat), "expected": expected, "p50_ms": pct(clients.lat, 50),
                     "p99_ms": pct(clients.lat, 99), "max_ms": pct(clients.lat, 100)},
        "amqp": {"received": len(probe.lat), "expected": total - errors[0], "p50_ms": pct(probe.lat, 50),
                 "p99_ms": pct(probe.lat, 99)},
    }


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--slate")
    ap.add_argument("--stream")
    ap.add_argument("--amqp")
    ap.add_argument("--email", default="admin@example.com")
    ap.add_argument("--password", default=os.environ.get("ADMIN_PASSWORD"))
    ap.add_argument("--clients", type=int, default=50)
    ap.add_argument("--rates", default="50,200")
    ap.add_argument("--seconds", type=float, default=10)
    args = ap.parse_args()
    suite = env = None
    if not args.slate:
        import eventlet  # noqa: F401 - the kit's RPC client expects it importable

        from slatekit.testing import drop_test_env, make_test_env
        from tests.conftest import ADMIN_EMAIL, ADMIN_PASSWORD, Suite, service_names

        env = make_test_env()
        log_dir = ROOT / "bench" / "out" / "events-suite-logs"
        log_dir.mkdir(parents=True, exist_ok=True)
        suite = Suite(dict(env), log_dir)
        for name in service_names():
            suite.start_service(name)
        suite.start_gateway()
        suite.start_stream()
        for name in service_names():
            suite.wait_rpc(name)
        suite.wait_ready()
        suite.wait_stream()
        from slatekit.rpc_client import RpcPool

        pool = RpcPool(env["AMQP_URI"])
        pool.call("auth", "set_password", {"email": ADMIN_EMAIL, "password": ADMIN_PASSWORD}, {"role": "admin"}, timeout=30)
        pool.close()
        args.slate, args.stream, args.amqp = suite.url, suite.stream_url, env["AMQP_URI"]
        args.email, args.password = ADMIN_EMAIL, ADMIN_PASSWORD
    for u in (args.slate, args.stream):
        assert_loopback(u)
    try:
        token = requests.post(args.slate + "/auth/login", json={"email": args.email, "password": args.password},
                              timeout=15).json()["access_token"]

        def session_factory():
            s = requests.Session()
            s.headers["Authorization"] = "Bearer " + token
            return s

        admin = session_factory()
        persons = []
        for i in range(20):
            r = admin.post(args.slate + "/data/persons", json={"first_name": f"Bench{i}", "last_name": "E",
                                                               "email": f"bench{i}-{os.getpid()}@example.com"}, timeout=15)
            persons.append(r.json()["id"])
        probe = Probe(args.amqp)
        probe.start()
        probe.ready.wait(20)
        clients = Clients(args.stream, token, args.clients)
        results = [run_rate(args.slate, session_factory, persons, int(r), args.seconds, clients, probe)
                   for r in args.rates.split(",")]
        clients.close()
        probe.running = False
        doc = {"name": "events", "at": dt.datetime.utcnow().isoformat(timespec="seconds"),
               "host_cpus": os.cpu_count(), "results": results}
        DEFAULT_OUT_DIR.mkdir(parents=True, exist_ok=True)
        out = DEFAULT_OUT_DIR / f"events-{dt.datetime.utcnow().strftime('%Y%m%d-%H%M%S')}.json"
        out.write_text(json.dumps(doc, indent=2))
        print(f"{'rate':>6} {'achieved':>9} {'sio p50':>9} {'sio p99':>9} {'sio recv':>14} {'amqp p50':>9} {'amqp p99':>9}")
        for r in results:
            print(f"{r['rate_target']:>6} {r['achieved_rate']:>9} {r['socketio']['p50_ms']:>9} {r['socketio']['p99_ms']:>9} "
                  f"{r['socketio']['received']:>6}/{r['socketio']['expected']:<7} {r['amqp']['p50_ms']:>9} {r['amqp']['p99_ms']:>9}")
        print(f"written {out}")
    finally:
        if suite is not None:
            suite.stop()
            drop_test_env(env)


if __name__ == "__main__":
    main()
