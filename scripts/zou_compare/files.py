#!/usr/bin/env python3
"""Run the same gazu.files calls on the reference Zou (:5000) and Slate (:8080)
and print, call by call, the differences in keys, value types, fixed values
(ids and dates ignored), generated paths and error status codes.

    .venv/bin/python scripts/zou_compare/files.py <slate admin password>
"""
import json
import re
import sys
import time
import uuid

import gazu
import requests

CUSTOM_TREE = {
    "working": {"mountpoint": "/mnt/Work", "root": "Prod",
                "folder_path": {"shot": "<Project>/<Episode>/<Sequence>/<Shot>/<TaskType>/v<Revision>",
                                "asset": "<Project>/Assets/<AssetType>/<Asset>/<TaskType>/<Software>",
                                "sequence": "<Project>/<Sequence>/<TaskType>", "scene": "<Project>/<Sequence>/<Scene>",
                                "episode": "<Project>/<Episode>", "style": "as-is"},
                "file_name": {"shot": "<Project>_<Sequence>_<Shot>_<TaskType>_<Name>_v<Revision>",
                              "asset": "<Asset>_<TaskType>_<WorkingFile>_v<Version>", "sequence": "<Sequence>",
                              "scene": "<Scene>", "episode": "<Episode>", "style": "uppercase"}},
    "output": {"mountpoint": "/mnt/Out", "root": "",
               "folder_path": {"shot": "<Project>/<Sequence>/<Shot>/<OutputType>/<Representation>",
                               "asset": "<Project>/<AssetType>/<Asset>/<TaskType>/<OutputType>/<Representation>",
                               "sequence": "<Project>/<Sequence>", "scene": "<Scene>", "episode": "<Episode>",
                               "instance": "<Project>/<Sequence>/<Shot>/<AssetType>/<Asset>/<Instance>",
                               "style": "lowercase"},
               "file_name": {"shot": "<Shot>_<OutputType>_<OutputFile>_v<Revision>",
                             "asset": "<Asset.id>_<OutputType>_<Name>_<Revision>", "sequence": "<Sequence>",
                             "scene": "<Scene>", "episode": "<Episode>", "instance": "<Asset>_<Instance>_<OutputFile>",
                             "style": "lowercase"}},
}
IGNORED = ("id", "created_at", "updated_at", "entity_id", "task_id", "person_id", "software_id", "project_id",
           "output_type_id", "task_type_id", "file_status_id", "source_file_id", "temporal_entity_id",
           "asset_instance_id", "last_modified_at")


UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
TAG = {"n": ""}


def shape(v, key=""):
    if (key in IGNORED or key.endswith("_id") or key.endswith("_at")) and not isinstance(v, (dict, list)):
        return type(v).__name__
    if isinstance(v, str) and TAG["n"]:
        # Names carry a per-run tag, messages ids: neither is a difference.
        return UUID.sub("<id>", re.sub(re.escape(TAG["n"]), "<n>", v, flags=re.I))
    if isinstance(v, tuple):
        if v[0] == "HTTP" and v[1] == 404 and isinstance(v[2], dict):
            # Zou's 404 text is Werkzeug's generic one: compare status and keys.
            return ["HTTP", 404, sorted(v[2])]
        return [shape(x) for x in v]
    if isinstance(v, dict):
        return {k: shape(x, k) for k, x in sorted(v.items())}
    if isinstance(v, list):
        return [shape(x) for x in v[:3]]
    return v


def run(base, pw):
    """Every call returns (label, value) rows; errors become ('ERR', status, message)."""
    out = []
    c = gazu.client.create_client(base)
    gazu.log_in("admin@example.com", pw, client=c)
    s = requests.Session()
    s.headers["Authorization"] = "Bearer " + c.tokens["access_token"]

    def rec(label, fn, *a, **kw):
        try:
            v = fn(*a, client=c, **kw)
        except Exception as e:  # noqa: BLE001
            v = ("ERR", getattr(e, "status_code", None) or type(e).__name__, str(e)[:160])
        out.append((label, v))
        return v

    def raw(label, method, path, body=None):
        r = s.request(method, base + path, json=body)
        try:
            v = r.json()
        except ValueError:
            v = r.text[:160]
        out.append((label, ("HTTP", r.status_code, v)))
        return v

    n = uuid.uuid4().hex[:5]
    project = gazu.project.new_project(f"Files Cmp {n}", client=c)
    at = gazu.asset.new_asset_type(f"Props {n}", client=c)
    asset = gazu.asset.new_asset(project, at, f"Hero Lamp {n}", client=c)
    seq = gazu.shot.new_sequence(project, "Seq2", client=c)
    shot = gazu.shot.new_shot(project, seq, "SH010", client=c)
    tt = gazu.task.new_task_type(f"Modeling {n}", client=c)
    tts = gazu.task.new_task_type(f"Anim {n}", for_entity="Shot", client=c)
    ttq = gazu.task.new_task_type(f"Story {n}", for_entity="Sequence", client=c)
    tasks = [gazu.task.new_task(asset, tt, client=c), gazu.task.new_task(shot, tts, client=c)]
    seq_task = gazu.task.new_task(seq, ttq, client=c)
    time.sleep(2)
    # No file tree yet.
    rec("path: no tree", gazu.files.build_working_file_path, tasks[0])
    rec("tree: default", gazu.files.update_project_file_tree, project, DEFAULT)
    time.sleep(2)
    sw = rec("software new", gazu.files.new_software, f"Maya{n}", "ma", ".ma")
    rec("software get", gazu.files.get_software, sw["id"])
    rec("software by name", gazu.files.get_software_by_name, f"Maya{n}")
    sw2 = dict(sw, version="2024")
    rec("software update", gazu.files.update_software, sw2)
    ot = rec("output type new", gazu.files.new_output_type, f"Cache {n}", f"ca{n}")
    rec("output type by name", gazu.files.get_output_type_by_name, f"Cache {n}")
    raw("output type missing name", "POST", "/data/output-types", {"short_name": "x"})
    raw("file status new", "POST", "/data/file-status", {"name": f"Ok {n}", "color": "#00ff00"})
    for i, t in enumerate(tasks + [seq_task]):
        k = ("asset", "shot", "seq")[i]
        rec(f"{k} wpath default", gazu.files.build_working_file_path, t)
        rec(f"{k} wpath name/rev/sep", gazu.files.build_working_file_path, t, name="Anim Main", revision=3, sep="\\")
        rec(f"{k} wpath software", gazu.files.build_working_file_path, t, software=sw)
        rec(f"{k} wpath mode output", gazu.files.build_working_file_path, t, mode="output")
        rec(f"{k} wpath mode preview", gazu.files.build_working_file_path, t, mode="preview")
        rec(f"{k} wpath mode bad", gazu.files.build_working_file_path, t, mode="nope")
    a_task = tasks[0]
    w1 = rec("wf new", gazu.files.new_working_file, a_task)
    rec("wf new software comment", gazu.files.new_working_file, a_task, software=sw, comment="second")
    rec("wf new revision 7", gazu.files.new_working_file, a_task, revision=7, name="Layout")
    rec("wf new revision dup", gazu.files.new_working_file, a_task, revision=7, name="Layout")
    rec("wf last", gazu.files.get_last_working_files, a_task)
    rec("wf last revision", gazu.files.get_last_working_file_revision, a_task)
    rec("wf for task", gazu.files.get_working_files_for_task, a_task)
    rec("wf for entity", gazu.files.get_all_working_files_for_entity, asset)
    if isinstance(w1, dict):
        rec("wf get", gazu.files.get_working_file, w1["id"])
        rec("wf comment", gazu.files.update_comment, w1, "hello")
        rec("wf modified", gazu.files.update_modification_date, w1)
        raw("file get", "GET", f"/data/files/{w1['id']}")
        raw("wf comment missing", "PUT", f"/actions/working-files/{w1['id']}/comment", {})
    for label, ent in (("asset", asset), ("shot", shot), ("seq", seq)):
        rec(f"{label} opath default", gazu.files.build_entity_output_file_path, ent, ot, tt)
        rec(f"{label} opath name rev", gazu.files.build_entity_output_file_path, ent, ot, tt, name="Hi Res", revision=12)
        rec(f"{label} opath working", gazu.files.build_entity_output_file_path, ent, ot, tt, mode="working")
        rec(f"{label} opath repr nb sep", gazu.files.build_entity_output_file_path, ent, ot, tt,
            representation="ABC", nb_elements=3, sep="\\")
    o1 = rec("of new", gazu.files.new_entity_output_file, asset, ot, tt, "first")
    rec("of new 2 wf", gazu.files.new_entity_output_file, asset, ot, tt, "second", working_file=w1,
        representation="abc", nb_elements=4)
    rec("of new shot", gazu.files.new_entity_output_file, shot, ot, tt, "shot", name="Anim")
    rec("of new revision 5", gazu.files.new_entity_output_file, asset, ot, tt, "five", revision=5)
    rec("of new revision dup", gazu.files.new_entity_output_file, asset, ot, tt, "five", revision=5)
    raw("of new extension", "POST", f"/data/entities/{asset['id']}/output-files/new",
        {"output_type_id": ot["id"], "task_type_id": tt["id"], "extension": ".abc", "comment": "x"})
    if isinstance(o1, dict):
        out.append(("default file status", s.get(base + f"/data/file-status/{o1['file_status_id']}").json()))
    rec("of next revision", gazu.files.get_next_entity_output_revision, asset, ot, tt)
    rec("of last revision", gazu.files.get_last_entity_output_revision, asset, ot, tt)
    rec("of next revision other name", gazu.files.get_next_entity_output_revision, asset, ot, tt, name="zz")
    rec("of types", gazu.files.all_output_types_for_entity, asset)
    rec("of for entity", gazu.files.all_output_files_for_entity, asset)
    rec("of for entity filtered", gazu.files.all_output_files_for_entity, asset, representation="abc")
    rec("of last for entity", gazu.files.get_last_output_files_for_entity, asset)
    rec("of for project", gazu.files.all_output_files_for_project, project)
    if isinstance(o1, dict):
        rec("of get", gazu.files.get_output_file, o1["id"])
        rec("of by path", gazu.files.get_output_file_by_path, o1.get("path"))
        rec("of update", gazu.files.update_output_file, o1, {"comment": "upd"})
        raw("file get output", "GET", f"/data/files/{o1['id']}")
    # Guess from path.
    root = "/simple/productions/"
    pname = project["name"].lower().replace(" ", "_")
    for label, p in (("asset", f"{root}{pname}/assets/props_{n}/hero_lamp_{n}/modeling_{n}"),
                     ("shot", f"{root}{pname}/shots/s002/sh010/modeling_{n}"),
                     ("bad", "/nowhere/x")):
        raw(f"guess {label}", "POST", "/data/entities/guess-from-path",
            {"project_id": project["id"], "file_path": p})
    raw("guess missing", "POST", "/data/entities/guess_from_path", {"project_id": project["id"]})
    # Custom tree.
    rec("tree: custom", gazu.files.update_project_file_tree, project, CUSTOM_TREE)
    time.sleep(2)
    for i, t in enumerate(tasks):
        k = ("asset", "shot")[i]
        rec(f"custom {k} wpath", gazu.files.build_working_file_path, t, name="Anim Main", revision=4)
        rec(f"custom {k} wpath sw", gazu.files.build_working_file_path, t, software=sw, revision=2)
    for label, ent in (("asset", asset), ("shot", shot)):
        rec(f"custom {label} opath", gazu.files.build_entity_output_file_path, ent, ot, tt, name="Hi", revision=2,
            representation="ABC")
    rec("custom wf new", gazu.files.new_working_file, tasks[1], name="Anim")
    rec("custom of new", gazu.files.new_entity_output_file, shot, ot, tt, "c", representation="Abc")
    # Zou's "simple" tree: software folders, versions, asset instances.
    rec("tree: simple", gazu.files.update_project_file_tree, project, SIMPLE)
    time.sleep(2)
    rec("simple asset wpath", gazu.files.build_working_file_path, tasks[0], name="Rig", revision=12)
    rec("simple shot wpath sw", gazu.files.build_working_file_path, tasks[1], software=sw)
    rec("simple shot opath", gazu.files.build_entity_output_file_path, shot, ot, tt, name="Cam", revision=3)
    inst = raw("instance new", "POST", "/data/asset-instances", {"asset_id": asset["id"], "number": 3,
                                                                 "description": ""})
    if isinstance(inst, dict) and inst.get("id"):
        rec("instance opath", gazu.files.build_asset_instance_output_file_path, inst, shot, ot, tt,
            representation="abc", revision=2)
        rec("instance of new", gazu.files.new_asset_instance_output_file, inst, shot, ot, tt, "i")
        rec("instance of new 2", gazu.files.new_asset_instance_output_file, inst, shot, ot, tt, "i", nb_elements=5)
        rec("instance next rev", gazu.files.get_next_asset_instance_output_revision, inst, shot, ot, tt)
        rec("instance last files", gazu.files.get_last_output_files_for_asset_instance, inst, shot)
        rec("instance types", gazu.files.all_output_types_for_asset_instance, inst, shot)
        rec("instance files", gazu.files.all_output_files_for_asset_instance, inst)
    # Episodes: a tv show with the custom tree.
    tv = gazu.project.new_project(f"Files TV {n}", production_type="tvshow", client=c)
    ep = gazu.shot.new_episode(tv, "E02", client=c)
    tseq = gazu.shot.new_sequence(tv, "SQ 3", episode=ep, client=c)
    tshot = gazu.shot.new_shot(tv, tseq, "SH 020", client=c)
    ttask = gazu.task.new_task(tshot, tts, client=c)
    eptt = gazu.task.new_task_type(f"Edit {n}", for_entity="Episode", client=c)
    eptask = gazu.task.new_task(ep, eptt, client=c)
    rec("tv tree", gazu.files.update_project_file_tree, tv, CUSTOM_TREE)
    time.sleep(2)
    rec("tv shot wpath", gazu.files.build_working_file_path, ttask, name="Blocking", revision=2)
    rec("tv episode wpath", gazu.files.build_working_file_path, eptask)
    rec("tv shot opath", gazu.files.build_entity_output_file_path, tshot, ot, tts, name="Anim", revision=2)
    raw("tv guess shot", "POST", "/data/entities/guess-from-path",
        {"project_id": tv["id"], "file_path": f"/mnt/Work/Prod/Files_TV_{n}/E02/SQ_3/SH_020/Anim_{n}/v002"})
    raw("guess other project", "POST", "/data/entities/guess-from-path",
        {"project_id": tv["id"], "file_path": f"/mnt/Work/Prod/Files_Cmp_{n}/e001/s002/sh010/Anim_{n}/v001"})
    # Scenes and edits with Zou's default tree (edits use the asset template).
    rec("tree: default again", gazu.files.update_project_file_tree, project, DEFAULT)
    time.sleep(2)
    for label, make, for_entity in (
            ("scene", lambda: gazu.scene.new_scene(project, seq, "SC 01", client=c), "Scene"),
            ("edit", lambda: gazu.edit.new_edit(project, f"Cut {n}", client=c), "Edit")):
        try:
            ent = make()
            ttype = gazu.task.new_task_type(f"{label} tt {n}", for_entity=for_entity, client=c)
            etask = gazu.task.new_task(ent, ttype, client=c)
        except Exception as e:  # noqa: BLE001
            out.append((f"{label} setup", ("ERR", type(e).__name__, str(e)[:160])))
            continue
        time.sleep(1)
        rec(f"{label} wpath", gazu.files.build_working_file_path, etask)
        rec(f"{label} wpath preview", gazu.files.build_working_file_path, etask, mode="preview")
        rec(f"{label} opath", gazu.files.build_entity_output_file_path, ent, ot, ttype)
    # Errors.
    bad = str(uuid.uuid4())
    raw("wf new unknown task", "POST", f"/data/tasks/{bad}/working-files/new", {"name": "main"})
    raw("wf new bad id", "POST", "/data/tasks/not-an-id/working-files/new", {"name": "main"})
    raw("wf new no name", "POST", f"/data/tasks/{a_task['id']}/working-files/new", {})
    raw("wf new rev str", "POST", f"/data/tasks/{a_task['id']}/working-files/new", {"name": "m", "revision": "x"})
    raw("wpath unknown task", "POST", f"/data/tasks/{bad}/working-file-path", {})
    raw("wf list unknown task", "GET", f"/data/tasks/{bad}/working-files")
    raw("wf last unknown task", "GET", f"/data/tasks/{bad}/working-files/last-revisions")
    raw("of new missing ot", "POST", f"/data/entities/{asset['id']}/output-files/new", {"task_type_id": tt["id"]})
    raw("of new unknown ot", "POST", f"/data/entities/{asset['id']}/output-files/new",
        {"task_type_id": tt["id"], "output_type_id": bad})
    raw("of new unknown entity", "POST", f"/data/entities/{bad}/output-files/new",
        {"task_type_id": tt["id"], "output_type_id": ot["id"]})
    raw("of next unknown entity", "POST", f"/data/entities/{bad}/output-files/next-revision",
        {"task_type_id": tt["id"], "output_type_id": ot["id"]})
    raw("opath unknown tt", "POST", f"/data/entities/{asset['id']}/output-file-path",
        {"task_type_id": bad, "output_type_id": ot["id"]})
    raw("of list unknown entity", "GET", f"/data/entities/{bad}/output-files")
    raw("of types unknown entity", "GET", f"/data/entities/{bad}/output-types")
    raw("file unknown", "GET", f"/data/files/{bad}")
    raw("file bad id", "GET", "/data/files/abc")
    raw("software bad id", "GET", "/data/softwares/abc")
    raw("software unknown", "GET", f"/data/softwares/{bad}")
    raw("guess unknown project", "POST", "/data/entities/guess-from-path", {"project_id": bad, "file_path": "/a"})
    # A user outside the project, then in its team.
    person = raw("person new", "POST", "/data/persons", {"first_name": "Out", "last_name": n, "role": "user",
                                                         "email": f"out{n}@example.com"})
    s.post(base + f"/actions/persons/{person['id']}/change-password",
           json={"password": "secret-pass-123", "password_2": "secret-pass-123"})
    out.pop()
    u = requests.Session()
    tok = u.post(base + "/auth/login", json={"email": f"out{n}@example.com", "password": "secret-pass-123"}).json()
    u.headers["Authorization"] = "Bearer " + tok["access_token"]
    calls = [("POST", f"/data/tasks/{a_task['id']}/working-file-path", {}),
             ("GET", f"/data/tasks/{a_task['id']}/working-files", None),
             ("GET", f"/data/entities/{asset['id']}/output-files", None),
             ("GET", f"/data/files/{w1['id']}", None),
             ("POST", f"/data/entities/{asset['id']}/output-files/next-revision",
              {"output_type_id": ot["id"], "task_type_id": tt["id"]}),
             ("POST", "/data/entities/guess-from-path", {"project_id": project["id"], "file_path": "/x"}),
             ("GET", f"/data/projects/{project['id']}/output-files", None)]
    if isinstance(inst, dict) and inst.get("id"):
        calls += [("GET", f"/data/asset-instances/{inst['id']}/output-files", None),
                  ("GET", f"/data/asset-instances/{inst['id']}/entities/{shot['id']}/output-types", None)]
    calls += [("GET", f"/data/asset-instances/{uuid.uuid4()}/output-files", None)]
    out.append(("outsider", [u.request(m, base + p, json=b).status_code for m, p, b in calls]))
    s.post(base + f"/data/projects/{project['id']}/team", json={"person_id": person["id"]})
    time.sleep(2)
    out.append(("member", [u.request(m, base + p, json=b).status_code for m, p, b in calls]))
    return n, out


DEFAULT = json.load(open("/tmp/zoupkg/zou/app/file_trees/default.json"))
SIMPLE = json.load(open("/tmp/zoupkg/zou/app/file_trees/simple.json"))

if __name__ == "__main__":
    zn, z = run("http://127.0.0.1:5000", "reference-admin-pass")
    sn, sl = run("http://127.0.0.1:8080", sys.argv[1])
    same = 0
    for (label, a), (_, b) in zip(z, sl, strict=False):
        TAG["n"] = zn
        sa = shape(a)
        TAG["n"] = sn
        sb = shape(b)
        if sa == sb:
            same += 1
            continue
        print(f"== {label}")
        if isinstance(sa, dict) and isinstance(sb, dict):
            print("   only zou:", sorted(set(sa) - set(sb)), "only slate:", sorted(set(sb) - set(sa)))
            print("   values:", {k: (sa[k], sb[k]) for k in set(sa) & set(sb) if sa[k] != sb[k]})
        else:
            print("   zou  ", json.dumps(sa)[:400])
            print("   slate", json.dumps(sb)[:400])
    print(f"{same}/{len(z)} calls identical")
