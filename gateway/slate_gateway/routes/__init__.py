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
    idempotent: bool = False  # pass the Idempotency-Key header as ``idempotency_key``

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


def route_modules() -> list:
    """Every module of this package: ``gateway`` and ``auth`` first, then the
    others in name order. A module appears as soon as its file exists, so an
    owner adds routes without touching this file."""
    import importlib
    import pkgutil

    names = sorted(m.name for m in pkgutil.iter_modules(__path__) if not m.name.startswith("_"))
    names.sort(key=lambda n: (n not in ("gateway", "auth"), n != "gateway", n))
    return [importlib.import_module(f"{__name__}.{name}") for name in names]


def all_routes() -> list[Route]:
    routes: list[Route] = []
    for module in route_modules():
        routes.extend(getattr(module, "ROUTES", []))
    return routes


# Zou routes deliberately not served, with the reason (shown in zou-compat.md).
NOT_SERVED: dict[tuple[str, str], str] = {}


def not_served() -> dict[tuple[str, str], str]:
    out = dict(NOT_SERVED)
    for module in route_modules():
        out.update(getattr(module, "NOT_SERVED", {}))
    return out


# Routes Slate serves that Zou has not, on purpose (the contract tests accept
# them; every other path must be one of Zou's).
SLATE_ONLY: dict[tuple[str, str], str] = {
    ("GET", "/metrics"): "Prometheus metrics of the gateway.",
    # Outbound webhooks (DESIGN.md section 5), served by the events service.
    # Declared here until routes/events.py declares its own SLATE_ONLY.
    **{
        key: "Outbound webhooks per project (DESIGN.md section 5): Zou has none."
        for key in (
            ("GET", "/data/projects/<project_id>/webhooks"),
            ("POST", "/data/projects/<project_id>/webhooks"),
            ("GET", "/data/webhooks/<webhook_id>"),
            ("PUT", "/data/webhooks/<webhook_id>"),
            ("DELETE", "/data/webhooks/<webhook_id>"),
            ("GET", "/data/webhooks/<webhook_id>/deliveries"),
            ("POST", "/actions/webhooks/<webhook_id>/deliveries/<delivery_id>/redeliver"),
        )
    },
}


def slate_only() -> dict[tuple[str, str], str]:
    out = dict(SLATE_ONLY)
    for module in route_modules():
        out.update(getattr(module, "SLATE_ONLY", {}))
    return out
