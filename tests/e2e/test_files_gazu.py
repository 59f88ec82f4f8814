"""gazu.files against the suite: working and output file revisions, last
revisions, path building from the project's file tree, catalogues.

The expected paths and shapes are what the reference Zou 1.0.97 answers for
the same calls (scripts/zou_compare/files.py; CI has no Zou, so they are
written out here)."""

from __future__ import annotations

import time
import uuid

import gazu
import pytest

from tests.e2e.media_helpers import gazu_world

pytestmark = pytest.mark.e2e


def slug(name: str) -> str:
    return name.lower().replace(" ", "_")


@pytest.fixture(scope="module")
def world(suite, admin):
    w = gazu_world(suite)
    r = admin.post(f"{suite.url}/actions/projects/{w['project']['id']}/set-file-tree", json={"tree_name": "default"})
    assert r.status_code == 200, r.text
    c = w["client"]
    w["seq"] = gazu.shot.new_sequence(w["project"], "Seq2", client=c)
    w["shot"] = gazu.shot.new_shot(w["project"], w["seq"], "SH010", client=c)
    w["shot_tt"] = gazu.task.new_task_type(f"Anim {uuid.uuid4().hex[:6]}", for_entity="Shot", client=c)
    w["shot_task"] = gazu.task.new_task(w["shot"], w["shot_tt"], client=c)
    w["p"], w["at"] = slug(w["project"]["name"]), slug(w["asset"]["name"])
    w["tt"], w["stt"] = slug(w["task_type"]["name"]), slug(w["shot_tt"]["name"])
    w["atype"] = slug(gazu.asset.get_asset_type(w["asset"]["entity_type_id"], client=c)["name"])
    return w


def wait_for(fn, want, timeout=20):
    """Names reach files through events: wait until the answer has them."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            value = fn()
        except gazu.exception.RouteNotFoundException:
            value = None
        if (value is not None and want in value) or time.monotonic() > deadline:
            return value
        time.sleep(0.2)


def test_working_file_paths_match_zou(world):
    c, w = world["client"], world
    path = wait_for(lambda: gazu.files.build_working_file_path(w["task"], client=c), w["at"])
    folder = f"/simple/productions/{w['p']}/assets/{w['atype']}/{w['at']}/{w['tt']}"
    assert path == f"{folder}/{w['p']}_{w['atype']}_{w['at']}_{w['tt']}"
    # Zou reads "sep" on this route and gazu sends "separator": the folder
    # keeps "/", gazu joins the name with the separator it was given.
    assert gazu.files.build_working_file_path(w["task"], sep="\\", client=c) == \
        f"{folder}\\{w['p']}_{w['atype']}_{w['at']}_{w['tt']}"
    # The default tree's shot file name has no sequence; "Seq2" is S002.
    shot_path = wait_for(lambda: gazu.files.build_working_file_path(w["shot_task"], client=c), "sh010")
    assert shot_path == f"/simple/productions/{w['p']}/shots/s002/sh010/{w['stt']}/{w['p']}_sh010_{w['stt']}"
    assert gazu.files.build_working_file_path(w["shot_task"], mode="preview", client=c) == \
        f"/simple/productions/previews/{w['p']}/shots/s002/sh010/{w['stt']}/{w['p']}_s002_sh010_{w['stt']}"
    # The output templates in working mode: the output type falls back to Geometry.
    assert gazu.files.build_working_file_path(w["task"], mode="output", client=c) == \
        f"/simple/productions/export/{w['p']}/assets/{w['atype']}/{w['at']}/geometry/" \
        f"{w['p']}_{w['atype']}_{w['at']}_geometry_main"
    with pytest.raises(gazu.exception.ParameterException, match="Mode nope cannot be found on given tree."):
        gazu.files.build_working_file_path(w["task"], mode="nope", client=c)


def test_working_file_revisions(world, suite, admin):
    c, w = world["client"], world
    wait_for(lambda: gazu.files.build_working_file_path(w["task"], client=c), w["at"])
    first = gazu.files.new_working_file(w["task"], client=c)
    second = gazu.files.new_working_file(w["task"], comment="v2", client=c)
    assert (first["revision"], second["revision"]) == (1, 2)
    assert second["type"] == "WorkingFile" and second["description"] is None
    assert second["path"] == gazu.files.build_working_file_path(w["task"], client=c)
    # No software given: Zou files it under Blender.
    assert gazu.files.get_software(second["software_id"], client=c)["name"] == "Blender"
    seven = gazu.files.new_working_file(w["task"], name="Layout", revision=7, client=c)
    assert seven["revision"] == 7
    last = gazu.files.get_last_working_files(w["task"], client=c)
    assert {k: v["id"] for k, v in last.items()} == {"main": second["id"], "Layout": seven["id"]}
    assert [x["revision"] for x in gazu.files.get_working_files_for_task(w["task"], client=c)] == [7, 2, 1]
    updated = gazu.files.update_comment(second, "final", client=c)
    assert updated["comment"] == "final"
    r = admin.post(f"{suite.url}/data/tasks/{w['task']['id']}/working-files/new", json={"name": "Layout", "revision": 7})
    assert r.status_code == 400 and r.json()["message"] == "The given working file already exists."
    r = admin.post(f"{suite.url}/data/tasks/{w['task']['id']}/working-files/new", json={})
    assert r.status_code == 400 and r.json()["data"] == {"errors": [{"field": "name", "message": "Field required"}]}


def test_output_files_match_zou(world, suite, admin):
    c, w = world["client"], world
    wait_for(lambda: gazu.files.build_working_file_path(w["task"], client=c), w["at"])
    ot = gazu.files.new_output_type(f"Cache {uuid.uuid4().hex[:5]}", "ca", client=c)
    o = slug(ot["name"])
    folder = f"/simple/productions/export/{w['p']}/assets/{w['atype']}/{w['at']}/{o}"
    base = f"{w['p']}_{w['atype']}_{w['at']}_{o}"
    assert gazu.files.build_entity_output_file_path(w["asset"], ot, w["task_type"], name="Hi Res", client=c) == \
        f"{folder}/{base}_hi_res"
    # "separator" is read here: only the template's slashes change.
    assert gazu.files.build_entity_output_file_path(w["asset"], ot, w["task_type"], sep="\\", client=c) == \
        f"/simple\\productions/export\\{w['p']}\\assets\\{w['atype']}\\{w['at']}\\{o}\\{base}_main"
    wf = gazu.files.new_working_file(w["task"], name="src", client=c)
    a = gazu.files.new_entity_output_file(w["asset"], ot, w["task_type"], "first", client=c)
    b = gazu.files.new_entity_output_file(w["asset"], ot, w["task_type"], "second", working_file=wf,
                                          representation="abc", nb_elements=4, client=c)
    # The revision ignores the representation; several elements get _[1-N].
    assert (a["revision"], b["revision"]) == (1, 2)
    assert (a["folder_path"], a["file_name"], a["path"]) == (folder, f"{base}_main", f"{folder}/{base}_main")
    assert b["file_name"] == f"{base}_main_[1-4]"
    assert a["source_file"] is None and b["source_file"]["id"] == wf["id"]
    status = admin.get(f"{suite.url}/data/file-status/{a['file_status_id']}").json()
    assert (status["name"], status["color"]) == ("To review", "#FFFFFF")
    ext = admin.post(f"{suite.url}/data/entities/{w['asset']['id']}/output-files/new",
                     json={"output_type_id": ot["id"], "task_type_id": w["task_type"]["id"], "extension": ".abc"})
    assert ext.status_code == 201 and ext.json()["path"] == f"{folder}/{base}_main.abc"
    assert gazu.files.get_next_entity_output_revision(w["asset"], ot, w["task_type"], client=c) == 4
    assert gazu.files.get_last_entity_output_revision(w["asset"], ot, w["task_type"], client=c) == 3
    assert [x["id"] for x in gazu.files.all_output_types_for_entity(w["asset"], client=c)] == [ot["id"]]
    assert [x["revision"] for x in gazu.files.all_output_files_for_entity(w["asset"], client=c)] == [3, 2, 1]
    assert gazu.files.get_output_file(a["id"], client=c)["source_file"] is None
    got = admin.get(f"{suite.url}/data/files/{wf['id']}").json()
    assert got["type"] == "WorkingFile" and got["outputs"] == [b["id"]]
    seq_path = admin.post(f"{suite.url}/data/entities/{w['seq']['id']}/output-file-path",
                          json={"output_type_id": ot["id"], "task_type_id": w["task_type"]["id"]})
    assert seq_path.status_code == 400 and seq_path.json()["message"] == "Unknown data type: OuputType."


def test_custom_tree_and_guess_from_path(world, suite, admin):
    c, w = world["client"], world
    tree = {
        "working": {"mountpoint": "/mnt/Work", "root": "Prod",
                    "folder_path": {"shot": "<Project>/<Episode>/<Sequence>/<Shot>/<TaskType>/v<Revision>",
                                    "asset": "<Project>/Assets/<AssetType>/<Asset>/<TaskType>/<Software>",
                                    "style": "as-is"},
                    "file_name": {"shot": "<Project>_<Sequence>_<Shot>_<TaskType>_<Name>_v<Revision>",
                                  "asset": "<Asset>_<TaskType>_<WorkingFile>_v<Version>", "style": "uppercase"}},
        "output": {"mountpoint": "/mnt/Out", "root": "",
                   "folder_path": {"asset": "<Project>/<AssetType>/<Asset>/<TaskType>/<OutputType>/<Representation>",
                                   "style": "lowercase"},
                   "file_name": {"asset": "<Asset.id>_<OutputType>_<Name>_<Revision>", "style": "lowercase"}},
    }
    project = gazu.files.update_project_file_tree(w["project"], tree, client=c)
    assert project["file_tree"] == tree
    want = "/mnt/Work/Prod/"
    shot = wait_for(lambda: gazu.files.build_working_file_path(w["shot_task"], name="Anim Main", revision=4,
                                                               client=c), want)
    up = f"{w['p']}_s002_sh010_{w['stt']}".upper()
    assert shot == f"/mnt/Work/Prod/{w['p']}/e001/s002/sh010/{w['stt']}/v004/{up}_ANIM_MAIN_V004"
    # No software given on this route: Zou's default is "3ds Max".
    assert gazu.files.build_working_file_path(w["task"], name="Anim Main", revision=4, client=c) == \
        f"/mnt/Work/Prod/{w['p']}/Assets/{w['atype']}/{w['at']}/{w['tt']}/3ds_max/" \
        f"{w['at'].upper()}_{w['tt'].upper()}_ANIM_MAIN_V004"
    ot = gazu.files.new_output_type(f"Geo {uuid.uuid4().hex[:5]}", "ge", client=c)
    assert gazu.files.build_entity_output_file_path(w["asset"], ot, w["task_type"], name="Hi", revision=2,
                                                    representation="ABC", client=c) == \
        f"/mnt/Out/{w['p']}/{w['atype']}/{w['at']}/{w['tt']}/{slug(ot['name'])}/abc/" \
        f"{w['asset']['id']}_{slug(ot['name'])}_hi_002"
    guess = admin.post(f"{suite.url}/data/entities/guess-from-path", json={
        "project_id": w["project"]["id"],
        "file_path": f"/mnt/Work/Prod/{w['p']}/Assets/{w['atype']}/{w['at']}/{w['tt']}/3ds_max"})
    assert guess.status_code == 200
    # The shot template matches too, up to <Episode> ("Assets" is no episode),
    # as in Zou: every template of every mode, in the tree's order.
    assert guess.json() == [{"Template": "shot", "Project": w["project"]["id"]},
                            {"Template": "asset", "Project": w["project"]["id"],
                             "AssetType": w["asset"]["entity_type_id"], "Asset": w["asset"]["id"],
                             "TaskType": w["task_type"]["id"]}]
    missing = admin.post(f"{suite.url}/data/entities/guess_from_path", json={"project_id": w["project"]["id"]})
    assert missing.status_code == 400


def test_softwares_and_bad_input(world, suite, admin):
    c = world["client"]
    sw = gazu.files.new_software("Maya", "ma", ".ma", client=c)
    assert gazu.files.get_software_by_name("Maya", client=c)["id"] == sw["id"]
    bad = str(uuid.uuid4())
    task_id, entity_id = world["task"]["id"], world["asset"]["id"]
    tt_id = world["task_type"]["id"]
    ot_id = gazu.files.new_output_type("Geometry", "geo", client=c)["id"]
    cases = [
        ("post", "/data/tasks/not-a-uuid/working-files/new", {"name": "main"}, 404),
        ("post", f"/data/tasks/{bad}/working-files/new", {"name": "main"}, 404),
        ("post", f"/data/tasks/{bad}/working-file-path", {}, 404),
        ("get", f"/data/tasks/{bad}/working-files", None, 404),
        ("get", f"/data/tasks/{bad}/working-files/last-revisions", None, 404),
        ("post", f"/data/tasks/{task_id}/working-files/new", {"name": "m", "revision": "x"}, 400),
        ("post", f"/data/tasks/{task_id}/working-files/new", {"name": "m", "revision": 10**30}, 400),
        ("post", f"/data/tasks/{task_id}/working-files/new", {"name": 5}, 400),
        ("post", f"/data/tasks/{task_id}/working-file-path", {"sep": 3}, 400),
        ("post", f"/data/entities/{entity_id}/output-files/new",
         {"task_type_id": tt_id, "output_type_id": ot_id, "nb_elements": 10**12}, 400),
        ("post", "/data/entities/guess-from-path", {"project_id": world["project"]["id"], "file_path": 5}, 400),
        ("post", f"/data/entities/{entity_id}/output-files/new", {"task_type_id": tt_id}, 400),
        ("post", f"/data/entities/{entity_id}/output-files/new", {"task_type_id": tt_id, "output_type_id": bad}, 400),
        ("post", f"/data/entities/{bad}/output-files/new", {"task_type_id": tt_id, "output_type_id": ot_id}, 404),
        ("post", f"/data/entities/{bad}/output-files/next-revision", {"task_type_id": tt_id, "output_type_id": ot_id},
         404),
        ("post", f"/data/entities/{entity_id}/output-file-path", {"task_type_id": bad, "output_type_id": ot_id}, 404),
        ("get", f"/data/entities/{bad}/output-files", None, 404),
        ("get", f"/data/entities/{bad}/output-types", None, 404),
        ("get", f"/data/files/{bad}", None, 404),
        ("get", "/data/files/abc", None, 404),
        ("get", "/data/softwares/abc", None, 404),
        ("post", "/data/entities/guess-from-path", {"project_id": bad, "file_path": "/a"}, 404),
        ("post", "/data/softwares", {"name": "Maya", "file_extension": ".ma"}, 400),
        # Too long for a column, out of an integer's range: a 400, never a 500.
        ("post", "/data/output-types", {"name": "x" * 100}, 400),
        ("put", f"/data/softwares/{sw['id']}", {"monthly_cost": 10**30}, 400),
        ("post", "/data/output-files", {"name": "x", "extension": "y" * 40}, 400),
        ("post", f"/data/tasks/{task_id}/working-files/new", {"name": "n" * 240, "sep": "/" * 300}, 400),
    ]
    got = [(m, p, getattr(admin, m)(f"{suite.url}{p}", json=b).status_code) for m, p, b, _ in cases]
    assert got == [(m, p, want) for m, p, _, want in cases]


def test_project_access_like_zou(world, suite, admin):
    """A user outside the project gets 403 on its files and paths (Zou's
    check_project_access); once in the team, the same calls answer."""
    w = world
    person = suite.make_person(admin)
    user = suite.login(person["email"], "secret-pass-1")
    calls = [
        ("post", f"/data/tasks/{w['task']['id']}/working-file-path", {}),
        ("get", f"/data/tasks/{w['task']['id']}/working-files", None),
        ("get", f"/data/entities/{w['asset']['id']}/output-files", None),
        ("post", "/data/entities/guess-from-path", {"project_id": w["project"]["id"], "file_path": "/mnt/x"}),
    ]
    assert [getattr(user, m)(f"{suite.url}{p}", json=b).status_code for m, p, b in calls] == [403] * len(calls)
    r = admin.post(f"{suite.url}/data/projects/{w['project']['id']}/team", json={"person_id": person["id"]})
    assert r.status_code in (200, 201), r.text
    deadline = time.monotonic() + 20
    while True:
        got = [getattr(user, m)(f"{suite.url}{p}", json=b).status_code for m, p, b in calls]
        if got == [200] * len(calls) or time.monotonic() > deadline:
            break
        time.sleep(0.3)
    assert got == [200] * len(calls)
    # Project-wide output listing is for managers (Zou's check_manager_project_access).
    assert user.get(f"{suite.url}/data/projects/{w['project']['id']}/output-files").status_code == 403


def test_scene_and_edit_paths_like_zou(world, suite, admin):
    c, w = world["client"], world
    # Back to Zou's default tree (a test above set a custom one).
    r = admin.post(f"{suite.url}/actions/projects/{w['project']['id']}/set-file-tree", json={"tree_name": "default"})
    assert r.status_code == 200, r.text
    wait_for(lambda: gazu.files.build_working_file_path(w["task"], client=c), w["at"])
    n = uuid.uuid4().hex[:5]
    scene = gazu.scene.new_scene(w["project"], w["seq"], "SC 01", client=c)
    stt = gazu.task.new_task_type(f"Layout {n}", for_entity="Scene", client=c)
    stask = gazu.task.new_task(scene, stt, client=c)
    tt = slug(stt["name"])
    path = wait_for(lambda: gazu.files.build_working_file_path(stask, client=c), "sc_01")
    assert path == f"/simple/productions/{w['p']}/scenes/s002/sc_01/{tt}/{w['p']}_s002_sc_01_{tt}"
    # The default tree's preview scene folder is "scene", without the sequence.
    assert gazu.files.build_working_file_path(stask, mode="preview", client=c) == \
        f"/simple/productions/previews/{w['p']}/scene/sc_01/{tt}/{w['p']}_sc_01_{tt}"
    # An edit takes the asset template, whose <AssetType> an edit has none of: 404.
    edit = gazu.edit.new_edit(w["project"], f"Cut {n}", client=c)
    ett = gazu.task.new_task_type(f"Cutting {n}", for_entity="Edit", client=c)
    etask = gazu.task.new_task(edit, ett, client=c)
    deadline = time.monotonic() + 20
    while True:
        r = admin.post(f"{suite.url}/data/tasks/{etask['id']}/working-file-path", json={})
        if r.status_code != 404 or "Asset type" in r.json()["message"] or time.monotonic() > deadline:
            break
        time.sleep(0.2)
    assert r.status_code == 404 and "Asset type" in r.json()["message"]
