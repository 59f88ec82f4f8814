"""Transactions, the outbox and the inbox, as one nameko dependency.

``Store`` gives a service's workers a SQLAlchemy session (``store.begin()``)
and ``store.emit(session, name, data)``, which writes the event to the
service's ``outbox`` table in the same transaction as the change, plus a
``NOTIFY outbox_<service>`` that PostgreSQL delivers only if that transaction
commits. ``OutboxRelay`` publishes unpublished rows (a batch, then one wait
for the broker's confirms) and marks them sent. It wakes at the end of a
worker of its own process, on the NOTIFY (so any replica or process that
commits outbox rows wakes the relays at once), and polls every
``OUTBOX_POLL_SECONDS`` in case a notification is missed: a crash between
commit and publish only delays the event. A rolled-back change leaves no
outbox row and no notification, so nothing is published.

``store.claim(session, event)`` records an event id in the ``inbox`` table of
the consuming service in the handler's own transaction: a redelivered event
finds its id taken and is skipped, so handlers stay idempotent.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import os
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager

import eventlet
from eventlet.event import Event
from kombu import Connection, Producer
from nameko.extensions import DependencyProvider, SharedExtension
from sqlalchemy import (
    BigInteger,
    Column,
    DateTime,
    Identity,
    MetaData,
    String,
    Table,
    delete,
    func,
    insert,
    select,
    text,
    update,
)
from sqlalchemy.dialects.postgresql import JSONB, UUID
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError
from sqlalchemy.orm import Session, sessionmaker

from . import config, db
from .errors import Unavailable
from .events import EVENTS_EXCHANGE, envelope, utcnow

log = logging.getLogger(__name__)


def outbox_tables(metadata: MetaData) -> tuple[Table, Table]:
    """Declare the outbox and inbox tables on a service's metadata.

    Idempotent: a second call returns the tables already declared (Store and
    the relay call it again at setup; redeclaring with ``extend_existing``
    would add a second ``ix_outbox_published_at`` index to the metadata).
    """
    if "outbox" in metadata.tables and "inbox" in metadata.tables:
        return metadata.tables["outbox"], metadata.tables["inbox"]
    outbox = Table(
        "outbox",
        metadata,
        Column("id", BigInteger, Identity(), primary_key=True),
        Column("event_id", UUID(as_uuid=False), nullable=False, unique=True),
        Column("name", String(120), nullable=False),
        Column("body", JSONB, nullable=False),
        Column("created_at", DateTime, nullable=False, server_default=func.now()),
        Column("published_at", DateTime, nullable=True, index=True),
        extend_existing=True,
    )
    inbox = Table(
        "inbox",
        metadata,
        Column("consumer", String(200), primary_key=True),
        Column("event_id", UUID(as_uuid=False), primary_key=True),
        Column("processed_at", DateTime, nullable=False, server_default=func.now()),
        extend_existing=True,
    )
    return outbox, inbox


class Caller:
    """Who is calling, from nameko context data set by the gateway."""

    __slots__ = ("user_id", "role", "jti", "trace_id", "is_bot", "departments")

    def __init__(self, data: dict):
        self.departments = list(data.get("departments") or [])
        self.user_id = data.get("user_id")
        self.role = data.get("role")
        self.jti = data.get("jti")
        self.trace_id = data.get("trace_id")
        self.is_bot = bool(data.get("is_bot"))

    @property
    def is_admin(self) -> bool:
        return self.role == "admin"


def notify_channel(service: str) -> str:
    """The PostgreSQL channel a service's outbox writes notify (``outbox_<service>``)."""
    return f"outbox_{service}"


def write_outbox(session_or_conn, outbox: Table, body: dict, service: str, notify: bool = True) -> None:
    """Insert an event's outbox row and (``notify``) wake the relays, in the
    caller's transaction: PostgreSQL delivers a NOTIFY at commit only, so a
    rolled-back change wakes nobody. One notification per transaction is
    enough however many events it writes."""
    session_or_conn.execute(insert(outbox).values(event_id=body["event_id"], name=body["name"], body=body))
    if notify:
        session_or_conn.execute(text("SELECT pg_notify(:channel, '')"), {"channel": notify_channel(service)})


class BatchConfirmer:
    """Publisher confirms for a batch: publish every message, then wait once
    until the broker has acknowledged them all (``basic.ack`` with
    ``multiple``). A ``basic.nack`` or a timeout raises: the caller leaves the
    batch unmarked and it is published again (at-least-once)."""

    def __init__(self, conn: Connection, timeout: float = 10.0):
        self.conn = conn
        self.timeout = timeout
        self.channel = conn.default_channel
        self.channel.confirm_select()
        self.sent = 0  # delivery tags start at 1 on a channel in confirm mode
        self.acked = 0
        self.nacked = False
        self.channel.events["basic_ack"].add(self._on_ack)
        self.channel.events["basic_nack"].add(self._on_nack)
        self.producer = Producer(self.channel, exchange=EVENTS_EXCHANGE)
        EVENTS_EXCHANGE.declare(channel=self.channel)

    def _on_ack(self, delivery_tag, multiple):
        self.acked = max(self.acked, delivery_tag)

    def _on_nack(self, delivery_tag, multiple):
        self.nacked = True

    def publish(self, body: dict, name: str, service: str) -> None:
        self.producer.publish(
            body,
            routing_key=name,
            serializer="json",
            delivery_mode=2,
            message_id=body.get("event_id"),
            type=name,
            headers={"slate_source": service, "trace_id": body.get("trace_id") or ""},
        )
        self.sent += 1

    def wait(self) -> None:
        deadline = time.monotonic() + self.timeout
        while self.acked < self.sent and not self.nacked:
            left = deadline - time.monotonic()
            if left <= 0:
                raise TimeoutError(f"broker confirmed {self.acked} of {self.sent} messages in {self.timeout}s")
            self.conn.drain_events(timeout=left)
        if self.nacked:
            raise RuntimeError("broker refused (nack) a published event; the batch is published again")


class OutboxRelay(SharedExtension):
    """Publishes a service's outbox rows; one per service container.

    Each pass locks a batch of unpublished rows (``FOR UPDATE SKIP LOCKED``, so
    replicas share the work), publishes them all, waits once for the broker's
    confirms, then marks them in the same transaction. A crash after the
    publish and before the commit republishes the batch: consumers dedupe by
    ``event_id`` (inbox). Broker or database errors never end the loop: it
    logs, waits, reconnects.

    Wake-ups: ``poke()`` at the end of a worker of this process; a
    ``LISTEN outbox_<service>`` connection (writes notify at commit, see
    ``write_outbox``), so commits of other processes and replicas wake it at
    once; and a poll every ``OUTBOX_POLL_SECONDS`` as the safety net. The
    listener reconnects after a database outage and pokes once it is back.
    Published rows older than ``PRUNE_AFTER_HOURS`` are deleted every
    ``PRUNE_EVERY_SECONDS``.
    """

    batch = 200
    retry_seconds = 1.0
    confirm_timeout = 10.0
    listen_keepalive = 30.0
    PRUNE_EVERY_SECONDS = 600.0
    PRUNE_AFTER_HOURS = 24
    # Test-only fault hook: called with the batch after it was published and
    # confirmed, before it is marked (F14). Raising here leaves the rows
    # unpublished in the database although the broker has them.
    after_publish = None

    def __init__(self, service: str | None = None, metadata: MetaData | None = None):
        self.service = service
        self.metadata = metadata
        self._wake = Event()
        self._gt = None
        self._listen_gt = None
        self._running = False
        self._last_prune = float("-inf")  # prune once at start
        self.published_total = 0
        self.errors_total = 0
        self.batches_total = 0
        self.notifies_total = 0
        self.listening = False

    @property
    def sharing_key(self):
        return (type(self), self.service)

    def setup(self):
        self.service = self.service or self.container.service_name
        self.outbox, _ = outbox_tables(self.metadata)
        self.engine = db.engine_for(self.service)
        self.amqp_uri = self.container.config.get("AMQP_URI") or config.amqp_uri()
        if (config.get("SLATE_ENV") == "test" and os.environ.get("SLATE_FAULT_RELAY_EXIT_AFTER_PUBLISH")
                and self.after_publish is None):
            # Process-level F14 for subprocess fault tests: die like SIGKILL
            # right after the first confirmed publish, before marking.
            self.after_publish = _exit_now

    def start(self):
        self._running = True
        self._gt = self.container.spawn_managed_thread(self._run, identifier="outbox_relay")
        self._listen_gt = self.container.spawn_managed_thread(self._listen, identifier="outbox_listen")

    def stop(self):
        self._running = False
        self.poke()
        for gt in (self._listen_gt, self._gt):
            if gt is None:
                continue
            try:
                with eventlet.Timeout(5):
                    if gt is self._listen_gt:
                        gt.kill()
                    else:
                        gt.wait()
            except BaseException:  # noqa: BLE001 - we are shutting down
                pass

    def kill(self):
        self._running = False
        for gt in (self._listen_gt, self._gt):
            if gt is not None:
                gt.kill()

    def poke(self):
        if not self._wake.ready():
            self._wake.send(True)

    # ------------------------------------------------------------ LISTEN
    def _listen(self):
        """Wake the relay on ``NOTIFY outbox_<service>``; reconnect on errors.

        psycopg2 is not green under eventlet: the wait is a hub trampoline on
        the connection's socket, so it never blocks the other greenthreads."""
        from eventlet.hubs import trampoline

        failing = False
        while self._running:
            pg = None
            try:
                raw = self.engine.raw_connection()
                pg = raw.driver_connection
                raw.detach()  # ours alone, never back in the pool
                pg.rollback()  # a pre-ping may have opened a transaction
                pg.autocommit = True
                with pg.cursor() as cur:
                    cur.execute(f'LISTEN "{notify_channel(self.service)}"')
                self.listening = True
                if failing:
                    log.info("outbox listener reconnected", extra={"entrypoint": "outbox_relay"})
                failing = False
                self.poke()  # rows committed while we were not listening
                while self._running:
                    try:
                        trampoline(pg.fileno(), read=True, timeout=self.listen_keepalive, timeout_exc=TimeoutError)
                    except TimeoutError:  # a quiet spell: check the link
                        with pg.cursor() as cur:
                            cur.execute("SELECT 1")
                    pg.poll()
                    if pg.notifies:
                        self.notifies_total += len(pg.notifies)
                        pg.notifies.clear()
                        self.poke()
            except Exception as exc:  # noqa: BLE001 - the listener must survive DB outages
                self.listening = False
                if not failing:
                    log.warning("outbox listener error, relay falls back to polling until it reconnects: %r", exc,
                                extra={"entrypoint": "outbox_relay"})
                failing = True
                eventlet.sleep(self.retry_seconds)
            finally:
                self.listening = False
                if pg is not None:
                    try:
                        pg.close()
                    except Exception:  # noqa: BLE001
                        pass

    # ------------------------------------------------------------ publish
    def _run(self):
        poll = config.get_float("OUTBOX_POLL_SECONDS") or 0.5
        conn = confirmer = None
        failing = False
        while self._running:
            try:
                if conn is None:
                    conn = Connection(self.amqp_uri, connect_timeout=5)
                    conn.ensure_connection(max_retries=1)
                    confirmer = BatchConfirmer(conn, self.confirm_timeout)
                published = self.drain(confirmer)
                if failing:
                    log.info("outbox relay recovered", extra={"entrypoint": "outbox_relay"})
                    failing = False
                self.maybe_prune()
            except Exception as exc:  # noqa: BLE001 - the relay must survive broker and DB faults
                self.errors_total += 1
                if not failing:
                    log.exception("outbox relay error; retrying every %ss", self.retry_seconds,
                                  extra={"entrypoint": "outbox_relay"})
                else:
                    log.warning("outbox relay still failing: %r", exc, extra={"entrypoint": "outbox_relay"})
                failing = True
                if conn is not None:
                    try:
                        conn.release()
                    except Exception:  # noqa: BLE001
                        pass
                conn = confirmer = None
                published = 0
                eventlet.sleep(self.retry_seconds)
            if published >= self.batch or (published and not self.listening):
                continue  # a full batch: more rows are likely waiting
            # A poke or a notification that came while draining is kept: the
            # next wait returns at once. So after a partial batch no extra
            # empty SELECT is run per event when commits come one by one.
            with eventlet.Timeout(poll, False):
                self._wake.wait()
            self._wake = Event()
        if conn is not None:
            try:
                conn.release()
            except Exception:  # noqa: BLE001
                pass

    def drain(self, confirmer: BatchConfirmer) -> int:
        """Publish one batch, wait for its confirms, mark it; returns its size."""
        with Session(self.engine) as session, session.begin():
            rows = session.execute(
                select(self.outbox.c.id, self.outbox.c.name, self.outbox.c.body)
                .where(self.outbox.c.published_at.is_(None))
                .order_by(self.outbox.c.id)
                .limit(self.batch)
                .with_for_update(skip_locked=True)
            ).all()
            if not rows:
                return 0
            for row in rows:
                confirmer.publish(row.body, row.name, self.service)
            confirmer.wait()
            if self.after_publish is not None:
                self.after_publish(rows)
            session.execute(
                update(self.outbox)
                .where(self.outbox.c.id.in_([r.id for r in rows]))
                .values(published_at=utcnow())
            )
        # One line per event, after the confirms (trace ids stay searchable).
        for row in rows:
            body = row.body
            log.info(
                "event published",
                extra={"event_name": row.name, "event_id": body.get("event_id"),
                       "trace_id": body.get("trace_id"), "project_id": body.get("project_id"),
                       "entrypoint": "outbox_relay"},
            )
        self.published_total += len(rows)
        self.batches_total += 1
        return len(rows)

    def maybe_prune(self, force: bool = False) -> int:
        """Delete old published rows, at most every ``PRUNE_EVERY_SECONDS``."""
        now = time.monotonic()
        if not force and now - self._last_prune < self.PRUNE_EVERY_SECONDS:
            return 0
        self._last_prune = now
        with self.engine.begin() as conn:
            res = conn.execute(
                delete(self.outbox).where(
                    self.outbox.c.published_at < utcnow() - dt.timedelta(hours=self.PRUNE_AFTER_HOURS)
                )
            )
        pruned = res.rowcount or 0
        if pruned:
            log.info("pruned %s published outbox rows", pruned, extra={"entrypoint": "outbox_relay"})
        return pruned


def _exit_now(rows):
    log.error("fault hook: exiting after publishing %s events, before marking them", len(rows))
    logging.shutdown()
    os._exit(137)


def db_unavailable(exc: BaseException) -> bool:
    """True for errors that mean "the database cannot answer now" (server
    down or restarting, no connection slot left, connection dropped, query
    cancelled or a serialization conflict): the caller may retry, so the
    gateway should answer 503, not 500."""
    if isinstance(exc, (OperationalError, InterfaceError)):
        return True
    return isinstance(exc, DBAPIError) and bool(exc.connection_invalidated)


def _as_unavailable(exc: BaseException) -> Unavailable:
    log.warning("database unavailable: %s", str(exc).splitlines()[0][:300])
    return Unavailable("The database is unavailable, please retry")


class SlateSession(Session):
    """A Session whose ``with`` block turns database outages into ``Unavailable``."""

    def __exit__(self, type_, value, traceback):
        super().__exit__(type_, value, traceback)
        if value is not None and db_unavailable(value):
            raise _as_unavailable(value) from value


class StoreHandle:
    """What a worker sees as ``self.store``."""

    def __init__(self, provider: Store, worker_ctx):
        self._provider = provider
        self._ctx = worker_ctx
        self.caller = Caller(worker_ctx.data or {})
        self.emitted = 0

    @contextmanager
    def begin(self) -> Iterator[Session]:
        """A session in a transaction: committed on success, rolled back on error."""
        session = self._provider.sessionmaker()
        try:
            with session.begin():
                yield session
        except DBAPIError as exc:
            if db_unavailable(exc):
                raise _as_unavailable(exc) from exc
            raise
        finally:
            session.close()

    def session(self) -> Session:
        """A plain session for reads; the caller closes it (use ``with``)."""
        return self._provider.sessionmaker()

    def emit(
        self,
        session: Session,
        name: str,
        data: dict,
        *,
        project_id: str | None = None,
        record: dict | None = None,
    ) -> dict:
        body = envelope(
            name,
            data,
            source=self._provider.service,
            actor_id=self.caller.user_id,
            project_id=project_id,
            trace_id=self.caller.trace_id,
            record=record,
        )
        tx = session.get_transaction()
        first = session.info.get("slate_outbox_notified") is not tx
        write_outbox(session, self._provider.outbox, body, self._provider.service, notify=first)
        session.info["slate_outbox_notified"] = tx
        self.emitted += 1
        return body

    def claim(self, session: Session, event: dict, consumer: str | None = None) -> bool:
        """Record that this consumer handles ``event``; False if it already did."""
        consumer = consumer or f"{self._provider.service}.{self._ctx.entrypoint.method_name}"
        event_id = event.get("event_id") or str(uuid.uuid5(uuid.NAMESPACE_URL, json.dumps(event, sort_keys=True)))
        result = session.execute(
            pg_insert(self._provider.inbox)
            .values(consumer=consumer, event_id=event_id)
            .on_conflict_do_nothing()
            .returning(self._provider.inbox.c.event_id)
        ).first()
        return result is not None


class Store(DependencyProvider):
    """Nameko dependency: sessions, outbox writes, inbox claims."""

    def __init__(self, metadata: MetaData, service: str | None = None):
        self.metadata = metadata
        self.service = service
        self.relay = OutboxRelay(service, metadata)
        self._handles: dict = {}

    def setup(self):
        self.service = self.service or self.container.service_name
        self.outbox, self.inbox = outbox_tables(self.metadata)
        self.engine = db.engine_for(self.service)
        self.sessionmaker = sessionmaker(self.engine, expire_on_commit=False, class_=SlateSession)

    def get_dependency(self, worker_ctx):
        handle = StoreHandle(self, worker_ctx)
        self._handles[worker_ctx] = handle
        return handle

    def worker_teardown(self, worker_ctx):
        # Publish right away rather than at the next poll, when this worker
        # wrote events: waking the relay after every read-only call cost each
        # request a relay transaction.
        handle = self._handles.pop(worker_ctx, None)
        if handle is None or handle.emitted:
            self.relay.poke()


def prune_outbox(engine, keep_hours: int = 24) -> int:
    """Delete published outbox rows older than ``keep_hours``."""
    from sqlalchemy import text

    with engine.begin() as conn:
        res = conn.execute(
            text("DELETE FROM outbox WHERE published_at < now() - make_interval(hours => :h)"),
            {"h": keep_hours},
        )
        return res.rowcount or 0
