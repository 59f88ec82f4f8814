"""A small RPC client speaking nameko's wire protocol, with a timeout.

Why not nameko's ``ClusterRpcProxy``: its calls carry no AMQP ``expiration``,
so a request that timed out at the caller still runs when the service comes
back. Here every request is published with ``expiration`` = timeout, and
``mandatory`` so a service that never declared its queue answers at once.
A service whose queue has no consumer is reported as unavailable (503)
without waiting for the timeout; a silent one times out (504).

One ``RpcClient`` holds one connection and one reply queue and is not
thread-safe: ``RpcPool`` lends one per caller (thread or greenthread).
"""

from __future__ import annotations

import json
import logging
import threading
import time
import uuid
from typing import Any

from kombu import Connection, Consumer, Exchange, Producer, Queue

from . import config, errors

log = logging.getLogger(__name__)

RPC_EXCHANGE = Exchange("nameko-rpc", type="topic", durable=True)


class RpcTimeout(errors.SlateError):
    status = 504


class ServiceUnavailable(errors.Unavailable):
    status = 503


class RemoteError(Exception):
    """An unexpected exception in the remote service (→ 500, never shown)."""

    def __init__(self, exc_type: str, message: str):
        super().__init__(f"{exc_type}: {message}")
        self.exc_type = exc_type
        self.remote_message = message


class RpcClient:
    def __init__(self, amqp_uri: str | None = None):
        self.amqp_uri = amqp_uri or config.amqp_uri()
        self.reply_key = f"slate-client-{uuid.uuid4()}"
        self.conn = Connection(self.amqp_uri, heartbeat=0, connect_timeout=5)
        self.conn.ensure_connection(max_retries=1)
        self.channel = self.conn.channel()
        self.replies: dict[str, dict] = {}
        self._returned: set[str] = set()
        RPC_EXCHANGE.declare(channel=self.channel)
        self.reply_queue = Queue(
            f"rpc.reply-{self.reply_key}",
            exchange=RPC_EXCHANGE,
            routing_key=self.reply_key,
            exclusive=True,
            auto_delete=True,
            queue_arguments={"x-expires": 300000},
        )
        self.consumer = Consumer(
            self.channel, queues=[self.reply_queue], callbacks=[self._on_reply], no_ack=True,
            accept=["json"],
        )
        self.consumer.consume()
        self.producer = Producer(self.channel, exchange=RPC_EXCHANGE, on_return=self._on_return)
        self._consumers_checked: dict[str, float] = {}
        self.broken = False

    def _on_reply(self, body, message):
        corr = message.properties.get("correlation_id")
        if corr:
            self.replies[corr] = body if isinstance(body, dict) else json.loads(body)

    def _on_return(self, exception, exchange, routing_key, message):
        corr = message.properties.get("correlation_id")
        if corr:
            self._returned.add(corr)

    def _check_consumers(self, service: str) -> None:
        """Fail fast when nobody consumes the service's queue (checked every 2 s)."""
        now = time.monotonic()
        if now - self._consumers_checked.get(service, 0) < 2:
            return
        try:
            ok = self.channel.queue_declare(queue=f"rpc-{service}", passive=True)
        except Exception:  # noqa: BLE001 - the queue does not exist: no service ever ran
            self.broken = True  # a passive declare failure closes the channel
            raise ServiceUnavailable(f"Service {service} is unavailable") from None
        if ok.consumer_count == 0:
            raise ServiceUnavailable(f"Service {service} is unavailable")
        self._consumers_checked[service] = now

    def call(
        self,
        service: str,
        method: str,
        kwargs: dict | None = None,
        context: dict | None = None,
        timeout: float | None = None,
        deadline: float | None = None,
    ) -> Any:
        """Call ``service.method``. The whole call (consumer check, publish,
        wait) fits in ``timeout`` seconds, or before ``deadline`` (a
        ``time.monotonic()`` value) when given, e.g. one budget shared by the
        several calls of an HTTP request."""
        timeout = timeout or float(config.get("RPC_TIMEOUT") or 10)
        deadline = deadline if deadline is not None else time.monotonic() + timeout
        self._check_consumers(service)
        remaining = deadline - time.monotonic()
        if remaining <= 0.05:
            raise RpcTimeout(f"Service {service} did not answer in {timeout:g} s")
        corr = str(uuid.uuid4())
        headers = {f"nameko.{k}": v for k, v in (context or {}).items() if v is not None}
        headers["nameko.call_id_stack"] = [f"gateway.{service}.{method}.{corr}"]
        try:
            self.producer.publish(
                {"args": [], "kwargs": kwargs or {}},
                serializer="json",
                routing_key=f"{service}.{method}",
                mandatory=True,
                reply_to=self.reply_key,
                correlation_id=corr,
                headers=headers,
                expiration=remaining,  # never runs after the caller gave up
                delivery_mode=1,
            )
        except Exception as exc:  # noqa: BLE001
            self.broken = True
            raise ServiceUnavailable(f"Broker unavailable: {type(exc).__name__}") from exc
        while corr not in self.replies:
            if corr in self._returned:
                self._returned.discard(corr)
                raise ServiceUnavailable(f"Service {service} is unavailable")
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise RpcTimeout(f"Service {service} did not answer in {timeout:g} s")
            try:
                self.conn.drain_events(timeout=min(remaining, 1.0))
            except TimeoutError:
                continue
            except Exception as exc:  # noqa: BLE001
                self.broken = True
                raise ServiceUnavailable(f"Broker connection lost: {type(exc).__name__}") from exc
        reply = self.replies.pop(corr)
        error = reply.get("error")
        if error:
            exc_type = error.get("exc_type") or "Exception"
            message = error.get("value") or ""
            args = error.get("exc_args") or []
            extra = None
            if args and isinstance(args[0], str):
                message = args[0]
            if len(args) > 1 and isinstance(args[1], (dict, str)):
                extra = args[1]
            known = errors.from_remote(exc_type, message, extra)
            if known is not None:
                raise known
            raise RemoteError(exc_type, message)
        return reply.get("result")

    def close(self):
        try:
            self.conn.release()
        except Exception:  # noqa: BLE001
            pass


class RpcPool:
    """Lends ``RpcClient``s; a broken client is dropped, not returned."""

    def __init__(self, amqp_uri: str | None = None, max_idle: int = 64):
        self.amqp_uri = amqp_uri
        self._idle: list[RpcClient] = []
        self._lock = threading.Lock()
        self.max_idle = max_idle

    def _get(self) -> RpcClient:
        with self._lock:
            if self._idle:
                return self._idle.pop()
        try:
            return RpcClient(self.amqp_uri)
        except Exception as exc:  # noqa: BLE001
            raise ServiceUnavailable(f"Broker unavailable: {type(exc).__name__}") from exc

    def _put(self, client: RpcClient) -> None:
        if client.broken:
            client.close()
            return
        with self._lock:
            if len(self._idle) < self.max_idle:
                self._idle.append(client)
                return
        client.close()

    def call(self, service, method, kwargs=None, context=None, timeout=None, deadline=None):
        # The budget starts now: opening a fresh client (after an outage every
        # pooled one was dropped) counts against it.
        timeout = timeout or float(config.get("RPC_TIMEOUT") or 10)
        if deadline is None:
            deadline = time.monotonic() + timeout
        client = self._get()
        try:
            return client.call(service, method, kwargs, context, timeout, deadline=deadline)
        except (RpcTimeout, ServiceUnavailable):
            # Late replies would land in this client's queue: start afresh.
            client.broken = True
            raise
        finally:
            self._put(client)

    def close(self):
        with self._lock:
            idle, self._idle = self._idle, []
        for c in idle:
            c.close()
