"""The assets service over HTTP: the brief's routes, bad input, per-project
access, with-tasks from the task projection, and the events it publishes."""

from __future__ import annotations

import json
import time
import uuid

import pytest
from kombu import Connection, Exchange, Producer, Queue

pytestmark = pytest.mark.e2e


def _n(prefix="P"):
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


def wait_for(fn, timeout=15.0, step=0.1):
    deadline = time.time() + timeout
    last = None
    while time.time() < deadline:
        last = fn()
        if last:
            return last
        time.sleep(step)
    return last


class Api:
    def __init__(self, session, url):
        self.s, self.url = session, url

    def __getattr__(self, method):
        def call(path, expect=None, **kw):
            r = getattr(self.s, method)(self.url + path, timeout=30, **kw)
            if expect is not None:
                assert r.status_code == expect, f"{method.upper()} {path}: {r.status_code} {r.text}"
            return r
        return call


@pytest.fixture(scope="module")
def api(suite, admin):
    return Api(admin, suite.url)


@pytest.fixture(scope="module")
def world(api):
    """A tv show with an episode, a sequence, two shots, a scene and two assets."""
    p = api.post("/data/projects", json={"name": _n("TV"), "production_type": "tvshow"}, expect=201).json()
    types = {t["name"]: t for t in api.get("/data/asset-types", expect=200).json()}
    char = types["Character"]
    ep = api.get(f"/data/projects/{p['id']}/episodes", expect=200).json()[0]
    seq = api.post(f"/data/projects/{p['id']}/sequences", json={"name": "SQ01", "episode_id": ep["id"]}, expect=201).json()
    shots = [api.post(f"/data/projects/{p['id']}/shots", json={"name": f"SH0{i}", "sequence_id": seq["id"], "nb_frames": 10},
                      expect=201).json() for i in (1, 2)]
    assets = [api.post(f"/data/projects/{p['id']}/asset-types/{char['id']}/assets/new", json={"name": n}, expect=201).json()
              for n in ("Ann", "Bob")]
    return {"project": p, "char": char, "types": types, "episode": ep, "sequence": seq, "shots": shots, "assets": assets}


def test_brief_routes_answer_with_zou_shapes(api, world):
    p, seq, ep, char = world["project"], world["sequence"], world["episode"], world["char"]
    pid = p["id"]
    assert {"Character", "Environment", "FX", "Prop"} <= set(world["types"])
    assert all(t["type"] == "AssetType" for t in world["types"].values())
    by_type = api.get(f"/data/projects/{pid}/asset-types/{char['id']}/assets", expect=200).json()
    assert sorted(a["name"] for a in by_type) == ["Ann", "Bob"] and by_type[0]["type"] == "Asset"

    shot = world["shots"][0]
    api.put(f"/data/projects/{pid}/entities/{shot['id']}/casting",
            json=[{"asset_id": world["assets"][0]["id"], "nb_occurences": 3, "label": "animate"}], expect=200)
    casting = api.get(f"/data/projects/{pid}/sequences/{seq['id']}/casting", expect=200).json()
    assert casting[shot["id"]][0] | {} == casting[shot["id"]][0]
    item = casting[shot["id"]][0]
    assert (item["asset_name"], item["asset_type_name"], item["sequence_name"], item["nb_occurences"], item["label"]) == (
        "Ann", "Character", "SQ01", 3, "animate")

    assert [s["id"] for s in api.get(f"/data/episodes/{ep['id']}/sequences", expect=200).json()] == [seq["id"]]

    scene = api.post(f"/data/projects/{pid}/scenes", json={"name": "SC01", "sequence_id": seq["id"]}, expect=201).json()
    api.post(f"/data/scenes/{scene['id']}/shots", json={"shot_id": shot["id"]}, expect=200)
    assert [s["id"] for s in api.get(f"/data/scenes/{scene['id']}/shots", expect=200).json()] == [shot["id"]]
    inst = api.post(f"/data/scenes/{scene['id']}/asset-instances", json={"asset_id": world["assets"][1]["id"]}, expect=201).json()
    got = api.get(f"/data/assets/{world['assets'][1]['id']}/scene-asset-instances", expect=200).json()
    assert got[scene["id"]][0]["id"] == inst["id"]
    api.delete(f"/data/scenes/{scene['id']}", expect=204)
    api.get(f"/data/scenes/{scene['id']}", expect=404)
    assert api.get(f"/data/shots/{shot['id']}", expect=200).json()["source_id"] is None

    edit = api.post(f"/data/projects/{pid}/edits", json={"name": "ED01", "episode_id": ep["id"]}, expect=201).json()
    assert edit["id"] in {e["id"] for e in api.get(f"/data/edits?project_id={pid}", expect=200).json()}

    concept = api.post(f"/data/projects/{pid}/concepts", json={"name": "Look"}, expect=201).json()
    assert concept["type"] == "Concept" and concept["entity_concept_links"] == []
    assert [c["id"] for c in api.get(f"/data/projects/{pid}/concepts", expect=200).json()] == [concept["id"]]

    d = api.post(f"/data/projects/{pid}/metadata-descriptors",
                 json={"name": "Camera Lens", "entity_type": "Shot", "choices": []}, expect=201).json()
    assert d["field_name"] == "camera_lens" and d["type"] == "MetadataDescriptor"
    assert [x["id"] for x in api.get(f"/data/projects/{pid}/metadata-descriptors", expect=200).json()] == [d["id"]]

    api.post(f"/data/projects/{pid}/settings/asset-types", json={"asset_type_id": char["id"]}, expect=201)
    api.delete(f"/data/projects/{pid}/settings/asset-types/{char['id']}", expect=204)
    assert api.get(f"/data/projects/{pid}", expect=200).json()["asset_types"] == []

    opened = {x["id"]: x for x in api.get("/data/user/projects/open", expect=200).json()}
    assert opened[pid]["first_episode_id"] == ep["id"] and opened[pid]["descriptors"][0]["field_name"] == "camera_lens"
    # Zou: the asset types of the assets the caller has a task on (none here)
    assert api.get(f"/data/user/projects/{pid}/asset-types", expect=200).json() == []


def test_bad_input_is_a_clear_4xx_and_writes_nothing(api, world):
    pid = world["project"]["id"]
    missing = str(uuid.uuid4())
    assert api.get(f"/data/shots/{missing}").status_code == 404
    assert api.get(f"/data/projects/{missing}").status_code == 404
    assert api.get("/data/assets/not-an-id").status_code == 400
    r = api.post(f"/data/projects/{pid}/shots", json={"sequence_id": world["sequence"]["id"]})
    assert r.status_code == 400 and "name" in r.json()["message"] and r.json()["error"] is True
    r = api.post("/data/projects", json={"name": world["project"]["name"]})
    assert r.status_code == 400
    r = api.post("/data/projects", json={"name": _n(), "resolution": "huge"})
    assert r.status_code == 400 and "resolution" in r.json()["message"]
    assert api.put(f"/data/projects/{pid}/entities/{world['shots'][0]['id']}/casting", json={"a": 1}).status_code == 400

    # a shot under another project's sequence: refused, nothing written
    other = api.post("/data/projects", json={"name": _n("O")}, expect=201).json()
    r = api.post(f"/data/projects/{other['id']}/shots", json={"name": "X1", "sequence_id": world["sequence"]["id"]})
    assert r.status_code == 400 and "sequence_id" in r.json()["message"]
    assert api.get(f"/data/projects/{other['id']}/shots", expect=200).json() == []
    # casting an asset that does not exist: 400 and the casting is unchanged
    shot = world["shots"][1]
    before = api.get(f"/data/projects/{pid}/entities/{shot['id']}/casting", expect=200).json()
    r = api.put(f"/data/projects/{pid}/entities/{shot['id']}/casting", json=[{"asset_id": missing}])
    assert r.status_code == 400
    assert api.get(f"/data/projects/{pid}/entities/{shot['id']}/casting", expect=200).json() == before
    # an open project is not deleted
    assert api.delete(f"/data/projects/{other['id']}").status_code == 400


def test_non_members_see_nothing_of_a_project(suite, api, admin, world):
    pid = world["project"]["id"]
    artist = suite.make_person(admin, role="user", password="artist-pass-1")
    s = Api(suite.login(artist["email"], "artist-pass-1"), suite.url)
    assert s.get(f"/data/projects/{pid}").status_code == 403
    assert s.get(f"/data/projects/{pid}/assets").status_code == 403
    assert s.get(f"/data/assets?project_id={pid}", expect=200).json() == []
    assert s.get(f"/data/shots/all?project_id={pid}", expect=200).json() == []
    assert pid not in {p["id"] for p in s.get("/data/projects", expect=200).json()}
    assert pid not in {p["id"] for p in s.get("/data/user/projects/open", expect=200).json()}
    assert s.get(f"/data/shots/{world['shots'][0]['id']}").status_code == 403

    api.post(f"/data/projects/{pid}/team", json={"person_id": artist["id"]}, expect=201)
    assert s.get(f"/data/projects/{pid}", expect=200).json()["id"] == pid
    assert len(s.get(f"/data/assets?project_id={pid}", expect=200).json()) == 2
    # an artist cannot delete; a per-project manager role can write settings
    assert s.delete(f"/data/assets/{world['assets'][0]['id']}").status_code == 403
    api.put(f"/data/projects/{pid}/team/{artist['id']}", json={"role": "manager"}, expect=200)
    s.post(f"/data/projects/{pid}/settings/asset-types", json={"asset_type_id": world["char"]["id"]}, expect=201)
    # Kitsu's bootstrap carries the per-project role and the project
    ctx = s.get("/data/user/context", expect=200).json()
    assert ctx["project_roles"] == {pid: "manager"}
    assert pid in {p["id"] for p in ctx["projects"]}
    assert "Character" in {t["name"] for t in ctx["asset_types"]}


def _publish(suite, name, record, data=None):
    with Connection(suite.env["AMQP_URI"]) as conn:
        ex = Exchange("slate.events", type="topic", durable=True)
        body = {"event_id": str(uuid.uuid4()), "name": name, "source": "tasks", "occurred_at": "2026-12-04T00:00:00",
                "actor_id": None, "project_id": record.get("project_id"), "trace_id": None,
                "data": data or {"task_id": record["id"]}, "record": record}
        Producer(conn.default_channel, exchange=ex).publish(body, routing_key=name, serializer="json", declare=[ex])


def test_with_tasks_listings_follow_task_events(suite, api, world):
    pid, shot = world["project"]["id"], world["shots"][0]
    task = {"id": str(uuid.uuid4()), "project_id": pid, "entity_id": shot["id"], "task_type_id": str(uuid.uuid4()),
            "task_status_id": str(uuid.uuid4()), "assignees": [], "estimation": 2, "duration": 0, "retake_count": 0,
            "priority": 0, "updated_at": "2026-12-04T10:00:00", "last_comment_date": None, "last_preview_file_id": None}
    _publish(suite, "task:new", task)

    def tasks_of_shot():
        rows = api.get(f"/data/shots/with-tasks?project_id={pid}", expect=200).json()
        return next((r["tasks"] for r in rows if r["id"] == shot["id"] and r["tasks"]), None)

    tasks = wait_for(tasks_of_shot)
    assert tasks and tasks[0]["id"] == task["id"] and tasks[0]["estimation"] == 2
    row = next(r for r in api.get(f"/data/shots/with-tasks?project_id={pid}").json() if r["id"] == shot["id"])
    assert (row["sequence_name"], row["episode_name"], row["project_name"]) == ("SQ01", "E01", world["project"]["name"])
    # an older record does not overwrite a newer one
    _publish(suite, "task:update", dict(task, estimation=9, updated_at="2026-12-04T09:00:00"))
    _publish(suite, "task:update", dict(task, estimation=5, updated_at="2026-12-04T11:00:00"))
    assert wait_for(lambda: (tasks_of_shot() or [{}])[0].get("estimation") == 5)
    # an entity with tasks is canceled, not deleted, without force
    api.delete(f"/data/shots/{shot['id']}", expect=204)
    assert api.get(f"/data/shots/{shot['id']}", expect=200).json()["canceled"] is True
    _publish(suite, "task:delete", task)
    assert wait_for(lambda: tasks_of_shot() is None)


def test_changes_publish_zou_events_with_records(suite, api, admin, world):
    with Connection(suite.env["AMQP_URI"]) as conn:
        q = Queue(f"test.assets.{uuid.uuid4().hex}", Exchange("slate.events", type="topic", durable=True),
                  routing_key="#", exclusive=True, auto_delete=True)
        q(conn.default_channel).declare()
        pid = world["project"]["id"]
        person = suite.make_person(admin, role="user")
        api.post(f"/data/projects/{pid}/team", json={"person_id": person["id"]}, expect=201)
        a = api.post(f"/data/projects/{pid}/asset-types/{world['char']['id']}/assets/new", json={"name": "Cid"},
                     expect=201).json()
        api.put(f"/data/entities/{world['shots'][1]['id']}", json={"data": {"frame_in": 3}}, expect=200)
        seq = api.post(f"/data/projects/{pid}/sequences", json={"name": "SQ99", "episode_id": world["episode"]["id"]},
                       expect=201).json()
        api.delete(f"/data/sequences/{seq['id']}", expect=204)

        wanted = {"project:team-member-added", "project:update", "asset:new", "shot:update", "sequence:new",
                  "sequence:delete"}
        seen = {}

        def drain():
            while True:
                m = q(conn.default_channel).get(no_ack=True)
                if m is None:
                    break
                body = m.payload if isinstance(m.payload, dict) else json.loads(m.body)
                if body.get("source") == "assets":
                    seen.setdefault(body["name"], []).append(body)
            return wanted <= set(seen)

        assert wait_for(drain), sorted(seen)
    added = seen["project:team-member-added"][-1]["data"]
    assert added["person_id"] == person["id"] and added["project_id"] == pid
    upd = seen["project:update"][-1]["record"]
    assert person["id"] in upd["team"] and upd["project_status"] == "open"
    new = next(e for e in seen["asset:new"] if e["data"]["asset_id"] == a["id"])
    assert new["record"]["name"] == "Cid" and new["record"]["type"] == "Asset" and new["project_id"] == pid
    assert seen["shot:update"][-1]["record"]["data"] == {"frame_in": 3}
    assert seen["sequence:delete"][-1]["record"]["id"] == seq["id"]


def test_vendor_sees_only_entities_it_has_a_task_on(suite, api, admin, world):
    pid = world["project"]["id"]
    vendor = suite.make_person(admin, role="vendor", password="vendor-pass-1")
    api.post(f"/data/projects/{pid}/team", json={"person_id": vendor["id"]}, expect=201)
    v = Api(suite.login(vendor["email"], "vendor-pass-1"), suite.url)
    mine, other = world["assets"]
    assert v.get(f"/data/assets?project_id={pid}", expect=200).json() == []
    _publish(suite, "task:new", {"id": str(uuid.uuid4()), "project_id": pid, "entity_id": mine["id"],
                                 "task_type_id": str(uuid.uuid4()), "task_status_id": str(uuid.uuid4()),
                                 "assignees": [vendor["id"]], "updated_at": "2026-12-04T10:00:00"})
    rows = wait_for(lambda: v.get(f"/data/assets?project_id={pid}", expect=200).json())
    assert [r["id"] for r in rows] == [mine["id"]]
    assert v.get(f"/data/assets/{other['id']}").status_code == 403
    assert v.get(f"/data/projects/{pid}/entities/{world['shots'][1]['id']}/casting").status_code == 403
    assert v.post(f"/data/projects/{pid}/sequences", json={"name": "VX"}).status_code == 403


def test_catalogues_templates_and_custom_actions(api, world):
    pid = world["project"]["id"]
    status = api.post("/data/project-status", json={"name": _n("St")[:20], "color": "#ff0000"}, expect=201).json()
    assert status["type"] == "ProjectStatus"
    assert api.post("/data/project-status", json={"name": status["name"]}).status_code == 400
    api.delete(f"/data/project-status/{status['id']}", expect=204)

    action = api.post("/data/custom-actions", json={"name": "Open in RV", "url": "http://127.0.0.1/rv"}, expect=201).json()
    assert action["entity_type"] == "all"
    assert action["id"] in {a["id"] for a in api.get("/data/custom-actions", expect=200).json()}

    et = api.post("/data/entity-types", json={"name": _n("Veh")[:30]}, expect=201).json()
    assert et["name"] in {t["name"] for t in api.get("/data/asset-types", expect=200).json()}
    api.delete(f"/data/entity-types/{et['id']}", expect=204)

    tpl = api.post("/data/project-templates", json={"name": _n("Tpl"), "fps": "24", "max_retakes": 3}, expect=201).json()
    api.post(f"/data/project-templates/{tpl['id']}/asset-types", json={"asset_type_id": world["char"]["id"]}, expect=201)
    api.put(f"/data/project-templates/{tpl['id']}/metadata-descriptors",
            json=[{"name": "Budget Code", "entity_type": "Asset"}], expect=200)
    fresh = api.post("/data/projects", json={"name": _n("FromTpl")}, expect=201).json()
    applied = api.post(f"/data/projects/{fresh['id']}/apply-template/{tpl['id']}", expect=200).json()
    assert (applied["fps"], applied["max_retakes"], applied["asset_types"]) == ("24", 3, [world["char"]["id"]])
    assert [d["field_name"] for d in api.get(f"/data/projects/{fresh['id']}/metadata-descriptors").json()] == ["budget_code"]
    copy = api.post(f"/data/project-templates/from-project/{pid}", json={"name": _n("Copy")}, expect=201).json()
    assert copy["production_type"] == "tvshow"
    api.delete(f"/data/project-templates/{copy['id']}", expect=204)
