"""The assets service alone on the real broker and database: listings run a
fixed number of SQL statements whatever the number of rows (no N+1), and a
descriptor rename moves stored values in the same transaction."""

from __future__ import annotations

import uuid
from contextlib import contextmanager

import pytest
from nameko.testing.services import entrypoint_hook
from slatekit import db
from sqlalchemy import event

from slate_assets.service import AssetsService

ADMIN = {"role": "admin", "user_id": str(uuid.uuid4())}


@pytest.fixture
def assets(run_service):
    container = run_service(AssetsService)

    def call(method, context=None, **kwargs):
        with entrypoint_hook(container, method, context_data=context or ADMIN) as hook:
            return hook(**kwargs)

    return call


@contextmanager
def count_statements():
    engine = db.engine_for("assets")
    seen = []

    def before(conn, cursor, statement, *args):
        if "outbox" not in statement and "inbox" not in statement:  # the relay's own polling
            seen.append(statement)

    event.listen(engine, "before_cursor_execute", before)
    try:
        yield seen
    finally:
        event.remove(engine, "before_cursor_execute", before)


def _world(assets, nb_shots):
    p = assets("create_project", body={"name": f"Q-{uuid.uuid4().hex[:8]}"})
    char = next(t for t in assets("get_asset_types") if t["name"] == "Character")
    seq = assets("create_entity", kind="sequence", project_id=p["id"], body={"name": "SQ"})
    shots, cast = [], []
    for i in range(nb_shots):
        a = assets("create_entity", kind="asset", project_id=p["id"], asset_type_id=char["id"], body={"name": f"A{i}"})
        shot = assets("create_entity", kind="shot", project_id=p["id"], body={"name": f"S{i}", "sequence_id": seq["id"]})
        cast.append({"asset_id": a["id"], "nb_occurences": 1})
        assets("update_casting", project_id=p["id"], entity_id=shot["id"], body=list(cast))
        shots.append(shot)
    return p, seq, shots


def _queries(assets, method, **kwargs):
    with count_statements() as seen:
        assets(method, **kwargs)
    return len(seen)


def test_listings_run_a_fixed_number_of_queries(assets):
    small = _world(assets, 2)
    large = _world(assets, 12)
    for method, kwargs in (
        ("list_entities", lambda w: {"kind": "asset", "project_id": w[0]["id"], "query": {}}),
        ("list_entities", lambda w: {"kind": "shot", "query": {"project_id": w[0]["id"]}, "names": True}),
        ("list_entities", lambda w: {"kind": "shot", "query": {"project_id": w[0]["id"]}, "with_tasks": True}),
        ("get_sequence_casting", lambda w: {"project_id": w[0]["id"], "sequence_id": w[1]["id"]}),
        ("get_projects", lambda w: {"query": {"id": w[0]["id"]}}),
    ):
        assert _queries(assets, method, **kwargs(small)) == _queries(assets, method, **kwargs(large)), method


def test_descriptor_rename_moves_values_and_delete_drops_them(assets):
    p, seq, shots = _world(assets, 1)
    d = assets("create_project_descriptor", project_id=p["id"], body={"name": "Lens", "entity_type": "Shot"})
    assets("update_entity", instance_id=shots[0]["id"], body={"data": {"lens": "35mm"}})
    assets("update_project_descriptor", project_id=p["id"], metadata_descriptor_id=d["id"], body={"name": "Focal"})
    shot = assets("get_entity_detail", kind="shot", shot_id=shots[0]["id"])
    assert shot["data"] == {"focal": "35mm"}
    assets("delete_project_descriptor", project_id=p["id"], metadata_descriptor_id=d["id"])
    assert assets("get_entity_detail", kind="shot", shot_id=shots[0]["id"])["data"] == {}
