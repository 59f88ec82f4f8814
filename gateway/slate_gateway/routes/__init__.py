"""The route table: data, not code. One module per owning service.

Each ``Route`` says: HTTP method and Zou path, the owning service and its
RPC method, the roles allowed (coarse check; owners check the fine-grained
rules on their data), extra fixed arguments, and the success status.
``ALL_ROUTES`` is compiled into a werkzeug ``Map`` served both at ``/`` and
under ``/api``; ``/openapi.json`` and ``docs/specs/zou-compat.md`` are
generated from it, and a contract test checks every entry names an existing
RPC method.
"""

from __future__ import annotations

from dataclasses import dataclass, field

PUBLIC = "public"  # no token needed
ANY = ("admin", "manager", "supervisor", "user", "client", "vendor")
STAFF = ("admin", "manager", "supervisor", "user")
MANAGERS = ("admin", "manager")
SUPERVISORS = ("admin", "manager", "supervisor")
ADMIN = ("admin",)


@dataclass(frozen=True)
class Route:
    method: str
    path: str
    service: str
    rpc: str
    roles: tuple | str = ANY
    fixed: dict = field(default_factory=dict)
    status: int = 200
    handler: str | None = None  # a gateway function instead of a plain RPC
    summary: str = ""
    body: str | None = None  # "object" | "list" | None: the JSON the route expects
    token: str = "access"  # which token the route takes: access or refresh

    @property
    def key(self) -> tuple[str, str]:
        return (self.method, self.path)


def crud(model: str, service: str, read=ANY, write=ADMIN, name: str | None = None) -> list[Route]:
    """Zou's generic ``/data/<model>`` routes for one model."""
    base = f"/data/{model}"
    label = name or model
    fixed = {"model": model}
    return [
        Route("GET", base, service, "crud_list", read, fixed, summary=f"List {label} (Zou filters, paging)"),
        Route("POST", base, service, "crud_create", write, fixed, 201, summary=f"Create a {label} row", body="object"),
        Route("GET", base + "/<instance_id>", service, "crud_get", read, fixed, summary=f"Get a {label} row"),
        Route("PUT", base + "/<instance_id>", service, "crud_update", ANY if write == "self" else write, fixed,
              summary=f"Update a {label} row", body="object"),
        Route("DELETE", base + "/<instance_id>", service, "crud_delete", write, fixed, 204,
              summary=f"Delete a {label} row"),
    ]


def all_routes() -> list[Route]:
    from . import auth, gateway

    routes: list[Route] = []
    for module in (gateway, auth):
        routes.extend(module.ROUTES)
    for extra in ("assets", "tasks", "files", "previews", "imports", "events", "notifications"):
        try:
            module = __import__(f"{__name__}.{extra}", fromlist=["ROUTES"])
        except ModuleNotFoundError:
            continue
        routes.extend(module.ROUTES)
    return routes


# Zou routes deliberately not served, with the reason (shown in zou-compat.md).
NOT_SERVED: dict[tuple[str, str], str] = {}


def not_served() -> dict[tuple[str, str], str]:
    from . import auth, gateway

    out = dict(NOT_SERVED)
    for module in (gateway, auth):
        out.update(getattr(module, "NOT_SERVED", {}))
    for extra in ("assets", "tasks", "files", "previews", "imports", "events", "notifications"):
        try:
            module = __import__(f"{__name__}.{extra}", fromlist=["NOT_SERVED"])
        except ModuleNotFoundError:
            continue
        out.update(getattr(module, "NOT_SERVED", {}))
    return out
