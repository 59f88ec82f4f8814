"""At-most-once RPC: a request is acked when its worker starts, not when it ends.

nameko acks an RPC request after the reply is sent. If the service dies after
its transaction committed but before that ack, the broker redelivers the
request to the next replica and it runs a second time (a second comment, a
second status change). Slate's callers already get 504 when a service does
not answer in time and retry with an Idempotency-Key where repetition
matters, so the right contract for a request is "at most once": ack it as
its worker starts. A crash mid-request then loses the request (the caller
sees 504), never runs it twice; requests still queued while no replica runs
expire with their AMQP ``expiration``.

``install()`` patches nameko's ``Rpc`` entrypoint; ``slatekit.run`` and the
test plugin call it before any service starts. Event handlers keep their
at-least-once delivery (``slatekit.consumer``) with inbox dedup.
"""

from __future__ import annotations

from nameko.messaging import QueueConsumer
from nameko.rpc import Rpc

_installed = False


def install() -> None:
    global _installed
    if _installed:
        return
    original_handle = Rpc.handle_message
    original_ack = QueueConsumer.ack_message
    original_requeue = QueueConsumer.requeue_message

    def handle_message(self, body, message):
        # Validate first (a malformed request is answered and acked as before).
        if isinstance(body, dict) and "args" in body and "kwargs" in body:
            self.rpc_consumer.queue_consumer.ack_message(message)
        return original_handle(self, body, message)

    def ack_message(self, message):
        if getattr(message, "acknowledged", False):
            return  # acked when its worker started
        return original_ack(self, message)

    def requeue_message(self, message):
        if getattr(message, "acknowledged", False):
            return  # at most once: an acked request is not run again
        return original_requeue(self, message)

    Rpc.handle_message = handle_message
    QueueConsumer.ack_message = ack_message
    QueueConsumer.requeue_message = requeue_message
    _installed = True
