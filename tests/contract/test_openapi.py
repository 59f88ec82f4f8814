"""/openapi.json is generated from the route table and is valid OpenAPI 3.1."""

from __future__ import annotations

from openapi_spec_validator import validate
from slate_gateway import openapi
from slate_gateway.routes import PUBLIC, all_routes

ROUTES = all_routes()


def test_spec_is_valid_openapi_3_1():
    doc = openapi.build(ROUTES)
    assert doc["openapi"].startswith("3.1")
    validate(doc)


def test_spec_and_route_table_agree_operation_by_operation():
    doc = openapi.build(ROUTES)
    ops = {
        (method.upper(), path): op
        for path, item in doc["paths"].items()
        for method, op in item.items()
    }
    assert len(ops) == len(ROUTES)
    for r in ROUTES:
        op = ops[(r.method, openapi.openapi_path(r.path))]
        assert op["x-required-role"] == (PUBLIC if r.roles == PUBLIC else list(r.roles)), r.key
        assert op["x-owner"] == r.service
        assert op["x-rpc"] == f"{r.service}.{r.rpc}"
        assert str(r.status) in op["responses"]
        assert (op["security"] == []) == (r.roles == PUBLIC)
        assert ("requestBody" in op) == bool(r.body)
        assert {p["name"] for p in op["parameters"] if p["in"] == "path"} == {
            n for _, n in openapi._PARAM.findall(r.path)
        }
        headers = {p["name"] for p in op["parameters"] if p["in"] == "header"}
        assert headers == ({"Idempotency-Key"} if r.idempotent else set()), r.key


def test_operation_ids_are_unique():
    doc = openapi.build(ROUTES)
    ids = [op["operationId"] for item in doc["paths"].values() for op in item.values()]
    assert len(ids) == len(set(ids))


def test_zou_path_parameters_become_openapi_templates():
    assert openapi.openapi_path("/data/persons/<instance_id>") == "/data/persons/{instance_id}"
    assert openapi.openapi_path("/docs/<path:filename>") == "/docs/{filename}"
