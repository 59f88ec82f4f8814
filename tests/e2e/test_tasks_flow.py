"""End-to-end: the tasks service through the gateway, gazu included.

Projects and entities belong to assets. ``World`` creates them through
assets' HTTP routes when they are served, and otherwise publishes the events
assets would publish (same envelope and record) on the run's broker; either
way the tasks service learns them from events, and the tests wait for its
projection.
"""

from __future__ import annotations

import datetime as dt
import time
import uuid

import gazu
import pytest

pytestmark = pytest.mark.e2e


def wait_for(check, timeout=20.0, what="condition"):
    deadline = time.time() + timeout
    last = None
    while time.time() < deadline:
        last = check()
        if last:
            return last
        time.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what}: {last!r}")


class World:
    def __init__(self, suite, admin):
        self.suite = suite
        self.admin = admin
        self.url = suite.url

    def publish(self, name, data, record):
        from kombu import Connection, Exchange, Producer

        now = dt.datetime.utcnow().replace(microsecond=0).isoformat()
        body = {"event_id": str(uuid.uuid4()), "name": name, "source": "assets", "occurred_at": now,
                "actor_id": None, "project_id": data.get("project_id"), "trace_id": None, "data": data,
                "record": record}
        with Connection(self.suite.env["AMQP_URI"]) as conn:
            ex = Exchange("slate.events", type="topic", durable=True)
            Producer(conn.default_channel, exchange=ex).publish(body, routing_key=name, serializer="json",
                                                               declare=[ex], delivery_mode=2)

    def project(self, team=(), max_retakes=0, status="open"):
        name = "P" + uuid.uuid4().hex[:6]
        r = self.admin.post(self.url + "/data/projects", json={"name": name, "max_retakes": max_retakes})
        if r.status_code == 201:
            pid = r.json()["id"]
            for person in team:
                self.admin.post(self.url + f"/data/projects/{pid}/team", json={"person_id": person})
        else:
            pid = str(uuid.uuid4())
            now = dt.datetime.utcnow().replace(microsecond=0).isoformat()
            self.publish("project:new", {"project_id": pid}, {
                "id": pid, "name": name, "team": list(team), "status": status, "project_status_name":
                status.capitalize(), "max_retakes": max_retakes, "is_clients_isolated": False, "fps": "25",
                "resolution": "1920x1080", "production_type": "short", "updated_at": now, "type": "Project"})
        wait_for(lambda: self.admin.get(self.url + f"/data/projects/{pid}/tasks").status_code == 200,
                 what="project projection")
        return pid

    def set_team(self, pid, team, max_retakes=0, status="open"):
        now = (dt.datetime.utcnow() + dt.timedelta(seconds=1)).replace(microsecond=0).isoformat()
        self.publish("project:update", {"project_id": pid}, {
            "id": pid, "name": "P", "team": list(team), "status": status, "max_retakes": max_retakes,
            "updated_at": now, "type": "Project"})

    def shot(self, pid, name=None):
        name = name or "SH" + uuid.uuid4().hex[:4]
        r = self.admin.post(self.url + f"/data/projects/{pid}/sequences", json={"name": "SQ" + name})
        if r.status_code == 201:
            seq = r.json()["id"]
            r = self.admin.post(self.url + f"/data/projects/{pid}/shots", json={"name": name, "sequence_id": seq})
            assert r.status_code == 201, r.text
            sid = r.json()["id"]
        else:
            seq, sid = str(uuid.uuid4()), str(uuid.uuid4())
            now = dt.datetime.utcnow().replace(microsecond=0).isoformat()
            self.publish("sequence:new", {"sequence_id": seq, "project_id": pid}, {
                "id": seq, "name": "SQ" + name, "project_id": pid, "parent_id": None, "type": "Sequence",
                "canceled": False, "data": {}, "updated_at": now})
            self.publish("shot:new", {"shot_id": sid, "project_id": pid}, {
                "id": sid, "name": name, "project_id": pid, "parent_id": seq, "type": "Shot", "canceled": False,
                "nb_frames": 24, "data": {}, "updated_at": now})
        wait_for(lambda: self.admin.get(self.url + f"/data/shots/{sid}/tasks").status_code == 200,
                 what="shot projection")
        return {"id": sid, "project_id": pid, "name": name, "sequence_id": seq, "type": "Shot"}

    def person(self, role="user"):
        p = self.suite.make_person(self.admin, role=role)
        s = self.suite.login(p["email"], "secret-pass-1")
        return p, s

    def status(self, short):
        r = self.admin.get(self.url + "/data/task-status", params={"short_name": short})
        return r.json()[0]

    def task_type(self, name="Animation"):
        return [t for t in self.admin.get(self.url + "/data/task-types").json() if t["name"] == name][0]

    def task(self, shot, tt_name="Animation", assignees=()):
        r = self.admin.post(self.url + "/data/tasks", json={
            "project_id": shot["project_id"], "entity_id": shot["id"], "task_type_id": self.task_type(tt_name)["id"],
            "assignees": list(assignees), "name": "main"})
        assert r.status_code == 201, r.text
        return r.json()


@pytest.fixture(scope="module")
def world(suite, admin):
    return World(suite, admin)


@pytest.fixture(scope="module")
def gz(suite):
    client = gazu.client.create_client(suite.url + "/api")
    gazu.log_in("admin@example.com", "admin-test-password", client=client)
    return client


def test_default_statuses_and_types_seeded(world, gz):
    shorts = {s["short_name"] for s in gazu.task.all_task_statuses(client=gz)}
    assert {"todo", "wip", "wfa", "retake", "done"} <= shorts
    assert gazu.task.get_task_status_by_short_name("wip", client=gz)["is_wip"] is True
    assert any(t["name"] == "Animation" for t in gazu.task.all_task_types(client=gz))


def test_gazu_task_comment_changes_status_and_counts_retakes(world, gz):
    pid = world.project(max_retakes=0)
    shot = world.shot(pid)
    tt = gazu.task.get_task_type_by_name("Animation", client=gz)
    task = gazu.task.new_task(shot, tt, client=gz)
    assert task["task_status_id"] == world.status("todo")["id"]
    assert gazu.task.get_task_by_entity(shot, tt, client=gz)["id"] == task["id"]
    assert [t["id"] for t in gazu.task.all_tasks_for_shot(shot, client=gz)] == [task["id"]]
    wip = gazu.task.get_task_status_by_short_name("wip", client=gz)
    comment = gazu.task.add_comment(task, wip, "first pass", client=gz)
    assert comment["task_status"]["short_name"] == "wip" and comment["object_id"] == task["id"]
    after = gazu.task.get_task(task["id"], client=gz)
    assert after["task_status_id"] == wip["id"]
    assert after["real_start_date"] and after["last_comment_date"]
    retake = gazu.task.get_task_status_by_short_name("retake", client=gz)
    gazu.task.add_comment(task, retake, "again", client=gz)
    assert gazu.task.get_task(task["id"], client=gz)["retake_count"] == 1
    comments = gazu.task.all_comments_for_task(task, client=gz)
    assert [c["text"] for c in comments] == ["again", "first pass"]
    assert comments[0]["person"]["id"] and comments[0]["task_status"]["short_name"] == "retake"


def test_retake_cap_refuses_without_half_write(world, admin, suite):
    pid = world.project(max_retakes=1)
    shot = world.shot(pid)
    task = world.task(shot)
    retake, wip = world.status("retake"), world.status("wip")
    url = suite.url + f"/actions/tasks/{task['id']}/comment"
    assert admin.post(url, json={"task_status_id": retake["id"], "comment": "1"}).status_code == 201
    assert admin.post(url, json={"task_status_id": wip["id"], "comment": "2"}).status_code == 201
    r = admin.post(url, json={"task_status_id": retake["id"], "comment": "3"})
    assert r.status_code == 400 and r.json()["error"] is True
    assert [c["text"] for c in admin.get(suite.url + f"/data/tasks/{task['id']}/comments").json()] == ["2", "1"]
    assert admin.get(suite.url + f"/data/tasks/{task['id']}").json()["retake_count"] == 1


def test_idempotency_key_never_creates_a_second_comment(world, admin, suite):
    shot = world.shot(world.project())
    task = world.task(shot)
    body = {"task_status_id": world.status("wip")["id"], "comment": "once", "idempotency_key": uuid.uuid4().hex}
    url = suite.url + f"/actions/tasks/{task['id']}/comment"
    first = admin.post(url, json=body)
    second = admin.post(url, json=body)
    assert first.status_code == 201 and second.status_code == 201
    assert first.json()["id"] == second.json()["id"]
    assert len(admin.get(suite.url + f"/data/tasks/{task['id']}/comments").json()) == 1


def test_idempotency_key_header_never_creates_a_second_comment(world, admin, suite):
    shot = world.shot(world.project())
    task = world.task(shot)
    body = {"task_status_id": world.status("wip")["id"], "comment": "header once"}
    url = suite.url + f"/api/actions/tasks/{task['id']}/comment"
    headers = {"Idempotency-Key": uuid.uuid4().hex}
    first = admin.post(url, json=body, headers=headers)
    second = admin.post(url, json=body, headers=headers)
    assert first.status_code == 201 and second.status_code == 201
    assert first.json()["id"] == second.json()["id"]
    third = admin.post(url, json=body)  # no key: a new comment
    assert third.json()["id"] != first.json()["id"]
    assert len(admin.get(suite.url + f"/data/tasks/{task['id']}/comments").json()) == 2


def test_bad_input_gives_zou_errors(world, admin, suite):
    shot = world.shot(world.project())
    task = world.task(shot)
    wip = world.status("wip")
    r = admin.post(suite.url + f"/actions/tasks/{uuid.uuid4()}/comment", json={"task_status_id": wip["id"]})
    assert r.status_code == 404 and r.json()["error"] is True
    r = admin.post(suite.url + f"/actions/tasks/{task['id']}/comment", json={"task_status_id": str(uuid.uuid4())})
    assert r.status_code == 404
    r = admin.post(suite.url + f"/actions/tasks/{task['id']}/time-spents/2024-13-45/persons/{uuid.uuid4()}",
                   json={"duration": 2})
    assert r.status_code == 400
    r = admin.post(suite.url + f"/actions/tasks/{task['id']}/time-spents/not-a-date/persons/{uuid.uuid4()}",
                   json={"duration": 2})
    assert r.status_code == 400
    assert admin.get(suite.url + "/data/tasks/not-an-id").status_code == 400


def test_artist_permissions_status_and_closed_project(world, admin, suite):
    artist, s_artist = world.person("user")
    other, s_other = world.person("user")
    pid = world.project(team=[artist["id"], other["id"]])
    shot = world.shot(pid)
    task = world.task(shot, assignees=[artist["id"]])
    wip, done = world.status("wip"), world.status("done")
    url = suite.url + f"/actions/tasks/{task['id']}/comment"
    assert s_artist.post(url, json={"task_status_id": wip["id"], "comment": "mine"}).status_code == 201
    # a project they are not in: 403, nothing written
    outsider, s_outsider = world.person("user")
    assert s_outsider.post(url, json={"task_status_id": wip["id"], "comment": "x"}).status_code == 403
    # not assigned: no comment, no status change
    assert s_other.post(url, json={"task_status_id": done["id"], "comment": "x"}).status_code == 403
    # a status not allowed for artists
    r = admin.put(suite.url + f"/data/task-status/{done['id']}", json={"is_artist_allowed": False})
    assert r.status_code == 200
    try:
        assert s_artist.post(url, json={"task_status_id": done["id"], "comment": "d"}).status_code == 403
    finally:
        admin.put(suite.url + f"/data/task-status/{done['id']}", json={"is_artist_allowed": True})
    # a mention grants a reply, not a status change
    full = f"{other['first_name']} {other['last_name']}"
    c = s_artist.post(url, json={"task_status_id": wip["id"], "comment": f"see @{full}"}).json()
    assert c["mentions"] == [other["id"]]
    assert s_other.post(url, json={"task_status_id": done["id"], "comment": "no"}).status_code == 403
    assert s_other.post(url, json={"task_status_id": wip["id"], "comment": "yes"}).status_code == 201
    r = s_other.post(suite.url + f"/data/tasks/{task['id']}/comments/{c['id']}/reply", json={"text": "ok"})
    assert r.status_code == 200 and r.json()["text"] == "ok"
    # time: own task only
    day = "2026-12-01"
    assert s_artist.post(suite.url + f"/actions/tasks/{task['id']}/time-spents/{day}/persons/{artist['id']}",
                         json={"duration": 120}).status_code == 201
    assert s_other.post(suite.url + f"/actions/tasks/{task['id']}/time-spents/{day}/persons/{other['id']}",
                        json={"duration": 60}).status_code == 403
    texts = [c["text"] for c in admin.get(suite.url + f"/data/tasks/{task['id']}/comments").json()]
    assert "x" not in texts and "no" not in texts and "d" not in texts
    # a closed project refuses comments
    world.set_team(pid, [artist["id"], other["id"]], status="closed")
    wait_for(lambda: admin.post(url, json={"task_status_id": wip["id"], "comment": "c"}).status_code == 403,
             what="closed project")


def test_ack_reply_edit_delete_and_comment_list(world, admin, suite):
    shot = world.shot(world.project())
    task = world.task(shot)
    wip = world.status("wip")
    c = admin.post(suite.url + f"/actions/tasks/{task['id']}/comment",
                   json={"task_status_id": wip["id"], "comment": "hello", "checklist": [{"text": "a",
                                                                                         "checked": False}]}).json()
    base = suite.url + f"/data/tasks/{task['id']}/comments/{c['id']}"
    acked = admin.post(base + "/ack").json()
    assert len(acked["acknowledgements"]) == 1
    reply = admin.post(base + "/reply", json={"text": "r"}).json()
    assert admin.delete(base + f"/reply/{reply['id']}").status_code == 200
    r = admin.put(suite.url + f"/data/comments/{c['id']}", json={"text": "edited", "pinned": True})
    assert r.status_code == 200 and r.json()["text"] == "edited" and r.json()["pinned"] is True
    listed = admin.get(suite.url + "/data/comments", params={"object_id": task["id"]}).json()
    assert [x["id"] for x in listed] == [c["id"]]
    assert admin.delete(base).status_code == 204
    after = admin.get(suite.url + f"/data/tasks/{task['id']}").json()
    assert after["task_status_id"] == world.status("todo")["id"]


def test_assign_clear_and_user_lists(world, admin, suite, gz):
    artist, s_artist = world.person("user")
    pid = world.project(team=[artist["id"]])
    shot = world.shot(pid)
    task = world.task(shot)
    gazu.task.assign_task(task, artist["id"], client=gz)
    assert admin.get(suite.url + f"/data/tasks/{task['id']}").json()["assignees"] == [artist["id"]]
    client = gazu.client.create_client(suite.url + "/api")
    gazu.log_in(artist["email"], "secret-pass-1", client=client)
    todo = gazu.user.all_tasks_to_do(client=client)
    assert [t["id"] for t in todo] == [task["id"]]
    assert todo[0]["entity_name"] == shot["name"] and todo[0]["task_type_name"] == "Animation"
    assert todo[0]["sequence_name"] and todo[0]["project_name"]
    gazu.task.set_time_spent(task, artist["id"], "2026-12-02", 3, client=gz)
    gazu.task.add_time_spent(task, artist["id"], "2026-12-02", 2, client=gz)
    spent = gazu.task.get_time_spent(task, "2026-12-02", client=gz)
    assert spent["total"] == 5
    gazu.task.clear_assignations([task], artist["id"], client=gz)
    assert admin.get(suite.url + f"/data/tasks/{task['id']}").json()["assignees"] == []
    gazu.task.assign_task(task, artist["id"], client=gz)
    r = admin.put(suite.url + "/actions/tasks/clear-assignation", json={"task_ids": [task["id"]]})
    assert r.status_code == 200 and r.json() == [task["id"]]
    assert gazu.user.all_tasks_to_do(client=client) == []
    r = admin.get(suite.url + f"/data/projects/{pid}/tasks")
    assert [t["id"] for t in r.json()] == [task["id"]]


def test_bulk_create_tasks_and_entity_lists(world, admin, suite):
    pid = world.project()
    shots = [world.shot(pid) for _ in range(2)]
    tt = world.task_type("Layout")
    r = admin.post(suite.url + f"/actions/projects/{pid}/task-types/{tt['id']}/shots/create-tasks", json=[])
    assert r.status_code == 201 and len(r.json()) == 2
    again = admin.post(suite.url + f"/actions/projects/{pid}/task-types/{tt['id']}/shots/create-tasks")
    assert again.status_code == 201 and again.json() == []
    types = admin.get(suite.url + f"/data/shots/{shots[0]['id']}/task-types").json()
    assert [t["id"] for t in types] == [tt["id"]]
    seq_tasks = admin.get(suite.url + f"/data/sequences/{shots[0]['sequence_id']}/shot-tasks").json()
    assert len(seq_tasks) == 1
    artist, _ = world.person("user")
    ids = [t["id"] for t in r.json()]
    r = admin.put(suite.url + f"/actions/persons/{artist['id']}/assign", json={"task_ids": ids})
    assert r.status_code == 200 and [t["assignees"] for t in r.json()] == [[artist["id"]], [artist["id"]]]
    r = admin.put(suite.url + f"/actions/persons/{artist['id']}/assign", json={"task_ids": [str(uuid.uuid4())]})
    assert r.status_code == 404
    assert admin.get(suite.url + f"/data/persons/{artist['id']}/tasks").json()[0]["assignees"] == [artist["id"]]


def test_milestones_and_schedule_items(world, admin, suite, gz):
    pid = world.project()
    tt = world.task_type("Animation")
    m = gazu.client.post("data/milestones", {"project_id": pid, "name": "M1", "date": "2027-01-10",
                                              "task_type_id": tt["id"]}, client=gz)
    assert m["name"] == "M1" and m["date"] == "2027-01-10"
    assert [x["id"] for x in gazu.client.get(f"data/projects/{pid}/milestones", client=gz)] == [m["id"]]
    item = gazu.client.post("data/schedule-items", {"project_id": pid, "task_type_id": tt["id"],
                                                     "start_date": "2027-01-01", "end_date": "2027-02-01"},
                            client=gz)
    assert item["type"] == "ScheduleItem"
    r = admin.delete(suite.url + f"/data/schedule-items/{item['id']}")
    assert r.status_code == 204
    assert admin.get(suite.url + f"/data/schedule-items/{item['id']}").status_code == 404


def test_task_status_delete_and_catalogue_crud(admin, suite):
    r = admin.post(suite.url + "/data/task-status", json={"name": "Temp", "short_name": "tmp" + uuid.uuid4().hex[:4],
                                                           "color": "#000000"})
    assert r.status_code == 201
    sid = r.json()["id"]
    assert admin.delete(suite.url + f"/data/task-status/{sid}").status_code == 204
    assert admin.get(suite.url + f"/data/task-status/{sid}").status_code == 404
    assert admin.delete(suite.url + f"/data/task-status/{uuid.uuid4()}").status_code == 404


def test_task_list_filters_paging_and_fields(world, admin, suite):
    shot = world.shot(world.project())
    task = world.task(shot)
    page = admin.get(suite.url + "/data/tasks", params={"entity_id": shot["id"], "page": 1, "limit": 1}).json()
    assert page["total"] == 1 and [t["id"] for t in page["data"]] == [task["id"]]
    slim = admin.get(suite.url + "/data/tasks", params={"entity_id": shot["id"], "fields": "name"}).json()
    assert slim == [{"id": task["id"], "type": "Task", "name": "main"}]
    assert admin.get(suite.url + "/data/tasks", params={"entity_id": "nope"}).status_code == 400
