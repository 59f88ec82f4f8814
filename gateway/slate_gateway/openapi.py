"""OpenAPI 3.1 document generated from the route table (never hand-written)."""

from __future__ import annotations

import re

from .routes import PUBLIC, Route

_PARAM = re.compile(r"<(?:(\w+):)?(\w+)>")


def openapi_path(path: str) -> str:
    return _PARAM.sub(lambda m: "{" + m.group(2) + "}", path)


ERROR = {"$ref": "#/components/schemas/Error"}


def build(routes: list[Route]) -> dict:
    paths: dict = {}
    for r in routes:
        p = openapi_path(r.path)
        params = [
            {"name": name, "in": "path", "required": True, "schema": {"type": "string"}}
            for _, name in _PARAM.findall(r.path)
        ]
        op = {
            "operationId": f"{r.method.lower()}_{re.sub(r'[^a-z0-9]+', '_', p.lower()).strip('_') or 'root'}",
            "summary": r.summary or f"{r.service}.{r.rpc}",
            "tags": [r.service],
            "x-owner": r.service,
            "x-rpc": f"{r.service}.{r.rpc}",
            "x-required-role": "public" if r.roles == PUBLIC else list(r.roles),
            "parameters": params,
            "responses": {
                str(r.status): {"description": "Success"} if r.status == 204 else {
                    "description": "Success", "content": {"application/json": {"schema": {}}}
                },
                "400": {"description": "Invalid input", "content": {"application/json": {"schema": ERROR}}},
                "404": {"description": "Not found", "content": {"application/json": {"schema": ERROR}}},
            },
        }
        if r.roles != PUBLIC:
            op["security"] = [{"bearer": []}, {"cookie": []}]
            op["responses"]["401"] = {"description": "Not authenticated", "content": {"application/json": {"schema": ERROR}}}
            op["responses"]["403"] = {"description": "Forbidden", "content": {"application/json": {"schema": ERROR}}}
        if r.body:
            op["requestBody"] = {
                "required": False,
                "content": {"application/json": {"schema": {"type": "object" if r.body == "object" else "array"}}},
            }
        paths.setdefault(p, {})[r.method.lower()] = op
    return {
        "openapi": "3.1.0",
        "info": {"title": "Slate (Zou-compatible API)", "version": "1.0.97"},
        "servers": [{"url": "/"}, {"url": "/api"}],
        "paths": paths,
        "components": {
            "securitySchemes": {
                "bearer": {"type": "http", "scheme": "bearer", "bearerFormat": "JWT"},
                "cookie": {"type": "apiKey", "in": "cookie", "name": "access_token_cookie"},
            },
            "schemas": {
                "Error": {
                    "type": "object",
                    "properties": {"error": {"type": "boolean"}, "message": {"type": "string"}},
                    "required": ["message"],
                }
            },
        },
    }
