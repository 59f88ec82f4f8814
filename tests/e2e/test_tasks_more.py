"""End-to-end: supervisors and clients, previews and automations fed by
events, timesheet tables, to-check and open-task lists."""

from __future__ import annotations

import uuid

import pytest

from tests.e2e.test_tasks_flow import World, wait_for

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def world(suite, admin):
    return World(suite, admin)


def _new_type(admin, suite, department_id=None):
    r = admin.post(suite.url + "/data/task-types", json={"name": "TT" + uuid.uuid4().hex[:6], "for_entity": "Shot",
                                                         "department_id": department_id, "priority": 9})
    assert r.status_code == 201, r.text
    return r.json()


def test_supervisor_acts_only_within_departments(world, admin, suite):
    dep = admin.post(suite.url + "/data/departments", json={"name": "Dep" + uuid.uuid4().hex[:5], "color": "#FFFFFF"}).json()
    sup, s_sup = world.person("supervisor")
    r = admin.post(suite.url + f"/actions/persons/{sup['id']}/departments/add", json={"department_id": dep["id"]})
    assert r.status_code in (200, 201), r.text
    s_sup = suite.login(sup["email"], "secret-pass-1")
    pid = world.project(team=[sup["id"]])
    shot = world.shot(pid)
    inside = _new_type(admin, suite, dep["id"])
    outside = _new_type(admin, suite, None)
    t_in = world.task(shot, inside["name"])
    t_out = world.task(shot, outside["name"])
    wfa = world.status("wfa")
    assert s_sup.post(suite.url + f"/actions/tasks/{t_in['id']}/comment",
                      json={"task_status_id": wfa["id"], "comment": "ok"}).status_code == 201
    assert s_sup.post(suite.url + f"/actions/tasks/{t_out['id']}/comment",
                      json={"task_status_id": wfa["id"], "comment": "no"}).status_code == 403
    assert s_sup.put(suite.url + f"/data/tasks/{t_in['id']}", json={"estimation": 3}).status_code == 200
    assert s_sup.put(suite.url + f"/data/tasks/{t_out['id']}", json={"estimation": 3}).status_code == 403
    # the to-check list shows the feedback request of their department
    to_check = s_sup.get(suite.url + "/data/user/tasks-to-check").json()
    assert [t["id"] for t in to_check] == [t_in["id"]]


def test_client_sees_only_client_comments(world, admin, suite):
    client, s_client = world.person("client")
    artist, s_artist = world.person("user")
    pid = world.project(team=[client["id"], artist["id"]])
    shot = world.shot(pid)
    task = world.task(shot, assignees=[artist["id"]])
    wip = world.status("wip")
    url = suite.url + f"/actions/tasks/{task['id']}/comment"
    assert s_artist.post(url, json={"task_status_id": wip["id"], "comment": "internal"}).status_code == 201
    assert s_client.post(url, json={"task_status_id": wip["id"], "comment": "from client"}).status_code == 201
    seen = [c["text"] for c in s_client.get(suite.url + f"/data/tasks/{task['id']}/comments").json()]
    assert seen == ["from client"]
    seen = [c["text"] for c in s_artist.get(suite.url + f"/data/tasks/{task['id']}/comments").json()]
    assert seen == ["internal"]


def test_preview_event_sets_last_preview_and_comment_previews(world, admin, suite):
    shot = world.shot(world.project())
    task = world.task(shot)
    c = admin.post(suite.url + f"/actions/tasks/{task['id']}/comment",
                   json={"task_status_id": world.status("wfa")["id"], "comment": "v1"}).json()
    preview_id = str(uuid.uuid4())
    world.publish("preview-file:new", {"preview_file_id": preview_id, "project_id": shot["project_id"]},
                  {"id": preview_id, "task_id": task["id"], "comment_id": c["id"], "revision": 1,
                   "status": "processing", "extension": "mp4"})
    wait_for(lambda: admin.get(suite.url + f"/data/tasks/{task['id']}").json()["last_preview_file_id"] == preview_id,
             what="last preview")
    comment = admin.get(suite.url + f"/data/tasks/{task['id']}/comments/{c['id']}").json()
    assert [p["id"] for p in comment["previews"]] == [preview_id]


def test_status_automation_moves_the_next_task(world, admin, suite):
    pid = world.project()
    shot = world.shot(pid)
    layout, anim = world.task_type("Layout"), world.task_type("Animation")
    done, ready = world.status("done"), world.status("ready")
    auto = admin.post(suite.url + "/data/status-automations", json={
        "entity_type": "shot", "in_task_type_id": layout["id"], "in_task_status_id": done["id"],
        "out_field_type": "status", "out_task_type_id": anim["id"], "out_task_status_id": ready["id"]})
    assert auto.status_code == 201, auto.text
    world.publish("project:update", {"project_id": pid}, {
        "id": pid, "name": "P", "team": [], "status": "open", "max_retakes": 0,
        "status_automations": [auto.json()["id"]], "updated_at": "2999-01-01T00:00:00"})
    t_layout = world.task(shot, "Layout")
    t_anim = world.task(shot, "Animation")
    wait_for(lambda: admin.post(suite.url + f"/actions/tasks/{t_layout['id']}/comment",
                                json={"task_status_id": done["id"], "comment": "done"}).status_code == 201
             and admin.get(suite.url + f"/data/tasks/{t_anim['id']}").json()["task_status_id"] == ready["id"],
             what="automation applied")
    texts = [c["text"] for c in admin.get(suite.url + f"/data/tasks/{t_anim['id']}/comments").json()]
    assert texts and texts[0].startswith("Change triggered by Layout")


def test_timesheet_tables_and_task_full(world, admin, suite):
    artist, s_artist = world.person("user")
    pid = world.project(team=[artist["id"]])
    shot = world.shot(pid)
    task = world.task(shot, assignees=[artist["id"]])
    for day, minutes in (("2026-11-02", 60), ("2026-11-03", 90)):
        r = s_artist.post(suite.url + f"/actions/tasks/{task['id']}/time-spents/{day}/persons/{artist['id']}",
                          json={"duration": minutes})
        assert r.status_code == 201 and r.json()["duration"] == minutes
    table = admin.get(suite.url + "/data/persons/time-spents/day-table/2026/11").json()
    assert table["2"][artist["id"]] == 60 and table["3"][artist["id"]] == 90
    mine = s_artist.get(suite.url + "/data/user/time-spents/2026-11-03").json()
    assert [t["duration"] for t in mine] == [90]
    month = admin.get(suite.url + f"/data/persons/{artist['id']}/time-spents/month/2026/11").json()
    assert month["total"] == 150
    full = admin.get(suite.url + f"/data/tasks/{task['id']}/full").json()
    assert full["duration"] == 150 and full["entity"]["name"] == shot["name"]
    assert full["task_type"]["name"] == "Animation" and full["project"]["id"] == pid
    assert admin.get(suite.url + "/data/persons/time-spents/day-table/2026/13").status_code in (200, 400)
    open_tasks = admin.get(suite.url + "/data/tasks/open-tasks", params={"project_id": pid}).json()
    assert [t["id"] for t in open_tasks["data"]] == [task["id"]]
