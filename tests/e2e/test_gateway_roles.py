"""The route table's coarse role check, as a matrix over every route: no token
→ 401, a role the route does not list → 403 with Zou's body, before the owner
is called. Generated from the same table as /openapi.json (x-required-role)."""

from __future__ import annotations

import re

import pytest
import requests
from slate_gateway.routes import ANY, PUBLIC, all_routes
from slate_gateway.tokens import FORBIDDEN

pytestmark = pytest.mark.e2e

ROLES = ANY  # admin, manager, supervisor, user, client, vendor
PARAM = re.compile(r"<(?:(\w+):)?(\w+)>")
ROUTES = [r for r in all_routes() if r.token == "access"]


def concrete(path: str) -> str:
    return PARAM.sub(lambda m: "x/y.png" if m.group(1) == "path" else "00000000-0000-0000-0000-000000000000", path)


@pytest.fixture(scope="module")
def sessions(suite, admin):
    out = {"admin": admin}
    for role in ROLES:
        if role != "admin":
            person = suite.make_person(admin, role=role)
            out[role] = suite.login(person["email"], "secret-pass-1")
    return out


def test_every_protected_route_wants_a_token(suite):
    wrong = []
    with requests.Session() as s:
        for r in ROUTES:
            if r.roles == PUBLIC:
                continue
            for prefix in ("", "/api"):
                resp = s.request(r.method, suite.url + prefix + concrete(r.path), timeout=10)
                if resp.status_code != 401 or "msg" not in resp.json():
                    wrong.append(f"{r.method} {prefix}{r.path}: {resp.status_code}")
    assert wrong == []


def test_roles_outside_a_route_are_refused_with_zous_403(suite, sessions):
    wrong = []
    for r in ROUTES:
        if r.roles == PUBLIC:
            continue
        for role in ROLES:
            if role in r.roles:
                continue
            resp = sessions[role].request(r.method, suite.url + concrete(r.path), timeout=10)
            if resp.status_code != 403 or resp.json().get("message") != FORBIDDEN:
                wrong.append(f"{role} {r.method} {r.path}: {resp.status_code}")
    assert wrong == []


def test_public_read_routes_need_no_token(suite):
    wrong = []
    for r in ROUTES:
        if r.roles == PUBLIC and r.method == "GET" and "<" not in r.path:
            resp = requests.get(suite.url + r.path, timeout=10)
            if resp.status_code in (401, 403, 422):
                wrong.append(f"GET {r.path}: {resp.status_code}")
    assert wrong == []
