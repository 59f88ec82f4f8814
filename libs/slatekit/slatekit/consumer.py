"""``@subscribe``: an event-handler entrypoint that never loses an event.

nameko's ``@event_handler`` acks a failed handler's message (the event is
lost) or, with ``requeue_on_error``, redelivers it in a hot loop. Here a failed
delivery is republished (with publisher confirms) to a retry queue whose
messages expire back into the handler's queue after a growing delay; after
``EVENT_RETRY_LIMIT`` attempts it is parked in a dead-letter queue. Transient
failures (database or a neighbour unavailable, RPC timeout) are retried at
the same capped backoff without counting toward that limit. The
original is acked only after the copy is confirmed, so a crash at any point
redelivers rather than drops. Handlers must be idempotent: they call
``store.claim(session, event)`` in their transaction (the inbox).

Queues (durable, declared at start so no event published later is dropped):
``slate.<service>.<method>`` bound to ``slate.events`` by each event name,
``….retry`` and ``….dead``.
"""

from __future__ import annotations

import json
import logging
from functools import partial

from kombu import Connection, Queue, binding
from nameko.amqp.publish import Publisher as AmqpPublisher
from nameko.exceptions import ContainerBeingKilled
from nameko.messaging import Consumer

from . import config, errors
from .events import DEAD_EXCHANGE, EVENTS_EXCHANGE, RETRY_EXCHANGE

log = logging.getLogger(__name__)

ATTEMPT_HEADER = "x-slate-attempt"
TRANSIENT_HEADER = "x-slate-transient"


def is_transient(exc: BaseException) -> bool:
    """Failures of the infrastructure rather than of the event: the database
    or another service unavailable, an RPC timeout."""
    from .rpc_client import RpcTimeout
    from .store import db_unavailable

    return isinstance(exc, (errors.Unavailable, RpcTimeout)) or db_unavailable(exc)


def queue_names(service: str, method: str) -> tuple[str, str, str]:
    base = f"slate.{service}.{method}"
    return base, f"{base}.retry", f"{base}.dead"


def declare_topology(conn: Connection, service: str, method: str, event_names: list[str]) -> Queue:
    """Declare the main, retry and dead-letter queues of one handler."""
    main, retry, dead = queue_names(service, method)
    channel = conn.default_channel
    for ex in (EVENTS_EXCHANGE, RETRY_EXCHANGE, DEAD_EXCHANGE):
        ex.declare(channel=channel)
    keys = event_names or ["#"]
    main_q = Queue(
        main,
        bindings=[binding(EVENTS_EXCHANGE, routing_key=k) for k in keys],
        durable=True,
    )
    main_q(channel).declare()
    # Messages wait here for their per-message expiration, then dead-letter
    # back into the main queue through the default exchange.
    Queue(
        retry,
        exchange=RETRY_EXCHANGE,
        routing_key=retry,
        durable=True,
        queue_arguments={"x-dead-letter-exchange": "", "x-dead-letter-routing-key": main},
    )(channel).declare()
    Queue(dead, exchange=DEAD_EXCHANGE, routing_key=dead, durable=True)(channel).declare()
    return main_q


class Subscriber(Consumer):
    """Consume named events from ``slate.events`` with bounded retries."""

    def __init__(self, *event_names: str, **kwargs):
        self.event_names = list(event_names)
        # An unavailable dependency is retried (see is_transient): nameko logs
        # it as a warning, not as a crash with a traceback.
        kwargs.setdefault("expected_exceptions", (errors.Unavailable,))
        super().__init__(queue=None, **kwargs)

    def setup(self):
        service = self.container.service_name
        uri = self.container.config.get("AMQP_URI") or config.amqp_uri()
        self.main_name, self.retry_name, self.dead_name = queue_names(service, self.method_name)
        with Connection(uri) as conn:
            self.queue = declare_topology(conn, service, self.method_name, self.event_names)
        self.publisher = AmqpPublisher(uri, use_confirms=True, delivery_mode=2)
        self.retry_limit = config.get_int("EVENT_RETRY_LIMIT") or 5
        self.retry_delay_ms = config.get_int("EVENT_RETRY_DELAY_MS") or 1000
        super().setup()

    def handle_message(self, body, message):
        if isinstance(body, (bytes, str)):
            try:
                body = json.loads(body)
            except ValueError:
                body = {"raw": body if isinstance(body, str) else body.decode("utf-8", "replace")}
        context_data = {
            "user_id": body.get("actor_id") if isinstance(body, dict) else None,
            "trace_id": body.get("trace_id") if isinstance(body, dict) else None,
            "event_id": body.get("event_id") if isinstance(body, dict) else None,
        }
        handle_result = partial(self.handle_result, message, body)
        try:
            self.container.spawn_worker(
                self, (body,), {}, context_data=context_data, handle_result=handle_result
            )
        except ContainerBeingKilled:
            self.queue_consumer.requeue_message(message)

    def handle_result(self, message, body, worker_ctx, result=None, exc_info=None):
        attempt = int((message.headers or {}).get(ATTEMPT_HEADER, 1))
        name = body.get("name") if isinstance(body, dict) else None
        extra = {
            "event_name": name,
            "event_id": worker_ctx.data.get("event_id"),
            "trace_id": worker_ctx.data.get("trace_id"),
            "entrypoint": f"{self.container.service_name}.{self.method_name}",
            "attempt": attempt,
            "queue": self.main_name,
        }
        if exc_info is None:
            self.queue_consumer.ack_message(message)
            log.info("event handled", extra=extra)
            return result, exc_info
        try:
            if is_transient(exc_info[1]):
                # The database or a neighbour is down, not the event: retry at
                # the capped backoff without spending the attempt budget, so an
                # outage longer than the retries never fills the dead-letter queue.
                transient = int((message.headers or {}).get(TRANSIENT_HEADER, 0)) + 1
                delay = self.retry_delay_ms * (2 ** min(transient - 1, self.retry_limit - 1))
                log.warning(
                    "event handler met a transient failure (%s), retrying in %s ms: %r",
                    transient,
                    delay,
                    exc_info[1],
                    extra=extra,
                )
                self._republish(body, message, RETRY_EXCHANGE, self.retry_name, attempt, delay,
                                transient=transient)
            elif attempt >= self.retry_limit:
                log.error(
                    "event parked in %s after %s attempts: %r",
                    self.dead_name,
                    attempt,
                    exc_info[1],
                    extra=extra,
                )
                self._republish(body, message, DEAD_EXCHANGE, self.dead_name, attempt, None)
            else:
                delay = self.retry_delay_ms * (2 ** (attempt - 1))
                log.warning(
                    "event handler failed (attempt %s), retrying in %s ms: %r",
                    attempt,
                    delay,
                    exc_info[1],
                    extra=extra,
                )
                self._republish(body, message, RETRY_EXCHANGE, self.retry_name, attempt + 1, delay)
        except Exception:  # noqa: BLE001 - could not park it: let the broker redeliver
            log.exception("could not republish a failed event; requeueing")
            self.queue_consumer.requeue_message(message)
            return result, exc_info
        self.queue_consumer.ack_message(message)
        return result, exc_info

    def _republish(self, body, message, exchange, routing_key, attempt, delay_ms, transient=None):
        headers = dict(message.headers or {})
        headers[ATTEMPT_HEADER] = attempt
        if transient is not None:
            headers[TRANSIENT_HEADER] = transient
        props = message.properties or {}
        kwargs = {}
        if delay_ms is not None:
            kwargs["expiration"] = delay_ms / 1000.0
        self.publisher.publish(
            body,
            exchange=exchange,
            routing_key=routing_key,
            headers=headers,
            serializer="json",
            message_id=props.get("message_id"),
            type=props.get("type"),
            **kwargs,
        )


subscribe = Subscriber.decorator
