#!/usr/bin/env python3
"""Event delivery latency: from a committed change to socket.io clients and
to an AMQP subscriber, at a target rate, with N connected socket.io clients.

Two drivers, never mixed in one row:

* ``--mode comments`` (full stack): real comments, ``POST
  /actions/tasks/<id>/comment`` through the gateway (tasks commits the comment
  and its ``comment:new`` outbox row in one transaction, and every consumer
  downstream does its real work: notifications, news, the event log). This is
  the number issue 5 asks for, as long as the driver reaches the rate: the
  ``achieved`` column says whether it did.
* ``--mode outbox`` (relay → broker → stream → clients): the bench itself
  commits one ``bench:tick`` event per transaction into the tasks service's
  outbox table, the way services do (``slatekit.store.write_outbox``: the row
  plus a ``NOTIFY`` delivered at commit). The tasks service's relay publishes
  it. Everything after the commit is the production path; the HTTP, RPC and
  domain work before it is left out, so the rate is reached on a small box.

Latency = receipt time − the envelope's ``occurred_at`` (set inside the
committing transaction, so it is slightly before the commit; same host
clock), for every (client, event) pair; ``max`` is the worst pair. Comments
mode also gives the latency from the moment the driver sent the request
(``from req``), the only reference Zou offers: Zou's payloads carry no time.

Measuring honestly on 2 cores: the 50 clients are lean Engine.IO/socket.io
websocket clients (``wsproto``, one ``select`` loop per process, no thread per
client, answering the server's pings) spread over ``--client-procs``
processes; the AMQP probe is a process of its own; the driver runs in the
main process. Each python-socketio ``Client`` costs a thread and a full
packet decoder, and 50 of them in one interpreter measured the GIL rather
than the server (see docs/adr/0011).

    python bench/bench_events.py --mode outbox --seconds 8      # private suite (test DB + vhost)
    python bench/bench_events.py --mode comments --seconds 8
    python bench/bench_events.py --mode comments --zou --no-slate  # Zou's stream (start-zou.sh, :5001)
    python bench/bench_events.py --slate http://127.0.0.1:8080 --stream http://127.0.0.1:8090 \\
        --amqp amqp://guest:guest@127.0.0.1:5672/ --email admin@example.com --password ...

Clients connect to the stream process directly over websocket (the gateway
relay is polling-only: docs/adr/0008). Only loopback URLs are used. Results
go to bench/out/events-<mode>-<timestamp>.json.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import multiprocessing as mp
import os
import selectors
import socket
import sys
import threading
import time
import uuid
from pathlib import Path
from urllib.parse import urlsplit

import requests

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "bench"))
sys.path.insert(0, str(ROOT))
from harness import DEFAULT_OUT_DIR, assert_loopback  # noqa: E402

NAMESPACE = "/events"
TICK = "bench:tick"


def pct(values, p):
    if not values:
        return None
    values = sorted(values)
    k = min(len(values) - 1, max(0, int(round(p / 100.0 * (len(values) - 1)))))
    return round(values[k] * 1000, 2)


def occurred_ts(value) -> float | None:
    if not value:
        return None
    return dt.datetime.fromisoformat(value).replace(tzinfo=dt.UTC).timestamp()


def key_of(data: dict):
    return data.get("comment_id") or data.get("event_id")


# --------------------------------------------------------------------------- socket.io clients
class LeanSocket:
    """One Engine.IO v4 websocket session on namespace /events (sans-IO wsproto)."""

    def __init__(self, url: str, token: str):
        from wsproto import ConnectionType, WSConnection
        from wsproto.events import Request

        parts = urlsplit(url)
        self.sock = socket.create_connection((parts.hostname, parts.port or 80), timeout=20)
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.ws = WSConnection(ConnectionType.CLIENT)
        self.token = token
        self.state = "handshake"
        self.closed = False
        self.events: list[tuple] = []  # (name, key, recv_ts, occurred_ts)
        self.recording = False
        self.names: set[str] = set()
        self.partial: list[str] = []
        self.sock.sendall(self.ws.send(Request(
            host=f"{parts.hostname}:{parts.port}", target="/socket.io/?EIO=4&transport=websocket",
            extra_headers=[(b"authorization", f"Bearer {token}".encode())])))

    def fileno(self):
        return self.sock.fileno()

    def _send_text(self, text: str) -> None:
        from wsproto.events import Message

        self.sock.sendall(self.ws.send(Message(data=text)))

    def on_readable(self) -> None:
        from wsproto.events import AcceptConnection, CloseConnection, Ping, RejectConnection, TextMessage

        data = self.sock.recv(262144)
        now = time.time()
        self.ws.receive_data(data or None)
        for ev in self.ws.events():
            if isinstance(ev, TextMessage):  # wsproto hands over partial frames too
                self.partial.append(ev.data)
                if ev.message_finished:
                    text, self.partial = "".join(self.partial), []
                    self._on_text(text, now)
            elif isinstance(ev, Ping):
                self.sock.sendall(self.ws.send(ev.response()))
            elif isinstance(ev, AcceptConnection):
                self.state = "open-wait"
            elif isinstance(ev, (CloseConnection, RejectConnection)):
                self.closed = True
        if not data:
            self.closed = True

    def _on_text(self, text: str, now: float) -> None:
        kind = text[:1]
        if kind == "4":  # Engine.IO message: a socket.io packet
            body = text[1:]
            if body.startswith("2" + NAMESPACE + ","):
                if not self.recording:
                    return
                name, data = json.loads(body[len(NAMESPACE) + 2:])[:2]
                if name in self.names and isinstance(data, dict):
                    self.events.append((name, key_of(data), now, occurred_ts(data.get("occurred_at"))))
            elif body.startswith("0" + NAMESPACE):
                self.state = "ready"
            elif body.startswith("4" + NAMESPACE):
                raise RuntimeError(f"connection refused by the stream: {body}")
        elif kind == "2":  # Engine.IO ping: answer, or the server drops us
            self._send_text("3")
        elif kind == "0":  # open
            self._send_text(f"40{NAMESPACE}," + json.dumps({"token": self.token}))
            self.state = "connecting"
        elif kind == "1":
            self.closed = True


def client_process(url: str, token: str, n: int, pipe) -> None:
    """Hold ``n`` sockets; obey the parent's commands over ``pipe``."""
    sel = selectors.DefaultSelector()
    sel.register(pipe, selectors.EVENT_READ)
    socks = []
    deadline = time.monotonic() + 60
    # Connect one at a time (each connect is a DB read and an RPC on the
    # stream); a refused one (the shared PostgreSQL out of slots) is retried.
    while len(socks) < n:
        s = LeanSocket(url, token)
        sel.register(s, selectors.EVENT_READ)
        try:
            while s.state != "ready":
                if time.monotonic() > deadline:
                    pipe.send({"error": "clients not connected in 60 s"})
                    return
                for key, _ in sel.select(timeout=0.5):
                    if key.fileobj is not pipe:
                        key.fileobj.on_readable()
            socks.append(s)
        except RuntimeError:
            sel.unregister(s)
            s.sock.close()
            time.sleep(0.5)
    pipe.send({"ready": n})
    while True:
        for key, _ in sel.select(timeout=1.0):
            if key.fileobj is pipe:
                cmd = pipe.recv()
                if cmd[0] == "start":
                    for s in socks:
                        s.events.clear()
                        s.names = set(cmd[1])
                        s.recording = True
                elif cmd[0] == "count":
                    pipe.send(sum(len(s.events) for s in socks))
                elif cmd[0] == "collect":
                    pipe.send({"events": [s.events for s in socks],
                               "closed": sum(1 for s in socks if s.closed)})
                    for s in socks:
                        s.events = []
                        s.recording = False
                elif cmd[0] == "stop":
                    for s in socks:
                        try:
                            s.sock.close()
                        except OSError:
                            pass
                    return
            else:
                sock = key.fileobj
                try:
                    sock.on_readable()
                except OSError:
                    sock.closed = True
                if sock.closed:
                    sel.unregister(sock)


class ClientFleet:
    def __init__(self, urls, token: str, n: int, procs: int):
        urls = [urls] if isinstance(urls, str) else list(urls)
        procs = max(procs, len(urls))
        ctx = mp.get_context("spawn")
        self.n = n
        self.pipes, self.procs = [], []
        sizes = [n // procs + (1 if i < n % procs else 0) for i in range(procs)]
        for i, size in enumerate(sizes):
            if not size:
                continue
            parent, child = ctx.Pipe()
            url = urls[i % len(urls)]  # client processes spread over the stream replicas
            p = ctx.Process(target=client_process, args=(url, token, size, child), daemon=True)
            p.start()
            self.pipes.append(parent)
            self.procs.append(p)
        for pipe in self.pipes:
            if not pipe.poll(60):
                raise RuntimeError("socket.io clients did not connect in 60 s")
            msg = pipe.recv()
            if "error" in msg:
                raise RuntimeError(msg["error"])

    def start(self, names):
        for pipe in self.pipes:
            pipe.send(("start", list(names)))

    def count(self):
        for pipe in self.pipes:
            pipe.send(("count",))
        return sum(pipe.recv() for pipe in self.pipes)

    def collect(self):
        per_socket, closed = [], 0
        for pipe in self.pipes:
            pipe.send(("collect",))
        for pipe in self.pipes:
            msg = pipe.recv()
            per_socket.extend(msg["events"])
            closed += msg["closed"]
        return per_socket, closed

    def close(self):
        for pipe in self.pipes:
            try:
                pipe.send(("stop",))
            except OSError:
                pass
        for p in self.procs:
            p.join(5)
            if p.is_alive():
                p.terminate()


# --------------------------------------------------------------------------- AMQP probe
def probe_process(amqp: str, names: list[str], pipe) -> None:
    from kombu import Connection, Exchange, Queue

    exchange = Exchange("slate.events", type="topic", durable=True)
    events, recording = [], [False]
    with Connection(amqp) as conn:
        channel = conn.channel()
        exchange.declare(channel=channel)
        q = Queue(f"bench.events.{uuid.uuid4().hex[:8]}", exchange=exchange, routing_key=names[0],
                  exclusive=True, auto_delete=True)(channel)
        q.declare()
        for name in names[1:]:
            q.bind_to(exchange, routing_key=name)

        def on(body, message):
            now = time.time()
            if recording[0]:
                data = body.get("data") or {}
                key = data.get("comment_id") if body.get("name") == "comment:new" else body.get("event_id")
                events.append((body.get("name"), key, now, occurred_ts(body.get("occurred_at"))))
            message.ack()

        with conn.Consumer(q, callbacks=[on], accept=["json"], prefetch_count=500):
            pipe.send({"ready": True})
            while True:
                while pipe.poll():
                    cmd = pipe.recv()
                    if cmd[0] == "start":
                        events.clear()
                        recording[0] = True
                    elif cmd[0] == "count":
                        pipe.send(len(events))
                    elif cmd[0] == "collect":
                        pipe.send({"events": list(events)})
                        events.clear()
                        recording[0] = False
                    elif cmd[0] == "stop":
                        return
                try:
                    conn.drain_events(timeout=0.2)
                except TimeoutError:
                    pass


class Probe:
    def __init__(self, amqp: str, names):
        ctx = mp.get_context("spawn")
        self.pipe, child = ctx.Pipe()
        self.proc = ctx.Process(target=probe_process, args=(amqp, list(names), child), daemon=True)
        self.proc.start()
        if not self.pipe.poll(30):
            raise RuntimeError("AMQP probe not ready in 30 s")
        self.pipe.recv()

    def start(self):
        self.pipe.send(("start",))

    def count(self):
        self.pipe.send(("count",))
        return self.pipe.recv()

    def collect(self):
        self.pipe.send(("collect",))
        return self.pipe.recv()["events"]

    def close(self):
        try:
            self.pipe.send(("stop",))
        except OSError:
            pass
        self.proc.join(5)
        if self.proc.is_alive():
            self.proc.terminate()


# --------------------------------------------------------------------------- drivers
def paced(rate: int, seconds: float, workers: int, action):
    """Call ``action(i)`` for i in range(rate*seconds), the i-th due at
    start + i/rate (open loop: a slow answer does not slow the schedule down,
    only the workers' count bounds the concurrency)."""
    total = int(rate * seconds)
    nxt = [0]
    lock = threading.Lock()
    start = time.monotonic()
    late = [0.0]

    def worker():
        while True:
            with lock:
                i = nxt[0]
                if i >= total:
                    return
                nxt[0] += 1
            delay = start + i / rate - time.monotonic()
            if delay > 0:
                time.sleep(delay)
            else:
                late[0] = max(late[0], -delay)
            action(i)

    threads = [threading.Thread(target=worker, daemon=True) for _ in range(workers)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    elapsed = time.monotonic() - start
    return total, elapsed, late[0]


class CommentDriver:
    """Real comments through the HTTP API (Slate's gateway or Zou)."""

    name = "comment:new"

    def __init__(self, base: str, token: str, tasks: int = 20, label: str = "slate"):
        self.base = base
        self.token = token
        self.local = threading.local()
        s = self.session()
        tt = s.get(f"{base}/data/task-types", timeout=30).json()
        task_type = next((t for t in tt if t["name"] == "Animation"), tt[0])
        statuses = s.get(f"{base}/data/task-status", timeout=30).json()
        self.status_id = next((t["id"] for t in statuses if t.get("short_name") in ("wip", "todo")), statuses[0]["id"])
        r = s.post(f"{base}/data/projects", json={"name": f"bench-events-{uuid.uuid4().hex[:6]}"}, timeout=30)
        r.raise_for_status()
        self.project_id = r.json()["id"]
        seq = s.post(f"{base}/data/projects/{self.project_id}/sequences", json={"name": "SQ01"}, timeout=30)
        seq.raise_for_status()
        for i in range(tasks):
            r = s.post(f"{base}/data/projects/{self.project_id}/shots",
                       json={"name": f"SH{i:03d}", "sequence_id": seq.json()["id"]}, timeout=30)
            r.raise_for_status()
        self.tasks = []
        deadline = time.monotonic() + 60
        while len(self.tasks) < tasks and time.monotonic() < deadline:
            s.post(f"{base}/actions/projects/{self.project_id}/task-types/{task_type['id']}/shots/create-tasks",
                   json={}, timeout=60)
            r = s.get(f"{base}/data/tasks", params={"project_id": self.project_id}, timeout=30)
            if r.ok:
                self.tasks = [t["id"] for t in r.json()]
            if len(self.tasks) < tasks:
                time.sleep(1)  # Slate: the tasks service learns of the new shots from events
        if not self.tasks:
            raise RuntimeError(f"[{label}] no task to comment on")
        self.sent: dict[str, float] = {}
        self.answered: dict[str, float] = {}
        self.errors = 0
        self.first_error = None
        self.lock = threading.Lock()

    def session(self):
        s = getattr(self.local, "s", None)
        if s is None:
            s = self.local.s = requests.Session()
            s.headers["Authorization"] = "Bearer " + self.token
        return s

    def __call__(self, i: int) -> None:
        t0 = time.time()
        try:
            r = self.session().post(f"{self.base}/actions/tasks/{self.tasks[i % len(self.tasks)]}/comment",
                                    json={"task_status_id": self.status_id, "comment": f"bench {i}"}, timeout=60)
            failure = None if r.status_code in (200, 201) else f"HTTP {r.status_code} {r.text[:200]}"
        except requests.RequestException as exc:
            r, failure = None, repr(exc)[:200]
        t1 = time.time()
        with self.lock:
            if failure:
                self.errors += 1
                self.first_error = self.first_error or failure
                return
            cid = r.json()["id"]
            self.sent[cid] = t0
            self.answered[cid] = t1

    def reset(self):
        self.sent, self.answered, self.errors, self.first_error = {}, {}, 0, None

    def expected(self):
        return set(self.sent)


class OutboxDriver:
    """``bench:tick`` events committed into the tasks service's outbox, one per
    transaction, as ``StoreHandle.emit`` writes them (row + NOTIFY at commit)."""

    name = TICK
    workers = 8

    def __init__(self, database_url: str | None):
        import eventlet  # noqa: F401 - slatekit imports it
        from slatekit import db
        from slatekit.events import envelope
        from slatekit.store import outbox_tables, write_outbox
        from sqlalchemy import MetaData, create_engine, text

        if database_url:
            os.environ["DATABASE_URL"] = database_url
        from sqlalchemy.engine import make_url

        self.database = make_url(db.admin_url()).database
        # Its own small pool, opened before the run: the shared PostgreSQL has
        # few free slots, and a commit takes a few ms (8 in flight is plenty).
        self.engine = create_engine(db.service_url("tasks"), pool_size=self.workers, max_overflow=0,
                                    connect_args={"options": "-csearch_path=tasks,public", "connect_timeout": 5})
        conns = [self.engine.connect() for _ in range(self.workers)]
        for c in conns:
            c.execute(text("SELECT 1"))
            c.close()
        self.outbox, _ = outbox_tables(MetaData())
        self.envelope, self.write = envelope, write_outbox
        self.project_id = str(uuid.uuid4())
        self.sent: dict[str, float] = {}
        self.errors = 0
        self.lock = threading.Lock()

    def __call__(self, i: int) -> None:
        body = self.envelope(TICK, {"seq": i}, source="tasks", project_id=self.project_id)
        t0 = time.time()
        try:
            with self.engine.begin() as conn:
                self.write(conn, self.outbox, body, "tasks")
        except Exception as exc:  # noqa: BLE001 - counted, first one kept
            with self.lock:
                self.errors += 1
                self.first_error = getattr(self, "first_error", None) or repr(exc)[:300]
            return
        with self.lock:
            self.sent[body["event_id"]] = t0

    def reset(self):
        self.sent, self.errors = {}, 0

    def expected(self):
        return set(self.sent)


# --------------------------------------------------------------------------- CPU accounting
def _label(cmdline: list[str]) -> str | None:
    text = " ".join(cmdline)
    if "slate_events.stream" in text:
        return "stream"
    if "slatekit.run" in text:
        for part in cmdline:
            if part.startswith("slate_") and ":" in part:
                return part.split(".")[0][len("slate_"):]
    if "gunicorn" in text or "slate_gateway" in text:
        return "gateway"
    return None


def suite_pids(amqp_uri: str | None, database: str | None = None) -> dict[int, str]:
    """Processes of the Slate under test: the ones whose environment holds its
    AMQP URI (a private suite's vhost is unique), the PostgreSQL backends of
    its database and the broker (shared by everything on the box)."""
    pids: dict[int, str] = {}
    if not amqp_uri:
        return pids
    needle = ("AMQP_URI=" + amqp_uri).encode()
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/cmdline", "rb") as f:
                raw = f.read()
            if database and raw.startswith(b"postgres: ") and f" {database} ".encode() in raw:
                pids[int(entry)] = "postgres"
                continue
            if b"beam.smp" in raw.split(b"\0")[0]:
                pids[int(entry)] = "rabbitmq(all)"
                continue
            with open(f"/proc/{entry}/environ", "rb") as f:
                if needle not in f.read().split(b"\0"):
                    continue
            with open(f"/proc/{entry}/cmdline", "rb") as f:
                cmd = [c.decode(errors="replace") for c in f.read().split(b"\0") if c]
        except OSError:
            continue
        label = _label(cmd)
        if label:
            pids[int(entry)] = label
    return pids


def cpu_seconds(pids: dict[int, str]) -> dict[str, float]:
    tick = os.sysconf("SC_CLK_TCK")
    out: dict[str, float] = {}
    for pid, label in pids.items():
        try:
            with open(f"/proc/{pid}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        out[label] = out.get(label, 0.0) + (int(fields[11]) + int(fields[12])) / tick
    return out


# --------------------------------------------------------------------------- one rate
def summarize(pairs, expected_keys, n_sockets, ref=None):
    """pairs: per socket, list of (name, key, recv_ts, occurred_ts)."""
    lat, lat_req, got, per_socket = [], [], 0, []
    for events in pairs:
        seen = set()
        mine = []
        for _name, key, recv, occ in events:
            if key not in expected_keys or key in seen:
                continue
            seen.add(key)
            got += 1
            if occ is not None:
                lat.append(recv - occ)
                mine.append(recv - occ)
            if ref is not None and key in ref:
                lat_req.append(recv - ref[key])
        per_socket.append(pct(mine, 99))
    out = {"received": got, "expected": len(expected_keys) * n_sockets,
           "p50_ms": pct(lat, 50), "p99_ms": pct(lat, 99), "max_ms": pct(lat, 100)}
    if n_sockets > 1:
        out["per_socket_p99_ms"] = per_socket  # in client-process order: tells a slow client process apart
    if ref is not None:
        out.update({"req_p50_ms": pct(lat_req, 50), "req_p99_ms": pct(lat_req, 99), "req_max_ms": pct(lat_req, 100)})
    return out


def run_rate(driver, rate, seconds, clients, probe, stream_url=None, workers=None, amqp_uri=None):
    driver.reset()
    names = [driver.name]
    clients.start(names)
    if probe is not None:
        probe.start()
    time.sleep(0.3)
    pids = dict(suite_pids(amqp_uri, getattr(driver, "database", None)))
    pids.update({p.pid: "bench-clients" for p in clients.procs})
    if probe is not None:
        pids[probe.proc.pid] = "bench-probe"
    pids[os.getpid()] = "bench-driver"
    cpu0, wall0 = cpu_seconds(pids), time.monotonic()
    workers = workers or getattr(driver, "workers", None) or min(64, max(8, rate // 4))
    total, elapsed, late = paced(rate, seconds, workers, driver)
    expected = driver.expected()
    ref = getattr(driver, "sent", None) if isinstance(driver, CommentDriver) else None
    # Wait until every socket and the probe have everything, or 15 s more.
    want = len(expected) * clients.n
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        if clients.count() >= want and (probe is None or probe.count() >= len(expected)):
            break
        time.sleep(0.5)
    time.sleep(0.5)  # room for duplicates to show
    cpu1, wall = cpu_seconds(pids), time.monotonic() - wall0
    pairs, closed = clients.collect()
    amqp = probe.collect() if probe is not None else None
    sio = summarize(pairs, expected, clients.n, ref)
    row = {"rate_target": rate, "events": total, "committed": len(expected), "errors": driver.errors,
           "first_error": getattr(driver, "first_error", None),
           "achieved_rate": round(len(expected) / elapsed, 1), "driver_max_late_ms": round(late * 1000, 1),
           "clients": clients.n, "clients_closed": closed, "socketio": sio}
    if amqp is not None:
        row["amqp"] = summarize([amqp], expected, 1, ref)
    # CPU each part used over the run (driver, drain and wait included), as
    # a share of one core and in ms per committed event: contention-proof.
    row["cpu"] = {k: {"core_share": round((cpu1[k] - cpu0.get(k, 0)) / wall, 3),
                      "ms_per_event": round((cpu1[k] - cpu0.get(k, 0)) * 1000 / max(1, len(expected)), 3)}
                  for k in sorted(cpu1)}
    row["loadavg_1m"] = os.getloadavg()[0]
    stats1 = stream_stats(stream_url)
    if stats1:
        row["stream"] = {k: stats1.get(k) for k in ("feed_lag_ms", "emit_lag_ms")}
    return row


def stream_stats(url):
    if not url:
        return None
    try:
        return requests.get(url + "/stats", timeout=5).json()
    except (requests.RequestException, ValueError):
        return None


def print_table(label, rows):
    print(f"[{label}]")
    print(f"{'rate':>5} {'achvd':>6} {'sio p50':>8} {'sio p99':>8} {'sio max':>8} {'sio recv':>15} "
          f"{'amqp p50':>8} {'amqp p99':>8} {'amqp max':>8} {'amqp recv':>11}")
    for r in rows:
        s, a = r["socketio"], r.get("amqp") or {}
        print(f"{r['rate_target']:>5} {r['achieved_rate']:>6} {s['p50_ms']!s:>8} {s['p99_ms']!s:>8} {s['max_ms']!s:>8} "
              f"{s['received']:>7}/{s['expected']:<7} {a.get('p50_ms')!s:>8} {a.get('p99_ms')!s:>8} "
              f"{a.get('max_ms')!s:>8} {str(a.get('received')) + '/' + str(a.get('expected')):>11}")
        if r.get("cpu"):
            print(f"{'':>12} cpu ms/event: " + ", ".join(f"{k} {v['ms_per_event']}" for k, v in r["cpu"].items())
                  + f" (load {r['loadavg_1m']:.1f}; driver errors {r['errors']})"
                  + (f"; first: {r['first_error']}" if r.get("first_error") else ""))
        if "req_p50_ms" in s:
            print(f"{'':>5} {'':>6} from request sent: sio p50 {s['req_p50_ms']} p99 {s['req_p99_ms']} "
                  f"max {s['req_max_ms']}" + (f"; amqp p50 {a.get('req_p50_ms')} p99 {a.get('req_p99_ms')}" if a else ""))


# --------------------------------------------------------------------------- main
def boot_suite(replicas: int = 1):
    import eventlet  # noqa: F401 - the kit's RPC client expects it importable
    from slatekit.testing import make_test_env

    from tests.conftest import ADMIN_EMAIL, ADMIN_PASSWORD, Suite, service_names

    chosen_pool = os.environ.get("DB_POOL_SIZE")
    env = make_test_env()
    # The services' production pool (MAX_WORKERS + 4), not the test suite's
    # small one (2): with fewer pooled connections than workers, each extra
    # worker opens and closes a connection per event.
    for d in (env, os.environ):
        d.pop("DB_POOL_SIZE", None)
        if chosen_pool:
            d["DB_POOL_SIZE"] = chosen_pool
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
    suite.stream_urls = [suite.stream_url]
    from tests.conftest import free_port

    for k in range(1, replicas):
        # More stream processes share the feed and, through KombuManager, each
        # one's emits: each delivers to its own sockets (production scaling).
        port = free_port()
        suite._spawn(f"stream-{k}", [sys.executable, "-m", "slate_events.stream"], extra_env={"STREAM_PORT": str(port)})
        url = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                if requests.get(url + "/readyz", timeout=2).ok:
                    break
            except requests.RequestException:
                pass
            time.sleep(0.2)
        suite.stream_urls.append(url)
    return suite, env, ADMIN_EMAIL, ADMIN_PASSWORD


def login(base, email, password):
    r = requests.post(base + "/auth/login", json={"email": email, "password": password}, timeout=30)
    r.raise_for_status()
    return r.json()["access_token"]


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--mode", choices=("outbox", "comments"), default="outbox")
    ap.add_argument("--slate", help="gateway URL of a running Slate (default: boot a private suite)")
    ap.add_argument("--stream", help="stream URL of a running Slate")
    ap.add_argument("--amqp")
    ap.add_argument("--database-url", default=os.environ.get("DATABASE_URL"),
                    help="outbox mode against a running Slate: the admin database URL")
    ap.add_argument("--email", default="admin@example.com")
    ap.add_argument("--password", default=os.environ.get("ADMIN_PASSWORD"))
    ap.add_argument("--no-slate", action="store_true")
    ap.add_argument("--zou", nargs="?", const="http://127.0.0.1:5000", help="also Zou (comments mode)")
    ap.add_argument("--zou-stream", default="http://127.0.0.1:5001")
    ap.add_argument("--zou-email", default=os.environ.get("ZOU_ADMIN_EMAIL", "admin@example.com"))
    ap.add_argument("--zou-password", default=os.environ.get("ZOU_ADMIN_PASSWORD", "reference-admin-pass"))
    ap.add_argument("--clients", type=int, default=50)
    ap.add_argument("--client-procs", type=int, default=2)
    ap.add_argument("--stream-replicas", type=int, default=1,
                    help="private suite only: stream processes (clients spread over them)")
    ap.add_argument("--rates", default="50,200")
    ap.add_argument("--seconds", type=float, default=8)
    ap.add_argument("--workers", type=int, default=0, help="driver threads (default: rate/4, 8..64)")
    args = ap.parse_args()
    rates = [int(r) for r in args.rates.split(",")]
    doc = {"name": "events", "mode": args.mode, "at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
           "host_cpus": os.cpu_count(), "clients": args.clients, "client_procs": args.client_procs,
           "seconds": args.seconds, "command": [Path(sys.argv[0]).name, *sys.argv[1:]]}
    suite = env = None
    try:
        if not args.no_slate:
            if not args.slate:
                suite, env, args.email, args.password = boot_suite(args.stream_replicas)
                args.slate, args.stream, args.amqp = suite.url, suite.stream_url, env["AMQP_URI"]
                args.database_url = env["DATABASE_URL"]
            for u in (args.slate, args.stream):
                assert_loopback(u)
            token = login(args.slate, args.email, args.password)
            driver = CommentDriver(args.slate, token) if args.mode == "comments" else OutboxDriver(args.database_url)
            probe = Probe(args.amqp, [driver.name])
            stream_urls = getattr(suite, "stream_urls", None) or [args.stream]
            clients = ClientFleet(stream_urls, token, args.clients, args.client_procs)
            doc["stream_replicas"] = len(stream_urls)
            try:
                doc["slate"] = [run_rate(driver, r, args.seconds, clients, probe, args.stream, args.workers,
                                         args.amqp) for r in rates]
            finally:
                clients.close()
                probe.close()
            print_table(f"slate, {args.mode}, {len(stream_urls)} stream process(es)", doc["slate"])
        if args.zou:
            if args.mode != "comments":
                print("[zou] only comments mode applies (Zou has no outbox)")
            else:
                assert_loopback(args.zou)
                assert_loopback(args.zou_stream)
                try:
                    requests.get(args.zou_stream + "/", timeout=3)
                except requests.RequestException:
                    doc["zou"] = "Zou's event stream is not running at " + args.zou_stream
                    print("[zou]", doc["zou"])
                else:
                    token = login(args.zou, args.zou_email, args.zou_password)
                    driver = CommentDriver(args.zou, token, label="zou")
                    clients = ClientFleet(args.zou_stream, token, args.clients, args.client_procs)
                    try:
                        doc["zou"] = [run_rate(driver, r, args.seconds, clients, None, None, args.workers)
                                      for r in rates]
                    finally:
                        clients.close()
                    print_table("zou, comments (latency from the request only)", doc["zou"])
        DEFAULT_OUT_DIR.mkdir(parents=True, exist_ok=True)
        out = DEFAULT_OUT_DIR / f"events-{args.mode}-{dt.datetime.now(dt.UTC).strftime('%Y%m%d-%H%M%S')}.json"
        out.write_text(json.dumps(doc, indent=2))
        print(f"written {out}")
    finally:
        if suite is not None:
            from slatekit.testing import drop_test_env

            suite.stop()
            drop_test_env(env)


if __name__ == "__main__":
    main()
