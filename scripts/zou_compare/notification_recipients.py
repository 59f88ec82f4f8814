#!/usr/bin/env python3
"""Same actions on Zou and Slate; compare who gets which notification and the fields."""
import json, sys, time, uuid
import requests

def login(base, email, pw):
    s = requests.Session()
    r = s.post(base + "/auth/login", json={"email": email, "password": pw}); r.raise_for_status()
    s.headers["Authorization"] = "Bearer " + r.json()["access_token"]
    return s

def run(base, pw):
    tag = uuid.uuid4().hex[:6]
    a = login(base, "admin@example.com", pw)
    def ok(r):
        if r.status_code >= 400: print(r.request.method, r.url, r.status_code, r.text[:300]); r.raise_for_status()
        return r.json() if r.text else None
    people = {}
    for role in ("artist", "super", "mentioned", "watcher"):
        email = f"{role}{tag}@example.com"
        p = ok(a.post(base + "/data/persons", json={"first_name": role.title(), "last_name": tag, "email": email, "role": "supervisor" if role == "super" else "user"}))
        ok(a.post(base + f"/actions/persons/{p['id']}/change-password", json={"password": "secret-pass-123", "password_2": "secret-pass-123"})) if False else None
        people[role] = p
    proj = ok(a.post(base + "/data/projects", json={"name": f"NotifCmp {tag}", "production_type": "short"}))
    for p in people.values():
        ok(a.post(base + f"/data/projects/{proj['id']}/team", json={"person_id": p["id"]}))
    at = ok(a.get(base + "/data/asset-types"))[0]
    asset = ok(a.post(base + f"/data/projects/{proj['id']}/asset-types/{at['id']}/assets/new", json={"name": f"Hero{tag}", "description": ""}))
    tt = [t for t in ok(a.get(base + "/data/task-types")) if t["name"] == "Modeling"][0]
    ts = ok(a.get(base + "/data/task-status"))
    wip = [s for s in ts if s["short_name"] == "wip"][0]; wfa = [s for s in ts if s["short_name"] == "wfa"][0]
    task = ok(a.post(base + f"/actions/projects/{proj['id']}/task-types/{tt['id']}/assets/create-tasks", json=[asset["id"]]))[0]
    ok(a.put(base + "/actions/tasks/assign", json={"task_ids": [task["id"]], "person_id": people["artist"]["id"]})) if False else ok(a.put(base + f"/actions/persons/{people['artist']['id']}/assign", json={"task_ids": [task["id"]]}))
    ok(a.post(base + f"/actions/tasks/{task['id']}/subscribe")) if False else None
    # watcher subscribes
    c1 = ok(a.post(base + f"/actions/tasks/{task['id']}/comment", json={"task_status_id": wip["id"], "comment": f"Look @Mentioned {tag} please"}))
    c2 = ok(a.post(base + f"/actions/tasks/{task['id']}/comment", json={"task_status_id": wfa["id"], "comment": "status to wfa"}))
    time.sleep(3)
    out = {}
    for role, p in people.items():
        rows = ok(a.get(base + "/data/notifications", params={"person_id": p["id"]}))
        out[role] = sorted([{k: (type(v).__name__ if k not in ("type", "change", "read", "comment_id", "task_id", "author_id") else v) for k, v in r.items()} for r in rows], key=lambda r: (r.get("type"), str(r.get("comment_id"))))
        for r in out[role]:
            r["comment"] = {c1["id"]: "c1", c2["id"]: "c2"}.get(r.pop("comment_id", None), None)
            r["task"] = r.pop("task_id", None) == task["id"]
            r["author_is_admin"] = r.pop("author_id", None) not in [x["id"] for x in people.values()]
    news = ok(a.get(base + f"/data/projects/{proj['id']}/news"))
    return out, news, a, task

if __name__ == "__main__":
    zo, zn, za, zt = run("http://127.0.0.1:5000", "reference-admin-pass")
    so, sn, sa, st = run("http://127.0.0.1:8080/api", sys.argv[1])
    for role in zo:
        print("==", role)
        print(" zou  :", json.dumps(zo[role], sort_keys=True))
        print(" slate:", json.dumps(so[role], sort_keys=True))
    print("news zou  :", json.dumps(zn, sort_keys=True)[:1500])
    print("news slate:", json.dumps(sn, sort_keys=True)[:1500])
