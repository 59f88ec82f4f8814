"""``@subscribe`` on the real broker: bounded retries with backoff, parking
in the dead-letter queue after exactly EVENT_RETRY_LIMIT attempts while other
events pass (F6 scaled down), no hot loop, and inbox deduplication."""

from __future__ import annotations

import collections
import json
import logging
import time

import pytest
from kombu import Connection, Producer
from slatekit import config
from slatekit.consumer import ATTEMPT_HEADER, queue_names, subscribe
from slatekit.errors import Unavailable
from slatekit.events import EVENTS_EXCHANGE, envelope
from slatekit.logs import JsonFormatter
from slatekit.store import Store, outbox_tables
from slatekit.testing import wait_until
from sqlalchemy import Column, Integer, MetaData, Table, insert, select
from sqlalchemy.dialects.postgresql import UUID

pytestmark = pytest.mark.interface

md = MetaData()
applied = Table(
    "applied",
    md,
    Column("seq", Integer, primary_key=True, autoincrement=True),
    Column("event_id", UUID(as_uuid=False), nullable=False),  # not unique: duplicates must show
)
outbox_tables(md)

DELIVERIES: collections.Counter = collections.Counter()
TIMES: dict[str, list[float]] = collections.defaultdict(list)


class PoisonTaster:
    name = "kt_taster"
    store = Store(md)

    @subscribe("kt-dish:new")
    def on_dish(self, event):
        DELIVERIES[event["event_id"]] += 1
        TIMES[event["event_id"]].append(time.monotonic())
        if event["data"].get("poison"):
            raise ValueError("this dish always fails")
        if DELIVERIES[event["event_id"]] <= event["data"].get("outage", 0):
            raise Unavailable("The database is unavailable, please retry")
        with self.store.begin() as s:
            if not self.store.claim(s, event):
                return
            s.execute(insert(applied).values(event_id=event["event_id"]))


def publish(amqp_uri, bodies):
    with Connection(amqp_uri, transport_options={"confirm_publish": True}) as conn:
        producer = Producer(conn.default_channel, exchange=EVENTS_EXCHANGE)
        for body in bodies:
            producer.publish(body, routing_key=body["name"], serializer="json", delivery_mode=2,
                             message_id=body["event_id"])


def dead_letters(amqp_uri, queue):
    out = []
    with Connection(amqp_uri) as conn:
        ch = conn.channel()
        while (msg := ch.basic_get(queue, no_ack=True)) is not None:
            out.append(msg)
    return out


def applied_ids(engine):
    with engine.connect() as c:
        return c.execute(select(applied.c.event_id)).scalars().all()


@pytest.fixture
def taster(service_schema, run_service):
    engine = service_schema("kt_taster", md)
    DELIVERIES.clear()
    TIMES.clear()
    run_service(PoisonTaster)
    return engine


def test_poison_event_is_parked_after_exactly_the_retry_limit_while_others_pass(taster, slate_env, caplog):
    caplog.set_level(logging.INFO, logger="slatekit.consumer")
    limit = config.get_int("EVENT_RETRY_LIMIT")
    delay_ms = config.get_int("EVENT_RETRY_DELAY_MS")
    assert limit == 5 and delay_ms == 100  # the test env's values
    bodies = [envelope("kt-dish:new", {"n": i, "poison": i == 17}, source="kt_test") for i in range(50)]
    poison = bodies[17]["event_id"]
    publish(slate_env["AMQP_URI"], bodies)

    wait_until(lambda: len(applied_ids(taster)) >= 49, timeout=20, what="49 good events applied")
    wait_until(lambda: DELIVERIES[poison] >= limit, timeout=20, what="poison retried")
    _, _, dead = queue_names("kt_taster", "on_dish")
    parked = wait_until(lambda: dead_letters(slate_env["AMQP_URI"], dead), timeout=10, what="poison parked")
    # Long enough for a hot loop or an extra retry to show: the last backoff was 0.8 s.
    time.sleep(1.0)

    assert sorted(applied_ids(taster)) == sorted(b["event_id"] for b in bodies if b["event_id"] != poison)
    assert DELIVERIES[poison] == limit  # exactly EVENT_RETRY_LIMIT deliveries, never more
    # Good events are normally delivered once; one that met a transient fault
    # (say the shared database refusing connections) is retried, never parked.
    assert all(DELIVERIES[b["event_id"]] >= 1 for b in bodies if b["event_id"] != poison)
    assert len(parked) == 1

    body = json.loads(parked[0].body)
    assert body["event_id"] == poison and body["data"]["poison"] is True
    assert parked[0].headers[ATTEMPT_HEADER] == limit
    # JSON log lines name the event, its id, the attempt and the queue
    parked_logs = [json.loads(JsonFormatter().format(r)) for r in caplog.records if "parked" in r.getMessage()]
    assert len(parked_logs) == 1
    assert parked_logs[0]["event_id"] == poison and parked_logs[0]["event_name"] == "kt-dish:new"
    assert parked_logs[0]["attempt"] == limit and parked_logs[0]["level"] == "ERROR"
    handled = [r for r in caplog.records if r.getMessage() == "event handled"]
    assert len({r.event_id for r in handled}) == 49
    # backoff: each wait at least the configured delay, doubling
    gaps = [b - a for a, b in zip(TIMES[poison], TIMES[poison][1:], strict=False)]
    for i, gap in enumerate(gaps):
        assert gap >= delay_ms * (2 ** i) / 1000.0 * 0.9, gaps


def test_redelivered_event_is_applied_once(taster, slate_env):
    body = envelope("kt-dish:new", {"n": 1}, source="kt_test")
    publish(slate_env["AMQP_URI"], [body, body, body])
    wait_until(lambda: DELIVERIES[body["event_id"]] >= 3 and applied_ids(taster), timeout=10,
               what="three deliveries and the effect")
    time.sleep(0.5)  # room for a retried copy (after a transient fault) to land
    assert applied_ids(taster) == [body["event_id"]]


def test_outage_longer_than_the_retry_budget_is_retried_not_parked(taster, slate_env):
    """Seven transient failures (> EVENT_RETRY_LIMIT) then success: applied once, nothing parked."""
    limit = config.get_int("EVENT_RETRY_LIMIT")
    body = envelope("kt-dish:new", {"outage": limit + 2}, source="kt_test")
    publish(slate_env["AMQP_URI"], [body])
    wait_until(lambda: applied_ids(taster), timeout=20, what="applied after the outage")
    assert DELIVERIES[body["event_id"]] == limit + 3
    _, _, dead = queue_names("kt_taster", "on_dish")
    assert dead_letters(slate_env["AMQP_URI"], dead) == []
    # the backoff doubles up to 2^(limit-1) x the first delay (1.6 s here), then stays there
    gaps = [b - a for a, b in zip(TIMES[body["event_id"]], TIMES[body["event_id"]][1:], strict=False)]
    assert gaps[4] >= 1.6 * 0.9 and max(gaps) < 1.6 * 1.5, gaps
