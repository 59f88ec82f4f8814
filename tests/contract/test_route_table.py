"""The route table against the services, the gateway and Zou's route list.

Every RPC route must name an existing ``@rpc`` method of its owner's service
class, callable with the path parameters, the route's fixed arguments,
``query`` and ``body``; every gateway handler must resolve; no route is
declared twice; every path is one of Zou's or declared Slate-only. Services
appear during the project: a route whose owner has no package yet is
reported as such, not as a crash.
"""

from __future__ import annotations

import csv
import importlib
import importlib.util
import inspect
import re
from collections import Counter
from pathlib import Path

import pytest
from nameko.rpc import Rpc
from slate_gateway.app import Gateway
from slate_gateway.routes import all_routes, not_served, slate_only

ROOT = Path(__file__).resolve().parents[2]
ROUTES = all_routes()
PARAM = re.compile(r"<(?:\w+:)?(\w+)>")
RPC_SERVICES = sorted({r.service for r in ROUTES if r.handler is None})


def zou_keys() -> set[tuple[str, str]]:
    with (ROOT / "docs" / "reference" / "zou-routes.tsv").open(newline="") as f:
        return {(row["method"], row["path"]) for row in csv.DictReader(f, delimiter="\t")}


def service_class(service: str):
    """The nameko class of ``slate_<service>.service`` (``Service``), or None
    when the package is not there yet."""
    if importlib.util.find_spec(f"slate_{service}") is None:
        return None
    module = importlib.import_module(f"slate_{service}.service")
    return module.Service


def rpc_problems(cls, route) -> list[str]:
    fn = getattr(cls, route.rpc, None)
    where = f"{route.method} {route.path} -> {route.service}.{route.rpc}"
    if fn is None:
        return [f"{where}: no such method"]
    if not any(isinstance(e, Rpc) for e in getattr(fn, "nameko_entrypoints", ())):
        return [f"{where}: not an @rpc entrypoint"]
    params = inspect.signature(fn).parameters
    named = {n for n, p in params.items() if p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY)} - {"self"}
    var_kw = any(p.kind is p.VAR_KEYWORD for p in params.values())
    required = {
        n for n, p in params.items()
        if n != "self" and p.default is p.empty and p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY)
    }
    sent = set(PARAM.findall(route.path)) | set(route.fixed) | {"query", "body"}
    problems = []
    if not var_kw and sent - named:
        problems.append(f"{where}: does not accept {sorted(sent - named)}")
    # body is only sent when the request has one: it must be optional.
    if required - (sent - {"body"}):
        problems.append(f"{where}: requires {sorted(required - (sent - {'body'}))}, which the gateway does not send")
    return problems


@pytest.mark.parametrize("service", RPC_SERVICES)
def test_every_route_names_an_rpc_method_of_its_owner(service):
    cls = service_class(service)
    if cls is None:
        pytest.skip(f"services/{service} has no package slate_{service} yet")
    problems = [p for r in ROUTES if r.service == service and r.handler is None for p in rpc_problems(cls, r)]
    assert problems == []


def test_every_gateway_handler_resolves():
    missing = []
    for r in ROUTES:
        if r.handler:
            try:
                fn = Gateway.handler(r.handler)
            except (ImportError, AttributeError) as exc:
                missing.append(f"{r.method} {r.path}: {r.handler} ({exc})")
                continue
            if len(inspect.signature(fn).parameters) != 6:
                missing.append(f"{r.method} {r.path}: {r.handler} is not fn(gw, route, request, args, claims, context)")
    assert missing == []


def test_no_route_is_declared_twice():
    twice = [key for key, n in Counter(r.key for r in ROUTES).items() if n > 1]
    assert twice == []


def test_every_route_is_one_of_zous_or_declared_slate_only():
    known = zou_keys()
    extra = slate_only()
    unknown = sorted(r.key for r in ROUTES if r.key not in known and r.key not in extra)
    assert unknown == [], (
        "not in docs/reference/zou-routes.tsv: fix the path to Zou's, or declare it in the route "
        "module's SLATE_ONLY = {(method, path): reason}"
    )


def test_slate_only_declarations_are_not_zou_routes():
    assert sorted(set(slate_only()) & zou_keys()) == []


def test_not_served_entries_are_zou_routes_that_are_not_served():
    served = {r.key for r in ROUTES}
    known = zou_keys()
    assert sorted(k for k in not_served() if k not in known) == []
    assert sorted(k for k in not_served() if k in served) == []


def test_route_fields_are_well_formed():
    bad = []
    for r in ROUTES:
        if r.method not in {"GET", "POST", "PUT", "DELETE", "PATCH"}:
            bad.append(f"{r.key}: method")
        if not r.path.startswith("/") or r.path.startswith("/api/"):
            bad.append(f"{r.key}: paths are Zou's, without /api")
        if r.body not in (None, "object", "list"):
            bad.append(f"{r.key}: body")
        if r.token not in ("access", "refresh"):
            bad.append(f"{r.key}: token")
        if r.roles != "public" and (not r.roles or not set(r.roles) <= {"admin", "manager", "supervisor", "user", "client", "vendor"}):
            bad.append(f"{r.key}: roles {r.roles}")
        if not (100 <= r.status < 400):
            bad.append(f"{r.key}: status")
    assert bad == []


def test_the_rule_catches_a_method_that_does_not_exist():
    from nameko.rpc import rpc
    from slate_gateway.routes import Route

    class Fake:
        name = "fake"

        @rpc
        def get_thing(self, thing_id, query=None, body=None):
            return None

        def not_rpc(self, query=None, body=None):
            return None

        @rpc
        def no_query(self, thing_id):
            return None

    assert rpc_problems(Fake, Route("GET", "/data/things/<thing_id>", "fake", "get_thing")) == []
    assert rpc_problems(Fake, Route("GET", "/data/things", "fake", "nope"))
    assert rpc_problems(Fake, Route("GET", "/data/things", "fake", "not_rpc"))
    assert rpc_problems(Fake, Route("GET", "/data/things/<thing_id>", "fake", "no_query"))
    assert rpc_problems(Fake, Route("GET", "/data/things", "fake", "get_thing"))  # thing_id never sent
