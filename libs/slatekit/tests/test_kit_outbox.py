"""Outbox and relay on the real broker and database: no event for a
rolled-back change, exactly one for a committed one, nothing lost when the
relay was not running at commit time, and a relay crash between publish and
mark (F14) absorbed by the consumer's inbox."""

from __future__ import annotations

import json
import logging
import uuid

import eventlet
import pytest
from nameko.rpc import rpc
from slatekit.consumer import subscribe
from slatekit.errors import SLATE_ERRORS, Invalid
from slatekit.events import envelope
from slatekit.logs import JsonFormatter
from slatekit.store import Store, outbox_tables
from sqlalchemy import Column, Integer, MetaData, String, Table, func, insert, select
from sqlalchemy.dialects.postgresql import UUID

pytestmark = pytest.mark.interface

# ------------------------------------------------------------------ producer
producer_md = MetaData()
widget = Table(
    "widget",
    producer_md,
    Column("id", UUID(as_uuid=False), primary_key=True),
    Column("name", String(80), nullable=False),
)
producer_outbox, _ = outbox_tables(producer_md)


class WidgetService:
    name = "kt_widgets"
    store = Store(producer_md)

    @rpc(expected_exceptions=SLATE_ERRORS)
    def create_widget(self, name, project_id=None, fail=False):
        with self.store.begin() as s:
            wid = str(uuid.uuid4())
            s.execute(insert(widget).values(id=wid, name=name))
            self.store.emit(s, "kt-widget:new", {"widget_id": wid}, project_id=project_id,
                            record={"id": wid, "name": name})
            if fail:
                raise Invalid("refused after the write", {"widget": name})
        return wid


# ------------------------------------------------------------------ consumer
consumer_md = MetaData()
effect = Table(
    "effect",
    consumer_md,
    Column("seq", Integer, primary_key=True, autoincrement=True),
    Column("event_id", UUID(as_uuid=False), nullable=False),  # not unique: duplicates must show
)
outbox_tables(consumer_md)
DELIVERIES: list[str] = []


class WidgetWatcher:
    name = "kt_watcher"
    store = Store(consumer_md)

    @subscribe("kt-widget:new")
    def on_widget(self, event):
        DELIVERIES.append(event["event_id"])
        with self.store.begin() as s:
            if not self.store.claim(s, event):
                return
            s.execute(insert(effect).values(event_id=event["event_id"]))


def _widgets(engine, name):
    with engine.connect() as c:
        return c.scalar(select(func.count()).select_from(widget).where(widget.c.name == name))


def _unpublished(engine):
    with engine.connect() as c:
        return c.scalar(
            select(func.count()).select_from(producer_outbox).where(producer_outbox.c.published_at.is_(None))
        )


def test_rolled_back_write_publishes_nothing_and_committed_one_publishes_once(
    service_schema, run_service, rpc, event_probe, caplog
):
    caplog.set_level(logging.INFO, logger="slatekit.store")
    engine = service_schema("kt_widgets", producer_md)
    run_service(WidgetService)
    caller = {"user_id": str(uuid.uuid4()), "trace_id": "trace-" + uuid.uuid4().hex}

    with pytest.raises(Invalid) as err:
        rpc.call("kt_widgets", "create_widget", {"name": "ghost", "fail": True}, caller)
    assert err.value.extra == {"widget": "ghost"}
    project_id = str(uuid.uuid4())
    wid = rpc.call("kt_widgets", "create_widget", {"name": "real", "project_id": project_id}, caller)

    # The committed event comes after the failed one: once it is here, the
    # relay has passed over whatever the failed call could have left.
    event_probe.wait_for(lambda ms: any(m["data"].get("widget_id") == wid for m in ms))
    event_probe.drain(1.0)  # room for a duplicate to show up
    events = event_probe.of("kt-widget:new")
    assert len(events) == 1, events
    ev = events[0]
    assert set(ev) >= {"event_id", "name", "source", "occurred_at", "actor_id", "project_id",
                       "trace_id", "data", "record"}
    assert ev["name"] == "kt-widget:new"
    assert ev["source"] == "kt_widgets"
    assert ev["actor_id"] == caller["user_id"]
    assert ev["trace_id"] == caller["trace_id"]
    assert ev["project_id"] == project_id
    assert ev["data"] == {"widget_id": wid, "project_id": project_id}
    assert ev["record"] == {"id": wid, "name": "real"}
    uuid.UUID(ev["event_id"])
    assert event_probe.properties[0]["message_id"] == ev["event_id"]
    assert event_probe.properties[0]["delivery_mode"] == 2
    # nothing of the rolled-back call reached the database either
    assert _widgets(engine, "ghost") == 0
    assert _unpublished(engine) == 0
    # the relay's log line, as JSON, names the event
    rec = next(r for r in caplog.records if r.getMessage() == "event published")
    line = json.loads(JsonFormatter().format(rec))
    assert line["event_name"] == "kt-widget:new" and line["event_id"] == ev["event_id"]
    assert line["trace_id"] == caller["trace_id"] and line["project_id"] == project_id


def test_events_committed_while_no_relay_runs_are_published_once_at_start(
    service_schema, run_service, event_probe
):
    """A crash between commit and publish: the rows wait in the outbox."""
    engine = service_schema("kt_widgets", producer_md)
    ids = []
    with engine.begin() as c:
        for i in range(20):
            body = envelope("kt-widget:new", {"widget_id": str(uuid.uuid4()), "n": i}, source="kt_widgets")
            c.execute(insert(producer_outbox).values(event_id=body["event_id"], name=body["name"], body=body))
            ids.append(body["event_id"])
    event_probe.drain(0.3)
    assert event_probe.messages == []  # nobody publishes them yet

    run_service(WidgetService)
    event_probe.wait_for(lambda ms: len(ms) >= 20)
    event_probe.drain(1.0)
    got = [m["event_id"] for m in event_probe.messages]
    assert sorted(got) == sorted(ids)  # each exactly once
    assert got == ids  # in commit order
    assert _unpublished(engine) == 0


def test_relay_crash_after_publish_before_mark_is_absorbed_by_the_inbox(
    service_schema, run_service, rpc, event_probe
):
    """F14: the batch goes out twice; the consumer applies it once."""
    engine = service_schema("kt_widgets", producer_md)
    watcher_engine = service_schema("kt_watcher", consumer_md)
    DELIVERIES.clear()
    run_service(WidgetWatcher)  # declares its queue before anything is published
    container = run_service(WidgetService)
    relay = next(e for e in container.subextensions if type(e).__name__ == "OutboxRelay")
    crashes = []

    def crash_once(rows):
        if not crashes:
            crashes.append(len(rows))
            raise RuntimeError("fault hook: relay dies after publish, before mark")

    relay.after_publish = crash_once
    wids = [rpc.call("kt_widgets", "create_widget", {"name": f"w{i}"}) for i in range(5)]

    def effects():
        with watcher_engine.connect() as c:
            return c.execute(select(effect.c.event_id)).scalars().all()

    from slatekit.testing import wait_until

    wait_until(lambda: _unpublished(engine) == 0 and len(effects()) >= 5, timeout=15, what="backlog drained")
    event_probe.drain(1.0)
    wire = [m["event_id"] for m in event_probe.of("kt-widget:new")]
    assert crashes, "the fault hook never fired: inconclusive"
    assert len(wire) > len(set(wire)), "no duplicate on the wire: inconclusive"
    assert len(set(wire)) == 5
    wait_until(lambda: len(DELIVERIES) >= len(wire), timeout=10, what="consumer saw every copy")
    assert len(DELIVERIES) > 5  # raw redeliveries reached the handler
    applied = effects()
    assert len(applied) == len(set(applied)) == 5  # dup_effects = 0
    assert _unpublished(engine) == 0
    assert [w for w in wids if w]  # every call answered


def test_relay_prunes_published_rows_older_than_a_day(service_schema, run_service):
    engine = service_schema("kt_widgets", producer_md)
    from sqlalchemy import text

    with engine.begin() as c:
        for age, published in (("2 days", True), ("1 hour", True), ("3 days", False)):
            body = envelope("kt-widget:new", {}, source="kt_widgets")
            c.execute(insert(producer_outbox).values(event_id=body["event_id"], name=body["name"], body=body))
            if published:
                c.execute(text(f"UPDATE outbox SET published_at = now() - interval '{age}' "
                               "WHERE event_id = :e"), {"e": body["event_id"]})
    container = run_service(WidgetService)
    relay = next(e for e in container.subextensions if type(e).__name__ == "OutboxRelay")
    from slatekit.testing import wait_until

    # the unpublished one gets published; the 2-day-old one is gone; the recent one stays
    wait_until(lambda: _unpublished(engine) == 0, timeout=10, what="backlog drained")
    relay.maybe_prune(force=True)
    with engine.connect() as c:
        ages = c.execute(text("SELECT now() - published_at < interval '1 day' FROM outbox")).scalars().all()
    assert sorted(ages) == [True, True]
    assert relay.maybe_prune() == 0  # not again before PRUNE_EVERY_SECONDS
    eventlet.sleep(0)


def test_relay_process_killed_after_publish_before_mark_republishes_on_restart(service_schema, slate_env, event_probe):
    """F14 at process level: ``SLATE_FAULT_RELAY_EXIT_AFTER_PUBLISH`` makes the
    service die (exit 137) right after a confirmed publish; the next process
    publishes the same rows again and marks them."""
    import os
    import subprocess
    import sys
    from pathlib import Path

    engine = service_schema("kt_widgets", producer_md)
    ids = []
    with engine.begin() as c:
        for i in range(3):
            body = envelope("kt-widget:new", {"n": i}, source="kt_widgets")
            c.execute(insert(producer_outbox).values(event_id=body["event_id"], name=body["name"], body=body))
            ids.append(body["event_id"])
    env = dict(os.environ)
    env.update(slate_env)
    env["PYTHONPATH"] = str(Path(__file__).parent) + os.pathsep + env.get("PYTHONPATH", "")
    args = [sys.executable, "-m", "slatekit.run", "test_kit_outbox:WidgetService"]

    crashing = subprocess.Popen(args, env={**env, "SLATE_FAULT_RELAY_EXIT_AFTER_PUBLISH": "1", "HEALTH_PORT": "0"},
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        assert crashing.wait(timeout=60) == 137
    finally:
        if crashing.poll() is None:
            crashing.kill()
    event_probe.wait_for(lambda ms: len(ms) >= 3, timeout=10)
    assert _unpublished(engine) == 3  # on the wire, not marked

    healthy = subprocess.Popen(args, env={**env, "HEALTH_PORT": "0"},
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        from slatekit.testing import wait_until

        wait_until(lambda: _unpublished(engine) == 0, timeout=60, interval=0.2, what="backlog drained")
    finally:
        healthy.terminate()
        healthy.wait(timeout=30)
    event_probe.wait_for(lambda ms: len(ms) >= 6, timeout=10)
    got = [m["event_id"] for m in event_probe.messages]
    assert sorted(got) == sorted(ids * 2)  # each twice on the wire: consumers dedupe (see the inbox test)
