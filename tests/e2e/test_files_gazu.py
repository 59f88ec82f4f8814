"""gazu.files against the suite: working and output file revisions, last
revisions, path building from the project's file tree, catalogues."""

from __future__ import annotations

import time

import gazu
import pytest

from tests.e2e.media_helpers import gazu_world

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def world(suite, admin):
    w = gazu_world(suite)
    r = admin.post(f"{suite.url}/actions/projects/{w['project']['id']}/set-file-tree", json={"tree_name": "default"})
    assert r.status_code == 200, r.text
    return w


def wait_path(world, timeout=20):
    """Entity names reach files through events: wait until the path has them."""
    c = world["client"]
    want = world["asset"]["name"].lower().replace(" ", "_")
    deadline = time.monotonic() + timeout
    while True:
        path = gazu.files.build_working_file_path(world["task"], client=c)
        if want in path or time.monotonic() > deadline:
            return path
        time.sleep(0.2)


def test_working_file_revisions_and_paths(world):
    c = world["client"]
    path = wait_path(world)
    project = world["project"]["name"].lower().replace(" ", "_")
    assert path.startswith(f"/simple/productions/{project}/assets/")
    assert path.endswith(world["task_type"]["name"].lower().replace(" ", "_"))
    first = gazu.files.new_working_file(world["task"], client=c)
    second = gazu.files.new_working_file(world["task"], comment="v2", client=c)
    assert (first["revision"], second["revision"]) == (1, 2)
    assert second["type"] == "WorkingFile" and second["path"] == path
    assert gazu.files.get_last_working_files(world["task"], client=c)["main"]["id"] == second["id"]
    assert gazu.files.get_last_working_file_revision(world["task"], client=c)["revision"] == 2
    assert {w["id"] for w in gazu.files.get_working_files_for_task(world["task"], client=c)} == {first["id"], second["id"]}
    updated = gazu.files.update_comment(second, "final", client=c)
    assert updated["comment"] == "final"


def test_output_files_revisions_and_last_revisions(world, suite, admin):
    c = world["client"]
    wait_path(world)
    ot = gazu.files.new_output_type("Geometry", "geo", client=c)
    assert gazu.files.get_output_type_by_name("Geometry", client=c)["id"] == ot["id"]
    a = gazu.files.new_entity_output_file(world["asset"], ot, world["task_type"], "first", client=c)
    b = gazu.files.new_entity_output_file(world["asset"], ot, world["task_type"], "second", client=c)
    assert (a["revision"], b["revision"]) == (1, 2)
    assert b["file_name"].endswith("_geometry_main") and b["path"] == f"{b['folder_path']}/{b['file_name']}"
    assert gazu.files.get_next_entity_output_revision(world["asset"], ot, world["task_type"], client=c) == 3
    last = gazu.files.get_last_output_files_for_entity(world["asset"], client=c)
    assert [o["id"] for o in last] == [b["id"]]
    assert {o["id"] for o in gazu.files.all_output_files_for_entity(world["asset"], client=c)} == {a["id"], b["id"]}
    assert admin.get(f"{suite.url}/data/output-files/{a['id']}").json()["revision"] == 1
    dup = admin.post(f"{suite.url}/data/entities/{world['asset']['id']}/output-files/new",
                     json={"output_type_id": ot["id"], "task_type_id": world["task_type"]["id"], "revision": 2})
    assert dup.status_code == 400 and dup.json()["error"] is True


def test_softwares_and_bad_input(world, suite, admin):
    c = world["client"]
    sw = gazu.files.new_software("Blender", "bl", "blend", client=c)
    assert gazu.files.get_software_by_name("Blender", client=c)["id"] == sw["id"]
    r = admin.post(f"{suite.url}/data/tasks/not-a-uuid/working-files/new", json={})
    assert r.status_code == 400 and r.json()["error"] is True
    r = admin.post(f"{suite.url}/data/softwares", json={"name": "Blender", "file_extension": "blend"})
    assert r.status_code == 400
