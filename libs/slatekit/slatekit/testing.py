"""pytest fixtures on real PostgreSQL and RabbitMQ.

Each test run gets its own database (one schema and role per service inside)
and its own RabbitMQ vhost, created here and dropped at the end. Services come
from env (``DATABASE_URL``, ``AMQP_URI``) — the machine's local servers by
default. A missing server fails the run; it never becomes a skip.

Load with ``pytest_plugins = ["slatekit.testing"]`` in the root conftest,
after ``eventlet.monkey_patch()``.
"""

from __future__ import annotations

import os
import secrets
import shutil
import subprocess
import uuid
from urllib.parse import quote

import pytest
from sqlalchemy.engine import make_url

from . import db


def _rabbitmqctl(*args: str) -> None:
    exe = shutil.which("rabbitmqctl")
    if exe is None:
        raise RuntimeError("rabbitmqctl not found: a vhost per test run needs it")
    subprocess.run([exe, *args], check=True, capture_output=True, timeout=60)


def make_test_env() -> dict:
    """Create a fresh database and vhost; returns the env to use."""
    from . import migrate

    run_id = uuid.uuid4().hex[:10]
    base_db = make_url(os.environ.get("SLATE_TEST_DATABASE_URL") or db.admin_url())
    test_db = base_db.set(database=f"slate_t_{run_id}")
    vhost = f"slate_t_{run_id}"
    _rabbitmqctl("add_vhost", vhost)
    _rabbitmqctl("set_permissions", "-p", vhost, "guest", ".*", ".*", ".*")
    base_amqp = os.environ.get("SLATE_TEST_AMQP_URI") or "amqp://guest:guest@127.0.0.1:5672/"
    amqp = base_amqp.rstrip("/") + "/" + quote(vhost, safe="")
    env = {
        "SLATE_ENV": "test",
        "DATABASE_URL": test_db.render_as_string(hide_password=False),
        "AMQP_URI": amqp,
        "SECRET_KEY": os.environ.get("SECRET_KEY") or secrets.token_hex(32),
        "EVENT_RETRY_DELAY_MS": "100",
        "OUTBOX_POLL_SECONDS": "0.2",
        # Every test logs in from 127.0.0.1: a per-IP login limit of 30/min
        # would turn into 429s. Rate-limit tests start their own gateway.
        "LOGIN_RATE_PER_MINUTE": os.environ.get("LOGIN_RATE_PER_MINUTE", "100000"),
        # Several runs share one PostgreSQL (max_connections 100): keep few
        # idle connections per service process; overflow still absorbs bursts.
        "DB_POOL_SIZE": os.environ.get("DB_POOL_SIZE", "2"),
        # Services started by a test exit when the test process dies (killed
        # runs used to leave whole suites running, holding DB connections).
        "SLATE_EXIT_WITH_PARENT": "1",
        "SLATE_TEST_RUN": run_id,
        "SLATE_TEST_VHOST": vhost,
    }
    os.environ.update(env)
    db.reset_engines()
    retry_while_db_busy(lambda: migrate.migrate(migrate.service_dirs()))
    return env


_BUSY = ("remaining connection slots", "too many clients", "the database system is starting up")


def retry_while_db_busy(fn, timeout: float = 90.0):
    """Run ``fn``, retrying while the shared PostgreSQL refuses connections
    (every slot taken by other runs, or restarting). Idempotent work only."""
    import time

    deadline = time.monotonic() + timeout
    delay = 0.5
    while True:
        try:
            return fn()
        except Exception as exc:  # noqa: BLE001 - filtered below
            text = str(exc)
            if not any(b in text for b in _BUSY) or time.monotonic() > deadline:
                raise
            time.sleep(delay)
            delay = min(delay * 2, 5.0)


def drop_test_env(env: dict) -> None:
    import psycopg2

    db.reset_engines()
    url = make_url(env["DATABASE_URL"])
    try:
        conn = psycopg2.connect(
            host=url.host, port=url.port or 5432, user=url.username, password=url.password, dbname="postgres"
        )
        conn.autocommit = True
        with conn.cursor() as cur:
            cur.execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = %s AND pid <> pg_backend_pid()",
                (url.database,),
            )
            cur.execute(f'DROP DATABASE IF EXISTS "{url.database}"')
        conn.close()
    finally:
        try:
            _rabbitmqctl("delete_vhost", env["SLATE_TEST_VHOST"])
        except Exception:  # noqa: BLE001
            pass


@pytest.fixture(scope="session")
def slate_env():
    """A database and a vhost for this run, migrated; env vars point at them."""
    env = make_test_env()
    try:
        yield env
    finally:
        if not os.environ.get("SLATE_KEEP_TEST_ENV"):
            drop_test_env(env)


@pytest.fixture
def run_service(slate_env):
    """Start nameko service classes in-process on the real broker and DB."""
    from nameko.containers import ServiceContainer

    from . import rpc_semantics

    rpc_semantics.install()

    from . import config

    started = []

    def start(cls):
        container = ServiceContainer(cls, config.nameko_config(cls.name))
        container.start()
        started.append(container)
        return container

    yield start
    for c in started:
        c.stop()


@pytest.fixture
def rpc(slate_env):
    """An RPC pool on the test vhost."""
    from .rpc_client import RpcPool

    pool = RpcPool(slate_env["AMQP_URI"])
    yield pool
    pool.close()


def create_service_schema(service: str, metadata) -> None:
    """Give a test-only service a login role, a schema and the tables of
    ``metadata`` in this run's database (as ``make migrate`` does for real
    services, without alembic). Idempotent: existing tables are kept."""
    from sqlalchemy import text

    from . import migrate

    def create():
        migrate.ensure_schema(db.admin_url(), service)
        with db.engine_for(service).begin() as conn:
            conn.execute(text("SELECT 1"))
            metadata.create_all(conn)

    retry_while_db_busy(create)


def drop_service_schema(service: str) -> None:
    """Drop a test service's schema (its tables go with it)."""
    from psycopg2 import sql

    from . import migrate

    conn = migrate._connect(db.admin_url())
    conn.autocommit = True
    with conn.cursor() as cur:
        cur.execute(sql.SQL("DROP SCHEMA IF EXISTS {} CASCADE").format(sql.Identifier(service)))
    conn.close()


@pytest.fixture
def service_schema(slate_env):
    """``service_schema(name, metadata)``: a role + schema + tables for a
    test-only service, dropped after the test."""
    made = []

    def make(service: str, metadata):
        create_service_schema(service, metadata)
        made.append(service)
        return db.engine_for(service)

    yield make
    for service in made:
        db.engine_for(service).dispose()
        drop_service_schema(service)


class EventProbe:
    """An exclusive queue bound to ``slate.events`` (routing key ``#`` by
    default): sees every event published on the run's vhost, as an external
    subscriber would. ``wait_for`` drains until a condition holds."""

    def __init__(self, amqp_uri: str | None = None, routing_key: str = "#"):
        from kombu import Connection, Queue

        from . import config
        from .events import EVENTS_EXCHANGE

        self.conn = Connection(amqp_uri or config.amqp_uri(), heartbeat=0)
        self.conn.ensure_connection(max_retries=3)
        self.channel = self.conn.channel()
        EVENTS_EXCHANGE.declare(channel=self.channel)
        self.queue = Queue(
            f"slate.test-probe.{uuid.uuid4().hex[:8]}",
            exchange=EVENTS_EXCHANGE,
            routing_key=routing_key,
            exclusive=True,
            auto_delete=True,
        )(self.channel)
        self.queue.declare()
        self.messages: list[dict] = []
        self.properties: list[dict] = []
        self._consumer = self.conn.Consumer(
            queues=[self.queue], callbacks=[self._on], accept=["json"], no_ack=True
        )
        self._consumer.consume()

    def _on(self, body, message):
        import json as _json

        self.messages.append(body if isinstance(body, dict) else _json.loads(body))
        self.properties.append(dict(message.properties))

    def drain(self, seconds: float) -> None:
        """Collect whatever arrives during ``seconds``."""
        import time

        deadline = time.monotonic() + seconds
        while (left := deadline - time.monotonic()) > 0:
            try:
                self.conn.drain_events(timeout=min(left, 0.2))
            except TimeoutError:
                pass

    def wait_for(self, predicate, timeout: float = 10.0) -> list[dict]:
        """Drain until ``predicate(messages)`` is true; AssertionError on timeout."""
        import time

        deadline = time.monotonic() + timeout
        while not predicate(self.messages):
            left = deadline - time.monotonic()
            if left <= 0:
                raise AssertionError(f"probe: condition not met in {timeout} s; got {len(self.messages)} events")
            try:
                self.conn.drain_events(timeout=min(left, 0.2))
            except TimeoutError:
                pass
        return self.messages

    def of(self, name: str) -> list[dict]:
        return [m for m in self.messages if m.get("name") == name]

    def close(self) -> None:
        try:
            self.conn.release()
        except Exception:  # noqa: BLE001
            pass


@pytest.fixture
def event_probe(slate_env):
    """An ``EventProbe`` on this run's vhost (every event, routing key ``#``)."""
    probe = EventProbe(slate_env["AMQP_URI"])
    yield probe
    probe.close()


def wait_until(predicate, timeout: float = 10.0, interval: float = 0.05, what: str = "condition"):
    """Poll ``predicate`` until truthy (returns its value) or fail after ``timeout``."""
    import time

    import eventlet

    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"{what} not reached in {timeout} s")
        eventlet.sleep(interval)


@pytest.fixture(scope="module")
def s3_endpoint():
    """An S3-compatible server on loopback for the storage tests (moto's,
    a dev dependency): its URL. Buckets are the tests' to create."""
    import socket

    from moto.server import ThreadedMotoServer

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.stop()
