#!/usr/bin/env python3
"""Run the same actions on the reference Zou (:5000) and Slate (:8080) and print
who gets which notification, and the fields of /data/user/notifications, side by side.

    .venv/bin/python scripts/zou_compare/notification_fields.py <slate admin password>
"""
import json, sys, time, uuid, requests
def login(base, email, pw):
    s = requests.Session(); r = s.post(base + "/auth/login", json={"email": email, "password": pw}); r.raise_for_status()
    s.headers["Authorization"] = "Bearer " + r.json()["access_token"]; return s
def ok(r):
    if r.status_code >= 400: print(r.request.method, r.url, r.status_code, r.text[:300]); r.raise_for_status()
    return r.json() if r.text else None
def run(base, pw):
    tag = uuid.uuid4().hex[:6]
    a = login(base, "admin@example.com", pw)
    artist = ok(a.post(base + "/data/persons", json={"first_name": "Art", "last_name": tag, "email": f"art{tag}@example.com", "role": "user"}))
    r = a.post(base + f"/actions/persons/{artist['id']}/change-password", json={"password": "secret-pass-123", "password_2": "secret-pass-123"})
    print(base, "change-password", r.status_code, r.text[:100])
    proj = ok(a.post(base + "/data/projects", json={"name": f"NC {tag}", "production_type": "short"}))
    ok(a.post(base + f"/data/projects/{proj['id']}/team", json={"person_id": artist["id"]}))
    at = ok(a.get(base + "/data/asset-types"))[0]
    asset = ok(a.post(base + f"/data/projects/{proj['id']}/asset-types/{at['id']}/assets/new", json={"name": f"Hero{tag}", "description": ""}))
    tt = [t for t in ok(a.get(base + "/data/task-types")) if t["name"] == "Modeling"][0]
    ts = ok(a.get(base + "/data/task-status")); wip = [s for s in ts if s["short_name"] == "wip"][0]
    task = ok(a.post(base + f"/actions/projects/{proj['id']}/task-types/{tt['id']}/assets/create-tasks", json=[asset["id"]]))[0]
    ok(a.put(base + f"/actions/persons/{artist['id']}/assign", json={"task_ids": [task["id"]]}))
    c1 = ok(a.post(base + f"/actions/tasks/{task['id']}/comment", json={"task_status_id": wip["id"], "comment": "hello"}))
    time.sleep(3)
    s = login(base, f"art{tag}@example.com", "secret-pass-123")
    return ok(s.get(base + "/data/user/notifications")), ok(s.get(base + f"/data/user/notifications/{ok(s.get(base + '/data/user/notifications'))[0]['id']}"))
z, z1 = run("http://127.0.0.1:5000", "reference-admin-pass")
sl, s1 = run("http://127.0.0.1:8080", sys.argv[1])
def shape(rows): return [{k: (v if k in ("notification_type","change","read","type","full_entity_name","comment_text","reply_text","playlist_name","playlist_for_entity","playlist_is_for_all","mentions","department_mentions","reply_mentions","reply_department_mentions") else type(v).__name__) for k, v in sorted(r.items())} for r in rows]
for a, b in zip(shape(z), shape(sl)):
    print("zou  ", json.dumps(a)); print("slate", json.dumps(b))
    print("only zou:", set(a) - set(b), "only slate:", set(b) - set(a))
    print("diff values:", {k: (a[k], b[k]) for k in set(a) & set(b) if a[k] != b[k]})
print("single zou:", type(z1).__name__, json.dumps(z1)[:300]); print("single slate:", type(s1).__name__, json.dumps(s1)[:300])
