"""Dependencies going away: a database that cannot answer is a 503
(``Unavailable``), never a 500; the outbox relay survives a broker outage
and publishes the backlog once the broker is back, without a restart."""

from __future__ import annotations

import json
import subprocess
import time
import uuid

import pytest
from kombu import Connection, Queue
from nameko.rpc import rpc
from slatekit.errors import SLATE_ERRORS, Unavailable
from slatekit.events import EVENTS_EXCHANGE, envelope
from slatekit.store import Store, outbox_tables
from slatekit.testing import wait_until
from sqlalchemy import MetaData, func, insert, select, text

pytestmark = pytest.mark.interface

md = MetaData()
outbox, _ = outbox_tables(md)


class LedgerService:
    name = "kt_ledger"
    store = Store(md)

    @rpc(expected_exceptions=SLATE_ERRORS)
    def write(self):
        with self.store.begin() as s:
            self.store.emit(s, "kt-ledger:new", {"n": 1})
        return True

    @rpc(expected_exceptions=SLATE_ERRORS)
    def read(self):
        with self.store.session() as s:
            return s.execute(text("SELECT 1")).scalar()


def test_database_outage_is_unavailable_not_a_crash(monkeypatch, run_service, rpc, slate_env):
    # Nothing listens on port 1: every connection attempt fails like a down server.
    monkeypatch.setenv("KT_LEDGER_DATABASE_URL", "postgresql://slate_kt_ledger@127.0.0.1:1/nowhere")
    container = run_service(LedgerService)
    for method in ("write", "read"):
        with pytest.raises(Unavailable) as err:
            rpc.call("kt_ledger", method, timeout=10)
        assert err.value.status == 503
        assert "unavailable" in err.value.message
    relay = next(e for e in container.subextensions if type(e).__name__ == "OutboxRelay")
    wait_until(lambda: relay.errors_total >= 1, timeout=5, what="relay met the outage")
    assert not relay._gt.dead  # it keeps retrying


def _ctl(*args):
    subprocess.run(["rabbitmqctl", *args], check=True, capture_output=True, timeout=60)


def test_relay_survives_a_broker_outage_and_publishes_the_backlog(service_schema, run_service, slate_env):
    engine = service_schema("kt_ledger", md)
    uri, vhost = slate_env["AMQP_URI"], slate_env["SLATE_TEST_VHOST"]
    qname = f"kt-ledger-sink-{uuid.uuid4().hex[:6]}"
    with Connection(uri) as conn:  # durable sink: survives the connections being closed
        Queue(qname, exchange=EVENTS_EXCHANGE, routing_key="kt-ledger:new", durable=True)(conn.default_channel).declare()
    container = run_service(LedgerService)
    relay = next(e for e in container.subextensions if type(e).__name__ == "OutboxRelay")

    def add(n):
        ids = []
        with engine.begin() as c:
            for _ in range(n):
                body = envelope("kt-ledger:new", {}, source="kt_ledger")
                c.execute(insert(outbox).values(event_id=body["event_id"], name=body["name"], body=body))
                ids.append(body["event_id"])
        relay.poke()
        return ids

    def backlog():
        with engine.connect() as c:
            return c.scalar(select(func.count()).select_from(outbox).where(outbox.c.published_at.is_(None)))

    ids = add(3)
    wait_until(lambda: backlog() == 0, timeout=10, what="first batch published")
    errors_before = relay.errors_total
    # Outage of this run's vhost: refuse logins and drop every connection.
    _ctl("clear_permissions", "-p", vhost, "guest")
    try:
        _ctl("close_all_connections", "-p", vhost, "slate fault test")
        ids += add(5)
        wait_until(lambda: relay.errors_total > errors_before, timeout=15, what="relay saw the outage")
        assert backlog() == 5
    finally:
        _ctl("set_permissions", "-p", vhost, "guest", ".*", ".*", ".*")
    back = time.monotonic()
    wait_until(lambda: backlog() == 0, timeout=30, what="backlog drained after the outage")
    drained_in = time.monotonic() - back
    got = []
    with Connection(uri) as conn:
        ch = conn.channel()
        while (msg := ch.basic_get(qname, no_ack=True)) is not None:
            got.append(json.loads(msg.body)["event_id"])
        ch.queue_delete(qname)
    assert sorted(got) == sorted(ids)  # nothing lost, nothing twice
    assert drained_in < 10, drained_in
