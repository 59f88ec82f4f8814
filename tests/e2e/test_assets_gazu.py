"""gazu 1.3.1 against the suite: projects, team, asset types, assets,
episodes, sequences, shots, scenes, casting, edits, concepts, descriptors."""

from __future__ import annotations

import time
import uuid

import gazu
import pytest

from tests.conftest import ADMIN_EMAIL, ADMIN_PASSWORD

pytestmark = pytest.mark.e2e


def _wait(fn, timeout=15.0):
    deadline = time.time() + timeout
    while time.time() < deadline:
        value = fn()
        if value:
            return value
        time.sleep(0.1)
    return None


def _name(prefix):
    return f"{prefix}-{uuid.uuid4().hex[:6]}"


@pytest.fixture(scope="module")
def gz(suite):
    client = gazu.client.create_client(suite.url + "/api")
    gazu.log_in(ADMIN_EMAIL, ADMIN_PASSWORD, client=client)
    return client


def test_gazu_project_breakdown_flow(gz, suite, admin):
    c = gz
    name = _name("TV")
    project = gazu.project.new_project(name, production_type="tvshow", client=c)
    assert project["name"] == name and project["type"] == "Project"
    assert project["first_episode_id"]
    assert gazu.project.get_project_by_name(name, client=c)["id"] == project["id"]
    assert name in {p["name"] for p in gazu.project.all_open_projects(client=c)}

    # asset types and the project's settings
    char = gazu.asset.get_asset_type_by_name("Character", client=c)
    assert char is not None
    gazu.project.add_asset_type(project, char, client=c)
    assert char["id"] in gazu.project.get_project(project["id"], client=c)["asset_types"]

    # team with a per-project role
    person = suite.make_person(admin, role="user")
    gazu.project.add_person_to_team(project, person["id"], role="supervisor", client=c)
    team = gazu.project.get_team(project, client=c)
    assert [t["id"] for t in team] == [person["id"]]
    gazu.project.update_team_member_role(project, person["id"], "manager", client=c)

    # assets
    asset = gazu.asset.new_asset(project, char, "Hero", "the hero", extra_data={"size": "big"}, client=c)
    assert asset["type"] == "Asset" and asset["data"] == {"size": "big"}
    assert gazu.asset.get_asset_by_name(project, "Hero", client=c)["id"] == asset["id"]
    assert [a["id"] for a in gazu.asset.all_assets_for_project(project, client=c)] == [asset["id"]]
    asset["description"] = "the real hero"
    gazu.asset.update_asset(asset, client=c)
    assert gazu.asset.get_asset(asset["id"], client=c)["description"] == "the real hero"
    assert [t["name"] for t in gazu.asset.all_asset_types_for_project(project, client=c)] == ["Character"]

    # task types are owned by tasks: the project only links them
    task_type = gazu.task.new_task_type(_name("Anim"), for_entity="Asset", client=c)
    gazu.project.add_task_type(project, task_type, 1, client=c)
    # (gazu.project.get_project_task_types reads settings/task-types, a 405 in Zou 1.0.97 too)
    linked = gazu.client.fetch_all(f"projects/{project['id']}/task-types", client=c)
    assert task_type["id"] in [t["id"] for t in linked]
    assert task_type["id"] in gazu.project.get_project(project["id"], client=c)["task_types"]
    # a task created in tasks reaches /data/assets/with-tasks through tasks' events
    task = gazu.task.new_task(asset, task_type, client=c)

    def with_tasks():
        rows = gazu.client.fetch_all("assets/with-tasks", {"project_id": project["id"]}, client=c)
        return next((r["tasks"] for r in rows if r["id"] == asset["id"] and r["tasks"]), None)

    tasks = _wait(with_tasks)
    assert tasks and tasks[0]["id"] == task["id"] and tasks[0]["task_type_id"] == task_type["id"]

    # episodes, sequences, shots
    episodes = gazu.shot.all_episodes_for_project(project, client=c)
    assert [e["name"] for e in episodes] == ["E01"]
    ep = episodes[0]
    seq = gazu.shot.new_sequence(project, "SQ01", episode=ep, client=c)
    assert seq["parent_id"] == ep["id"]
    shot = gazu.shot.new_shot(project, seq, "SH010", frame_in=1, frame_out=48, nb_frames=48, data={"cam": "A"}, client=c)
    assert shot["nb_frames"] == 48 and shot["data"]["frame_in"] == 1 and shot["data"]["cam"] == "A"
    got = gazu.shot.get_shot(shot["id"], client=c)
    assert got["sequence_name"] == "SQ01" and got["episode_name"] == "E01" and got["frame_out"] == 48
    gazu.shot.update_shot_data(shot, {"cam": "B"}, client=c)
    assert gazu.shot.get_shot(shot["id"], client=c)["data"]["cam"] == "B"
    assert [s["id"] for s in gazu.shot.all_shots_for_sequence(seq, client=c)] == [shot["id"]]
    assert [s["id"] for s in gazu.shot.all_sequences_for_episode(ep, client=c)] == [seq["id"]]
    assert [s["id"] for s in gazu.shot.all_shots_for_episode(ep, client=c)] == [shot["id"]]

    # casting
    gazu.casting.update_shot_casting(project, shot, [{"asset_id": asset["id"], "nb_occurences": 2, "label": "fg"}], client=c)
    casting = gazu.casting.get_shot_casting(shot, client=c)
    assert casting[0]["asset_id"] == asset["id"] and casting[0]["nb_occurences"] == 2 and casting[0]["label"] == "fg"
    seq_casting = gazu.casting.get_sequence_casting(seq, client=c)
    assert seq_casting[shot["id"]][0]["asset_name"] == "Hero"
    cast_in = gazu.casting.get_asset_cast_in(asset, client=c)
    assert cast_in[0]["shot_id"] == shot["id"] and cast_in[0]["episode_name"] == "E01"

    # scenes
    scene = gazu.scene.new_scene(project, seq, "SC01", client=c)
    gazu.scene.add_shot_to_scene(scene, shot, client=c)
    assert [s["id"] for s in gazu.scene.all_shots_for_scene(scene, client=c)] == [shot["id"]]
    instance = gazu.scene.new_scene_asset_instance(scene, asset, client=c)
    assert instance["asset_id"] == asset["id"] and instance["number"] == 1
    assert gazu.asset.all_scene_asset_instances_for_asset(asset, client=c)[scene["id"]][0]["id"] == instance["id"]

    # edits and concepts
    edit = gazu.edit.new_edit(project, "ED01", client=c)
    assert edit["type"] == "Edit"
    assert [e["id"] for e in gazu.edit.all_edits_for_project(project, client=c)] == [edit["id"]]
    concept = gazu.concept.new_concept(project, "Look", client=c)
    assert concept["type"] == "Concept"
    assert [x["id"] for x in gazu.concept.all_concepts_for_project(project, client=c)] == [concept["id"]]

    # metadata descriptors: a rename carries the stored values along
    desc = gazu.project.add_metadata_descriptor(project, "Difficulty Level", "Asset", data_type="list",
                                                choices=["easy", "hard"], client=c)
    assert desc["field_name"] == "difficulty_level"
    gazu.asset.update_asset_data(asset, {"difficulty_level": "hard"}, client=c)
    desc["name"] = "Complexity"
    gazu.project.update_metadata_descriptor(project, desc, client=c)
    data = gazu.asset.get_asset(asset["id"], client=c)["data"]
    assert data.get("complexity") == "hard" and "difficulty_level" not in data
    gazu.project.remove_metadata_descriptor(project, desc, client=c)
    assert "complexity" not in gazu.asset.get_asset(asset["id"], client=c)["data"]

    # deletion (no tasks: real deletion) and the project's own deletion rules
    gazu.shot.remove_shot(shot, client=c)
    assert gazu.shot.all_shots_for_sequence(seq, client=c) == []
    gazu.project.close_project(project, client=c)
    with pytest.raises(gazu.exception.ParameterException):
        gazu.project.remove_project(project, client=c)  # has data: needs force
    gazu.project.remove_project(project, force=True, client=c)
    assert gazu.project.get_project_by_name(name, client=c) is None
