"""Webhooks: per-project subscriptions delivered as signed POSTs with retries,
backoff, a delivery log and a dead end; the SSRF guard refuses loopback and
private targets at save and at send time unless the operator allows them.

Only loopback is ever connected to (the receiver below, with the operator
allowance); other addresses are only fed to the validator (unit tests)."""

from __future__ import annotations

import hashlib
import hmac
import http.server
import json
import signal
import sys
import threading
import uuid

import pytest
from slatekit.events import envelope
from slatekit.testing import wait_until

from .test_events_log import publish

pytestmark = pytest.mark.e2e


def listed(resp):
    """A list body, or [] while a dependency answers 503 (shared machine)."""
    body = resp.json()
    return body if isinstance(body, list) else []


class Receiver:
    def __init__(self):
        self.requests: list[dict] = []
        self.fail_first: dict[str, int] = {}
        owner = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self):  # noqa: N802
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                owner.requests.append({"path": self.path, "headers": dict(self.headers), "body": body})
                left = owner.fail_first.get(self.path, 0)
                if self.path.startswith("/always-fail") or left > 0:
                    owner.fail_first[self.path] = left - 1
                    self.send_response(500)
                else:
                    self.send_response(204)
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.server.server_address[1]
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def to(self, path):
        return [r for r in self.requests if r["path"] == path]

    def close(self):
        self.server.shutdown()


def restart_events(suite, **env):
    from tests.conftest import free_port

    suite.kill("events", signal.SIGTERM)
    suite._spawn("events", [sys.executable, "-m", "slatekit.run", "slate_events.service:Service"],
                 extra_env={"HEALTH_PORT": str(free_port()), **env})
    suite.wait_rpc("events")


@pytest.fixture(scope="module")
def receiver():
    r = Receiver()
    yield r
    r.close()


def test_webhooks_signed_retried_logged_dead_and_guarded(suite, admin, receiver):
    project_id = str(uuid.uuid4())
    base = suite.url + f"/data/projects/{project_id}/webhooks"
    url = f"http://127.0.0.1:{receiver.port}/hook"
    # Loopback refused at save without the operator's allowance; bad input is a 400.
    r = admin.post(base, json={"url": url, "event_names": ["comment:new"]}, timeout=15)
    assert r.status_code == 400 and r.json()["error"] is True
    assert admin.post(base, json={"url": "file:///etc/passwd", "event_names": ["x:y"]}, timeout=15).status_code == 400
    assert admin.post(base, json={"url": url, "event_names": "x"}, timeout=15).status_code == 400
    artist = suite.make_person(admin, role="user")
    s_artist = suite.login(artist["email"], "secret-pass-1")
    assert s_artist.get(base, timeout=15).status_code == 403
    try:
        restart_events(suite, WEBHOOK_ALLOWED_NETWORKS="127.0.0.0/8", WEBHOOK_RETRY_BASE_SECONDS="0.2",
                       WEBHOOK_MAX_ATTEMPTS="3")
        r = admin.post(base, json={"url": url, "event_names": ["comment:new"], "name": "pipeline"}, timeout=15)
        assert r.status_code == 201, r.text
        hook = r.json()
        secret = hook["secret"]
        assert "secret" not in admin.get(suite.url + f"/data/webhooks/{hook['id']}", timeout=15).json()
        dead_hook = admin.post(base, json={"url": f"http://127.0.0.1:{receiver.port}/always-fail",
                                           "event_names": ["comment:*"]}, timeout=15).json()
        receiver.fail_first["/hook"] = 1  # first attempt fails, the retry succeeds
        wanted = envelope("comment:new", {"comment_id": str(uuid.uuid4())}, source="tasks", project_id=project_id)
        publish(suite.env["AMQP_URI"], wanted,
                envelope("asset:update", {}, source="assets", project_id=project_id),
                envelope("comment:new", {"comment_id": "other"}, source="tasks", project_id=str(uuid.uuid4())))
        wait_until(lambda: any(r["headers"].get("X-Slate-Event-Id") == wanted["event_id"] and True
                               for r in receiver.to("/hook")) and len(receiver.to("/hook")) >= 2,
                   timeout=30, what="delivered after one retry")
        ok = receiver.to("/hook")[-1]
        assert ok["headers"]["X-Slate-Event"] == "comment:new"
        expected = "sha256=" + hmac.new(secret.encode(), ok["headers"]["X-Slate-Timestamp"].encode() + b"." + ok["body"],
                                        hashlib.sha256).hexdigest()
        assert hmac.compare_digest(ok["headers"]["X-Slate-Signature"], expected)
        payload = json.loads(ok["body"])
        assert payload["event_id"] == wanted["event_id"] and payload["project_id"] == project_id
        deliveries = wait_until(lambda: [d for d in listed(admin.get(suite.url + f"/data/webhooks/{hook['id']}/deliveries",
                                                                     timeout=15)) if d["status"] == "delivered"],
                                timeout=15, what="delivery log")
        assert len(deliveries) == 1 and deliveries[0]["attempts"] == 2
        assert len(receiver.to("/hook")) == 2  # the unsubscribed and the other project's events never went out
        dead = wait_until(lambda: listed(admin.get(suite.url + f"/data/webhooks/{dead_hook['id']}/deliveries",
                                                   params={"status": "dead"}, timeout=15)), timeout=30, what="dead")
        assert dead[0]["attempts"] == 3 and dead[0]["last_status_code"] == 500
        assert len(receiver.to("/always-fail")) == 3
    finally:
        restart_events(suite)
    # Without the allowance the stored loopback URL is refused again at send time: 0 requests.
    before = len(receiver.requests)
    again = envelope("comment:new", {"comment_id": str(uuid.uuid4())}, source="tasks", project_id=project_id)
    publish(suite.env["AMQP_URI"], again)
    refused = wait_until(lambda: [d for d in listed(admin.get(suite.url + f"/data/webhooks/{hook['id']}/deliveries",
                                                              timeout=15))
                                  if d["event_id"] == again["event_id"] and (d["last_error"] or "").startswith("refused")],
                         timeout=30, what="refused at send time")
    assert refused and len(receiver.requests) == before
    assert admin.delete(suite.url + f"/data/webhooks/{hook['id']}", timeout=15).status_code == 204
    assert admin.get(suite.url + f"/data/webhooks/{hook['id']}", timeout=15).status_code == 404
