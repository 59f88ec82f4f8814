"""F1 and F6 on the notifications consumer.

F1: N ``comment:new`` events (published to slate.events as a tool would) while
the notifications service is SIGKILLed K times, once through its fault hook
right after a handler committed and before the ack: exactly N notifications,
no duplicate, at least one raw redelivery skipped by the inbox, drained within
30 s of the last restart. Default 200 events × 2 kills; ``SLATE_FAULT_LONG=1``:
1,000 events × 5 kills.

F6: a poison event (its handler always raises) is parked in the dead-letter
queue after EVENT_RETRY_LIMIT deliveries while the other events pass; no hot
loop: the number of attempts logged is exactly the limit.
"""

from __future__ import annotations

import os
import time
import uuid

import psycopg2
import pytest
from kombu import Connection, Queue
from slatekit.events import envelope
from sqlalchemy.engine import make_url

from tests.e2e.test_events_log import publish

pytestmark = pytest.mark.fault

LONG = os.environ.get("SLATE_FAULT_LONG") == "1"
N = 1000 if LONG else 200
KILLS = 5 if LONG else 2


def db_scalar(env, sql, args=()):
    url = make_url(env["DATABASE_URL"])
    conn = psycopg2.connect(host=url.host, port=url.port or 5432, user=url.username, password=url.password,
                            dbname=url.database)
    try:
        with conn.cursor() as cur:
            cur.execute(sql, args)
            return cur.fetchone()[0]
    finally:
        conn.close()


def wait(pred, timeout, what):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = pred()
        if value:
            return value
        time.sleep(0.1)
    raise AssertionError(f"{what} not reached in {timeout} s")


def world(suite):
    """A project, a task assigned to one artist, as tasks/assets publish them."""
    artist, author = str(uuid.uuid4()), str(uuid.uuid4())
    project_id, task_id = str(uuid.uuid4()), str(uuid.uuid4())
    publish(suite.env["AMQP_URI"],
            envelope("project:new", {"project_id": project_id}, source="assets", project_id=project_id,
                     record={"id": project_id, "name": "F1", "team": [artist, author]}),
            envelope("task:new", {"task_id": task_id}, source="tasks", project_id=project_id,
                     record={"id": task_id, "project_id": project_id, "entity_id": str(uuid.uuid4()),
                             "task_type_id": str(uuid.uuid4()), "task_status_id": str(uuid.uuid4()),
                             "assignees": [artist]}))
    wait(lambda: db_scalar(suite.env, "SELECT count(*) FROM notifications.p_task WHERE id = %s", (task_id,)), 20,
         "task projection")
    return artist, author, project_id, task_id


def comment_event(task_id, project_id, author):
    comment_id = str(uuid.uuid4())
    return envelope("comment:new", {"comment_id": comment_id, "task_id": task_id, "person_id": author,
                                    "mentions": [], "department_mentions": []},
                    source="tasks", project_id=project_id,
                    record={"id": comment_id, "object_id": task_id, "person_id": author, "text": "c",
                            "task_status_id": str(uuid.uuid4()), "replies": [], "mentions": [],
                            "department_mentions": [], "previews": [], "created_at": "2026-01-01T10:00:00"})


def count_for(env, artist):
    return db_scalar(env, "SELECT count(*) FROM notifications.notification WHERE person_id = %s", (artist,))


def restart(suite, fault_after=None):
    extra = {"SLATE_FAULT_NOTIFICATIONS_EXIT_AFTER": str(fault_after)} if fault_after else {}
    from tests.conftest import free_port

    suite._spawn("notifications", [os.sys.executable, "-m", "slatekit.run", "slate_notifications.service:Service"],
                 extra_env={"HEALTH_PORT": str(free_port()), **extra})
    if not fault_after:  # a process told to die after N events may be gone before it answers a ping
        suite.wait_rpc("notifications")


def test_f1_sigkilled_consumer_makes_exactly_one_notification_per_comment(suite):
    artist, author, project_id, task_id = world(suite)
    events = [comment_event(task_id, project_id, author) for _ in range(N)]
    log_path = suite.log_dir / "notifications.log"
    skipped_before = log_path.read_text(errors="replace").count("duplicate event skipped")
    publish(suite.env["AMQP_URI"], *events)
    last_restart = time.monotonic()
    for k in range(KILLS):
        target = (k + 1) * N // (KILLS + 2)
        wait(lambda: count_for(suite.env, artist) >= target, 60, f"progress to {target}")
        suite.kill("notifications")
        # The first restart dies by itself right after committing its 3rd
        # event, before acking it: that event must be redelivered and skipped.
        restart(suite, fault_after=3 if k == 0 else None)
        if k == 0:
            wait(lambda: suite.procs["notifications"].poll() is not None, 60, "fault hook exit")
            restart(suite)
        last_restart = time.monotonic()
    wait(lambda: count_for(suite.env, artist) >= N, 30, "all comments notified after the last restart")
    drained_in = time.monotonic() - last_restart
    assert count_for(suite.env, artist) == N
    distinct = db_scalar(suite.env, "SELECT count(DISTINCT comment_id) FROM notifications.notification "
                                    "WHERE person_id = %s AND type = 'comment'", (artist,))
    assert distinct == N  # dup_effects = 0
    news = db_scalar(suite.env, "SELECT count(*) FROM notifications.news WHERE task_id = %s", (task_id,))
    assert news == N
    skipped = log_path.read_text(errors="replace").count("duplicate event skipped") - skipped_before
    assert skipped >= 1, "no raw redelivery observed: inconclusive"
    assert drained_in <= 30


def test_f6_poison_event_is_parked_after_the_retry_limit_while_others_pass(suite):
    artist, author, project_id, task_id = world(suite)
    poison = envelope("comment:new", {"comment_id": str(uuid.uuid4()), "task_id": "not-a-task"},
                      source="tool", project_id=project_id)
    good = [comment_event(task_id, project_id, author) for _ in range(20)]
    log_path = suite.log_dir / "notifications.log"
    publish(suite.env["AMQP_URI"], good[0], poison, *good[1:])
    wait(lambda: count_for(suite.env, artist) >= 20, 30, "the good events")
    limit = int(suite.env.get("EVENT_RETRY_LIMIT") or 5)
    parked_msgs: list = []
    with Connection(suite.env["AMQP_URI"]) as conn:
        dead = Queue("slate.notifications.on_activity.dead")(conn.default_channel)

        def parked():
            # Drain the dead-letter queue (this run's vhost: only our handler's parked events).
            while (m := dead.get(no_ack=True)) is not None:
                parked_msgs.append(m)
            return [m for m in parked_msgs if m.payload.get("event_id") == poison["event_id"]]

        msg = wait(parked, 30, "poison parked")[0]
    assert int(msg.headers["x-slate-attempt"]) == limit
    text = log_path.read_text(errors="replace")
    attempts = [line for line in text.splitlines() if poison["event_id"] in line and "attempt" in line]
    assert len(attempts) == limit  # limit - 1 retries + 1 parked: no hot loop
    assert count_for(suite.env, artist) == 20
