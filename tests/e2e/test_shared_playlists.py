"""Shared review links, the guest flow end to end (Zou's /shared/playlists/*),
notify-clients and share invitations by mail.

A guest is named by ``guest_id``; the share token in the path is the access.
Expected shapes were measured on Zou 1.0.97 (bare ``{"error": ...}`` bodies
of the shared-playlist resources, pydantic's ``Validation error.``).
"""

from __future__ import annotations

import datetime as dt
import signal
import socket
import threading
import uuid

import gazu
import jwt
import pytest
import requests
from slatekit.testing import wait_until

from tests.e2e.media_helpers import gazu_world, make_png, png_bytes

pytestmark = pytest.mark.e2e


# ---------------------------------------------------------------- a local SMTP sink (stdlib sockets)
class SmtpSink:
    """Accepts any mail on 127.0.0.1 and keeps each message's envelope and data."""

    def __init__(self):
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(8)
        self.port = self.sock.getsockname()[1]
        self.messages: list[dict] = []
        self._stop = False
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self):
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            if self._stop:  # woken by close(): the accepting thread closes its own socket (eventlet)
                conn.close()
                self.sock.close()
                return
            threading.Thread(target=self._session, args=(conn,), daemon=True).start()

    def _session(self, conn):
        f = conn.makefile("rb")
        send = lambda line: conn.sendall(line.encode() + b"\r\n")  # noqa: E731
        send("220 sink ESMTP")
        msg = {"rcpt": [], "data": ""}
        try:
            while True:
                line = f.readline()
                if not line:
                    return
                cmd = line.decode(errors="replace").strip()
                upper = cmd.upper()
                if upper.startswith(("EHLO", "HELO")):
                    send("250 sink")
                elif upper.startswith("MAIL FROM"):
                    msg = {"from": cmd[10:].strip(), "rcpt": [], "data": ""}
                    send("250 OK")
                elif upper.startswith("RCPT TO"):
                    msg["rcpt"].append(cmd[8:].strip().strip("<>"))
                    send("250 OK")
                elif upper == "DATA":
                    send("354 go on")
                    lines = []
                    while True:
                        data_line = f.readline()
                        if not data_line or data_line in (b".\r\n", b".\n"):
                            break
                        lines.append(data_line.decode(errors="replace"))
                    msg["data"] = "".join(lines)
                    self.messages.append(msg)
                    send("250 queued")
                elif upper == "QUIT":
                    send("221 bye")
                    return
                else:
                    send("250 OK")
        finally:
            conn.close()

    def close(self):
        self._stop = True
        socket.create_connection(("127.0.0.1", self.port), timeout=5).close()


def _restart_notifications(suite):
    suite.kill("notifications", signal.SIGTERM)
    suite.start_service("notifications")
    suite.wait_rpc("notifications")


@pytest.fixture(scope="module")
def smtp(suite):
    """The notifications service restarted with SMTP set to a local sink;
    back to no SMTP afterwards."""
    sink = SmtpSink()
    suite.env.update({"SMTP_HOST": "127.0.0.1", "SMTP_PORT": str(sink.port), "MAIL_FROM": "kitsu@example.com"})
    _restart_notifications(suite)
    yield sink
    for key in ("SMTP_HOST", "SMTP_PORT", "MAIL_FROM"):
        suite.env.pop(key, None)
    _restart_notifications(suite)
    sink.close()


# ---------------------------------------------------------------- a world with a shared playlist
def _status(admin, url, client_allowed: bool) -> dict:
    n = uuid.uuid4().hex[:5]
    r = admin.post(f"{url}/data/task-status", json={
        "name": f"Guest {n}", "short_name": f"g{n}", "color": "#22aa44", "is_client_allowed": client_allowed})
    assert r.status_code == 201, r.text
    return r.json()


def _shared_world(suite, admin, tmp_path_factory) -> dict:
    w = gazu_world(suite)
    c = w["client"]
    png = make_png(tmp_path_factory.mktemp("shared") / "v1.png", 320, 180)
    pf = gazu.task.add_preview(w["task"], w["comment"], str(png), client=c)
    playlist = gazu.playlist.new_playlist(w["project"], f"Review {uuid.uuid4().hex[:5]}", client=c)
    gazu.playlist.add_entity_to_playlist(playlist, w["asset"], preview_file=pf, client=c)
    r = admin.post(f"{suite.url}/data/playlists/{playlist['id']}/share", json={})
    assert r.status_code == 201, r.text
    return {**w, "pf": pf, "playlist": playlist, "link": r.json(), "token": r.json()["token"],
            "allowed": _status(admin, suite.url, True), "refused": _status(admin, suite.url, False)}


@pytest.fixture(scope="module")
def world(suite, admin, tmp_path_factory):
    return _shared_world(suite, admin, tmp_path_factory)


def _guest(suite, token, **body) -> dict:
    r = requests.post(f"{suite.url}/shared/playlists/{token}/guest", json=body or {"first_name": "Ann"}, timeout=15)
    assert r.status_code in (200, 201), r.text
    return r.json()



# ---------------------------------------------------------------- the guest flow
def test_guest_comments_attaches_annotates_and_downloads(suite, admin, world, event_probe):
    base = f"{suite.url}/api/shared/playlists/{world['token']}"
    task_id, pf_id = world["task"]["id"], world["pf"]["id"]

    r = requests.post(f"{base}/guest", json={"first_name": "Ann", "last_name": "Gee"})
    assert r.status_code == 201, r.text
    guest = r.json()
    assert guest["is_guest"] is True and guest["role"] == "client" and guest["full_name"] == "Ann Gee"
    assert guest["data"] == {"share_link_id": world["link"]["id"]} and guest["email"].endswith("@guest.kitsu")
    gid = guest["id"]
    again = requests.post(f"{base}/guest", json={"guest_id": gid})
    assert again.status_code == 200 and again.json()["id"] == gid
    by_name = requests.post(f"{base}/guest", json={"first_name": "Ann", "last_name": "Gee"})
    assert by_name.status_code == 201 and by_name.json()["id"] == gid  # Zou reuses a link's guest by name
    assert admin.get(f"{suite.url}/data/persons/{gid}").json()["is_guest"] is True
    r = admin.get(f"{suite.url}/data/user/context")
    assert r.status_code == 200, r.text
    assert gid not in [p["id"] for p in r.json()["persons"]]  # not the studio's people, as Zou

    assert requests.get(f"{base}/comments").json() == []  # the team's comment is not for the client
    shared = requests.get(base).json()
    assert shared["project_name"] == world["project"]["name"]
    [shot] = shared["shots"]
    assert shot["id"] == world["asset"]["id"] and shot["preview_file_id"] == pf_id and shot["preview_files"] == {}
    assert shot["preview_file_task_id"] == task_id and shot["preview_file_previews"] == []
    assert shot["name"] == world["asset"]["name"]
    assert shot["preview_file_task_type"]["id"] == world["task_type"]["id"]
    project_id = world["project"]["id"]
    r = admin.post(f"{suite.url}/data/projects/{project_id}/settings/task-status",
                   json={"task_status_id": world["allowed"]["id"]})
    assert r.status_code in (200, 201), r.text

    def context_statuses():
        doc = requests.get(f"{base}/context").json()
        return doc if world["allowed"]["id"] in [st["id"] for st in doc["task_statuses"]] else None

    context = wait_until(context_statuses, timeout=20, what="project status in the shared context")  # via the tasks projection
    assert context["project"]["id"] == project_id and context["project"]["team"] == []
    status = next(st for st in context["task_statuses"] if st["id"] == world["allowed"]["id"])
    assert status["is_client_allowed"] is True
    assert set(status) == {"id", "name", "short_name", "color", "is_client_allowed", "is_default", "for_concept"}

    r = requests.post(f"{base}/comments", json={"guest_id": gid, "task_id": task_id,
                                                 "task_status_id": world["allowed"]["id"], "text": "Nice lamp"})
    assert r.status_code == 201, r.text
    comment = r.json()
    assert comment["person_id"] == gid and comment["object_id"] == task_id and comment["text"] == "Nice lamp"
    assert comment["person"]["is_guest"] is True and comment["task_status"]["id"] == world["allowed"]["id"]
    cid = comment["id"]
    event_probe.wait_for(lambda ms: any(m["name"] == "comment:new" and m["data"]["comment_id"] == cid for m in ms))
    new = next(m for m in event_probe.of("comment:new") if m["data"]["comment_id"] == cid)
    assert new["data"]["person_id"] == gid and new["project_id"] == world["project"]["id"]

    listed = requests.get(f"{base}/comments").json()
    assert [x["id"] for x in listed] == [cid]
    assert listed[0]["person"]["is_guest"] is True and listed[0]["person"]["full_name"] == "Ann Gee"
    team_view = admin.get(f"{suite.url}/data/tasks/{task_id}/comments").json()
    assert cid in [x["id"] for x in team_view]  # a normal comment of the task for the team
    task = admin.get(f"{suite.url}/data/tasks/{task_id}").json()
    assert task["task_status_id"] == world["allowed"]["id"]

    r = requests.put(f"{base}/comments/{cid}", json={"guest_id": gid, "text": "Nicer lamp"})
    assert r.status_code == 200, r.text
    assert r.json()["text"] == "Nicer lamp" and r.json()["editor_id"] == gid

    r = requests.post(f"{base}/comments/{cid}/attachments", data={"guest_id": gid},
                      files={"file": ("notes.txt", b"more light please", "text/plain")})
    assert r.status_code == 201, r.text
    [att] = r.json()["attachment_files"]
    assert att["name"] == "notes.txt" and att["extension"] == "txt"
    listed = requests.get(f"{base}/comments").json()
    assert [a["id"] for a in listed[0]["attachment_files"]] == [att["id"]]
    got = requests.get(f"{base}/attachment-files/{att['id']}/file/notes.txt")
    assert got.status_code == 200 and got.content == b"more light please"
    assert got.headers["Content-Disposition"].startswith("attachment")
    r = requests.post(f"{base}/comments/{cid}/attachments?guest_id={gid}",
                      files={"file": ("x.html", b"<script>alert(1)</script>", "text/html")})
    assert r.status_code == 201, r.text
    html = next(a for a in r.json()["attachment_files"] if a["name"] == "x.html")
    got = requests.get(f"{base}/attachment-files/{html['id']}/file/x.html")
    assert got.headers["Content-Type"] == "application/octet-stream"
    assert got.headers["Content-Disposition"].startswith("attachment") and got.headers["X-Content-Type-Options"] == "nosniff"
    assert requests.delete(f"{base}/comments/{cid}/attachments/{html['id']}", json={"guest_id": gid}).status_code == 204
    r = requests.post(f"{base}/comments/{cid}/attachments?guest_id={gid}",
                      files={"file": ("ref.png", png_bytes(), "image/png")})
    png = next(a for a in r.json()["attachment_files"] if a["name"] == "ref.png")
    got = requests.get(f"{base}/attachment-files/{png['id']}/file/ref.png")
    assert got.headers["Content-Type"] == "image/png" and got.headers["Content-Disposition"].startswith("attachment")
    assert requests.delete(f"{base}/comments/{cid}/attachments/{png['id']}", json={"guest_id": gid}).status_code == 204

    r = requests.put(f"{base}/annotations", json={
        "guest_id": gid, "preview_file_id": pf_id,
        "additions": [{"time": 0, "drawing": {"objects": [{"id": "g1", "type": "path"}]}}]})
    assert r.status_code == 200, r.text
    assert r.json()["annotations"][0]["drawing"]["objects"][0]["id"] == "g1"
    event_probe.wait_for(lambda ms: any(m["name"] == "preview-file:annotation-update"
                                        and m["data"]["preview_file_id"] == pf_id for m in ms))
    assert admin.get(f"{suite.url}/data/preview-files/{pf_id}").json()["annotations"][0]["drawing"]["objects"]

    r = requests.get(f"{base}/preview-files/{pf_id}/download")
    assert r.status_code == 200 and r.headers["Content-Type"] == "image/png"
    assert r.headers["Content-Disposition"].startswith("attachment") and r.content[:4] == b"\x89PNG"
    r = requests.get(f"{base}/pictures/originals/preview-files/{pf_id}.png")
    assert r.status_code == 200 and r.content[:4] == b"\x89PNG"
    r = requests.get(f"{base}/pictures/originals/preview-files/{pf_id}.exe")
    assert r.status_code == 400 and r.json() == {"error": True, "message": "Extension not allowed: exe", "data": None}
    r = requests.get(f"{base}/pictures/thumbnails/persons/{gid}.png")
    assert r.status_code == 404  # shown, but no avatar

    r = requests.delete(f"{base}/comments/{cid}/attachments/{att['id']}", json={"guest_id": gid})
    assert r.status_code == 204, r.text
    assert requests.get(f"{base}/attachment-files/{att['id']}/file/notes.txt").status_code == 404

    r = requests.delete(f"{base}/comments/{cid}?guest_id={gid}")
    assert r.status_code == 204, r.text
    assert requests.get(f"{base}/comments").json() == []
    event_probe.wait_for(lambda ms: any(m["name"] == "comment:delete" and m["data"]["comment_id"] == cid
                                        for m in ms))
    r = requests.delete(f"{base}/comments/{cid}", json={"guest_id": gid})
    assert r.status_code == 404 and r.json() == {"error": "Comment not found"}


# ---------------------------------------------------------------- what a guest cannot do
def test_guest_is_refused_outside_its_link_and_on_data_routes(suite, admin, world, tmp_path_factory):
    token = world["token"]
    gid = _guest(suite, token, first_name="Bob")["id"]
    other = _shared_world(suite, admin, tmp_path_factory)
    other_gid = _guest(suite, other["token"], first_name="Eve")["id"]

    # The credentials a guest holds open nothing under /data: the share token
    # is no JWT, a guest has no password, and a token minted for a guest is refused.
    r = requests.get(f"{suite.url}/data/projects", headers={"Authorization": f"Bearer {token}"})
    assert r.status_code == 422 and r.json() == {"msg": "Not enough segments"}
    email = admin.get(f"{suite.url}/data/persons/{gid}").json()["email"]
    r = requests.post(f"{suite.url}/auth/login", json={"email": email, "password": ""})
    assert r.status_code in (400, 401) and r.json().get("login") is False
    now = dt.datetime.now(dt.UTC)
    forged = jwt.encode({"sub": gid, "jti": str(uuid.uuid4()), "type": "access", "iat": now, "nbf": now,
                         "exp": now + dt.timedelta(minutes=5), "identity_type": "person"},
                        suite.env["SECRET_KEY"], algorithm="HS256")
    r = requests.get(f"{suite.url}/data/projects", headers={"Authorization": f"Bearer {forged}"})
    assert r.status_code == 401

    # A guest of one link is nobody on another link's playlist: naming it
    # there gets a new guest (as Zou), and its writes are refused.
    r = requests.post(f"{suite.url}/shared/playlists/{token}/guest", json={"guest_id": other_gid, "first_name": "Eve"})
    assert r.status_code == 201 and r.json()["id"] != other_gid
    assert r.json()["data"]["share_link_id"] == world["link"]["id"]
    body = {"guest_id": other_gid, "task_id": world["task"]["id"], "task_status_id": world["allowed"]["id"]}
    r = requests.post(f"{suite.url}/shared/playlists/{token}/comments", json=body)
    assert r.status_code == 403 and r.json() == {"error": "Guest not part of this shared playlist"}
    r = requests.put(f"{suite.url}/shared/playlists/{token}/annotations",
                     json={"guest_id": other_gid, "preview_file_id": world["pf"]["id"]})
    assert r.status_code == 403 and r.json() == {"error": "Guest not part of this shared playlist"}
    # ... nor may it reach a task of another playlist through its own link.
    r = requests.post(f"{suite.url}/shared/playlists/{other['token']}/comments", json=body)
    assert r.status_code == 403 and r.json() == {"error": "Task not part of this shared playlist"}
    r = requests.get(f"{suite.url}/shared/playlists/{other['token']}/preview-files/{world['pf']['id']}/download")
    assert r.status_code == 403

    # Another guest of the same link may not touch the first guest's comment.
    cid = requests.post(f"{suite.url}/shared/playlists/{token}/comments", json={
        "guest_id": gid, "task_id": world["task"]["id"], "task_status_id": world["allowed"]["id"],
        "text": "mine"}).json()["id"]
    intruder = _guest(suite, token, first_name="Mallory")["id"]
    for method in ("put", "delete"):
        r = getattr(requests, method)(f"{suite.url}/shared/playlists/{token}/comments/{cid}",
                                      json={"guest_id": intruder, "text": "theirs"})
        assert r.status_code == 403 and r.json() == {"error": "Forbidden"}
    r = requests.put(f"{suite.url}/shared/playlists/{other['token']}/comments/{cid}",
                     json={"guest_id": other_gid, "text": "x"})
    assert r.status_code == 403 and r.json() == {"error": "Forbidden"}

    # A revoked link is gone, with its guests' access.
    admin.delete(f"{suite.url}/data/playlists/{other['playlist']['id']}/share/{other['token']}")
    r = requests.post(f"{suite.url}/shared/playlists/{other['token']}/guest", json={"guest_id": other_gid})
    assert r.status_code == 404 and r.json()["error"] is True


def test_link_shows_client_comments_and_their_authors_avatars(suite, admin, world):
    base = f"{suite.url}/shared/playlists/{world['token']}"
    task_id = world["task"]["id"]
    r = admin.post(f"{suite.url}/actions/tasks/{task_id}/comment",
                   json={"task_status_id": world["allowed"]["id"], "comment": "For the client", "for_client": True})
    assert r.status_code == 201, r.text
    team_comment = r.json()
    admin.post(f"{suite.url}/actions/tasks/{task_id}/comment",
               json={"task_status_id": world["allowed"]["id"], "comment": "Internal only"})
    texts = [c["text"] for c in requests.get(f"{base}/comments").json()]
    assert "For the client" in texts and "Internal only" not in texts
    author = team_comment["person_id"]
    avatar = f"{base}/pictures/thumbnails/persons/{author}.png"
    # The author is the suite's admin: another test may have given it an avatar.
    assert admin.delete(f"{suite.url}/actions/persons/{author}/clear-avatar").status_code == 204
    assert wait_until(lambda: requests.get(avatar).status_code == 404, timeout=15,
                      what="avatar cleared")  # shown, but no avatar yet
    r = admin.post(f"{suite.url}/pictures/thumbnails/persons/{author}", files={"file": ("a.png", png_bytes(), "image/png")})
    assert r.status_code == 201, r.text
    r = requests.get(avatar)
    assert r.status_code == 200 and r.headers["Content-Type"] == "image/png"
    stranger = suite.make_person(admin)
    admin.post(f"{suite.url}/pictures/thumbnails/persons/{stranger['id']}", files={"file": ("a.png", png_bytes(), "image/png")})
    assert requests.get(f"{base}/pictures/thumbnails/persons/{stranger['id']}.png").status_code == 404
    admin.delete(f"{suite.url}/data/tasks/{task_id}/comments/{team_comment['id']}")


def test_a_link_without_comments_lets_guests_watch_only(suite, admin, world):
    r = admin.post(f"{suite.url}/data/playlists/{world['playlist']['id']}/share", json={"can_comment": False})
    assert r.status_code == 201 and r.json()["can_comment"] is False
    base = f"{suite.url}/shared/playlists/{r.json()['token']}"
    gid = _guest(suite, r.json()["token"], first_name="Watcher")["id"]
    assert requests.get(f"{base}/comments").status_code == 200
    r = requests.post(f"{base}/comments", json={"guest_id": gid, "task_id": world["task"]["id"],
                                                 "task_status_id": world["allowed"]["id"]})
    assert r.status_code == 403 and r.json() == {"error": "Comments are disabled for this link"}
    r = requests.put(f"{base}/annotations", json={"guest_id": gid, "preview_file_id": world["pf"]["id"]})
    assert r.status_code == 403 and r.json() == {"error": "Annotations are disabled"}
    r = admin.post(f"{suite.url}/data/playlists/{world['playlist']['id']}/share", json={"can_comment": "no"})
    assert r.status_code == 400 and r.json()["message"] == "Validation error."


def test_a_password_protects_the_playlist_its_context_and_comments(suite, admin, world):
    r = admin.post(f"{suite.url}/data/playlists/{world['playlist']['id']}/share", json={"password": "s3cret"})
    assert r.status_code == 201 and r.json()["has_password"] is True and "password_hash" not in r.json()
    base = f"{suite.url}/shared/playlists/{r.json()['token']}"
    for path in ("", "/context", "/comments"):
        assert requests.get(f"{base}{path}").status_code == 404
        assert requests.get(f"{base}{path}?password=wrong").status_code == 404
        assert requests.get(f"{base}{path}?password=s3cret").status_code == 200
    shares = admin.get(f"{suite.url}/data/playlists/{world['playlist']['id']}/share").json()
    assert {s["has_password"] for s in shares} == {True, False}


def test_bad_input_gets_zou_4xx(suite, world):
    base = f"{suite.url}/shared/playlists/{world['token']}"
    gid = _guest(suite, world["token"], first_name="Carl")["id"]
    r = requests.post(f"{base}/comments", json={"guest_id": gid})
    assert r.status_code == 400
    assert r.json() == {"error": True, "message": "Validation error.", "data": {"errors": [
        {"field": "task_id", "message": "Field required"},
        {"field": "task_status_id", "message": "Field required"}]}}
    r = requests.post(f"{base}/guest", json={"guest_id": "nope"})
    assert r.status_code == 400 and r.json()["data"]["errors"][0]["field"] == "guest_id"
    common = {"guest_id": gid, "task_id": world["task"]["id"]}
    r = requests.post(f"{base}/comments", json={**common, "task_status_id": world["refused"]["id"]})
    assert r.status_code == 400 and r.json() == {"error": "Task status not allowed for guests"}
    r = requests.post(f"{base}/comments", json={**common, "task_status_id": str(uuid.uuid4())})
    assert r.status_code == 400 and r.json() == {"error": "Task status not found"}
    r = requests.put(f"{base}/comments/{uuid.uuid4()}", json={"guest_id": gid, "text": "a"})
    assert r.status_code == 404 and r.json() == {"error": "Comment not found"}
    r = requests.put(f"{base}/comments/{uuid.uuid4()}", json={})
    assert r.status_code == 400 and r.json()["data"]["errors"] == [{"field": "guest_id", "message": "Field required"}]
    r = requests.put(f"{base}/annotations", json={"guest_id": gid})
    assert r.status_code == 400 and r.json()["message"] == "Validation error."
    r = requests.put(f"{base}/annotations", json={"guest_id": gid, "preview_file_id": str(uuid.uuid4())})
    assert r.status_code == 404 and r.json()["error"] is True
    r = requests.post(f"{base}/comments", data="{not json", headers={"Content-Type": "application/json"})
    assert r.status_code == 400 and r.json()["error"] is True
    r = requests.get(f"{suite.url}/shared/playlists/no-such-token/comments")
    assert r.status_code == 404 and r.json()["error"] is True
    r = requests.get(f"{base}/attachment-files/not-an-id/file/x.txt")
    assert r.status_code == 404


# ---------------------------------------------------------------- messages to clients and reviewers
def test_notify_clients_notifies_the_projects_clients(suite, admin, world):
    project_id = world["project"]["id"]
    client = suite.make_person(admin, role="client")
    artist = suite.make_person(admin, role="user")
    for person in (client, artist):
        r = admin.post(f"{suite.url}/data/projects/{project_id}/team", json={"person_id": person["id"]})
        assert r.status_code in (200, 201), r.text
    url = f"{suite.url}/data/playlists/{world['playlist']['id']}/notify-clients"
    r = admin.post(url, json={})
    assert r.status_code == 200 and r.json() == {"status": "success"}

    as_client = suite.login(client["email"], "secret-pass-1")

    def ready():
        rows = as_client.get(f"{suite.url}/data/user/notifications").json()
        return [n for n in rows if n["notification_type"] == "playlist-ready"]

    [note] = wait_until(ready, timeout=20, what="playlist-ready notification")
    assert note["playlist_id"] == world["playlist"]["id"]
    as_artist = suite.login(artist["email"], "secret-pass-1")
    assert not [n for n in as_artist.get(f"{suite.url}/data/user/notifications").json()
                if n["notification_type"] == "playlist-ready"]

    r = admin.post(url, json={"studio_id": "x"})
    assert r.status_code == 400 and r.json()["data"]["errors"][0]["field"] == "studio_id"
    assert as_client.post(url, json={}).status_code == 403
    r = admin.post(f"{suite.url}/data/playlists/{uuid.uuid4()}/notify-clients", json={})
    assert r.status_code == 404


def test_invite_mails_the_share_link(suite, admin, world, smtp):
    reviewer = suite.make_person(admin, role="client")
    url = f"{suite.url}/data/playlists/{world['playlist']['id']}/share/{world['token']}/invite"
    r = admin.post(url, json={"emails": ["Reviewer@Example.com", "reviewer@example.com"],
                              "person_ids": [reviewer["id"]], "message": "Please look at the lamp"})
    assert r.status_code == 200, r.text
    assert sorted(r.json()["sent"]) == sorted(["Reviewer@Example.com", reviewer["email"]])
    wait_until(lambda: len(smtp.messages) >= 2, timeout=20, what="two mails")
    rcpts = sorted(m["rcpt"][0].lower() for m in smtp.messages[-2:])
    assert rcpts == sorted(["reviewer@example.com", reviewer["email"].lower()])
    body = smtp.messages[-1]["data"]
    assert f"/playlists/shared/{world['token']}" in body and "Please look at the lamp" in body

    r = admin.post(url, json={"emails": ["notanemail"]})
    assert r.status_code == 400 and r.json() == {"error": "An email address must have an @-sign."}
    r = admin.post(f"{suite.url}/data/playlists/{world['playlist']['id']}/share/nope/invite",
                   json={"emails": ["a@example.com"]})
    assert r.status_code == 404
    user = suite.make_person(admin, role="user")
    assert suite.login(user["email"], "secret-pass-1").post(url, json={"emails": ["a@example.com"]}).status_code == 403


def test_notify_clients_mails_clients_who_enabled_mail(suite, admin, world, smtp):
    client = suite.make_person(admin, role="client", notifications_enabled=True)
    r = admin.post(f"{suite.url}/data/projects/{world['project']['id']}/team", json={"person_id": client["id"]})
    assert r.status_code in (200, 201), r.text
    r = admin.post(f"{suite.url}/data/playlists/{world['playlist']['id']}/notify-clients", json={})
    assert r.status_code == 200, r.text
    mails = wait_until(lambda: [m for m in smtp.messages if client["email"].lower() in [x.lower() for x in m["rcpt"]]],
                       timeout=20, what="playlist-ready mail")
    assert "playlist" in mails[0]["data"].lower()
