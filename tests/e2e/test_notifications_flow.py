"""Notifications and news built from the tasks service's events, as Zou builds them.

Zou's rules (checked against Zou 1.0.97, see services/notifications/README.md):
a comment notifies assignees and subscribers but not its author, mentions get
their own notification, an assignation notifies the assignee, a reply
notifies the comment's author; every comment on a non-concept makes a news row.
"""

from __future__ import annotations

import gazu
import pytest
from slatekit.testing import wait_until

from .test_tasks_flow import World

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def world(suite, admin):
    return World(suite, admin)


def notifs(suite, session, **params):
    r = session.get(suite.url + "/api/data/user/notifications", params=params, timeout=15)
    assert r.status_code == 200, r.text
    return r.json()


def test_comment_assignation_mention_reply_and_news(world, suite, admin):
    artist, s_artist = world.person("user")
    sup, s_sup = world.person("supervisor")
    watcher, s_watcher = world.person("user")
    named, s_named = world.person("user")
    pid = world.project(team=[artist["id"], sup["id"], watcher["id"], named["id"]])
    shot = world.shot(pid)
    task = world.task(shot)
    # Zou notifies an assignation made by the assign routes (not one given at creation).
    r = admin.put(suite.url + f"/actions/tasks/{task['id']}/assign", json={"person_id": artist["id"]}, timeout=15)
    assert r.status_code == 200, r.text
    # The assignation (by the admin) notifies the artist.
    wait_until(lambda: [n for n in notifs(suite, s_artist) if n["notification_type"] == "assignation"],
               timeout=20, what="assignation notification")
    r = s_watcher.post(suite.url + f"/actions/user/tasks/{task['id']}/subscribe", timeout=15)
    assert r.status_code == 201 and r.json()["task_id"] == task["id"]
    assert s_watcher.get(suite.url + f"/data/user/tasks/{task['id']}/subscribed", timeout=15).json() is True
    wip = world.status("wip")
    full_name = f"{named['first_name']} {named['last_name']}"
    r = s_sup.post(suite.url + f"/actions/tasks/{task['id']}/comment",
                   json={"task_status_id": wip["id"], "comment": f"Nice @{full_name} look"}, timeout=15)
    assert r.status_code == 201, r.text
    comment = r.json()
    # ``change``: the comment moved the task to WIP (comment:new and
    # task:status-changed are paired in whichever order they are handled).
    got = wait_until(lambda: [n for n in notifs(suite, s_artist) if n["notification_type"] == "comment" and n["change"]],
                     timeout=20, what="comment notification with change")
    n = got[0]
    assert n["comment_id"] == comment["id"] and n["author_id"] == sup["id"] and n["task_id"] == task["id"]
    assert n["read"] is False and n["project_id"] == pid and n["comment_text"].startswith("Nice")
    assert n["task_status_id"] == wip["id"] and n["type"] == "Notification"
    wait_until(lambda: [n for n in notifs(suite, s_watcher) if n["notification_type"] == "comment"],
               timeout=20, what="subscriber notified")
    wait_until(lambda: [n for n in notifs(suite, s_named) if n["notification_type"] == "mention"],
               timeout=20, what="mention notified")
    assert notifs(suite, s_sup) == []  # the author is never notified
    # News feed of the project.
    news = wait_until(lambda: s_artist.get(suite.url + f"/data/projects/{pid}/news", timeout=15).json()["data"],
                      timeout=20, what="news row")
    assert len(news) == 1 and news[0]["comment_id"] == comment["id"] and news[0]["change"] is True
    assert news[0]["task_status_id"] == wip["id"] and news[0]["author_id"] == sup["id"]
    # Zou names a shot "<sequence> / <shot>" and gives the author's role.
    assert news[0]["full_entity_name"] == f"SQ{shot['name']} / {shot['name']}"
    assert news[0]["person"]["role"] == "supervisor"
    one = s_artist.get(suite.url + f"/data/projects/{pid}/news/{news[0]['id']}", timeout=15).json()
    assert one["data"][0]["id"] == news[0]["id"]
    assert s_artist.get(suite.url + f"/data/entities/{shot['id']}/news", timeout=15).json()[0]["id"] == news[0]["id"]
    # Reply by the artist: the comment's author (supervisor) is notified.
    r = s_artist.post(suite.url + f"/data/tasks/{task['id']}/comments/{comment['id']}/reply", json={"text": "thanks"},
                      timeout=15)
    assert r.status_code in (200, 201), r.text
    reply = wait_until(lambda: [n for n in notifs(suite, s_sup) if n["notification_type"] == "reply"],
                       timeout=20, what="reply notification")[0]
    assert reply["reply_text"] == "thanks" and reply["author_id"] == artist["id"]
    # Read / unread / count / mark all.
    count = admin.get(suite.url + "/data/user/context", timeout=15)
    ctx = s_artist.get(suite.url + "/data/user/context", timeout=15).json()
    assert ctx["notification_count"] == len(notifs(suite, s_artist, read="false")) >= 2 and count.ok
    r = s_artist.put(suite.url + f"/data/user/notifications/{n['id']}", json={"read": True}, timeout=15)
    assert r.status_code == 200 and r.json()["read"] is True
    assert s_artist.get(suite.url + f"/data/user/notifications/{n['id']}", timeout=15).json()["read"] is True
    assert s_artist.put(suite.url + f"/data/user/notifications/{n['id']}", json={"read": "x"}, timeout=15).status_code == 400
    # Another person's notification is not found for me.
    assert s_watcher.get(suite.url + f"/data/user/notifications/{n['id']}", timeout=15).status_code == 404
    r = s_artist.post(suite.url + "/actions/user/notifications/mark-all-as-read", timeout=15)
    assert r.status_code == 200 and r.json() == {"success": True}
    assert notifs(suite, s_artist, read="false") == []
    assert s_artist.get(suite.url + "/data/user/context", timeout=15).json()["notification_count"] == 0
    # Unsubscribe.
    assert s_watcher.delete(suite.url + f"/actions/user/tasks/{task['id']}/unsubscribe", timeout=15).status_code == 204
    assert s_watcher.get(suite.url + f"/data/user/tasks/{task['id']}/subscribed", timeout=15).json() is False


def test_gazu_sees_the_same_notifications(world, suite, admin):
    artist, s_artist = world.person("user")
    pid = world.project(team=[artist["id"]])
    task = world.task(world.shot(pid))
    gz_admin = gazu.client.create_client(suite.url + "/api")
    gazu.log_in("admin@example.com", "admin-test-password", client=gz_admin)
    gazu.task.assign_task(task, artist, client=gz_admin)
    client = gazu.client.create_client(suite.url + "/api")
    gazu.log_in(artist["email"], "secret-pass-1", client=client)
    wait_until(lambda: gazu.client.get("data/user/notifications", client=client), timeout=20, what="gazu notif")
    rows = gazu.client.get("data/user/notifications", client=client)
    assert rows[0]["notification_type"] == "assignation" and rows[0]["task_id"] == task["id"]
    # The admin's generic listing: "type" is the model, the kind beside it (Zou's serializer).
    raw = gazu.client.get(f"data/notifications?person_id={artist['id']}", client=gz_admin)
    assert [(r["type"], r["notification_type"]) for r in raw] == [("Notification", "assignation")]


def test_an_asset_is_named_with_its_type_as_zou_does(world, suite, admin):
    artist, s_artist = world.person("user")
    pid = world.project(team=[artist["id"]])
    types = admin.get(suite.url + "/data/asset-types", timeout=15).json()
    asset_type = types[0]
    r = admin.post(suite.url + f"/data/projects/{pid}/asset-types/{asset_type['id']}/assets/new",
                   json={"name": "Hero", "description": ""}, timeout=15)
    assert r.status_code == 201, r.text
    asset = r.json()
    tt = admin.get(suite.url + "/data/task-types", timeout=15).json()[0]
    task = admin.post(suite.url + f"/actions/projects/{pid}/task-types/{tt['id']}/assets/create-tasks",
                      json=[asset["id"]], timeout=15).json()[0]
    r = admin.put(suite.url + f"/actions/persons/{artist['id']}/assign", json={"task_ids": [task["id"]]}, timeout=15)
    assert r.status_code == 200, r.text
    rows = wait_until(lambda: notifs(suite, s_artist), timeout=20, what="assignation")
    assert rows[0]["full_entity_name"] == f"{asset_type['name']} / Hero"


def test_sequence_subscription_routes(world, suite, admin):
    artist, s_artist = world.person("user")
    pid = world.project(team=[artist["id"]])
    shot = world.shot(pid)
    tt = world.task_type()
    base = f"/actions/user/sequences/{shot['sequence_id']}/task-types/{tt['id']}"
    r = s_artist.post(suite.url + base + "/subscribe", timeout=15)
    assert r.status_code == 201 and r.json()["entity_id"] == shot["sequence_id"]
    assert s_artist.get(suite.url + f"/data/user/sequences/{shot['sequence_id']}/task-types/{tt['id']}/subscribed",
                        timeout=15).json() is True
    assert s_artist.delete(suite.url + base + "/unsubscribe", timeout=15).status_code == 204
    assert s_artist.get(suite.url + f"/data/user/entities/{shot['sequence_id']}/task-types/{tt['id']}/subscribed",
                        timeout=15).json() is False
    assert s_artist.post(suite.url + "/actions/user/tasks/subscribe", json={"task_ids": "x"}, timeout=15).status_code == 400
    assert s_artist.get(suite.url + "/data/user/notifications", params={"after": "nope"}, timeout=15).status_code == 400
    assert s_artist.get(suite.url + "/data/notifications", timeout=15).status_code == 403


def test_chats_join_post_list_delete(world, suite, admin):
    artist, s_artist = world.person("user")
    outsider, s_out = world.person("user")
    pid = world.project(team=[artist["id"]])
    shot = world.shot(pid)
    wait_until(lambda: s_artist.get(suite.url + f"/data/entities/{shot['id']}/chat", timeout=15).status_code == 200,
               timeout=20, what="entity projection")
    r = s_artist.post(suite.url + f"/actions/user/chats/{shot['id']}/join", timeout=15)
    assert r.status_code == 200 and r.json()["object_id"] == shot["id"]
    chat = s_artist.get(suite.url + f"/data/entities/{shot['id']}/chat", timeout=15).json()
    assert artist["id"] in chat["participants"]
    r = s_artist.post(suite.url + f"/data/entities/{shot['id']}/chat/messages", json={"message": "hello"}, timeout=15)
    assert r.status_code == 201 and r.json()["text"] == "hello"
    msg = r.json()
    assert [m["id"] for m in s_artist.get(suite.url + f"/data/entities/{shot['id']}/chat/messages", timeout=15).json()] == [msg["id"]]
    assert s_artist.post(suite.url + f"/data/entities/{shot['id']}/chat/messages", json={}, timeout=15).status_code == 400
    assert s_out.get(suite.url + f"/data/entities/{shot['id']}/chat/messages", timeout=15).status_code == 403
    assert [c["object_id"] for c in s_artist.get(suite.url + "/data/user/chats", timeout=15).json()] == [shot["id"]]
    assert s_artist.delete(suite.url + f"/data/entities/{shot['id']}/chat/messages/{msg['id']}", timeout=15).status_code == 204
    assert s_artist.delete(suite.url + f"/actions/user/chats/{shot['id']}/join", timeout=15).status_code == 204
    assert s_artist.get(suite.url + "/data/user/chats", timeout=15).json() == []
