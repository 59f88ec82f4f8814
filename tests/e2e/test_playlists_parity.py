"""Playlists and preview files shaped as Zou 1.0.97 answers them (issue 6),
as found by scripts/zou_compare/playlists.py against a real Zou: what Kitsu
and gazu read (shot ids, previews by task type, raw add-entity answers,
preview file keys) and the status codes on bad ids."""

from __future__ import annotations

import uuid

import gazu
import pytest

from tests.e2e.media_helpers import gazu_world, png_bytes

pytestmark = pytest.mark.e2e

PRESENT_KEYS = {"id", "name", "original_name", "extension", "revision", "position", "file_size", "status",
                "validation_status", "task_id", "person_id", "created_at", "token_in", "token_out"}


@pytest.fixture(scope="module")
def world(suite):
    w = gazu_world(suite)
    c = w["client"]
    n = uuid.uuid4().hex[:6]
    w["asset2"] = gazu.asset.new_asset(w["project"], gazu.asset.all_asset_types(client=c)[0], f"Chair {n}", client=c)
    gazu.task.new_task(w["asset2"], w["task_type"], client=c)
    return w


def _publish(suite, admin, task_id, comment_id, name="frame.png"):
    r = admin.post(f"{suite.url}/actions/tasks/{task_id}/comments/{comment_id}/add-preview", json={})
    assert r.status_code == 201, r.text
    created = r.json()
    up = admin.post(f"{suite.url}/pictures/preview-files/{created['id']}",
                    files={"file": (name, png_bytes(64, 32), "image/png")})
    assert up.status_code == 201, up.text
    return created, up.json()


def test_preview_file_keys_and_values_as_zou(suite, admin, world):
    created, pf = _publish(suite, admin, world["task"]["id"], world["comment"]["id"])
    # add-preview: Zou's defaults before any upload, and the comments relation
    assert created["extension"] == "mp4" and created["annotations"] is None
    assert created["comments"] == [world["comment"]["id"]]
    assert created["token_in"] is None and created["token_out"] is None
    assert isinstance(created["duration"], float)
    # the upload keeps the name without its extension, as Zou
    assert pf["original_name"] == "frame" and pf["extension"] == "png" and pf["status"] == "ready"
    assert (pf["width"], pf["height"]) == (64, 32) and pf["file_size"] > 0
    got = admin.get(f"{suite.url}/data/preview-files/{pf['id']}").json()
    assert got["comments"] == [world["comment"]["id"]] and "token_in" in got
    assert "comments" not in admin.get(f"{suite.url}/data/preview-files", params={"task_id": world["task"]["id"]}
                                       ).json()[0]
    flat = admin.get(f"{suite.url}/data/entities/{world['asset']['id']}/preview-files").json()
    assert set(flat[0]) == PRESENT_KEYS  # Zou's PreviewFile.present()
    # the source download is named from the stem and the stored extension
    r = admin.get(f"{suite.url}/movies/source/preview-files/{pf['id']}.mp4")
    if r.status_code == 200:
        assert "frame.png" in r.headers.get("Content-Disposition", "")


def test_entity_previews_by_task_type_mix_positions_and_404(suite, admin, world):
    c = world["client"]
    comment = gazu.task.add_comment(world["task"], world["status"], "two frames", client=c)
    _, first = _publish(suite, admin, world["task"]["id"], comment["id"], "a.png")
    _, second = _publish(suite, admin, world["task"]["id"], comment["id"], "b.png")
    assert second["revision"] == first["revision"] and second["position"] == 2
    grouped = gazu.playlist.get_entity_preview_files(world["asset"], client=c)
    [revisions] = grouped.values()
    head = next(r for r in revisions if r["revision"] == first["revision"])
    assert head["id"] == first["id"] and [p["id"] for p in head["previews"]] == [second["id"]]
    assert set(head) == {"id", "revision", "original_name", "extension", "width", "height", "duration", "status",
                         "annotations", "previews", "created_at", "task_id", "original_width",
                         "original_height", "original_duration", "original_file_size"}
    assert [r["revision"] for r in revisions] == sorted({r["revision"] for r in revisions}, reverse=True)
    # update-position answers the whole revision in its new order, as Zou
    r = admin.put(f"{suite.url}/actions/preview-files/{second['id']}/update-position", json={"position": 1})
    assert r.status_code == 200 and [p["id"] for p in r.json()] == [second["id"], first["id"]]
    # no entity behind the id: 404, as Zou (a malformed id too)
    assert admin.get(f"{suite.url}/data/playlists/entities/{uuid.uuid4()}/preview-files").status_code == 404
    assert admin.get(f"{suite.url}/data/playlists/entities/nope/preview-files").status_code == 404
    # an entity without previews: an empty dict, not a 404
    assert admin.get(f"{suite.url}/data/playlists/entities/{world['asset2']['id']}/preview-files").json() == {}


def test_playlist_flow_as_kitsu_and_gazu_read_it(suite, admin, world):
    c = world["client"]
    _, pf = _publish(suite, admin, world["task"]["id"], world["comment"]["id"], "p.png")
    playlist = gazu.playlist.new_playlist(world["project"], f"Review {uuid.uuid4().hex[:6]}", client=c)
    assert playlist["shots"] is None and playlist["build_jobs"] == []
    got = admin.get(f"{suite.url}/data/playlists/{playlist['id']}").json()
    assert got["build_jobs"] == [] and got["shots"] is None
    # Kitsu saves the whole list back with ids; a preview of another entity is unpinned
    r = admin.put(f"{suite.url}/data/playlists/{playlist['id']}", json={"shots": [
        {"id": world["asset"]["id"], "entity_id": world["asset"]["id"], "preview_file_id": pf["id"]},
        {"entity_id": world["asset2"]["id"], "preview_file_id": pf["id"]}]})
    assert r.status_code == 200, r.text
    assert r.json()["shots"] == [{"entity_id": world["asset"]["id"], "preview_file_id": pf["id"]},
                                 {"entity_id": world["asset2"]["id"], "preview_file_id": None}]
    # gazu's add_entity_to_playlist: Zou answers playlist.serialize(), raw entries without ids
    r = admin.post(f"{suite.url}/actions/playlists/{playlist['id']}/add-entity",
                   json={"entity_id": world["asset2"]["id"], "preview_file_id": None})
    assert r.status_code == 200, r.text
    raw = r.json()
    assert "build_jobs" not in raw and all("id" not in e for e in raw["shots"])
    updated = gazu.playlist.add_entity_to_playlist(playlist, world["asset"], preview_file=pf, client=c)
    assert updated["shots"] == raw["shots"]  # the same couple again: nothing added

    full = admin.get(f"{suite.url}/data/projects/{world['project']['id']}/playlists/{playlist['id']}").json()
    assert full["build_jobs"] == []
    with_preview, without = full["shots"]
    assert with_preview["id"] == world["asset"]["id"]  # the entity's id, never a random one
    assert with_preview["preview_file_id"] == pf["id"] and with_preview["preview_file_status"] == "Ready"
    assert with_preview["preview_file_previews"] == [] and "preview_file_annotations" not in with_preview
    [by_type] = with_preview["preview_files"].values()
    assert pf["id"] in [p["id"] for p in by_type] + [q["id"] for p in by_type for q in p["previews"]]
    assert {"id", "revision", "extension", "width", "height", "duration", "status", "created_at",
            "task_id"} <= set(by_type[0])
    assert without["id"] == world["asset2"]["id"] and "preview_file_id" not in without
    assert without["preview_files"] == []


def test_playlist_lists_as_zou(suite, admin, world):
    c, pid = world["client"], world["project"]["id"]
    n = uuid.uuid4().hex[:6]
    for_all = gazu.playlist.new_playlist(world["project"], f"All {n}", for_entity="asset", is_for_all=True,
                                         client=c)
    main = gazu.playlist.new_playlist(world["project"], f"Main {n}", client=c)
    ids = lambda path: [p["id"] for p in admin.get(f"{suite.url}{path}").json()]  # noqa: E731
    assert for_all["id"] in ids(f"/data/projects/{pid}/episodes/all/playlists")
    assert main["id"] not in ids(f"/data/projects/{pid}/episodes/all/playlists")
    assert main["id"] in ids(f"/data/projects/{pid}/episodes/main/playlists")
    assert for_all["id"] not in ids(f"/data/projects/{pid}/episodes/main/playlists")
    assert for_all["id"] not in ids(f"/data/projects/{pid}/episodes/all/playlists?for_entity=shot")
    every = admin.get(f"{suite.url}/data/projects/{pid}/playlists/all").json()
    row = next(p for p in every if p["id"] == main["id"])
    assert row["build_jobs"] == [] and "shots" in row  # the whole serialisation, not the summary
    paged = admin.get(f"{suite.url}/data/projects/{pid}/playlists/all", params={"page": 1}).json()
    assert paged["limit"] == 100 and paged["page"] == 1 and paged["total"] == len(every)
    assert admin.get(f"{suite.url}/data/projects/{uuid.uuid4()}/playlists/all").status_code == 404
    summary = next(p for p in admin.get(f"{suite.url}/data/projects/{pid}/playlists").json() if p["id"] == main["id"])
    assert "shots" not in summary and "build_jobs" not in summary


def test_temp_playlist_entries_as_zou(suite, admin, world):
    _, pf = _publish(suite, admin, world["task"]["id"], world["comment"]["id"], "t.png")
    r = admin.post(f"{suite.url}/data/projects/{world['project']['id']}/playlists/temp",
                   json={"task_ids": [world["task"]["id"]]})
    assert r.status_code == 200, r.text
    [entry] = r.json()
    assert entry["id"] == world["asset"]["id"] and entry["name"] == world["asset"]["name"]
    assert entry["preview_file_task_id"] == world["task"]["id"]
    assert {"parent_name", "episode_id", "episode_name", "sequence_id", "sequence_name", "asset_type_id",
            "asset_type_name", "preview_file_previews", "preview_file_annotations"} <= set(entry)
    grouped = admin.get(f"{suite.url}/data/playlists/entities/{world['asset']['id']}/preview-files").json()
    latest = max(p["revision"] for p in grouped[world["task_type"]["id"]])
    assert entry["preview_file_revision"] == latest and entry["preview_file_status"] == "ready"
    assert world["task_type"]["id"] in entry["preview_files"]
    by_entity = admin.post(f"{suite.url}/data/projects/{world['project']['id']}/playlists/temp",
                           json={"entity_ids": [world["asset"]["id"]]}).json()
    assert [e["id"] for e in by_entity] == [world["asset"]["id"]]
    bad = admin.post(f"{suite.url}/data/projects/{world['project']['id']}/playlists/temp", json={"task_ids": ["x"]})
    assert bad.status_code == 400
