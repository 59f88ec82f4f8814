#!/usr/bin/env python3
"""Run the same playlist / preview-file actions on the reference Zou (:5000) and
Slate (:8080) and print, step by step, the differences in status code, keys,
value types and fixed values (ids, dates and the run's tag are masked).

    .venv/bin/python scripts/zou_compare/playlists.py <slate admin password>
"""
import base64, json, re, subprocess, sys, tempfile, time, uuid, requests
PNG = base64.b64decode("iVBORw0KGgoAAAANSUhEUgAAAAQAAAADCAIAAAA7ljmRAAAAEklEQVR4nGP8z4AATEhsPBwAM9EBBa3mSBMAAAAASUVORK5CYII=")
UUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")
DATE = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d")
def clip():
    path = tempfile.mktemp(suffix=".mp4")
    subprocess.run(["ffmpeg", "-y", "-v", "error", "-f", "lavfi", "-i", "testsrc=size=320x240:rate=24:duration=0.5",
                    "-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p", path], check=True, timeout=60)
    return open(path, "rb").read()
MP4 = clip()
def login(base, email, pw):
    s = requests.Session(); r = s.post(base + "/auth/login", json={"email": email, "password": pw}); r.raise_for_status()
    s.headers["Authorization"] = "Bearer " + r.json()["access_token"]; return s
def ok(r):
    if r.status_code >= 400: print(r.request.method, r.url, r.status_code, r.text[:300]); r.raise_for_status()
    return r.json() if r.text else None
def run(base, pw):
    tag = uuid.uuid4().hex[:6]; out = []; a = login(base, "admin@example.com", pw); bad = str(uuid.uuid4())
    def step(label, method, path, **kw):
        try: r = a.request(method, base + path, **kw)
        except requests.ConnectionError: time.sleep(1); r = a.request(method, base + path, **kw)  # Zou's dev server drops idle keep-alives
        try: body = r.json()
        except ValueError: body = r.text[:80]
        out.append((label, r.status_code, body, tag)); return body
    proj = ok(a.post(base + "/data/projects", json={"name": f"PL {tag}", "production_type": "tvshow"}))
    p = proj["id"]
    ep = ok(a.post(base + f"/data/projects/{p}/episodes", json={"name": f"E{tag}"}))
    seq = ok(a.post(base + f"/data/projects/{p}/sequences", json={"name": f"S{tag}", "episode_id": ep["id"]}))
    shot = ok(a.post(base + f"/data/projects/{p}/shots", json={"name": f"SH{tag}", "sequence_id": seq["id"]}))
    shot2 = ok(a.post(base + f"/data/projects/{p}/shots", json={"name": f"SH2{tag}", "sequence_id": seq["id"]}))
    at = ok(a.get(base + "/data/asset-types"))[0]
    asset = ok(a.post(base + f"/data/projects/{p}/asset-types/{at['id']}/assets/new", json={"name": f"A{tag}", "description": ""}))
    tts = ok(a.get(base + "/data/task-types"))
    tt = [t for t in tts if t["name"] == "Animation"][0]
    wip = [s for s in ok(a.get(base + "/data/task-status")) if s["short_name"] == "wip"][0]
    task = ok(a.post(base + f"/actions/projects/{p}/task-types/{tt['id']}/shots/create-tasks", json=[shot["id"], shot2["id"]]))
    task, task2 = sorted(task, key=lambda t: t["entity_id"] != shot["id"])
    c1 = ok(a.post(base + f"/actions/tasks/{task['id']}/comment", json={"task_status_id": wip["id"], "comment": "v1"}))
    pf = step("add-preview", "POST", f"/actions/tasks/{task['id']}/comments/{c1['id']}/add-preview", json={})
    step("upload png", "POST", f"/pictures/preview-files/{pf['id']}", files={"file": ("frame.png", PNG, "image/png")})
    time.sleep(2)
    step("GET preview file", "GET", f"/data/preview-files/{pf['id']}")
    c2 = ok(a.post(base + f"/actions/tasks/{task['id']}/comment", json={"task_status_id": wip["id"], "comment": "v2"}))
    pf2 = step("add-preview rev 2", "POST", f"/actions/tasks/{task['id']}/comments/{c2['id']}/add-preview", json={})
    step("upload png rev 2", "POST", f"/pictures/preview-files/{pf2['id']}", files={"file": ("frame2.png", PNG, "image/png")})
    time.sleep(1)
    step("GET task preview-files", "GET", f"/data/tasks/{task['id']}/preview-files")
    step("GET entities preview-files (playlists)", "GET", f"/data/playlists/entities/{shot['id']}/preview-files")
    step("GET entity preview-files", "GET", f"/data/entities/{shot['id']}/preview-files")
    step("GET shot preview-files", "GET", f"/data/shots/{shot['id']}/preview-files")
    pl = step("POST playlist (gazu.new_playlist)", "POST", "/data/playlists/", json={
        "name": f"PL{tag}", "project_id": p, "for_entity": "shot", "for_client": False, "is_for_all": False,
        "episode_id": ep["id"]})
    pl2 = step("POST playlist minimal", "POST", "/data/playlists", json={"name": f"PLM{tag}", "project_id": p})
    step("GET project playlists", "GET", f"/data/projects/{p}/playlists")
    step("GET project playlists/all", "GET", f"/data/projects/{p}/playlists/all")
    step("GET episode playlists", "GET", f"/data/projects/{p}/episodes/{ep['id']}/playlists")
    step("GET episode main playlists", "GET", f"/data/projects/{p}/episodes/main/playlists")
    step("GET episode all playlists", "GET", f"/data/projects/{p}/episodes/all/playlists")
    step("GET playlist (empty)", "GET", f"/data/playlists/{pl['id']}")
    step("PUT playlist shots", "PUT", f"/data/playlists/{pl['id']}", json={
        "shots": [{"entity_id": shot["id"], "preview_file_id": pf["id"]}]})
    step("GET playlist", "GET", f"/data/playlists/{pl['id']}")
    step("GET project playlist", "GET", f"/data/projects/{p}/playlists/{pl['id']}")
    step("add-entity (gazu)", "POST", f"/actions/playlists/{pl['id']}/add-entity", json={"entity_id": shot2["id"]})
    step("add-entity with preview", "POST", f"/actions/playlists/{pl['id']}/add-entity",
         json={"entity_id": shot["id"], "preview_file_id": pf2["id"]})
    step("add-entities", "POST", f"/actions/playlists/{pl2['id']}/add-entities",
         json={"entities": [{"entity_id": shot["id"]}, {"entity_id": asset["id"]}]})
    step("GET project playlist after add", "GET", f"/data/projects/{p}/playlists/{pl['id']}")
    step("GET playlists (crud)", "GET", "/data/playlists", params={"project_id": p})
    step("GET preview-files (crud)", "GET", "/data/preview-files", params={"task_id": task["id"]})
    step("PUT preview file", "PUT", f"/data/preview-files/{pf['id']}", json={"validation_status": "validated"})
    step("update-position", "PUT", f"/actions/preview-files/{pf2['id']}/update-position", json={"position": 1})
    c3 = ok(a.post(base + f"/actions/tasks/{task2['id']}/comment", json={"task_status_id": wip["id"], "comment": "movie"}))
    mv = step("add-preview movie", "POST", f"/actions/tasks/{task2['id']}/comments/{c3['id']}/add-preview", json={})
    step("upload mp4", "POST", f"/pictures/preview-files/{mv['id']}", files={"file": ("clip.mp4", MP4, "video/mp4")})
    for _ in range(60):
        if ok(a.get(base + f"/data/preview-files/{mv['id']}"))["status"] != "processing": break
        time.sleep(1)
    step("GET movie preview", "GET", f"/data/preview-files/{mv['id']}")
    ok(a.put(base + f"/data/playlists/{pl['id']}", json={"shots": [{"entity_id": shot2["id"], "preview_file_id": mv["id"]}]}))
    job = step("build mp4", "GET", f"/data/playlists/{pl['id']}/build/mp4")
    time.sleep(3)
    step("build jobs", "GET", f"/data/projects/{p}/build-jobs")
    if isinstance(job, dict) and job.get("id"):
        step("GET build job", "GET", f"/data/playlists/{pl['id']}/jobs/{job['id']}")
        step("GET playlist with build job", "GET", f"/data/playlists/{pl['id']}")
        step("DELETE build job", "DELETE", f"/data/playlists/{pl['id']}/jobs/{job['id']}")
    step("running previews", "GET", "/data/playlists/preview-files/running")
    step("temp playlist", "POST", f"/data/projects/{p}/playlists/temp", json={"task_ids": [task["id"]]})
    # bad input
    step("BAD GET playlist not-uuid", "GET", "/data/playlists/not-a-uuid")
    step("BAD GET playlist unknown", "GET", f"/data/playlists/{bad}")
    step("BAD GET project playlist unknown", "GET", f"/data/projects/{p}/playlists/{bad}")
    step("BAD GET project playlists unknown project", "GET", f"/data/projects/{bad}/playlists")
    step("BAD GET project playlists bad project", "GET", "/data/projects/nope/playlists")
    step("BAD POST playlist empty", "POST", "/data/playlists", json={})
    step("BAD POST playlist no project", "POST", "/data/playlists", json={"name": f"X{tag}"})
    step("BAD POST playlist bad project", "POST", "/data/playlists", json={"name": f"X{tag}", "project_id": "nope"})
    step("BAD POST playlist name int", "POST", "/data/playlists", json={"name": 12, "project_id": p})
    step("BAD POST playlist list body", "POST", "/data/playlists", json=[1])
    step("BAD PUT playlist shots str", "PUT", f"/data/playlists/{pl2['id']}", json={"shots": "x"})
    step("BAD PUT playlist shots bad entity", "PUT", f"/data/playlists/{pl2['id']}", json={"shots": [{"entity_id": "x"}]})
    step("BAD PUT playlist unknown", "PUT", f"/data/playlists/{bad}", json={"name": "x"})
    step("BAD add-entity no entity", "POST", f"/actions/playlists/{pl2['id']}/add-entity", json={})
    step("BAD add-entity bad entity", "POST", f"/actions/playlists/{pl2['id']}/add-entity", json={"entity_id": "x"})
    step("BAD add-entity unknown playlist", "POST", f"/actions/playlists/{bad}/add-entity", json={"entity_id": shot["id"]})
    step("BAD add-entities empty", "POST", f"/actions/playlists/{pl2['id']}/add-entities", json={"entities": []})
    step("BAD entities preview-files bad", "GET", "/data/playlists/entities/nope/preview-files")
    step("BAD entities preview-files unknown", "GET", f"/data/playlists/entities/{bad}/preview-files")
    step("BAD GET preview file not-uuid", "GET", "/data/preview-files/nope")
    step("BAD GET preview file unknown", "GET", f"/data/preview-files/{bad}")
    step("BAD task preview-files unknown", "GET", f"/data/tasks/{bad}/preview-files")
    step("BAD task preview-files not-uuid", "GET", "/data/tasks/nope/preview-files")
    step("BAD add-preview unknown comment", "POST", f"/actions/tasks/{task['id']}/comments/{bad}/add-preview", json={})
    step("BAD upload unknown preview", "POST", f"/pictures/preview-files/{bad}", files={"file": ("f.png", PNG, "image/png")})
    step("BAD upload no file", "POST", f"/pictures/preview-files/{pf['id']}")
    step("BAD build job unknown", "GET", f"/data/playlists/{pl['id']}/jobs/{bad}")
    step("BAD PUT preview file bad status", "PUT", f"/data/preview-files/{pf['id']}", json={"validation_status": "x"})
    step("BAD temp playlist bad task", "POST", f"/data/projects/{p}/playlists/temp", json={"task_ids": ["x"]})
    # deletes
    step("DELETE playlist", "DELETE", f"/data/playlists/{pl2['id']}")
    step("DELETE playlist again", "DELETE", f"/data/playlists/{pl2['id']}")
    step("DELETE preview file (crud)", "DELETE", f"/data/preview-files/{pf2['id']}")
    step("DELETE preview from comment", "DELETE", f"/actions/tasks/{task['id']}/comments/{c1['id']}/preview-files/{pf['id']}")
    step("GET playlist after deletes", "GET", f"/data/playlists/{pl['id']}")
    step("DELETE playlist unknown", "DELETE", f"/data/playlists/{bad}")
    return out
def shape(v, tag):
    if isinstance(v, dict):
        return {("<uuid>" if UUID.match(k) else k): shape(x, tag) for k, x in sorted(v.items())}
    if isinstance(v, list):
        return [shape(v[0], tag)] + (["...%d" % len(v)] if len(v) > 1 else []) if v else []
    if isinstance(v, str):
        if UUID.match(v): return "<uuid>"
        if DATE.match(v): return "<date>"
        return v.replace(tag, "TAG")[:60]
    if isinstance(v, float): return "float"
    return v
def diff(a, b, path=""):
    if type(a) is not type(b):
        if {type(a), type(b)} <= {int, str} and "float" in (a, b): pass
        return [f"{path or '.'}: zou {json.dumps(a)[:100]} | slate {json.dumps(b)[:100]}"]
    if isinstance(a, dict):
        out = [f"{path}.{k}: only zou ({json.dumps(a[k])[:60]})" for k in a.keys() - b.keys()]
        out += [f"{path}.{k}: only slate ({json.dumps(b[k])[:60]})" for k in b.keys() - a.keys()]
        for k in sorted(a.keys() & b.keys()): out += diff(a[k], b[k], f"{path}.{k}")
        return out
    if isinstance(a, list):
        out = [] if len(a) == len(b) else [f"{path}: length zou {len(a)} | slate {len(b)}"]
        for i, (x, y) in enumerate(zip(a, b)): out += diff(x, y, f"{path}[{i}]")
        return out
    return [] if a == b else [f"{path or '.'}: zou {json.dumps(a)[:100]} | slate {json.dumps(b)[:100]}"]
if __name__ == "__main__":
    z = run("http://127.0.0.1:5000", "reference-admin-pass")
    sl = run("http://127.0.0.1:8080", sys.argv[1])
    if len(sys.argv) > 2:  # raw responses, for reading: <file>
        json.dump({"zou": z, "slate": sl}, open(sys.argv[2], "w"), indent=1)
    same = 0
    slate_by_label = {step[0]: step for step in sl}
    for step in sl:
        if step[0] not in {x[0] for x in z}: print(f"== {step[0]}: only on Slate ({step[1]})")
    for label, zc, zb, zt in z:
        if label not in slate_by_label: print(f"== {label}: only on Zou ({zc})"); continue
        _, sc, sb, st = slate_by_label[label]
        lines = ([f"status zou {zc} | slate {sc}"] if zc != sc else [])
        if zc < 400 or sc < 400:
            lines += diff(shape(zb, zt), shape(sb, st))
        elif zc >= 400 and isinstance(zb, dict) != isinstance(sb, dict):
            lines += [f"error body zou {json.dumps(zb)[:80]} | slate {json.dumps(sb)[:80]}"]
        if lines:
            print(f"== {label}"); [print("  ", l) for l in lines]
        else:
            same += 1
    print(f"{same}/{len(z)} steps identical")
