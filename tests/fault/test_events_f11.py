"""F11: a socket.io client offline for a while catches up through
``GET /data/events/last?after=<cursor>``: nothing missing, nothing doubled
once it drops the duplicates by event id. R27 again on the replay route: a
manager of project A replaying the log sees nothing of project B.

Both transports go through the gateway's relay (``/socket.io``), as Kitsu and
gazu connect; the first live burst (20 events) is longer than the 16 packets a
python-engineio client accepts in one long-poll answer."""

from __future__ import annotations

import os
import time
import uuid

import pytest
import socketio
from slatekit.events import envelope
from slatekit.testing import wait_until

from tests.e2e.test_events_log import publish
from tests.e2e.test_events_stream import Listener, make_project, token_of

pytestmark = pytest.mark.fault

LONG = os.environ.get("SLATE_FAULT_LONG") == "1"
OFFLINE_EVENTS = 300 if LONG else 100


def replay(session, suite, cursor, project_id):
    out, seen_cursor = [], cursor
    while True:
        deadline = time.monotonic() + 30
        while True:
            r = session.get(suite.url + "/data/events/last", params={"after": seen_cursor, "project_id": project_id,
                                                                     "limit": 100}, timeout=15)
            if r.status_code != 503 or time.monotonic() > deadline:
                break
            time.sleep(0.5)  # "please retry" (the database is busy): a client retries, so does this one
        assert r.status_code == 200, r.text
        page = r.json()
        if not page:
            return out
        page = sorted(page, key=lambda e: e["occurred_at"])
        out.extend(page)
        seen_cursor = page[-1]["occurred_at"]


def connect(suite, session, transports):
    """A client coming online retries until the stream takes it (a busy
    database makes the stream refuse a connection with "please retry")."""
    deadline = time.monotonic() + 30
    while True:
        try:
            return Listener(suite.url, token=token_of(session), transports=transports)
        except socketio.exceptions.ConnectionError:
            if time.monotonic() > deadline:
                raise
            time.sleep(1)


@pytest.mark.parametrize("transports", [["polling"], ["websocket"]])
def test_f11_offline_client_replays_what_it_missed_without_gap_or_duplicate(suite, admin, transports):
    manager = suite.make_person(admin, role="manager")
    s_manager = suite.login(manager["email"], "secret-pass-1")
    project = make_project(suite, [manager["id"]])
    other = make_project(suite, [])
    uri = suite.env["AMQP_URI"]

    def ev(i, pid=project):
        return envelope("asset:update", {"asset_id": str(uuid.uuid4()), "i": i}, source="t", project_id=pid)

    client = connect(suite, s_manager, transports)
    before = [ev(i) for i in range(20)]
    publish(uri, *before)
    wait_until(lambda: len(client.of("asset:update")) == 20, timeout=20, what="live events")
    received = {d["event_id"]: d for d in client.of("asset:update")}
    cursor = max(d["occurred_at"] for d in received.values())
    client.close()  # offline
    missed = [ev(100 + i) for i in range(OFFLINE_EVENTS)]
    publish(uri, *missed, *[ev(i, other) for i in range(10)])
    wait_until(lambda: len(replay(s_manager, suite, before[0]["occurred_at"][:19], project)) >= 20 + OFFLINE_EVENTS - 1,
               timeout=60, what="log caught up")
    # Back online: live again first (so nothing falls between), then replay.
    client = connect(suite, s_manager, transports)
    during = [ev(1000 + i) for i in range(10)]
    publish(uri, *during)
    wait_until(lambda: len(client.of("asset:update")) == 10, timeout=20, what="live after reconnect")
    replayed = replay(s_manager, suite, cursor, project)
    client.close()
    all_ids = list(received) + [d["event_id"] for d in client.of("asset:update")] + [e["id"] for e in replayed]
    unique = set(all_ids)
    expected = {e["event_id"] for e in before + missed + during}
    assert expected - unique == set()  # 0 missing
    assert unique - expected == set()  # nothing of project B, nothing else
    assert len(all_ids) > len(unique)  # the overlap exists, and dedup by id removes it
    assert all(e["project_id"] == project for e in replayed)


def test_replay_pages_forward_without_gap_when_the_log_received_events_out_of_order(suite, admin):
    """The log stores events as they arrive (competing consumers, retries):
    arrival order is not occurrence order. Paging forward by ``occurred_at``
    must still see every event once."""
    manager = suite.make_person(admin, role="manager")
    s_manager = suite.login(manager["email"], "secret-pass-1")
    project = make_project(suite, [manager["id"]])
    events = [envelope("asset:update", {"asset_id": str(uuid.uuid4()), "i": i}, source="t", project_id=project)
              for i in range(150)]
    cursor = events[0]["occurred_at"][:19]
    publish(suite.env["AMQP_URI"], *reversed(events))  # newest arrives first
    wait_until(lambda: len(s_manager.get(suite.url + "/data/events/last", params={"project_id": project, "limit": 1000},
                                         timeout=15).json()) >= 150, timeout=60, what="all in the log")
    ids = [e["id"] for e in replay(s_manager, suite, cursor, project) if e["name"] == "asset:update"]
    assert len(ids) == len(set(ids))
    assert set(ids) == {e["event_id"] for e in events}
