"""The outbox relay's wake-ups and confirms, on the real broker and database.

- A commit made elsewhere (another process or replica: here the test's own
  connection, which no worker teardown pokes) wakes the relay through
  ``NOTIFY outbox_<service>``: with the poll set to 30 s the event still
  leaves at once; a row written without the notification waits for the poll.
- A batch is published and then confirmed once; a broker ``nack`` leaves the
  whole batch unmarked and it is published again once the broker accepts it.
- The listener survives its connection being killed (database outage) and
  wakes the relay again afterwards.
"""

from __future__ import annotations

import time
import uuid

import pytest
from nameko.rpc import rpc
from slatekit import db
from slatekit.events import EVENTS_EXCHANGE, envelope
from slatekit.store import Store, notify_channel, outbox_tables, write_outbox
from slatekit.testing import wait_until
from sqlalchemy import MetaData, func, select, text

pytestmark = pytest.mark.interface

SERVICE = "kt_relay"
md = MetaData()
outbox, _ = outbox_tables(md)


class RelayService:
    name = SERVICE
    store = Store(md)

    @rpc
    def ping(self):
        return "pong"


def _relay(container):
    return next(e for e in container.subextensions if type(e).__name__ == "OutboxRelay")


def _write(engine, n=1, notify=True, name="kt-relay:new"):
    ids = []
    with engine.begin() as c:
        for i in range(n):
            body = envelope(name, {"n": i}, source=SERVICE)
            write_outbox(c, outbox, body, SERVICE, notify=notify and i == 0)
            ids.append(body["event_id"])
    return ids


def _unpublished(engine):
    with engine.connect() as c:
        return c.scalar(select(func.count()).select_from(outbox).where(outbox.c.published_at.is_(None)))


def _seen(probe, ids):
    got = {m["event_id"] for m in probe.messages}
    return all(i in got for i in ids)


def test_a_commit_from_elsewhere_wakes_the_relay_by_notify_not_by_the_poll(
    service_schema, run_service, event_probe, monkeypatch
):
    monkeypatch.setenv("OUTBOX_POLL_SECONDS", "30")
    engine = service_schema(SERVICE, md)
    relay = _relay(run_service(RelayService))
    wait_until(lambda: relay.listening, timeout=10, what="relay listening")
    time.sleep(0.3)  # the start-up drain and poke are over: the relay now waits up to 30 s

    t0 = time.monotonic()
    ids = _write(engine, 5)
    event_probe.wait_for(lambda ms: _seen(event_probe, ids), timeout=5)
    assert time.monotonic() - t0 < 2.0, "published by the poll, not by the notification"
    assert relay.notifies_total >= 1
    assert [m["event_id"] for m in event_probe.messages] == ids  # once each, in commit order

    # Without the notification (nor a poke) the row waits: the test can tell.
    quiet = _write(engine, 1, notify=False)
    event_probe.drain(1.5)
    assert not _seen(event_probe, quiet)
    # A rolled-back transaction notifies nobody and publishes nothing.
    with pytest.raises(RuntimeError):
        with engine.begin() as c:
            write_outbox(c, outbox, envelope("kt-relay:new", {"ghost": True}, source=SERVICE), SERVICE)
            raise RuntimeError("roll back")
    event_probe.drain(1.0)
    assert not _seen(event_probe, quiet)
    assert not any(m["data"].get("ghost") for m in event_probe.messages)
    # The next notified commit takes the waiting row along.
    loud = _write(engine, 1)
    event_probe.wait_for(lambda ms: _seen(event_probe, quiet + loud), timeout=5)
    wait_until(lambda: _unpublished(engine) == 0, timeout=5, what="marked")


def test_store_emit_notifies_once_per_transaction_and_only_at_commit(service_schema, slate_env):
    """``StoreHandle.emit`` writes the row and one NOTIFY per transaction."""
    import psycopg2
    from slatekit.store import StoreHandle

    engine = service_schema(SERVICE, md)
    store = Store(md, service=SERVICE)
    store.engine = engine
    store.outbox = outbox
    from sqlalchemy.orm import sessionmaker

    store.sessionmaker = sessionmaker(engine)

    class Ctx:
        data = {}

    listener = psycopg2.connect(db.service_url(SERVICE).replace("postgresql+psycopg2", "postgresql"))
    listener.autocommit = True
    listener.cursor().execute(f'LISTEN "{notify_channel(SERVICE)}"')
    handle = StoreHandle(store, Ctx())
    with handle.begin() as s:
        for i in range(3):
            handle.emit(s, "kt-relay:new", {"n": i})
        listener.poll()
        assert listener.notifies == []  # not before the commit
    deadline = time.monotonic() + 5
    while not listener.notifies and time.monotonic() < deadline:
        time.sleep(0.05)
        listener.poll()
    time.sleep(0.2)
    listener.poll()
    assert len(listener.notifies) == 1 and listener.notifies[0].channel == notify_channel(SERVICE)
    listener.notifies.clear()
    with pytest.raises(RuntimeError):
        with handle.begin() as s:
            handle.emit(s, "kt-relay:new", {"n": 9})
            raise RuntimeError("roll back")
    time.sleep(0.3)
    listener.poll()
    assert listener.notifies == []
    listener.close()
    assert _unpublished(engine) == 3


def test_a_large_backlog_goes_out_in_batches_each_confirmed_once(service_schema, run_service, event_probe):
    engine = service_schema(SERVICE, md)
    ids = _write(engine, 450, notify=False)
    relay = _relay(run_service(RelayService))
    event_probe.wait_for(lambda ms: len(ms) >= 450, timeout=20)
    event_probe.drain(0.5)
    assert [m["event_id"] for m in event_probe.messages] == ids  # each once, in order
    wait_until(lambda: _unpublished(engine) == 0, timeout=10, what="backlog marked")
    assert relay.published_total == 450
    assert relay.batches_total == 3  # 200 + 200 + 50: one confirm wait per batch


def test_a_nacked_batch_stays_unmarked_and_goes_out_once_the_broker_accepts(
    service_schema, run_service, event_probe, slate_env
):
    """The broker refuses (nack) a publish to a full ``reject-publish`` queue:
    nothing of the batch is marked, the relay retries, and once the queue is
    gone every event is published and marked (at-least-once, nothing lost)."""
    from kombu import Connection, Queue

    engine = service_schema(SERVICE, md)
    with Connection(slate_env["AMQP_URI"]) as conn:
        full = Queue(f"kt-relay-full-{uuid.uuid4().hex[:6]}", exchange=EVENTS_EXCHANGE, routing_key="kt-relay:new",
                     queue_arguments={"x-max-length": 1, "x-overflow": "reject-publish"})(conn.channel())
        EVENTS_EXCHANGE.declare(channel=full.channel)
        full.declare()
        try:
            relay = _relay(run_service(RelayService))
            relay.retry_seconds = 0.3
            ids = _write(engine, 3)
            wait_until(lambda: relay.errors_total >= 1, timeout=10, what="a nacked batch")
            assert _unpublished(engine) == 3  # the batch was not marked
            assert relay.published_total == 0
        finally:
            full.delete()
    wait_until(lambda: _unpublished(engine) == 0, timeout=10, what="published after the broker accepts")
    event_probe.drain(0.5)
    got = [m["event_id"] for m in event_probe.messages]
    assert set(got) == set(ids)  # all of them, possibly more than once (consumers dedupe)
    assert relay.published_total == 3


def test_the_listener_reconnects_after_its_connection_is_killed(service_schema, run_service, event_probe,
                                                                monkeypatch):
    monkeypatch.setenv("OUTBOX_POLL_SECONDS", "30")
    engine = service_schema(SERVICE, md)
    relay = _relay(run_service(RelayService))
    relay.retry_seconds = 0.3
    wait_until(lambda: relay.listening, timeout=10, what="relay listening")
    admin = db.engine_for("admin", db.normalize(db.admin_url()))
    with admin.begin() as c:
        killed = c.execute(text(
            "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
            "WHERE usename = :role AND datname = current_database() AND pid <> pg_backend_pid()"),
            {"role": db.role_name(SERVICE)}).scalar()
    assert killed >= 1
    # Rows committed while the listener is down are not lost: it pokes the
    # relay when it is back, and later notifications wake it again.
    during = _write(engine, 2)
    wait_until(lambda: relay.listening, timeout=10, what="listener back")
    event_probe.wait_for(lambda ms: _seen(event_probe, during), timeout=5)
    time.sleep(0.3)
    after = _write(engine, 1)
    t0 = time.monotonic()
    event_probe.wait_for(lambda ms: _seen(event_probe, after), timeout=5)
    assert time.monotonic() - t0 < 2.0
    wait_until(lambda: _unpublished(engine) == 0, timeout=5, what="marked")
