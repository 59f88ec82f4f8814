"""Service-to-service RPC as a nameko dependency, with a timeout.

nameko's in-service ``RpcProxy`` has no timeout; a call to a stopped service
would block its worker forever. This one carries the caller's context along.
"""

from __future__ import annotations

from nameko.extensions import DependencyProvider

from .rpc_client import RpcPool


class _Handle:
    def __init__(self, pool: RpcPool, data: dict):
        self._pool = pool
        self._ctx = {k: data.get(k) for k in ("user_id", "role", "jti", "trace_id", "is_bot", "departments")}

    def call(self, service: str, method: str, timeout: float | None = None, **kwargs):
        return self._pool.call(service, method, kwargs, self._ctx, timeout)


class ServiceRpc(DependencyProvider):
    def setup(self):
        self.pool = RpcPool(self.container.config.get("AMQP_URI"))

    def stop(self):
        self.pool.close()

    def get_dependency(self, worker_ctx):
        return _Handle(self.pool, worker_ctx.data or {})
