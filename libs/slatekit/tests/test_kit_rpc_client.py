"""The RPC client on the real broker: timeouts, expired requests that never
run later (F8), fast 503 with no consumer, errors rebuilt from the remote
side, and the caller's context reaching the service."""

from __future__ import annotations

import collections
import time

import eventlet
import pytest
from nameko.extensions import DependencyProvider
from nameko.rpc import rpc
from slatekit.errors import SLATE_ERRORS, Forbidden, NotFound
from slatekit.rpc_client import RemoteError, RpcPool, RpcTimeout, ServiceUnavailable
from slatekit.service_rpc import ServiceRpc
from slatekit.testing import wait_until

pytestmark = pytest.mark.interface

STARTED: collections.Counter = collections.Counter()
DONE: collections.Counter = collections.Counter()


class ContextData(DependencyProvider):
    def get_dependency(self, worker_ctx):
        return dict(worker_ctx.data or {})


class EchoService:
    name = "kt_echo"
    context = ContextData()

    @rpc(expected_exceptions=SLATE_ERRORS)
    def ping(self):
        return True

    @rpc(expected_exceptions=SLATE_ERRORS)
    def effect(self, tag, seconds=0.0):
        """A side effect counted at start and at the end."""
        STARTED[tag] += 1
        eventlet.sleep(seconds)
        DONE[tag] += 1
        return tag

    @rpc(expected_exceptions=SLATE_ERRORS)
    def fail(self, kind):
        if kind == "not-found":
            raise NotFound("Widget 42 not found", {"widget_id": "42", "login": False, "data": None, "n": 3})
        if kind == "forbidden":
            raise Forbidden("Managers only")
        raise KeyError("internal detail")

    @rpc(expected_exceptions=SLATE_ERRORS)
    def whoami(self):
        return {k: self.context.get(k) for k in ("user_id", "role", "trace_id", "departments")}


class FrontService:
    name = "kt_front"
    peers = ServiceRpc()

    @rpc(expected_exceptions=SLATE_ERRORS)
    def relay_whoami(self):
        return self.peers.call("kt_echo", "whoami", timeout=5)


@pytest.fixture(autouse=True)
def _counters():
    STARTED.clear()
    DONE.clear()


def test_silent_service_times_out_within_timeout_plus_one_second(run_service, rpc):
    run_service(EchoService)
    started = time.monotonic()
    with pytest.raises(RpcTimeout):
        rpc.call("kt_echo", "effect", {"tag": "slow", "seconds": 3}, timeout=1)
    assert time.monotonic() - started < 2.0
    assert rpc.call("kt_echo", "ping", timeout=5) is True  # the pool recovers


def test_request_in_flight_when_the_service_dies_never_runs_after_it_timed_out(run_service, rpc, slate_env):
    """F8: a request the caller gave up on must not execute on restart."""
    container = run_service(EchoService)
    outcome = {}

    def call():
        try:
            rpc.call("kt_echo", "effect", {"tag": "in-flight", "seconds": 5}, timeout=1)
        except Exception as exc:  # noqa: BLE001
            outcome["exc"] = exc

    gt = eventlet.spawn(call)
    wait_until(lambda: STARTED["in-flight"] == 1, timeout=5, what="request started")
    container.kill()  # like SIGKILL: the unacked request goes back to the queue
    gt.wait()
    assert isinstance(outcome.get("exc"), RpcTimeout)

    run_service(EchoService)
    pool = RpcPool(slate_env["AMQP_URI"])
    try:
        assert pool.call("kt_echo", "ping", timeout=5) is True
        # The requeued request sat ahead of this ping: had it not expired it
        # would have started before the ping was answered.
        eventlet.sleep(0.3)
    finally:
        pool.close()
    assert STARTED["in-flight"] == 1
    assert DONE["in-flight"] == 0


def test_request_queued_while_the_service_is_stopped_never_runs_later(run_service, slate_env):
    """The service dies right after the client's consumer check: the request
    is queued with nobody to take it, times out, and is dropped by the broker."""
    from slatekit.rpc_client import RpcClient

    container = run_service(EchoService)
    client = RpcClient(slate_env["AMQP_URI"])
    try:
        assert client.call("kt_echo", "ping", timeout=5) is True
        container.stop()
        client._consumers_checked["kt_echo"] = time.monotonic() + 3600  # as if checked just before
        started = time.monotonic()
        with pytest.raises(RpcTimeout):
            client.call("kt_echo", "effect", {"tag": "queued"}, timeout=1)
        assert time.monotonic() - started < 2.0
    finally:
        client.close()
    run_service(EchoService)
    pool = RpcPool(slate_env["AMQP_URI"])
    try:
        assert pool.call("kt_echo", "ping", timeout=5) is True
        eventlet.sleep(0.3)
    finally:
        pool.close()
    assert STARTED["queued"] == 0


def test_no_consumer_is_service_unavailable_at_once(run_service, slate_env):
    pool = RpcPool(slate_env["AMQP_URI"])
    try:
        started = time.monotonic()
        with pytest.raises(ServiceUnavailable):
            pool.call("kt_never_deployed", "ping", timeout=10)
        assert time.monotonic() - started < 1.0

        container = run_service(EchoService)
        assert pool.call("kt_echo", "ping", timeout=5) is True
        container.stop()
    finally:
        pool.close()
    fresh = RpcPool(slate_env["AMQP_URI"])
    try:
        started = time.monotonic()
        with pytest.raises(ServiceUnavailable):
            fresh.call("kt_echo", "ping", timeout=10)  # queue exists, nobody consumes it
        assert time.monotonic() - started < 1.0
    finally:
        fresh.close()


def test_remote_errors_are_rebuilt_with_message_and_extra(run_service, rpc):
    run_service(EchoService)
    with pytest.raises(NotFound) as err:
        rpc.call("kt_echo", "fail", {"kind": "not-found"}, timeout=5)
    assert err.value.message == "Widget 42 not found"
    # JSON types survive the trip (nameko alone would send "False", "None").
    assert err.value.extra == {"widget_id": "42", "login": False, "data": None, "n": 3}
    assert err.value.status == 404
    with pytest.raises(Forbidden) as err:
        rpc.call("kt_echo", "fail", {"kind": "forbidden"}, timeout=5)
    assert err.value.message == "Managers only" and err.value.extra == {}
    with pytest.raises(RemoteError) as err:
        rpc.call("kt_echo", "fail", {"kind": "crash"}, timeout=5)
    assert err.value.exc_type == "KeyError"
    assert not isinstance(err.value, NotFound)


def test_caller_context_reaches_the_service_and_the_next_hop(run_service, rpc):
    run_service(EchoService)
    run_service(FrontService)
    ctx = {"user_id": "u-1", "role": "manager", "trace_id": "t-1", "departments": ["d-1"]}
    assert rpc.call("kt_echo", "whoami", {}, ctx, timeout=5) == ctx
    assert rpc.call("kt_front", "relay_whoami", {}, ctx, timeout=10) == ctx


def test_a_shared_deadline_bounds_several_calls(run_service, rpc):
    """One budget for a request's calls: the second call gets what is left."""
    run_service(EchoService)
    deadline = time.monotonic() + 1.5
    started = time.monotonic()
    assert rpc.call("kt_echo", "effect", {"tag": "first", "seconds": 0.8}, timeout=10, deadline=deadline) == "first"
    with pytest.raises(RpcTimeout):
        rpc.call("kt_echo", "effect", {"tag": "second", "seconds": 3}, timeout=10, deadline=deadline)
    assert time.monotonic() - started < 2.0
