"""docs/specs/events.md is checked against the code, and its subscriber
example runs as written: bound as the docs say, it receives the events."""

from __future__ import annotations

import json
import re
import subprocess
import sys
import uuid
import warnings
from pathlib import Path

import pytest
from slatekit import consumer, events
from slatekit.events import envelope
from slatekit.testing import wait_until

from .test_events_log import publish

ROOT = Path(__file__).resolve().parents[2]
DOC = ROOT / "docs" / "specs" / "events.md"


def doc() -> str:
    return DOC.read_text()


def example() -> str:
    return re.search(r"```python\n(# subscriber\.py.*?)```", doc(), re.S).group(1)


def test_topology_and_envelope_match_the_code():
    text = doc()
    for ex in (events.EVENTS_EXCHANGE, events.RETRY_EXCHANGE, events.DEAD_EXCHANGE):
        assert f"| `{ex.name}` | {ex.type} | yes |" in text
    body = envelope("x:y", {}, source="s", project_id=None, record={})
    for key in body:
        assert f'"{key}"' in text, key
    main, retry, dead = consumer.queue_names("svc", "method")
    assert (main, retry, dead) == ("slate.svc.method", "slate.svc.method.retry", "slate.svc.method.dead")
    assert "`slate.<service>.<method>`" in text


def test_every_literal_event_name_is_listed():
    from slate_events import docgen

    names = docgen.emitted_names()
    listed = set(re.findall(r"^\| `([^`]+)` \|", doc(), re.M))
    ours = {n for n, services in names.items() if services & {"events", "notifications"}}
    assert ours - listed == set(), "run: python -m slate_events.docgen"
    others = set(names) - listed
    if others:  # other teams' new names: a reminder, never a failure of their commit
        warnings.warn(f"events.md lacks {sorted(others)}; run python -m slate_events.docgen")


@pytest.mark.e2e
def test_the_documented_subscriber_receives_events(suite, tmp_path):
    script = tmp_path / "subscriber.py"
    script.write_text(example().replace("pipeline.my-tool", f"pipeline.my-tool-{uuid.uuid4().hex[:6]}"))
    env = dict(suite.env)
    import os

    env.update({k: v for k, v in os.environ.items() if k not in env})
    out_path = tmp_path / "out.jsonl"
    out = open(out_path, "w")
    proc = subprocess.Popen([sys.executable, str(script), "2"], env=env, stdout=out, text=True)
    try:
        project_id = str(uuid.uuid4())
        sent = [envelope("comment:new", {"comment_id": str(uuid.uuid4())}, source="tasks", project_id=project_id),
                envelope("task:status-changed", {"task_id": str(uuid.uuid4())}, source="tasks", project_id=project_id)]
        publish(suite.env["AMQP_URI"], envelope("asset:update", {}, source="assets", project_id=project_id))

        def done():
            # The script declares and binds its queue; publish until it has both (it dedupes by id).
            publish(suite.env["AMQP_URI"], *sent)
            return proc.poll() is not None

        wait_until(done, timeout=30, interval=0.5, what="the documented subscriber got 2 events")
        got = [json.loads(line) for line in out_path.read_text().splitlines()]
        assert proc.returncode == 0
        assert [g["name"] for g in got] == ["comment:new", "task:status-changed"]
        assert got[0]["project_id"] == project_id and got[0]["event_id"] == sent[0]["event_id"]
    finally:
        if proc.poll() is None:
            proc.kill()
