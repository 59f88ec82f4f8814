"""The live stream: socket.io /events through the gateway's origin, scoped per project."""

from __future__ import annotations

import json
import os
import signal
import threading
import time
import uuid

import gazu
import pytest
import socketio
from slatekit.errors import Unavailable
from slatekit.events import envelope
from slatekit.rpc_client import RpcPool
from slatekit.testing import wait_until

from .test_events_log import publish

pytestmark = pytest.mark.e2e
DEBUG = os.environ.get("SLATE_SIO_DEBUG") == "1"  # trace client sessions (engineio logger)


class Listener:
    """A socket.io client on /events that records what it receives."""

    def __init__(self, url, token=None, headers=None, auth=None, transports=None, reconnect=True,
                 socketio_path="socket.io"):
        self.events: list[tuple[str, dict]] = []
        self.lock = threading.Lock()
        self.sio = socketio.Client(reconnection=reconnect, logger=DEBUG, engineio_logger=DEBUG)
        self.sio.on("*", self._on, namespace="/events")
        hdrs = dict(headers or {})
        if token:
            hdrs["Authorization"] = "Bearer " + token
        self.sio.connect(url, headers=hdrs, auth=auth, namespaces=["/events"], transports=transports,
                         socketio_path=socketio_path, wait_timeout=10)

    def _on(self, name, data):
        with self.lock:
            self.events.append((name, data))

    def of(self, name):
        with self.lock:
            return [d for n, d in self.events if n == name]

    def close(self):
        self.sio.disconnect()


def token_of(session):
    return session.headers["Authorization"][7:]


def make_project(suite, team):
    """A project:new as assets publishes it (record with team); waits for the projection."""
    project_id = str(uuid.uuid4())
    ev = envelope("project:new", {"project_id": project_id}, source="assets", project_id=project_id,
                  record={"id": project_id, "name": "P" + project_id[:4], "team": list(team)})
    publish(suite.env["AMQP_URI"], ev)
    pool = RpcPool(suite.env["AMQP_URI"])
    try:
        for person_id in team:
            wait_until(lambda p=person_id: project_id in _projects_of(pool, p), timeout=15, what="membership projection")
    finally:
        pool.close()
    return project_id


def _projects_of(pool, person_id):
    try:
        return pool.call("events", "projects_of", {"person_id": person_id}, {})
    except Unavailable:  # a busy database says "please retry": so does the wait
        return []


def test_gazu_events_listener_receives_person_new_through_the_gateway(suite, admin):
    client = gazu.client.create_client(suite.url + "/api")
    gazu.log_in("admin@example.com", "admin-test-password", client=client)
    received = []
    event_client = gazu.events.init(client=client)
    try:
        gazu.events.add_listener(event_client, "person:new", lambda data: received.append(data))
        # Through the gateway's relay, upgraded to websocket as with Zou.
        wait_until(lambda: event_client.transport() == "websocket", timeout=10, what="websocket upgrade")
        person = suite.make_person(admin)
        wait_until(lambda: any(d.get("person_id") == person["id"] for d in received), timeout=15,
                   what="person:new on the socket")
        data = next(d for d in received if d.get("person_id") == person["id"])
        assert data["event_id"] and data["occurred_at"] and "project_id" in data
        rows = gazu.client.get("data/events/last", params={"name": "person:new"}, client=client)
        assert data["event_id"] in {r["id"] for r in rows}
    finally:
        event_client.disconnect()


def test_connect_with_token_payload_or_cookie_and_refuse_without(suite, admin):
    token = token_of(admin)
    by_payload = Listener(suite.url, auth={"token": token})
    by_cookie = Listener(suite.url, headers={"Cookie": f"access_token_cookie={token}"})
    assert by_payload.sio.connected and by_cookie.sio.connected
    by_payload.close()
    by_cookie.close()
    with pytest.raises(socketio.exceptions.ConnectionError):
        Listener(suite.url, reconnect=False)
    with pytest.raises(socketio.exceptions.ConnectionError):
        Listener(suite.url, token="not-a-jwt", reconnect=False)


def test_r27_a_member_of_project_a_receives_no_event_of_project_b(suite, admin):
    artist = suite.make_person(admin, role="user")
    session = suite.login(artist["email"], "secret-pass-1")
    project_a = make_project(suite, [artist["id"]])
    project_b = make_project(suite, [])
    member = Listener(suite.url, token=token_of(session))
    try:
        evs = []
        for _ in range(10):
            for pid in (project_a, project_b):
                evs.append(envelope("asset:update", {"asset_id": str(uuid.uuid4())}, source="t", project_id=pid))
        publish(suite.env["AMQP_URI"], *evs)
        wait_until(lambda: len([d for d in member.of("asset:update") if d["project_id"] == project_a]) == 10,
                   timeout=30, what="member sees project A")
        assert [d for d in member.of("asset:update") if d["project_id"] == project_b] == []
        # Removed from A: nothing of A any more; added to B: B's events arrive.
        publish(suite.env["AMQP_URI"],
                envelope("project:team-member-removed", {"person_id": artist["id"]}, source="assets", project_id=project_a),
                envelope("project:team-member-added", {"person_id": artist["id"], "role": None}, source="assets",
                         project_id=project_b))
        # Membership moves on the stream's own queue, in order: once an event of B
        # arrives, the removal from A (published before) has been applied too.
        def probe_b_seen():
            publish(suite.env["AMQP_URI"], envelope("asset:update", {"asset_id": "probe"}, source="t", project_id=project_b))
            return any(d["asset_id"] == "probe" for d in member.of("asset:update"))

        wait_until(probe_b_seen, timeout=15, interval=0.3, what="member added to B")
        later = [envelope("asset:update", {"asset_id": "late"}, source="t", project_id=pid) for pid in (project_a, project_b)]
        publish(suite.env["AMQP_URI"], *later)
        wait_until(lambda: any(d["asset_id"] == "late" and d["project_id"] == project_b for d in member.of("asset:update")),
                   timeout=15, what="member now sees B")
        assert not any(d["asset_id"] == "late" and d["project_id"] == project_a for d in member.of("asset:update"))
    finally:
        member.close()


def test_personal_notification_events_reach_only_their_person(suite, admin):
    a = suite.make_person(admin, role="user")
    b = suite.make_person(admin, role="user")
    la = Listener(suite.url, token=token_of(suite.login(a["email"], "secret-pass-1")))
    lb = Listener(suite.url, token=token_of(suite.login(b["email"], "secret-pass-1")))
    try:
        publish(suite.env["AMQP_URI"], envelope("notification:new", {"notification_id": "n1", "person_id": a["id"]},
                                                source="notifications", project_id=str(uuid.uuid4())))
        wait_until(lambda: la.of("notification:new"), timeout=15, what="a notified")
        lb.sio.sleep(0.3)
        assert lb.of("notification:new") == []
    finally:
        la.close()
        lb.close()


def test_review_room_events_are_relayed_between_the_clients_of_a_room(suite, admin):
    playlist_id = str(uuid.uuid4())
    one = Listener(suite.url, token=token_of(admin))
    other_person = suite.make_person(admin, role="supervisor")
    two = Listener(suite.url, token=token_of(suite.login(other_person["email"], "secret-pass-1")))
    outsider = Listener(suite.url, token=token_of(admin))
    try:
        one.sio.emit("preview-room:join", {"playlist_id": playlist_id, "current_frame": 3}, namespace="/events")
        two.sio.emit("preview-room:join", {"playlist_id": playlist_id}, namespace="/events")
        wait_until(lambda: any(len(d["people"]) == 2 for d in one.of("preview-room:room-people-updated")),
                   timeout=10, what="both in the room")
        one.sio.emit("preview-room:add-annotation", {"playlist_id": playlist_id, "data": {"x": 1}}, namespace="/events")
        wait_until(lambda: two.of("preview-room:add-annotation"), timeout=10, what="annotation relayed")
        assert two.of("preview-room:add-annotation")[0]["data"] == {"x": 1}
        outsider.sio.emit("preview-room:add-annotation", {"playlist_id": playlist_id, "data": {"x": 2}},
                          namespace="/events")
        one.sio.sleep(0.3)
        assert all(d["data"] != {"x": 2} for d in two.of("preview-room:add-annotation"))
        assert outsider.of("preview-room:add-annotation") == []
        two.sio.emit("preview-room:leave", {"playlist_id": playlist_id}, namespace="/events")
        wait_until(lambda: any(d["people"] == [admin_id(admin, suite)] for d in one.of("preview-room:room-people-updated")),
                   timeout=10, what="leave seen")
    finally:
        for c in (one, two, outsider):
            c.close()


def admin_id(admin, suite):
    return admin.get(suite.url + "/auth/authenticated", timeout=10).json()["user"]["id"]


def burst(suite, project_id, n, tag):
    evs = [envelope("asset:update", {"asset_id": f"{tag}-{i}"}, source="t", project_id=project_id) for i in range(n)]
    publish(suite.env["AMQP_URI"], *evs)
    return [e["event_id"] for e in evs]


@pytest.mark.parametrize("transports", [["polling"], ["websocket"]])
def test_a_burst_reaches_a_client_through_the_gateway_whole_and_in_order(suite, admin, transports):
    """F11's first failure: a burst of more than 16 events in one long-poll
    answer made python-engineio clients (gazu) drop the session and lose it."""
    project_id = str(uuid.uuid4())
    client = Listener(suite.url, token=token_of(admin), transports=transports)
    try:
        assert client.sio.transport() == transports[0]
        ids = burst(suite, project_id, 60, "burst")
        got = lambda: [d["event_id"] for d in client.of("asset:update") if d["project_id"] == project_id]  # noqa: E731
        wait_until(lambda: len(got()) >= 60, timeout=20, what="the whole burst")
        client.sio.sleep(0.3)
        assert got() == ids  # once each, in publish order
        assert client.sio.connected and client.sio.transport() == transports[0]  # same session, no reconnect
    finally:
        client.close()


def test_a_polling_client_may_post_many_packets_at_once(suite, admin):
    """A client's write loop sends every queued packet in one POST (neither
    gazu's nor Kitsu's client caps it): the stream accepts more than 16."""
    room = str(uuid.uuid4())
    one = Listener(suite.url, token=token_of(admin), transports=["polling"])
    two = Listener(suite.url, token=token_of(admin), transports=["polling"])
    try:
        # One after the other: had the second join been handled first, the
        # first client would see only one room update (its own join).
        one.sio.emit("preview-room:join", {"playlist_id": room}, namespace="/events")
        wait_until(lambda: [d for d in one.of("preview-room:room-people-updated") if d["playlist_id"] == room],
                   timeout=10, what="first joined")
        two.sio.emit("preview-room:join", {"playlist_id": room}, namespace="/events")
        wait_until(lambda: any(len(d["people"]) >= 1 and d["playlist_id"] == room
                               for d in two.of("preview-room:room-people-updated")), timeout=10, what="joined")
        wait_until(lambda: len([d for d in one.of("preview-room:room-people-updated") if d["playlist_id"] == room]) >= 2,
                   timeout=10, what="both joined")
        for i in range(50):
            one.sio.emit("preview-room:add-annotation", {"playlist_id": room, "data": {"i": i}}, namespace="/events")
        wait_until(lambda: len(two.of("preview-room:add-annotation")) >= 50, timeout=20, what="50 annotations")
        assert [d["data"]["i"] for d in two.of("preview-room:add-annotation")] == list(range(50))
        assert one.sio.connected and two.sio.connected
    finally:
        one.close()
        two.close()


@pytest.mark.parametrize("path", ["socket.io", "api/socket.io"])
@pytest.mark.parametrize("transports", [["polling"], ["websocket"]])
def test_header_and_cookie_auth_through_the_relay_with_and_without_api(suite, admin, path, transports):
    token = token_of(admin)
    project_id = str(uuid.uuid4())
    by_header = Listener(suite.url, token=token, transports=transports, socketio_path=path)
    by_cookie = Listener(suite.url, headers={"Cookie": f"access_token_cookie={token}"}, transports=transports,
                         socketio_path=path)
    try:
        ids = burst(suite, project_id, 3, "auth")
        for c in (by_header, by_cookie):
            assert c.sio.transport() == transports[0]
            wait_until(lambda c=c: [d["event_id"] for d in c.of("asset:update") if d["project_id"] == project_id] == ids,
                       timeout=15, what="events on " + "/".join(transports))
    finally:
        by_header.close()
        by_cookie.close()
    with pytest.raises(socketio.exceptions.ConnectionError):
        Listener(suite.url, transports=transports, socketio_path=path, reconnect=False)


def test_the_relay_answers_bad_socket_io_requests_with_zou_errors_not_500(suite):
    import requests

    upgrade = {"Upgrade": "websocket", "Connection": "Upgrade", "Sec-WebSocket-Version": "13",
               "Sec-WebSocket-Key": "dGhlIHNhbXBsZSBub25jZQ=="}
    # An unknown session: the stream's refusal comes back as it is.
    r = requests.get(suite.url + "/socket.io/", params={"EIO": "4", "transport": "websocket", "sid": "nope"},
                     headers=upgrade, timeout=10)
    assert r.status_code == 400
    # The websocket transport without the upgrade handshake.
    r = requests.get(suite.url + "/socket.io/", params={"EIO": "4", "transport": "websocket"}, timeout=10)
    assert r.status_code == 400 and r.json()["error"] is True
    r = requests.delete(suite.url + "/api/socket.io/", params={"EIO": "4", "transport": "polling"}, timeout=10)
    assert r.status_code == 405 and r.json()["error"] is True
    r = requests.get(suite.url + "/api/socket.io/", params={"EIO": "4", "transport": "polling"}, timeout=10)
    assert r.status_code == 200 and r.text.startswith("0{")


def test_gazu_add_comment_reaches_gazu_events_the_log_and_an_amqp_subscriber(suite, admin):
    from slatekit.testing import EventProbe

    from .test_tasks_flow import World

    world = World(suite, admin)
    artist, _ = world.person("user")
    pid = world.project(team=[artist["id"]])
    task = world.task(world.shot(pid), assignees=[artist["id"]])
    client = gazu.client.create_client(suite.url + "/api")
    gazu.log_in("admin@example.com", "admin-test-password", client=client)
    probe = EventProbe(suite.env["AMQP_URI"])
    got: dict[str, list] = {"comment:new": [], "task:status-changed": []}
    event_client = gazu.events.init(client=client)
    try:
        for name in got:
            gazu.events.add_listener(event_client, name, lambda data, _n=name: got[_n].append(data))
        wip = gazu.task.get_task_status_by_short_name("wip", client=client)
        comment = gazu.task.add_comment(task, wip, "through gazu", client=client)
        wait_until(lambda: any(d.get("comment_id") == comment["id"] for d in got["comment:new"]), timeout=20,
                   what="comment:new on gazu.events")
        wait_until(lambda: any(d.get("task_id") == task["id"] for d in got["task:status-changed"]), timeout=20,
                   what="task:status-changed on gazu.events")
        live = next(d for d in got["comment:new"] if d["comment_id"] == comment["id"])
        assert live["project_id"] == pid and live["task_id"] == task["id"]
        rows = wait_until(lambda: [r for r in gazu.client.get("data/events/last", params={"project_id": pid},
                                                              client=client)
                                   if r["name"] in got], timeout=20, what="in the log")
        assert live["event_id"] in {r["id"] for r in rows}
        probe.wait_for(lambda ms: any(m["name"] == "comment:new" and m["event_id"] == live["event_id"] for m in ms)
                       and any(m["name"] == "task:status-changed" and m["project_id"] == pid for m in ms), timeout=20)
    finally:
        event_client.disconnect()
        probe.close()


def test_two_stream_replicas_share_emits_once_and_relay_review_rooms(suite, admin):
    import sys

    import requests

    from tests.conftest import free_port

    port = free_port()
    url2 = f"http://127.0.0.1:{port}"
    suite._spawn("stream-replica", [sys.executable, "-m", "slate_events.stream"], extra_env={"STREAM_PORT": str(port)})
    try:
        wait_until(lambda: _ready(requests, url2), timeout=30, what="second replica ready")
        token = token_of(admin)
        one, two = Listener(suite.stream_url, token=token), Listener(url2, token=token)
        try:
            project_id = str(uuid.uuid4())
            evs = [envelope("asset:update", {"asset_id": str(i)}, source="t", project_id=project_id) for i in range(20)]
            publish(suite.env["AMQP_URI"], *evs)
            for c in (one, two):
                wait_until(lambda c=c: len([d for d in c.of("asset:update") if d["project_id"] == project_id]) >= 20,
                           timeout=20, what="every replica's clients get every event")
            one.sio.sleep(0.3)
            for c in (one, two):
                ids = [d["event_id"] for d in c.of("asset:update") if d["project_id"] == project_id]
                assert sorted(ids) == sorted(e["event_id"] for e in evs)  # once each
            room = str(uuid.uuid4())
            one.sio.emit("preview-room:join", {"playlist_id": room}, namespace="/events")
            two.sio.emit("preview-room:join", {"playlist_id": room}, namespace="/events")
            wait_until(lambda: two.of("preview-room:room-people-updated"), timeout=10, what="joined")
            # Only a member may drive the room: wait until the sender's own join is in.
            wait_until(lambda: one.of("preview-room:room-people-updated"), timeout=10, what="sender joined")
            one.sio.emit("preview-room:change-version", {"playlist_id": room, "v": 2}, namespace="/events")
            wait_until(lambda: two.of("preview-room:change-version"), timeout=10, what="relayed across replicas")
        finally:
            one.close()
            two.close()
    finally:
        suite.kill("stream-replica", signal.SIGTERM)


def _ready(requests, url):
    try:
        return requests.get(url + "/readyz", timeout=2).ok
    except requests.RequestException:
        return False


def test_long_polls_through_the_relay_never_take_all_the_gateway_threads(suite):
    """Each long poll holds a gateway thread (up to the 25 s ping interval):
    past half a worker's threads the relay answers 503 and the API still
    answers at once."""
    import requests

    base = suite.url + "/socket.io/"
    sids = []
    for _ in range(40):  # 40 > the 2 × 16 threads of the suite's gateway
        r = requests.get(base, params={"EIO": "4", "transport": "polling"}, timeout=10)
        assert r.status_code == 200, r.text
        sids.append(json.loads(r.text[1:])["sid"])
    statuses: list[int] = []

    def poll(sid):
        try:
            statuses.append(requests.get(base, params={"EIO": "4", "transport": "polling", "sid": sid},
                                         timeout=40).status_code)
        except requests.RequestException:
            statuses.append(0)

    pollers = [threading.Thread(target=poll, args=(sid,)) for sid in sids]
    try:
        for t in pollers:
            t.start()
        wait_until(lambda: statuses.count(503) >= 40 - 16, timeout=15, what="polls past the budget refused")
        started = time.monotonic()
        r = requests.get(suite.url + "/", timeout=10)
        assert r.status_code == 200 and time.monotonic() - started < 3
    finally:
        for sid in sids:  # close the sessions: the held polls end
            try:
                requests.post(base, params={"EIO": "4", "transport": "polling", "sid": sid}, data="1", timeout=10)
            except requests.RequestException:
                pass
        for t in pollers:
            t.join(timeout=30)
    assert set(statuses) <= {200, 503, 400}
