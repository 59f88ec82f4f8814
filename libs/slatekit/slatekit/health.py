"""Liveness and readiness for a nameko service, on its own HTTP port.

``/healthz`` answers while the process and its event loop run (never checks
dependencies); ``/readyz`` checks the database and the broker and turns false
as soon as the container is stopping.
"""

from __future__ import annotations

import json

from kombu import Connection
from nameko.rpc import rpc
from nameko.web.handlers import http
from sqlalchemy import text

from . import config, db


class HealthMixin:
    """Mix into a service class: adds ``/healthz``, ``/readyz`` and the
    ``ping`` RPC (the gateway's ``/status`` and the test suite wait on it).
    The service must have a ``store`` (``slatekit.store.Store``)."""

    name: str

    @rpc
    def ping(self):
        """Readiness through RPC: the service answers and its database too."""
        with self.store.session() as s:
            s.execute(text("SELECT 1"))
        return True

    @http("GET", "/healthz")
    def healthz(self, request):
        return 200, {"Content-Type": "application/json"}, json.dumps({"status": "ok", "service": self.name})

    @http("GET", "/readyz")
    def readyz(self, request):
        checks = {}
        try:
            with db.engine_for(self.name).connect() as conn:
                conn.execute(text("SELECT 1"))
            checks["database"] = True
        except Exception:  # noqa: BLE001
            checks["database"] = False
        try:
            with Connection(config.amqp_uri(), connect_timeout=2) as conn:
                conn.ensure_connection(max_retries=1)
            checks["broker"] = True
        except Exception:  # noqa: BLE001
            checks["broker"] = False
        ok = all(checks.values())
        body = json.dumps({"ready": ok, "service": self.name, "checks": checks})
        return (200 if ok else 503), {"Content-Type": "application/json"}, body
