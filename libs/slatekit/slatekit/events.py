"""The event envelope and the AMQP topology every service shares.

All events go to one durable topic exchange, ``slate.events``; the routing key
is the event name (``comment:new``). The body is the envelope below; ``data``
holds Zou's payload (ids, ``project_id``) so Kitsu and gazu get what Zou sends.
"""

from __future__ import annotations

import datetime as dt
import uuid

from kombu import Exchange

EXCHANGE_NAME = "slate.events"
EVENTS_EXCHANGE = Exchange(EXCHANGE_NAME, type="topic", durable=True)
# Where failed deliveries wait before their next attempt, and where they are
# parked after the last one. Both are plain direct exchanges keyed by queue name.
RETRY_EXCHANGE = Exchange("slate.retry", type="direct", durable=True)
DEAD_EXCHANGE = Exchange("slate.dead", type="direct", durable=True)


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC).replace(tzinfo=None)


def iso(value: dt.datetime | dt.date | None) -> str | None:
    if value is None:
        return None
    if isinstance(value, dt.datetime):
        return value.replace(microsecond=value.microsecond).isoformat(timespec="seconds")
    return value.isoformat()


def envelope(
    name: str,
    data: dict,
    *,
    source: str,
    actor_id: str | None = None,
    project_id: str | None = None,
    trace_id: str | None = None,
    record: dict | None = None,
) -> dict:
    data = dict(data)
    if project_id is not None:
        data.setdefault("project_id", project_id)
    body = {
        "event_id": str(uuid.uuid4()),
        "name": name,
        "source": source,
        "occurred_at": utcnow().isoformat(),
        "actor_id": actor_id,
        "project_id": data.get("project_id"),
        "trace_id": trace_id,
        "data": data,
    }
    if record is not None:
        body["record"] = record
    return body
