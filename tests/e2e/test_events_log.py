"""The event log: every service's events land in /data/events*, as Zou shows them."""

from __future__ import annotations

import uuid

import pytest
import requests
from kombu import Connection, Producer
from slatekit.events import EVENTS_EXCHANGE, envelope
from slatekit.testing import wait_until

pytestmark = pytest.mark.e2e


def publish(amqp_uri: str, *events: dict) -> None:
    """Publish envelopes to slate.events as an external tool would."""
    with Connection(amqp_uri, transport_options={"confirm_publish": True}) as conn:
        producer = Producer(conn.default_channel, exchange=EVENTS_EXCHANGE)
        EVENTS_EXCHANGE.declare(channel=conn.default_channel)
        for ev in events:
            producer.publish(ev, routing_key=ev["name"], serializer="json", delivery_mode=2,
                             message_id=ev["event_id"])


def last(admin, suite, **params):
    r = admin.get(suite.url + "/api/data/events/last", params=params, timeout=15)
    assert r.status_code == 200, r.text
    return r.json()


def test_person_new_from_auth_is_logged_with_zou_fields(suite, admin):
    person = suite.make_person(admin)
    rows = wait_until(lambda: [e for e in last(admin, suite, name="person:new")
                               if e["data"].get("person_id") == person["id"]], timeout=15, what="person:new logged")
    row = rows[0]
    assert set(row) >= {"id", "created_at", "name", "user_id", "project_id", "data"}
    assert row["project_id"] is None and row["name"] == "person:new"
    assert len(row["created_at"]) == 19  # Zou's 2024-01-31T10:11:12


def test_any_event_name_is_logged_without_code_change(suite, admin):
    project_id = str(uuid.uuid4())
    ev = envelope("brand-new-thing:happened", {"thing_id": "x"}, source="tool", project_id=project_id)
    publish(suite.env["AMQP_URI"], ev)
    rows = wait_until(lambda: last(admin, suite, project_id=project_id), timeout=15, what="new name logged")
    assert rows[0]["id"] == ev["event_id"] and rows[0]["data"]["thing_id"] == "x"
    assert "brand-new-thing:happened" in admin.get(suite.url + "/data/events/names", timeout=10).json()


def test_a_redelivered_event_is_logged_once(suite, admin):
    project_id = str(uuid.uuid4())
    ev = envelope("thing:happened", {"n": 1}, source="tool", project_id=project_id)
    publish(suite.env["AMQP_URI"], ev, ev, ev)
    marker = envelope("thing:after", {"n": 2}, source="tool", project_id=project_id)
    publish(suite.env["AMQP_URI"], marker)
    rows = wait_until(lambda: [e for e in last(admin, suite, project_id=project_id)
                               if e["name"] == "thing:after"] and last(admin, suite, project_id=project_id),
                      timeout=15, what="events logged")
    assert sorted(e["name"] for e in rows) == ["thing:after", "thing:happened"]


def test_replay_after_cursor_returns_only_missed_events_oldest_first_within_the_page(suite, admin):
    project_id = str(uuid.uuid4())
    evs = [envelope("asset:update", {"asset_id": str(uuid.uuid4())}, source="t", project_id=project_id) for _ in range(5)]
    publish(suite.env["AMQP_URI"], *evs[:2])
    wait_until(lambda: len(last(admin, suite, project_id=project_id)) == 2, timeout=15, what="2 logged")
    cursor = evs[1]["occurred_at"]
    publish(suite.env["AMQP_URI"], *evs[2:])
    wait_until(lambda: len(last(admin, suite, project_id=project_id)) == 5, timeout=15, what="5 logged")
    missed = last(admin, suite, project_id=project_id, after=cursor)
    assert {e["id"] for e in missed} == {e["event_id"] for e in evs[2:]}


def test_filters_and_bad_parameters(suite, admin):
    r = admin.get(suite.url + "/data/events/last", params={"after": "bad"}, timeout=10)
    assert r.status_code == 400 and r.json()["error"] is True
    r = admin.get(suite.url + "/data/events/last", params={"project_id": "nope"}, timeout=10)
    assert r.status_code == 400
    r = admin.get(suite.url + "/data/events/last", params={"name_prefixes": "a%"}, timeout=10)
    assert r.status_code == 400
    r = admin.get(suite.url + "/data/events/last", params={"limit": "x"}, timeout=10)
    assert r.status_code == 400
    assert len(last(admin, suite, limit=1)) <= 1
    assert all(e["name"].startswith("person:") for e in last(admin, suite, name_prefixes="person"))
    assert last(admin, suite, only_files="true", name="person:new") == []


def test_artist_may_not_read_the_log(suite, admin):
    artist = suite.make_person(admin, role="user")
    s = suite.login(artist["email"], "secret-pass-1")
    assert s.get(suite.url + "/data/events/last", timeout=10).status_code == 403
    assert s.get(suite.url + "/data/events", timeout=10).status_code == 403


def test_crud_get_put_delete_an_event(suite, admin):
    ev = envelope("shot:update", {"shot_id": str(uuid.uuid4())}, source="t", project_id=str(uuid.uuid4()))
    publish(suite.env["AMQP_URI"], ev)
    url = f"{suite.url}/data/events/{ev['event_id']}"
    wait_until(lambda: admin.get(url, timeout=10).status_code == 200, timeout=15, what="event row")
    doc = admin.get(url, timeout=10).json()
    assert doc["type"] == "ApiEvent" and doc["name"] == "shot:update"
    r = admin.put(url, json={"data": {"note": "fixed"}}, timeout=10)
    assert r.status_code == 200 and r.json()["data"] == {"note": "fixed"}
    assert admin.put(url, json={"data": "x"}, timeout=10).status_code == 400
    assert admin.put(f"{suite.url}/data/events/not-an-id", json={}, timeout=10).status_code == 400
    page = admin.get(suite.url + "/data/events", params={"page": 1, "limit": 1}, timeout=10).json()
    assert page["limit"] == 1 and len(page["data"]) == 1 and page["total"] >= 1
    assert admin.delete(url, timeout=10).status_code == 204
    assert admin.get(url, timeout=10).status_code == 404


def test_status_test_event_is_public_and_not_persisted(suite, admin):
    r = requests.get(suite.url + "/status/test-event", timeout=10)
    assert r.status_code == 200 and r.json() == {"success": True}
    assert last(admin, suite, name="main:test") == []
