"""Entrypoints of the events service: the event log and its routes, the
membership projections the stream scopes by, and outbound webhooks.

The live socket.io stream runs in its own process (``python -m
slate_events.stream``); it reads the projections kept here.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import secrets
import time

import requests
from nameko.rpc import rpc
from nameko.timer import timer
from slatekit import config
from slatekit.consumer import subscribe
from slatekit.crud import apply_filters, list_rows, now, valid_uuid
from slatekit.errors import SLATE_ERRORS, Forbidden, Invalid, NotFound
from slatekit.health import HealthMixin
from slatekit.store import Store
from sqlalchemy import delete, or_, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert

from . import domain
from .models import ApiEvent, Principal, ProjectMember, Webhook, WebhookDelivery, metadata

log = logging.getLogger(__name__)
PROJECTED = ("project:", "person:")  # event names the log's projections read
expected = {"expected_exceptions": SLATE_ERRORS}
MANAGER_ROLES = ("admin", "manager")


def iso_seconds(value):
    return value.replace(microsecond=0).isoformat() if value else None


def event_last_dict(ev: ApiEvent) -> dict:
    return {"id": ev.id, "created_at": iso_seconds(ev.created_at), "name": ev.name,
            "user_id": ev.user_id, "project_id": ev.project_id, "data": ev.data}


def event_row_dict(ev: ApiEvent) -> dict:
    doc = event_last_dict(ev)
    doc["updated_at"] = iso_seconds(ev.updated_at)
    doc["type"] = "ApiEvent"
    return doc


def webhook_dict(w: Webhook, with_secret: bool = False) -> dict:
    doc = {"id": w.id, "type": "Webhook", "project_id": w.project_id, "name": w.name, "url": w.url,
           "event_names": w.event_names, "active": w.active, "created_by": w.created_by,
           "created_at": iso_seconds(w.created_at), "updated_at": iso_seconds(w.updated_at)}
    if with_secret:
        doc["secret"] = w.secret
    return doc


def delivery_dict(d: WebhookDelivery) -> dict:
    return {"id": d.id, "type": "WebhookDelivery", "webhook_id": d.webhook_id, "event_id": d.event_id,
            "event_name": d.event_name, "status": d.status, "attempts": d.attempts,
            "next_attempt_at": iso_seconds(d.next_attempt_at), "last_status_code": d.last_status_code,
            "last_error": d.last_error, "delivered_at": iso_seconds(d.delivered_at),
            "created_at": iso_seconds(d.created_at)}


def allowed_networks():
    return domain.parse_networks(config.get("WEBHOOK_ALLOWED_NETWORKS", ""))


class EventsService(HealthMixin):
    name = "events"
    store = Store(metadata)

    @property
    def caller(self):
        return self.store.caller


    # ------------------------------------------------------------ the log
    @subscribe()  # no names: bound with '#', so new event names need no code change
    def on_event(self, event):
        if not isinstance(event, dict) or not event.get("name"):
            log.warning("ignoring a malformed event: %r", str(event)[:200])
            return
        name = event["name"]
        with self.store.begin() as s:
            # The log row and webhook deliveries are keyed by event id, so a
            # redelivered event writes nothing twice without an inbox row.
            # Projections are claimed: an old team change replayed after a
            # newer one would undo it (and widen what a socket may see).
            if (name.startswith(PROJECTED) or not event.get("event_id")) and not self.store.claim(s, event):
                return
            if domain.persisted(name):
                occurred = domain.parse_date(event.get("occurred_at"), "occurred_at") or now()
                s.execute(
                    pg_insert(ApiEvent.__table__)
                    .values(id=event.get("event_id") or None, name=name[:120], source=(event.get("source") or "")[:80],
                            user_id=_uuid_or_none(event.get("actor_id")),
                            project_id=_uuid_or_none(event.get("project_id")),
                            data=event.get("data") or {}, created_at=occurred, updated_at=occurred)
                    .on_conflict_do_nothing(index_elements=["id"])
                )
            self._project(s, event)
            self._queue_webhooks(s, event)

    def _project(self, s, event):  # events named PROJECTED* only
        name = event["name"]
        data = event.get("data") or {}
        record = event.get("record") or {}
        if name in ("project:new", "project:update") and isinstance(record.get("team"), list):
            project_id = record.get("id") or data.get("project_id")
            team = {t.get("id") if isinstance(t, dict) else t for t in record["team"]}
            team = {t for t in team if _uuid_or_none(t)}
            gone = delete(ProjectMember).where(ProjectMember.project_id == project_id)
            if team:
                gone = gone.where(ProjectMember.person_id.not_in(list(team)))
            s.execute(gone)
            for person_id in team:
                s.execute(pg_insert(ProjectMember.__table__).values(project_id=project_id, person_id=person_id)
                          .on_conflict_do_nothing())
        elif name == "project:delete":
            s.execute(delete(ProjectMember).where(ProjectMember.project_id == (record.get("id") or data.get("project_id"))))
        elif name == "project:team-member-added" and data.get("person_id") and data.get("project_id"):
            s.execute(pg_insert(ProjectMember.__table__)
                      .values(project_id=data["project_id"], person_id=data["person_id"], role=data.get("role"))
                      .on_conflict_do_update(index_elements=["project_id", "person_id"], set_={"role": data.get("role")}))
        elif name == "project:team-member-removed" and data.get("person_id"):
            s.execute(delete(ProjectMember).where(ProjectMember.project_id == data.get("project_id"),
                                                  ProjectMember.person_id == data["person_id"]))
        elif name == "project:team-member-role-changed" and data.get("person_id"):
            s.execute(update(ProjectMember).where(ProjectMember.project_id == data.get("project_id"),
                                                  ProjectMember.person_id == data["person_id"]).values(role=data.get("role")))
        elif name in ("person:new", "person:update") and record.get("id"):
            values = {"role": record.get("role") or "user", "active": record.get("active", True) is not False}
            s.execute(pg_insert(Principal.__table__).values(person_id=record["id"], **values)
                      .on_conflict_do_update(index_elements=["person_id"], set_=values))
        elif name == "person:delete":
            person_id = record.get("id") or data.get("person_id")
            if person_id:
                s.execute(delete(Principal).where(Principal.person_id == person_id))
                s.execute(delete(ProjectMember).where(ProjectMember.person_id == person_id))

    def _queue_webhooks(self, s, event):
        project_id = _uuid_or_none(event.get("project_id"))
        if not project_id or not event.get("event_id"):
            return
        hooks = s.scalars(select(Webhook).where(Webhook.project_id == project_id, Webhook.active.is_(True))).all()
        for hook in hooks:
            if domain.webhook_matches(hook.event_names, event["name"]):
                payload = {"event_id": event["event_id"], "name": event["name"], "occurred_at": event.get("occurred_at"),
                           "project_id": project_id, "actor_id": event.get("actor_id"), "data": event.get("data") or {}}
                s.execute(pg_insert(WebhookDelivery.__table__)
                          .values(id=_new_id(), webhook_id=hook.id, event_id=event["event_id"], event_name=event["name"],
                                  payload=payload, status="pending", attempts=0, next_attempt_at=now(),
                                  created_at=now(), updated_at=now())
                          .on_conflict_do_nothing(constraint="uq_delivery_webhook_event"))

    # ------------------------------------------------------------ scoping
    def _visible_projects(self, s) -> list[str] | None:
        """None: every project (admins). Else the caller's projects."""
        if self.caller.role == "admin":
            return None
        return list(s.scalars(select(ProjectMember.project_id).where(ProjectMember.person_id == self.caller.user_id)))

    def _require_log_reader(self, s, project_id):
        """Zou's rule: managers (global or per project) and admins read the log;
        managers only for their own projects."""
        if self.caller.role == "admin":
            return None
        projects = self._visible_projects(s)
        if self.caller.role != "manager":
            rows = s.execute(select(ProjectMember.project_id).where(
                ProjectMember.person_id == self.caller.user_id, ProjectMember.role == "manager")).all()
            managed = [r[0] for r in rows]
            if not project_id or project_id not in managed:
                raise Forbidden("You are not allowed to do this")
            return managed
        if project_id is not None and project_id not in projects:
            raise Forbidden("You are not allowed to do this")
        return projects

    @rpc(**expected)
    def last_events(self, query=None, body=None):
        q = query or {}
        project_id = domain.parse_uuid(q.get("project_id"), "project_id")
        with self.store.session() as s:
            scope = self._require_log_reader(s, project_id)
            before = domain.parse_date(q.get("before"), "before")
            after = domain.parse_date(q.get("after"), "after")
            limit = domain.parse_limit(q.get("limit"))
            cursor = domain.parse_uuid(q.get("cursor_event_id"), "cursor_event_id")
            stmt = select(ApiEvent)
            if after is not None:
                stmt = stmt.where(ApiEvent.created_at > after)
            if before is not None:
                stmt = stmt.where(ApiEvent.created_at < before)
            if str(q.get("only_files", "")).lower() == "true":
                stmt = stmt.where(ApiEvent.name.in_(domain.ONLY_FILES))
            if project_id is not None:
                stmt = stmt.where(ApiEvent.project_id == project_id)
            if scope is not None:
                stmt = stmt.where(ApiEvent.project_id.in_(scope or ["00000000-0000-0000-0000-000000000000"]))
            if q.get("name"):
                stmt = stmt.where(ApiEvent.name == q["name"])
            prefixes = domain.check_name_parts(domain.as_list(q.get("name_prefixes")), "name_prefixes")
            if prefixes:
                stmt = stmt.where(or_(*[ApiEvent.name.like(f"{p}:%") for p in prefixes]))
            suffixes = domain.check_name_parts(domain.as_list(q.get("name_suffixes")), "name_suffixes")
            if suffixes:
                stmt = stmt.where(or_(*[ApiEvent.name.like(f"%:{p}") for p in suffixes]))
            person_ids = [domain.parse_uuid(p, "person_ids") for p in domain.as_list(q.get("person_ids"))]
            if person_ids:
                stmt = stmt.where(ApiEvent.user_id.in_(person_ids))
            if cursor:
                ref = s.get(ApiEvent, cursor)
                if ref is None:
                    raise Invalid(f"No event found with id: {cursor}")
                stmt = stmt.where(ApiEvent.seq < ref.seq)
            # Newest first, as Zou; with ``after`` a replaying client wants the
            # oldest missed events first, so it can page forward without gaps.
            # By occurrence, not arrival (seq): consumers store events out of
            # order, and a page cut by arrival would let the cursor jump over
            # events that arrived later but occurred earlier (F11).
            if after is not None and before is None and not cursor:
                rows = s.scalars(stmt.order_by(ApiEvent.created_at.asc(), ApiEvent.seq.asc()).limit(limit)).all()
                rows = list(reversed(rows))
            else:
                rows = s.scalars(stmt.order_by(ApiEvent.seq.desc()).limit(limit)).all()
            out = []
            for ev in rows:
                doc = event_last_dict(ev)
                doc["occurred_at"] = ev.created_at.isoformat()
                out.append(doc)
            return out

    @rpc(**expected)
    def event_names(self, query=None, body=None):
        with self.store.session() as s:
            self._require_log_reader(s, None) if self.caller.role not in MANAGER_ROLES else None
            return sorted(r[0] for r in s.execute(select(ApiEvent.name).distinct()))

    @rpc(**expected)
    def test_event(self, query=None, body=None):
        with self.store.begin() as s:
            self.store.emit(s, "main:test", {})
        return {"success": True}

    # ------------------------------------------------------------ /data/events CRUD (admin)
    def _admin(self):
        if self.caller.role != "admin":
            raise Forbidden("You are not allowed to do this")

    @rpc(**expected)
    def crud_list(self, model="events", query=None, body=None):
        self._admin()
        query = dict(query or {})
        with self.store.session() as s:
            stmt = apply_filters(select(ApiEvent), ApiEvent, query).order_by(ApiEvent.seq.desc())
            if "page" not in query:
                query.setdefault("limit", "1000")
            return list_rows(s, ApiEvent, stmt, query, event_row_dict)

    @rpc(**expected)
    def crud_get(self, instance_id, model="events", query=None, body=None):
        self._admin()
        with self.store.session() as s:
            return event_row_dict(self._event(s, instance_id))

    def _event(self, s, instance_id):
        ev = s.get(ApiEvent, valid_uuid(instance_id))
        if ev is None:
            raise NotFound(f"ApiEvent {instance_id} not found")
        return ev

    @rpc(**expected)
    def crud_create(self, model="events", query=None, body=None):
        self._admin()
        body = body or {}
        if not isinstance(body.get("name"), str) or not body["name"]:
            raise Invalid("Field name is required", {"field": "name"})
        with self.store.begin() as s:
            ev = ApiEvent(name=body["name"][:120], source="api",
                          user_id=_checked_uuid(body.get("user_id"), "user_id"),
                          project_id=_checked_uuid(body.get("project_id"), "project_id"),
                          data=body.get("data") if isinstance(body.get("data"), dict) else {})
            s.add(ev)
            s.flush()
            return event_row_dict(ev)

    @rpc(**expected)
    def crud_update(self, instance_id, model="events", query=None, body=None):
        self._admin()
        body = body or {}
        with self.store.begin() as s:
            ev = self._event(s, instance_id)
            if "name" in body:
                if not isinstance(body["name"], str) or not body["name"]:
                    raise Invalid("Invalid value for name")
                ev.name = body["name"][:120]
            if "data" in body:
                if not isinstance(body["data"], dict):
                    raise Invalid("Invalid value for data")
                ev.data = body["data"]
            if "project_id" in body:
                ev.project_id = _checked_uuid(body["project_id"], "project_id")
            if "user_id" in body:
                ev.user_id = _checked_uuid(body["user_id"], "user_id")
            ev.updated_at = now()
            return event_row_dict(ev)

    @rpc(**expected)
    def crud_delete(self, instance_id, model="events", query=None, body=None):
        self._admin()
        with self.store.begin() as s:
            s.delete(self._event(s, instance_id))
        return None

    # ------------------------------------------------------------ stream support
    @rpc(**expected)
    def projects_of(self, person_id):
        with self.store.session() as s:
            return list(s.scalars(select(ProjectMember.project_id).where(ProjectMember.person_id == person_id)))

    # ------------------------------------------------------------ webhooks
    def _can_manage_hooks(self, s, project_id):
        if self.caller.role == "admin":
            return
        if self.caller.role == "manager" and project_id in (self._visible_projects(s) or []):
            return
        raise Forbidden("You are not allowed to manage this project's webhooks")

    def _hook(self, s, webhook_id):
        hook = s.get(Webhook, valid_uuid(webhook_id, "webhook id"))
        if hook is None:
            raise NotFound(f"Webhook {webhook_id} not found")
        self._can_manage_hooks(s, hook.project_id)
        return hook

    @staticmethod
    def _event_names(value):
        if not isinstance(value, list) or not value or not all(isinstance(v, str) and v for v in value):
            raise Invalid("event_names must be a non-empty list of event names", {"field": "event_names"})
        return value

    @rpc(**expected)
    def list_webhooks(self, project_id, query=None, body=None):
        project_id = valid_uuid(project_id, "project id")
        with self.store.session() as s:
            self._can_manage_hooks(s, project_id)
            rows = s.scalars(select(Webhook).where(Webhook.project_id == project_id).order_by(Webhook.created_at)).all()
            return [webhook_dict(w) for w in rows]

    @rpc(**expected)
    def create_webhook(self, project_id, query=None, body=None):
        project_id = valid_uuid(project_id, "project id")
        body = body or {}
        if not isinstance(body, dict):
            raise Invalid("A JSON object is expected")
        names = self._event_names(body.get("event_names"))
        url, _ = domain.check_url(body.get("url"), allowed_networks())
        with self.store.begin() as s:
            self._can_manage_hooks(s, project_id)
            hook = Webhook(project_id=project_id, url=url, event_names=names, name=str(body.get("name") or "")[:120],
                           secret=body.get("secret") if isinstance(body.get("secret"), str) and len(body["secret"]) >= 16
                           else secrets.token_hex(32),
                           active=body.get("active", True) is not False, created_by=self.caller.user_id)
            s.add(hook)
            s.flush()
            return webhook_dict(hook, with_secret=True)

    @rpc(**expected)
    def get_webhook(self, webhook_id, query=None, body=None):
        with self.store.session() as s:
            return webhook_dict(self._hook(s, webhook_id))

    @rpc(**expected)
    def update_webhook(self, webhook_id, query=None, body=None):
        body = body or {}
        with self.store.begin() as s:
            hook = self._hook(s, webhook_id)
            if "url" in body:
                hook.url, _ = domain.check_url(body["url"], allowed_networks())
            if "event_names" in body:
                hook.event_names = self._event_names(body["event_names"])
            if "active" in body:
                hook.active = body["active"] is not False
            if "name" in body:
                hook.name = str(body["name"] or "")[:120]
            hook.updated_at = now()
            return webhook_dict(hook)

    @rpc(**expected)
    def delete_webhook(self, webhook_id, query=None, body=None):
        with self.store.begin() as s:
            hook = self._hook(s, webhook_id)
            s.execute(delete(WebhookDelivery).where(WebhookDelivery.webhook_id == hook.id))
            s.delete(hook)
        return None

    @rpc(**expected)
    def webhook_deliveries(self, webhook_id, query=None, body=None):
        q = query or {}
        with self.store.session() as s:
            hook = self._hook(s, webhook_id)
            stmt = select(WebhookDelivery).where(WebhookDelivery.webhook_id == hook.id)
            if q.get("status"):
                stmt = stmt.where(WebhookDelivery.status == q["status"])
            rows = s.scalars(stmt.order_by(WebhookDelivery.created_at.desc()).limit(domain.parse_limit(q.get("limit")))).all()
            return [delivery_dict(d) for d in rows]

    @rpc(**expected)
    def redeliver(self, webhook_id, delivery_id, query=None, body=None):
        """Replay a dead (or failed) delivery: back to pending, attempts reset."""
        with self.store.begin() as s:
            hook = self._hook(s, webhook_id)
            d = s.get(WebhookDelivery, valid_uuid(delivery_id, "delivery id"))
            if d is None or d.webhook_id != hook.id:
                raise NotFound(f"Delivery {delivery_id} not found")
            d.status, d.attempts, d.next_attempt_at, d.updated_at = "pending", 0, now(), now()
            return delivery_dict(d)

    @timer(interval=0.5)
    def deliver_webhooks(self):
        """Send due deliveries. Rows are locked (SKIP LOCKED) so replicas share
        the work; each row is sent at most by one replica at a time."""
        limit = config.get_int("WEBHOOK_MAX_ATTEMPTS") or 6
        base = float(config.get("WEBHOOK_RETRY_BASE_SECONDS") or 5)
        timeout = float(config.get("WEBHOOK_TIMEOUT_SECONDS") or 5)
        nets = allowed_networks()
        for _ in range(20):
            with self.store.begin() as s:
                d = s.scalars(select(WebhookDelivery)
                              .where(WebhookDelivery.status.in_(("pending", "failed")),
                                     WebhookDelivery.next_attempt_at <= now())
                              .order_by(WebhookDelivery.next_attempt_at).limit(1)
                              .with_for_update(skip_locked=True)).first()
                if d is None:
                    return
                hook = s.get(Webhook, d.webhook_id)
                if hook is None or not hook.active:
                    d.status, d.last_error = "dead", "webhook removed or inactive"
                    continue
                ok, code, error = send_webhook(hook, d, nets, timeout)
                d.attempts += 1
                d.last_status_code, d.last_error, d.updated_at = code, error, now()
                if ok:
                    d.status, d.delivered_at = "delivered", now()
                elif d.attempts >= limit:
                    d.status = "dead"
                    log.error("webhook delivery dead after %s attempts", d.attempts,
                              extra={"event_id": d.event_id, "event_name": d.event_name})
                else:
                    d.status = "failed"
                    d.next_attempt_at = now() + dt.timedelta(seconds=domain.backoff_seconds(d.attempts, base))


def send_webhook(hook: Webhook, d: WebhookDelivery, nets, timeout: float) -> tuple[bool, int | None, str | None]:
    """POST one delivery, signed; the host is checked again at send time and
    the connection goes to the address that was checked."""
    from urllib.parse import urlsplit, urlunsplit

    try:
        _, addresses = domain.check_url(hook.url, nets)
    except Invalid as exc:
        return False, None, f"refused: {exc.message}"
    body = json.dumps(d.payload, sort_keys=True, separators=(",", ":")).encode()
    stamp = str(int(time.time()))
    parts = urlsplit(hook.url)
    headers = {"Content-Type": "application/json", "User-Agent": "Slate-Webhooks/1",
               "X-Slate-Event": d.event_name, "X-Slate-Event-Id": d.event_id, "X-Slate-Delivery": d.id,
               "X-Slate-Timestamp": stamp, "X-Slate-Signature": domain.sign(hook.secret, stamp, body)}
    url = hook.url
    if parts.scheme == "http":
        # Pin the checked address (no second DNS answer between check and connect).
        addr = addresses[0]
        host = f"[{addr}]" if ":" in addr else addr
        netloc = f"{host}:{parts.port}" if parts.port else host
        url = urlunsplit((parts.scheme, netloc, parts.path or "/", parts.query, ""))
        headers["Host"] = parts.netloc
    try:
        r = requests.post(url, data=body, headers=headers, timeout=timeout, allow_redirects=False)
    except requests.RequestException as exc:
        return False, None, type(exc).__name__
    if 200 <= r.status_code < 300:
        return True, r.status_code, None
    return False, r.status_code, f"HTTP {r.status_code}"


def _uuid_or_none(value):
    try:
        return valid_uuid(value) if value else None
    except Invalid:
        return None


def _checked_uuid(value, what):
    return valid_uuid(value, what) if value not in (None, "") else None


def _new_id():
    import uuid

    return str(uuid.uuid4())


Service = EventsService
