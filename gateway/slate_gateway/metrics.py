"""Prometheus metrics of the gateway (``GET /metrics``).

Requests by route template and status, their latency, RPC latency per
service, and RPC timeouts (504) and unavailable services (503).

gunicorn runs several worker processes; a scrape lands on one of them. When
``PROMETHEUS_MULTIPROC_DIR`` is set (``gunicorn.conf.py`` sets it to a fresh
directory under ``SLATE_RUN_DIR`` unless given), every worker writes its
samples there and ``/metrics`` aggregates them (prometheus-client's
multiprocess mode); without it the figures are per worker.
"""

from __future__ import annotations

import os
import time

from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Histogram, generate_latest

_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30)

REQUESTS = Counter(
    "slate_gateway_requests_total", "HTTP requests by method, route template and status",
    ["method", "route", "status"],
)
LATENCY = Histogram(
    "slate_gateway_request_seconds", "HTTP request latency by route template",
    ["method", "route"], buckets=_BUCKETS,
)
RPC_LATENCY = Histogram(
    "slate_gateway_rpc_seconds", "RPC latency by target service", ["service"], buckets=_BUCKETS,
)
RPC_FAILURES = Counter(
    "slate_gateway_rpc_failures_total", "RPCs that timed out (504) or found no service (503)",
    ["service", "reason"],
)


def observe_request(method: str, route: str, status: int, seconds: float) -> None:
    REQUESTS.labels(method, route, str(status)).inc()
    LATENCY.labels(method, route).observe(seconds)


def observe_rpc(service: str, seconds: float) -> None:
    RPC_LATENCY.labels(service).observe(seconds)


def observe_rpc_failure(service: str, status: int) -> None:
    RPC_FAILURES.labels(service, "timeout" if status == 504 else "unavailable").inc()


class MeteredRpc:
    """Wraps the gateway's ``RpcPool``: every call, from the route table or a
    handler, is timed per service and its 503/504 failures counted."""

    def __init__(self, pool):
        self.pool = pool

    def call(self, service, method, kwargs=None, context=None, timeout=None):
        from slatekit.rpc_client import RpcTimeout, ServiceUnavailable

        started = time.perf_counter()
        try:
            return self.pool.call(service, method, kwargs, context, timeout)
        except (RpcTimeout, ServiceUnavailable) as exc:
            observe_rpc_failure(service, exc.status)
            raise
        finally:
            observe_rpc(service, time.perf_counter() - started)

    def __getattr__(self, name):
        return getattr(self.pool, name)


def render() -> tuple[bytes, str]:
    """The exposition text: all workers' samples in multiprocess mode."""
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        from prometheus_client import multiprocess

        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)
        return generate_latest(registry), CONTENT_TYPE_LATEST
    from prometheus_client import REGISTRY

    return generate_latest(REGISTRY), CONTENT_TYPE_LATEST
