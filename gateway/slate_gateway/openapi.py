"""OpenAPI 3.1 document generated from the route table (never hand-written).

One operation per route. Each carries ``x-required-role`` (the coarse roles
the gateway checks, or ``"public"``), ``x-owner`` and ``x-rpc`` (the service
and method answering it), so the role matrix and fuzzers can be generated
from the spec. The paths are Zou's; every one is also served under ``/api``
(the second server).
"""

from __future__ import annotations

import re

from .routes import PUBLIC, Route

_PARAM = re.compile(r"<(?:(\w+):)?(\w+)>")
VERSION = "1.0.97"


def openapi_path(path: str) -> str:
    return _PARAM.sub(lambda m: "{" + m.group(2) + "}", path)


def operation_id(route: Route) -> str:
    p = openapi_path(route.path)
    return f"{route.method.lower()}_{re.sub(r'[^a-z0-9]+', '_', p.lower()).strip('_') or 'root'}"


def _json(schema: dict) -> dict:
    return {"application/json": {"schema": schema}}


ERROR = {"$ref": "#/components/schemas/Error"}
_ERRORS = {
    "400": "Invalid input",
    "404": "Not found",
    "500": "Internal error (never shows internals)",
    "503": "The owning service is unavailable",
    "504": "The owning service did not answer in time",
}


_AUTH_ERRORS = {
    "401": "Missing, invalid, expired or revoked token",
    "403": "The caller's role may not do this",
    "422": "Malformed token",
}


def operation(r: Route, op_id: str) -> dict:
    params = []
    for converter, name in _PARAM.findall(r.path):
        schema = {"type": "string"}
        if converter == "path":
            schema["pattern"] = ".+"
        params.append({"name": name, "in": "path", "required": True, "schema": schema})
    success: dict = {"description": "Success"}
    if r.status != 204:
        success["content"] = _json({})
    responses = {str(r.status): success}
    for code in _ERRORS:
        responses[code] = {"$ref": f"#/components/responses/E{code}"}
    op = {
        "operationId": op_id,
        "summary": r.summary or f"{r.service}.{r.rpc}",
        "tags": [r.service],
        "x-owner": r.service,
        "x-rpc": f"{r.service}.{r.rpc}",
        "x-handler": r.handler,
        "x-required-role": PUBLIC if r.roles == PUBLIC else list(r.roles),
        "parameters": params + ([{"name": "Idempotency-Key", "in": "header", "required": False, "schema": {"type": "string"}}] if r.idempotent else []),
        "responses": responses,
    }
    if r.handler is None:
        del op["x-handler"]
    if r.roles == PUBLIC:
        op["security"] = []
    else:
        op["security"] = [{"bearer": []}, {"cookie": []}]
        for code in _AUTH_ERRORS:
            responses[code] = {"$ref": f"#/components/responses/E{code}"}
    if r.body:
        op["requestBody"] = {
            "required": False,
            "content": _json({"type": "object" if r.body == "object" else "array"}),
        }
    return op


def build(routes: list[Route]) -> dict:
    paths: dict = {}
    seen: set[str] = set()
    for r in routes:
        op_id = operation_id(r)
        while op_id in seen:
            op_id += "_"
        seen.add(op_id)
        paths.setdefault(openapi_path(r.path), {})[r.method.lower()] = operation(r, op_id)
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "Slate (Zou-compatible API)",
            "version": VERSION,
            "description": "Zou's routes, served by Slate's gateway; generated from the route table.",
        },
        "servers": [{"url": "/"}, {"url": "/api"}],
        "paths": paths,
        "components": {
            "securitySchemes": {
                "bearer": {"type": "http", "scheme": "bearer", "bearerFormat": "JWT"},
                "cookie": {"type": "apiKey", "in": "cookie", "name": "access_token_cookie"},
            },
            "responses": {
                f"E{code}": {"description": text, "content": _json(ERROR)}
                for code, text in {**_ERRORS, **_AUTH_ERRORS}.items()
            },
            "schemas": {
                "Error": {
                    "description": "Zou's error shapes: {error, message, ...} from the API, {msg} for token errors.",
                    "type": "object",
                    "properties": {
                        "error": {"type": "boolean"},
                        "message": {"type": "string"},
                        "msg": {"type": "string"},
                    },
                }
            },
        },
    }
