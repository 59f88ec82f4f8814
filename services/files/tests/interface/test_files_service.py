"""The files service on the real broker and database, neighbours replaced by
the events they would publish."""

import uuid

import pytest
from kombu import Connection, Producer
from slate_files.service import FilesService
from slatekit.events import EVENTS_EXCHANGE, envelope
from slatekit.testing import wait_until

ADMIN = {"role": "admin", "user_id": str(uuid.uuid4())}


def publish(amqp, name, record):
    with Connection(amqp) as conn:
        producer = Producer(conn.default_channel, exchange=EVENTS_EXCHANGE)
        EVENTS_EXCHANGE.declare(channel=conn.default_channel)
        body = envelope(name, {}, source="test", record=record)
        producer.publish(body, routing_key=name, serializer="json")


@pytest.fixture
def world(run_service, rpc, slate_env):
    run_service(FilesService)
    amqp = slate_env["AMQP_URI"]
    ids = {k: str(uuid.uuid4()) for k in ("project", "seq", "shot", "tt", "task")}
    from slate_files.paths import DEFAULT_TREE

    publish(amqp, "project:new", {"id": ids["project"], "name": "Caminandes", "updated_at": "2024-01-01T00:00:00",
                                  "file_tree": DEFAULT_TREE})
    publish(amqp, "sequence:new", {"id": ids["seq"], "name": "SQ01", "project_id": ids["project"], "type": "Sequence"})
    publish(amqp, "shot:new", {"id": ids["shot"], "name": "SH010", "project_id": ids["project"],
                               "parent_id": ids["seq"], "type": "Shot"})
    publish(amqp, "task-type:new", {"id": ids["tt"], "name": "Animation"})
    publish(amqp, "task:new", {"id": ids["task"], "name": "main", "project_id": ids["project"],
                               "entity_id": ids["shot"], "task_type_id": ids["tt"]})

    def projected():
        try:
            path = rpc.call("files", "working_file_path", {"task_id": ids["task"], "body": {}}, ADMIN)
        except Exception:  # noqa: BLE001 - NotFound / no tree until the events are applied
            return False
        return "sh010" in path["path"] and "animation" in path["path"]

    wait_until(projected, timeout=60, interval=0.2, what="task, shot and project projected")
    return ids


def test_new_working_file_increments_revision_and_builds_path(world, rpc):
    first = rpc.call("files", "new_working_file", {"task_id": world["task"], "body": {"name": "main"}}, ADMIN)
    second = rpc.call("files", "new_working_file", {"task_id": world["task"], "body": {"name": "main"}}, ADMIN)
    assert (first["revision"], second["revision"]) == (1, 2)
    # Zou's default tree: no sequence in a shot's working file name.
    assert second["path"] == "/simple/productions/caminandes/shots/sq01/sh010/animation/caminandes_sh010_animation"
    assert second["type"] == "WorkingFile" and second["entity_id"] == world["shot"]
    last = rpc.call("files", "last_working_files", {"task_id": world["task"]}, ADMIN)
    assert last["main"]["id"] == second["id"]


def test_an_unknown_project_gets_zous_404(run_service, rpc):
    run_service(FilesService)
    with pytest.raises(Exception) as err:
        rpc.call("files", "guess_from_path", {"body": {"project_id": str(uuid.uuid4()), "file_path": "/a/b"}}, ADMIN)
    assert "NotFound" in str(err.value) or "not found" in str(err.value)


def test_output_file_revisions_and_duplicate_is_refused(world, rpc):
    ot = rpc.call("files", "crud_create", {"model": "output-types", "body": {"name": "Cache"}}, ADMIN)
    body = {"output_type_id": ot["id"], "task_type_id": world["tt"], "revision": 0, "extension": "abc"}
    a = rpc.call("files", "new_entity_output_file", {"entity_id": world["shot"], "body": body}, ADMIN)
    b = rpc.call("files", "new_entity_output_file", {"entity_id": world["shot"], "body": body}, ADMIN)
    assert (a["revision"], b["revision"]) == (1, 2)
    # Zou appends the extension as sent (no dot added).
    assert b["path"] == "/simple/productions/export/caminandes/shots/sq01/sh010/cache/caminandes_sq01_sh010_cache_mainabc"
    with pytest.raises(Exception) as err:
        rpc.call("files", "new_entity_output_file",
                 {"entity_id": world["shot"], "body": {**body, "revision": 2}}, ADMIN)
    assert "already exists" in str(err.value)
    last = rpc.call("files", "entity_last_output_files", {"entity_id": world["shot"]}, ADMIN)
    assert [o["id"] for o in last] == [b["id"]]
    nxt = rpc.call("files", "next_entity_output_revision", {"entity_id": world["shot"], "body": body}, ADMIN)
    assert nxt == {"next_revision": 3}
