"""Entrypoints of the notifications service: notifications, news, subscriptions
and chats, built from the events of tasks (comments, assignations, status
changes) with projections of tasks, comments, entities, projects and people.
"""

from __future__ import annotations

import datetime as dt
import logging
import os

from nameko.rpc import rpc
from slatekit import config
from slatekit.consumer import subscribe
from slatekit.crud import apply_body, apply_filters, list_rows, now, row_dict, valid_uuid
from slatekit.errors import SLATE_ERRORS, Forbidden, Invalid, NotFound, Unavailable
from slatekit.health import HealthMixin
from slatekit.service_rpc import ServiceRpc
from slatekit.store import Store
from sqlalchemy import delete, func, select, text, update
from sqlalchemy.dialects.postgresql import insert as pg_insert

from . import channels, domain
from .models import (
    Chat,
    ChatMessage,
    ChatParticipant,
    News,
    Notification,
    PComment,
    PEntity,
    PPerson,
    PProject,
    PStatusChange,
    PTask,
    Subscription,
    metadata,
)
from .playlists import PlaylistMessagesMixin

log = logging.getLogger(__name__)
expected = {"expected_exceptions": SLATE_ERRORS}
ENTITY_KINDS = ("asset", "shot", "sequence", "episode", "scene", "edit", "concept")
PROJECTION_EVENTS = (
    "task:new", "task:update", "task:delete", "task:assign", "task:unassign", "task:status-changed",
    "project:new", "project:update", "project:delete", "project:team-member-added", "project:team-member-removed",
    "person:new", "person:update", "person:delete",
    *[f"{k}:{a}" for k in ENTITY_KINDS for a in ("new", "update", "delete")],
)
ACTIVITY_EVENTS = ("comment:new", "comment:reply", "comment:update", "comment:delete", "task:assign",
                   "task:status-changed")
PERSON_SETTINGS = ("notifications_enabled", "notifications_slack_enabled", "notifications_slack_userid",
                   "notifications_mattermost_enabled", "notifications_mattermost_userid",
                   "notifications_discord_enabled", "notifications_discord_userid")
CRUD = {"notifications": (Notification, "Notification"), "news": (News, "News"),
        "subscriptions": (Subscription, "Subscription"), "chats": (Chat, "Chat"),
        "chat-messages": (ChatMessage, "ChatMessage")}
WRITABLE = {
    "notifications": ("read", "change", "type", "person_id", "author_id", "comment_id", "task_id", "playlist_id", "reply_id"),
    "news": ("change", "author_id", "comment_id", "task_id", "preview_file_id"),
    "subscriptions": ("person_id", "task_id", "entity_id", "task_type_id"),
    "chats": ("object_id", "object_type", "last_message"),
    "chat-messages": ("chat_id", "person_id", "text"),
}
REQUIRED = {"notifications": ("person_id", "type"), "subscriptions": ("person_id",), "chats": ("object_id",),
            "chat-messages": ("chat_id", "person_id")}
NOTIFICATION_TYPES = ("comment", "mention", "assignation", "reply", "reply-mention", "playlist-ready")
_fault = {"handled": 0}


def iso(value):
    if value is None:
        return None
    if isinstance(value, str):
        return value
    return value.replace(microsecond=0).isoformat()


def _date(value):
    if not value:
        return None
    try:
        return dt.datetime.fromisoformat(str(value).replace("Z", "")).replace(tzinfo=None)
    except ValueError:
        return None


def _uuid(value):
    try:
        return valid_uuid(value) if value else None
    except Invalid:
        return None


def _ids(values):
    out = []
    for v in values or []:
        v = v.get("id") if isinstance(v, dict) else v
        if _uuid(v):
            out.append(_uuid(v))
    return out


class NotificationsService(HealthMixin, PlaylistMessagesMixin):
    name = "notifications"
    store = Store(metadata)
    services = ServiceRpc()

    @property
    def caller(self):
        return self.store.caller


    # ================================================================ projections
    @subscribe(*PROJECTION_EVENTS)
    def on_projection(self, event):
        name = event.get("name") or ""
        data = event.get("data") or {}
        record = event.get("record") or {}
        with self.store.begin() as s:
            if not self.store.claim(s, event):
                return
            kind, _, action = name.partition(":")
            if kind == "task":
                self._project_task(s, name, data, record)
            elif kind == "project":
                self._project_project(s, name, data, record)
            elif kind == "person":
                self._project_person(s, name, data, record)
            elif kind in ENTITY_KINDS:
                entity_id = record.get("id") or data.get(f"{kind}_id") or data.get("entity_id")
                if not _uuid(entity_id):
                    return
                if action == "delete":
                    s.execute(delete(PEntity).where(PEntity.id == entity_id))
                    return
                values = {"kind": kind, "name": record.get("name"), "project_id": _uuid(record.get("project_id") or event.get("project_id")),
                          "entity_type_id": _uuid(record.get("entity_type_id")), "parent_id": _uuid(record.get("parent_id")),
                          "preview_file_id": _uuid(record.get("preview_file_id")),
                          "type_name": record.get("entity_type_name"), "source_id": _uuid(record.get("source_id"))}
                if record:
                    s.execute(pg_insert(PEntity.__table__).values(id=entity_id, **values)
                              .on_conflict_do_update(index_elements=["id"], set_=values))

    def _project_task(self, s, name, data, record):
        task_id = record.get("id") or data.get("task_id")
        if not _uuid(task_id):
            return
        if name == "task:delete":
            s.execute(delete(PTask).where(PTask.id == task_id))
            return
        if not record:
            return
        values = {"project_id": _uuid(record.get("project_id")), "entity_id": _uuid(record.get("entity_id")),
                  "task_type_id": _uuid(record.get("task_type_id")), "task_status_id": _uuid(record.get("task_status_id")),
                  "assignees": _ids(record.get("assignees"))}
        s.execute(pg_insert(PTask.__table__).values(id=task_id, **values)
                  .on_conflict_do_update(index_elements=["id"], set_=values))

    def _project_project(self, s, name, data, record):
        project_id = record.get("id") or data.get("project_id")
        if not _uuid(project_id):
            return
        if name == "project:delete":
            s.execute(delete(PProject).where(PProject.id == project_id))
            return
        row = s.get(PProject, project_id)
        if row is None:
            row = PProject(id=project_id, team=[], is_open=True)
            s.add(row)
        if record:
            row.name = record.get("name", row.name)
            if isinstance(record.get("team"), list):
                row.team = _ids(record["team"])
            if "project_status_name" in record:
                row.is_open = record.get("project_status_name") in (None, "Open")
        person_id = _uuid(data.get("person_id"))
        if name == "project:team-member-added" and person_id and person_id not in row.team:
            row.team = [*row.team, person_id]
        elif name == "project:team-member-removed" and person_id:
            row.team = [p for p in row.team if p != person_id]

    def _project_person(self, s, name, data, record):
        person_id = record.get("id") or data.get("person_id")
        if not _uuid(person_id):
            return
        if name == "person:delete":
            s.execute(delete(PPerson).where(PPerson.id == person_id))
            return
        if not record:
            return
        values = {"first_name": record.get("first_name"), "last_name": record.get("last_name"),
                  "email": record.get("email"), "role": record.get("role"), "active": record.get("active", True) is not False,
                  "has_avatar": bool(record.get("has_avatar")), "departments": _ids(record.get("departments")),
                  "settings": {k: record.get(k) for k in PERSON_SETTINGS if k in record}}
        s.execute(pg_insert(PPerson.__table__).values(id=person_id, **values)
                  .on_conflict_do_update(index_elements=["id"], set_=values))

    # ================================================================ activity
    @subscribe(*ACTIVITY_EVENTS)
    def on_activity(self, event):
        """comment:new / comment:reply / task:assign → notifications and news;
        task:status-changed → the news of the comment gets ``change``."""
        name = event.get("name") or ""
        data = event.get("data") or {}
        sent: list = []
        with self.store.begin() as s:
            if not self.store.claim(s, event):
                log.info("duplicate event skipped", extra={"event_id": event.get("event_id"), "event_name": name})
                return
            if name == "comment:new":
                sent = self._on_comment(s, event, data)
            elif name == "comment:reply":
                sent = self._on_reply(s, event, data)
            elif name == "comment:update":
                self._upsert_comment(s, event.get("record") or {}, data)
            elif name == "comment:delete":
                comment_id = _uuid(data.get("comment_id"))
                if comment_id:
                    s.execute(delete(Notification).where(Notification.comment_id == comment_id))
                    for news in s.scalars(select(News).where(News.comment_id == comment_id)).all():
                        s.delete(news)
                        self.store.emit(s, "news:delete", {"news_id": news.id}, project_id=event.get("project_id"))
                    s.execute(delete(PComment).where(PComment.id == comment_id))
            elif name == "task:assign":
                sent = self._on_assign(s, event, data)
            elif name == "task:status-changed":
                self._on_status_changed(s, data)
        _fault_hook()
        if sent:
            channels.dispatch(self, sent)

    def _task(self, s, task_id, event=None) -> PTask:
        task_id = _uuid(task_id)
        if not task_id:
            raise Invalid("event without a valid task_id")
        record = (event or {}).get("record") or {}
        if (event or {}).get("name", "").startswith("task:") and record.get("id") == task_id:
            self._project_task(s, "task:update", {}, record)
            s.flush()
        task = s.get(PTask, task_id)
        if task is None:
            try:
                doc = self.services.call("tasks", "get_task", task_id=task_id, timeout=10)
            except NotFound:
                raise
            except Exception as exc:  # noqa: BLE001 - tasks not reachable: retry the event later
                raise Unavailable(f"task {task_id} unknown here and tasks unreachable: {exc!r}") from None
            self._project_task(s, "task:update", {}, doc)
            s.flush()
            task = s.get(PTask, task_id)
        return task

    def _upsert_comment(self, s, record, data) -> PComment | None:
        comment_id = _uuid(record.get("id") or data.get("comment_id"))
        if not comment_id:
            return None
        row = s.get(PComment, comment_id) or PComment(id=comment_id, replies=[], mentions=[], department_mentions=[])
        if record:
            previews = record.get("previews") or []
            row.task_id = _uuid(record.get("object_id") or data.get("task_id"))
            row.person_id = _uuid(record.get("person_id") or data.get("person_id"))
            row.text = record.get("text")
            row.task_status_id = _uuid(record.get("task_status_id") or data.get("task_status_id"))
            row.replies = record.get("replies") or []
            row.mentions = _ids(record.get("mentions"))
            row.department_mentions = _ids(record.get("department_mentions"))
            row.preview_file_id = _uuid(record.get("preview_file_id")) or (
                _ids(previews)[0] if _ids(previews) else None)
            row.created_at = _date(record.get("created_at")) or row.created_at
        else:
            row.task_id = row.task_id or _uuid(data.get("task_id"))
            row.person_id = row.person_id or _uuid(data.get("person_id"))
            row.task_status_id = row.task_status_id or _uuid(data.get("task_status_id"))
            row.mentions = row.mentions or _ids(data.get("mentions"))
            row.department_mentions = row.department_mentions or _ids(data.get("department_mentions"))
        s.merge(row)
        s.flush()
        return s.get(PComment, comment_id)

    def _subscribers(self, s, task: PTask) -> tuple[list, list]:
        task_subs = list(s.scalars(select(Subscription.person_id).where(Subscription.task_id == task.id)))
        seq_subs = []
        entity = s.get(PEntity, task.entity_id) if task.entity_id else None
        if entity is not None and entity.parent_id and task.task_type_id:
            seq_subs = list(s.scalars(select(Subscription.person_id).where(
                Subscription.entity_id == entity.parent_id, Subscription.task_type_id == task.task_type_id)))
        return task_subs, seq_subs

    def _team_departments(self, s, project_id) -> dict:
        project = s.get(PProject, project_id) if project_id else None
        if project is None or not project.team:
            return {}
        return {p.id: p.departments for p in s.scalars(select(PPerson).where(PPerson.id.in_(project.team)))}

    def _notify(self, s, sent, person_id, kind, ref, project_id, **fields) -> None:
        key = domain.dedup_key(kind, person_id, ref)
        created = fields.pop("created_at", None) or now()
        row = s.execute(
            pg_insert(Notification.__table__)
            .values(id=_new_id(), person_id=person_id, type=kind, read=False, dedup_key=key,
                    created_at=created, updated_at=created, **fields)
            .on_conflict_do_nothing(index_elements=["dedup_key"])
            .returning(Notification.__table__.c.id)
        ).first()
        if row is None:
            return
        self.store.emit(s, "notification:new", {"notification_id": row[0], "person_id": person_id},
                        project_id=project_id)
        sent.append({"notification_id": row[0], "person_id": person_id, "type": kind, "project_id": project_id,
                     **fields})

    def _on_comment(self, s, event, data) -> list:
        comment = self._upsert_comment(s, event.get("record") or {}, data)
        if comment is None:
            raise Invalid("comment:new without a comment id")
        task = self._task(s, comment.task_id or data.get("task_id"))
        author_id = comment.person_id
        record = event.get("record") or {}
        change = bool(record.get("changed_status") or data.get("changed_status") or data.get("change"))
        _lock_task(s, task.id)
        pending = s.scalars(select(PStatusChange).where(
            PStatusChange.task_id == task.id, PStatusChange.status_id == comment.task_status_id,
            PStatusChange.person_id == author_id, PStatusChange.comment_id.is_(None))
            .order_by(PStatusChange.created_at.desc()).limit(1)).first()
        if pending is not None:
            pending.comment_id = comment.id
            change = True
        sent: list = []
        task_subs, seq_subs = self._subscribers(s, task)
        for person_id in domain.comment_recipients(task.assignees, task_subs, seq_subs, author_id):
            self._notify(s, sent, person_id, "comment", comment.id, task.project_id, comment_id=comment.id,
                         author_id=author_id, task_id=task.id, change=change, created_at=comment.created_at)
        for person_id in domain.mentioned(comment.mentions, comment.department_mentions,
                                          self._team_departments(s, task.project_id), author_id):
            self._notify(s, sent, person_id, "mention", comment.id, task.project_id, comment_id=comment.id,
                         author_id=author_id, task_id=task.id, created_at=comment.created_at)
        entity = s.get(PEntity, task.entity_id) if task.entity_id else None
        if entity is None or entity.kind != "concept":
            created = comment.created_at or now()
            news_id = s.execute(
                pg_insert(News.__table__)
                .values(id=_new_id(), change=change, author_id=author_id, comment_id=comment.id, task_id=task.id,
                        preview_file_id=comment.preview_file_id, created_at=created, updated_at=created)
                .on_conflict_do_nothing(index_elements=["comment_id"]).returning(News.__table__.c.id)
            ).first()
            if news_id:
                self.store.emit(s, "news:new", {"news_id": news_id[0], "task_status_id": comment.task_status_id,
                                                "task_type_id": task.task_type_id}, project_id=task.project_id)
        return sent

    def _on_reply(self, s, event, data) -> list:
        comment = self._upsert_comment(s, event.get("record") or {}, data)
        if comment is None:
            raise Invalid("comment:reply without a comment id")
        task = self._task(s, comment.task_id or data.get("task_id"))
        reply_id = _uuid(data.get("reply_id"))
        reply = next((r for r in comment.replies or [] if isinstance(r, dict) and r.get("id") == reply_id), None) or {}
        author_id = _uuid(reply.get("person_id") or data.get("person_id") or event.get("actor_id"))
        other_replies = [r for r in comment.replies or [] if isinstance(r, dict) and r.get("id") != reply_id]
        task_subs, seq_subs = self._subscribers(s, task)
        created = _date(reply.get("created_at")) or now()
        sent: list = []
        for person_id in domain.reply_recipients(task.assignees, task_subs, seq_subs, other_replies,
                                                 comment.person_id, author_id):
            self._notify(s, sent, person_id, "reply", reply_id or comment.id, task.project_id, comment_id=comment.id,
                         author_id=author_id, task_id=task.id, reply_id=reply_id, created_at=created)
        mentions = reply.get("mentions") if reply else data.get("mentions")
        dep_mentions = reply.get("department_mentions") if reply else data.get("department_mentions")
        for person_id in domain.mentioned(_ids(mentions), _ids(dep_mentions),
                                          self._team_departments(s, task.project_id), author_id):
            self._notify(s, sent, person_id, "reply-mention", reply_id or comment.id, task.project_id,
                         comment_id=comment.id, author_id=author_id, task_id=task.id, reply_id=reply_id,
                         created_at=created)
        return sent

    def _on_assign(self, s, event, data) -> list:
        person_id = _uuid(data.get("person_id"))
        if not person_id or data.get("on_create"):
            return []  # Zou notifies assignations made after creation only
        task = self._task(s, data.get("task_id"), event)
        author_id = _uuid(data.get("assigner_id")) or _uuid(event.get("actor_id"))
        if author_id == person_id:
            return []
        sent: list = []
        self._notify(s, sent, person_id, "assignation", f"{task.id}:{event.get('event_id')}", task.project_id,
                     author_id=author_id, task_id=task.id)
        return sent

    def _on_status_changed(self, s, data) -> None:
        task_id = _uuid(data.get("task_id"))
        status_id = _uuid(data.get("new_task_status_id"))
        if not task_id or not status_id:
            return
        person_id = _uuid(data.get("person_id"))
        _lock_task(s, task_id)
        s.execute(update(PTask).where(PTask.id == task_id).values(task_status_id=status_id))
        matched = select(PStatusChange.comment_id).where(PStatusChange.comment_id.isnot(None))
        news = s.execute(
            select(News).join(PComment, PComment.id == News.comment_id)
            .where(News.task_id == task_id, PComment.task_status_id == status_id, News.author_id == person_id,
                   News.change.is_(False), News.comment_id.not_in(matched))
            .order_by(News.created_at.desc()).limit(1)
        ).scalars().first()
        comment_id = news.comment_id if news is not None else None
        if news is not None:
            news.change = True
            s.execute(update(Notification).where(Notification.comment_id == comment_id,
                                                 Notification.type == "comment").values(change=True))
        s.add(PStatusChange(id=_new_id(), task_id=task_id, status_id=status_id, person_id=person_id,
                            comment_id=comment_id, created_at=now()))

    # ================================================================ user notifications
    def _me(self):
        if not self.caller.user_id:
            raise Forbidden("You are not allowed to do this")
        return self.caller.user_id

    @rpc(**expected)
    def unread_count(self, query=None, body=None):
        with self.store.session() as s:
            return s.scalar(select(func.count()).select_from(Notification).where(
                Notification.person_id == self._me(), Notification.read.is_(False))) or 0

    def _full_entity_name(self, s, entity_id) -> tuple[str, str | None, str | None]:
        """Zou's naming: "<episode> / <sequence> / <shot>" (episode when there
        is one), "<episode> / <sequence>", "<episode>", and for anything else
        (assets, edits, concepts, scenes) "<entity type> / <name>" with the
        asset's source episode as ``episode_id``."""
        entity = s.get(PEntity, entity_id) if entity_id else None
        if entity is None:
            return "", None, None
        parent = s.get(PEntity, entity.parent_id) if entity.parent_id else None
        if entity.kind == "shot":
            grand = s.get(PEntity, parent.parent_id) if parent is not None and parent.parent_id else None
            names = [x.name or "" for x in (grand, parent, entity) if x is not None]
            return " / ".join(names), grand.id if grand is not None else None, entity.preview_file_id
        if entity.kind == "episode":
            return entity.name or "", None, entity.preview_file_id
        if entity.kind == "sequence":
            if parent is not None:
                return f"{parent.name or ''} / {entity.name or ''}", parent.id, entity.preview_file_id
            return entity.name or "", None, entity.preview_file_id
        type_name = entity.type_name or {"edit": "Edit", "concept": "Concept", "scene": "Scene"}.get(entity.kind or "")
        name = f"{type_name} / {entity.name or ''}" if type_name else (entity.name or "")
        return name, entity.source_id, entity.preview_file_id

    def _notification_doc(self, s, n: Notification, me_role: str | None) -> dict:
        task = s.get(PTask, n.task_id) if n.task_id else None
        comment = s.get(PComment, n.comment_id) if n.comment_id else None
        project = s.get(PProject, task.project_id) if task and task.project_id else None
        author = s.get(PPerson, n.author_id) if n.author_id else None
        sub = s.scalars(select(Subscription.id).where(Subscription.task_id == n.task_id,
                                                      Subscription.person_id == n.person_id)).first() if n.task_id else None
        full_name, episode_id, entity_preview = self._full_entity_name(s, task.entity_id if task else None)
        reply_text, reply_mentions, reply_dep_mentions = "", [], []
        if n.type in ("reply", "reply-mention") and comment is not None:
            reply = next((r for r in comment.replies or [] if isinstance(r, dict) and r.get("id") == n.reply_id), None)
            if reply:
                reply_text = reply.get("text") or ""
                reply_mentions = reply.get("mentions") or []
                reply_dep_mentions = reply.get("department_mentions") or []
        comment_text = comment.text if comment is not None else None
        if author is not None and author.role == "client" and me_role == "user":
            comment_text, reply_text = "", ""
        return {
            "id": n.id, "type": "Notification", "notification_type": n.type, "author_id": n.author_id,
            "comment_id": n.comment_id, "task_id": n.task_id,
            "task_type_id": task.task_type_id if task else None,
            "task_status_id": comment.task_status_id if comment else None,
            "mentions": comment.mentions if comment else [], "department_mentions": comment.department_mentions if comment else [],
            "reply_mentions": reply_mentions, "reply_department_mentions": reply_dep_mentions,
            "preview_file_id": comment.preview_file_id if comment else None,
            "project_id": task.project_id if task else None, "project_name": project.name if project else None,
            "comment_text": comment_text, "reply_text": reply_text, "created_at": iso(n.created_at),
            "read": n.read, "change": n.change, "full_entity_name": full_name, "episode_id": episode_id,
            "entity_preview_file_id": entity_preview, "subscription_id": sub, "playlist_id": n.playlist_id,
            "playlist_name": "", "playlist_for_entity": "", "playlist_is_for_all": False,
        }

    @rpc(**expected)
    def user_notifications(self, query=None, body=None, notification_id=None):
        q = query or {}
        me = self._me()
        with self.store.session() as s:
            stmt = select(Notification).where(Notification.person_id == me)
            if notification_id is not None:
                stmt = stmt.where(Notification.id == valid_uuid(notification_id, "notification id"))
            for field, col in (("after", ">"), ("before", "<")):
                if q.get(field):
                    when = _date(q[field])
                    if when is None:
                        raise Invalid("Wrong date format for after or before.")
                    stmt = stmt.where(Notification.created_at > when if col == ">" else Notification.created_at < when)
            if q.get("task_type_id"):
                stmt = stmt.join(PTask, PTask.id == Notification.task_id).where(
                    PTask.task_type_id == valid_uuid(q["task_type_id"], "task_type_id"))
            if q.get("task_status_id"):
                stmt = stmt.join(PComment, PComment.id == Notification.comment_id).where(
                    PComment.task_status_id == valid_uuid(q["task_status_id"], "task_status_id"))
            if q.get("type"):
                stmt = stmt.where(Notification.type == q["type"])
            if q.get("read") not in (None, ""):
                stmt = stmt.where(Notification.read.is_(_bool(q["read"], "read")))
            if q.get("watching") not in (None, ""):
                watched = select(Subscription.task_id).where(Subscription.person_id == me, Subscription.task_id.isnot(None))
                stmt = stmt.where(Notification.task_id.in_(watched) if _bool(q["watching"], "watching")
                                  else Notification.task_id.not_in(watched))
            rows = s.scalars(stmt.order_by(Notification.created_at.desc(), Notification.id).limit(100)).all()
            return [self._notification_doc(s, n, self.caller.role) for n in rows]

    @rpc(**expected)
    def user_notification(self, notification_id, query=None, body=None):
        rows = self.user_notifications(query={}, notification_id=notification_id)
        if not rows:
            raise NotFound("Notification not found")
        return rows[0]

    @rpc(**expected)
    def update_user_notification(self, notification_id, query=None, body=None):
        body = body or {}
        if not isinstance(body.get("read"), bool):
            raise Invalid("read must be a boolean", {"field": "read"})
        me = self._me()
        with self.store.begin() as s:
            n = s.get(Notification, valid_uuid(notification_id, "notification id"))
            if n is None or n.person_id != me:
                raise NotFound("Notification not found")
            n.read = body["read"]
            n.updated_at = now()
            self.store.emit(s, "notification:read" if n.read else "notification:unread",
                            {"person_id": me, "notification_id": n.id})
            doc = row_dict(n, hidden=("dedup_key",), type_name="Notification")
            return doc

    @rpc(**expected)
    def mark_all_as_read(self, query=None, body=None):
        me = self._me()
        with self.store.begin() as s:
            s.execute(update(Notification).where(Notification.person_id == me, Notification.read.is_(False))
                      .values(read=True, updated_at=now()))
            self.store.emit(s, "notification:all-read", {"person_id": me})
        return {"success": True}

    @rpc(**expected)
    def project_notifications(self, project_id, query=None, body=None):
        project_id = valid_uuid(project_id, "project id")
        with self.store.session() as s:
            self._check_project(s, project_id, manager=True)
            page = _int((query or {}).get("page"), 1)
            limit = 100
            stmt = (select(Notification).join(PTask, PTask.id == Notification.task_id)
                    .where(PTask.project_id == project_id))
            total = s.scalar(select(func.count()).select_from(stmt.subquery())) or 0
            rows = s.scalars(stmt.order_by(Notification.updated_at.desc()).offset((page - 1) * limit).limit(limit)).all()
            return {"data": [row_dict(n, hidden=("dedup_key",), type_name="Notification") for n in rows], "total": total,
                    "nb_pages": (total + limit - 1) // limit, "limit": limit, "offset": (page - 1) * limit, "page": page}

    # ================================================================ news
    def _check_project(self, s, project_id, manager=False):
        if self.caller.role == "admin":
            return
        project = s.get(PProject, project_id)
        if project is None or self.caller.user_id not in (project.team or []):
            raise Forbidden("You are not allowed to access this project")
        if manager and self.caller.role != "manager":
            raise Forbidden("You are not allowed to do this")

    def _my_projects(self, s) -> list[str] | None:
        if self.caller.role == "admin":
            return None
        return [p.id for p in s.scalars(select(PProject)) if self.caller.user_id in (p.team or [])]

    def _news_doc(self, s, n: News) -> dict:
        task = s.get(PTask, n.task_id) if n.task_id else None
        comment = s.get(PComment, n.comment_id) if n.comment_id else None
        project = s.get(PProject, task.project_id) if task and task.project_id else None
        full_name, episode_id, entity_preview = self._full_entity_name(s, task.entity_id if task else None)
        author = s.get(PPerson, n.author_id) if n.author_id else None
        return {
            "id": n.id, "type": "News", "author_id": n.author_id, "comment_id": n.comment_id, "task_id": n.task_id,
            "task_type_id": task.task_type_id if task else None,
            "task_status_id": comment.task_status_id if comment else None,
            "task_entity_id": task.entity_id if task else None, "preview_file_id": n.preview_file_id,
            "preview_file_extension": None, "preview_file_revision": None,
            "project_id": task.project_id if task else None, "project_name": project.name if project else None,
            "created_at": iso(n.created_at), "change": n.change, "full_entity_name": full_name,
            "episode_id": episode_id, "entity_preview_file_id": entity_preview,
            "person": None if author is None else {"id": author.id, "first_name": author.first_name,
                                                   "last_name": author.last_name, "has_avatar": author.has_avatar,
                                                   "role": author.role,
                                                   "full_name": f"{author.first_name or ''} {author.last_name or ''}".strip()},
        }

    def _news(self, s, query, project_ids=None, project_id=None, entity_id=None, news_id=None, limit_default=50):
        q = query or {}
        page = _int(q.get("page"), 1)
        limit = max(1, min(_int(q.get("limit"), limit_default), 5000))
        stmt = select(News).join(PTask, PTask.id == News.task_id)
        if project_id:
            stmt = stmt.where(PTask.project_id == project_id)
        if project_ids is not None:
            stmt = stmt.where(PTask.project_id.in_(project_ids or ["00000000-0000-0000-0000-000000000000"]))
        if entity_id:
            stmt = stmt.where(PTask.entity_id == entity_id)
        if news_id:
            stmt = stmt.where(News.id == news_id)
        if q.get("task_type_id"):
            stmt = stmt.where(PTask.task_type_id == valid_uuid(q["task_type_id"], "task_type_id"))
        if q.get("task_status_id"):
            stmt = stmt.join(PComment, PComment.id == News.comment_id).where(
                PComment.task_status_id == valid_uuid(q["task_status_id"], "task_status_id"))
        if q.get("person_id") or q.get("author_id"):
            stmt = stmt.where(News.author_id == valid_uuid(q.get("person_id") or q.get("author_id"), "person_id"))
        if str(q.get("only_preview", "")).lower() == "true":
            stmt = stmt.where(News.preview_file_id.isnot(None))
        for field in ("after", "before"):
            if q.get(field):
                when = _date(q[field])
                if when is None:
                    raise Invalid(f"Wrong date format for {field} argument.")
                stmt = stmt.where(News.created_at > when if field == "after" else News.created_at < when)
        total = s.scalar(select(func.count()).select_from(stmt.subquery())) or 0
        rows = s.scalars(stmt.order_by(News.created_at.desc(), News.id.desc()).offset((page - 1) * limit).limit(limit)).all()
        stats = {}
        return {"data": [self._news_doc(s, n) for n in rows], "total": total,
                "nb_pages": (total + limit - 1) // limit if total else 0, "limit": limit,
                "offset": (page - 1) * limit, "page": page, **({"stats": stats} if q.get("stats") else {})}

    @rpc(**expected)
    def project_news(self, project_id, query=None, body=None):
        project_id = valid_uuid(project_id, "project id")
        with self.store.session() as s:
            self._check_project(s, project_id)
            return self._news(s, query, project_id=project_id)

    @rpc(**expected)
    def project_news_item(self, project_id, news_id, query=None, body=None):
        project_id = valid_uuid(project_id, "project id")
        with self.store.session() as s:
            self._check_project(s, project_id)
            result = self._news(s, {}, project_id=project_id, news_id=valid_uuid(news_id, "news id"))
            if not result["data"]:
                raise NotFound("News not found")
            return result

    @rpc(**expected)
    def all_projects_news(self, query=None, body=None):
        q = dict(query or {})
        with self.store.session() as s:
            scope = self._my_projects(s)
            project_id = q.get("project_id")
            if project_id:
                project_id = valid_uuid(project_id, "project_id")
                if scope is not None and project_id not in scope:
                    raise Forbidden("You are not allowed to access this project")
            return self._news(s, q, project_ids=scope, project_id=project_id)

    @rpc(**expected)
    def entity_news(self, entity_id, query=None, body=None):
        entity_id = valid_uuid(entity_id, "entity id")
        with self.store.session() as s:
            scope = self._my_projects(s)
            entity = s.get(PEntity, entity_id)
            if scope is not None and (entity is None or entity.project_id not in scope):
                if entity is None:
                    return []
                raise Forbidden("You are not allowed to access this entity")
            return self._news(s, {"limit": 2000}, entity_id=entity_id, limit_default=2000)["data"]

    # ================================================================ subscriptions
    def _task_for_subscription(self, s, task_id) -> PTask:
        task_id = valid_uuid(task_id, "task id")
        task = s.get(PTask, task_id)
        if task is None:
            try:
                doc = self.services.call("tasks", "get_task", task_id=task_id, timeout=10)
            except NotFound:
                raise NotFound(f"Task {task_id} not found") from None
            except Exception:  # noqa: BLE001
                raise NotFound(f"Task {task_id} not found") from None
            self._project_task(s, "task:update", {}, doc)
            s.flush()
            task = s.get(PTask, task_id)
        if task.project_id:
            self._check_project(s, task.project_id)
        return task

    @rpc(**expected)
    def task_subscribed(self, task_id, query=None, body=None):
        with self.store.session() as s:
            return s.scalars(select(Subscription.id).where(Subscription.person_id == self._me(),
                                                           Subscription.task_id == valid_uuid(task_id, "task id"))).first() is not None

    def _subscribe_task(self, s, task_id) -> dict:
        task = self._task_for_subscription(s, task_id)
        me = self._me()
        s.execute(pg_insert(Subscription.__table__).values(id=_new_id(), person_id=me, task_id=task.id,
                                                           created_at=now(), updated_at=now())
                  .on_conflict_do_nothing(constraint="subscription_task_uc"))
        sub = s.scalars(select(Subscription).where(Subscription.person_id == me, Subscription.task_id == task.id)).first()
        return row_dict(sub, type_name="Subscription")

    @rpc(**expected)
    def subscribe_task(self, task_id, query=None, body=None):
        with self.store.begin() as s:
            return self._subscribe_task(s, task_id)

    @rpc(**expected)
    def unsubscribe_task(self, task_id, query=None, body=None):
        with self.store.begin() as s:
            s.execute(delete(Subscription).where(Subscription.person_id == self._me(),
                                                 Subscription.task_id == valid_uuid(task_id, "task id")))
        return None

    @staticmethod
    def _task_ids(body):
        ids = (body or {}).get("task_ids") if isinstance(body, dict) else None
        if not isinstance(ids, list):
            raise Invalid("task_ids must be a list of task ids", {"field": "task_ids"})
        return [valid_uuid(t, "task id") for t in ids]

    @rpc(**expected)
    def subscribe_tasks(self, query=None, body=None):
        ids = self._task_ids(body)
        with self.store.begin() as s:
            return [self._subscribe_task(s, t) for t in ids]

    @rpc(**expected)
    def unsubscribe_tasks(self, query=None, body=None):
        ids = self._task_ids(body)
        with self.store.begin() as s:
            s.execute(delete(Subscription).where(Subscription.person_id == self._me(), Subscription.task_id.in_(ids)))
        return ids

    @rpc(**expected)
    def sequence_subscribed(self, sequence_id, task_type_id, query=None, body=None):
        with self.store.session() as s:
            return s.scalars(select(Subscription.id).where(
                Subscription.person_id == self._me(), Subscription.entity_id == valid_uuid(sequence_id, "sequence id"),
                Subscription.task_type_id == valid_uuid(task_type_id, "task type id"))).first() is not None

    @rpc(**expected)
    def subscribe_sequence(self, sequence_id, task_type_id, query=None, body=None):
        sequence_id = valid_uuid(sequence_id, "sequence id")
        task_type_id = valid_uuid(task_type_id, "task type id")
        me = self._me()
        with self.store.begin() as s:
            seq = s.get(PEntity, sequence_id)
            if seq is not None and seq.project_id:
                self._check_project(s, seq.project_id)
            s.execute(pg_insert(Subscription.__table__).values(id=_new_id(), person_id=me, entity_id=sequence_id,
                                                               task_type_id=task_type_id, created_at=now(), updated_at=now())
                      .on_conflict_do_nothing(constraint="subscription_entity_uc"))
            sub = s.scalars(select(Subscription).where(Subscription.person_id == me, Subscription.entity_id == sequence_id,
                                                       Subscription.task_type_id == task_type_id)).first()
            return row_dict(sub, type_name="Subscription")

    @rpc(**expected)
    def unsubscribe_sequence(self, sequence_id, task_type_id, query=None, body=None):
        with self.store.begin() as s:
            s.execute(delete(Subscription).where(
                Subscription.person_id == self._me(), Subscription.entity_id == valid_uuid(sequence_id, "sequence id"),
                Subscription.task_type_id == valid_uuid(task_type_id, "task type id")))
        return None

    @rpc(**expected)
    def sequence_subscriptions(self, project_id, task_type_id, query=None, body=None):
        project_id = valid_uuid(project_id, "project id")
        task_type_id = valid_uuid(task_type_id, "task type id")
        with self.store.session() as s:
            rows = s.scalars(select(Subscription.entity_id).join(PEntity, PEntity.id == Subscription.entity_id).where(
                Subscription.person_id == self._me(), Subscription.task_type_id == task_type_id,
                PEntity.project_id == project_id)).all()
            return list(rows)

    @rpc(**expected)
    def project_subscriptions(self, project_id, query=None, body=None):
        project_id = valid_uuid(project_id, "project id")
        with self.store.session() as s:
            self._check_project(s, project_id, manager=True)
            rows = s.scalars(select(Subscription).join(PTask, PTask.id == Subscription.task_id)
                             .where(PTask.project_id == project_id)).all()
            return [row_dict(r, type_name="Subscription") for r in rows]

    # ================================================================ chats
    def _entity_access(self, s, entity_id) -> PEntity | None:
        entity_id = valid_uuid(entity_id, "entity id")
        entity = s.get(PEntity, entity_id)
        if entity is not None and entity.project_id:
            self._check_project(s, entity.project_id)
        elif self.caller.role != "admin":
            raise NotFound(f"Entity {entity_id} not found")
        return entity

    def _chat(self, s, entity_id) -> Chat:
        entity_id = valid_uuid(entity_id, "entity id")
        self._entity_access(s, entity_id)
        chat = s.scalars(select(Chat).where(Chat.object_id == entity_id)).first()
        if chat is None:
            s.execute(pg_insert(Chat.__table__).values(id=_new_id(), object_id=entity_id, object_type="entity",
                                                       created_at=now(), updated_at=now())
                      .on_conflict_do_nothing(index_elements=["object_id"]))
            chat = s.scalars(select(Chat).where(Chat.object_id == entity_id)).first()
        return chat

    def _chat_doc(self, s, chat: Chat) -> dict:
        doc = row_dict(chat, type_name="Chat")
        doc["participants"] = list(s.scalars(select(ChatParticipant.person_id).where(ChatParticipant.chat_id == chat.id)))
        return doc

    @rpc(**expected)
    def entity_chat(self, entity_id, query=None, body=None):
        with self.store.begin() as s:
            return self._chat_doc(s, self._chat(s, entity_id))

    @rpc(**expected)
    def join_chat(self, entity_id, query=None, body=None):
        me = self._me()
        with self.store.begin() as s:
            chat = self._chat(s, entity_id)
            s.execute(pg_insert(ChatParticipant.__table__).values(chat_id=chat.id, person_id=me).on_conflict_do_nothing())
            entity = s.get(PEntity, chat.object_id)
            self.store.emit(s, "chat:joined", {"chat_id": chat.id, "person_id": me},
                            project_id=entity.project_id if entity else None)
            return row_dict(chat, type_name="Chat")

    @rpc(**expected)
    def leave_chat(self, entity_id, query=None, body=None):
        me = self._me()
        with self.store.begin() as s:
            chat = self._chat(s, entity_id)
            s.execute(delete(ChatParticipant).where(ChatParticipant.chat_id == chat.id, ChatParticipant.person_id == me))
            entity = s.get(PEntity, chat.object_id)
            self.store.emit(s, "chat:left", {"chat_id": chat.id, "person_id": me},
                            project_id=entity.project_id if entity else None)
        return None

    @rpc(**expected)
    def user_chats(self, query=None, body=None):
        me = self._me()
        with self.store.session() as s:
            chats = s.scalars(select(Chat).join(ChatParticipant, ChatParticipant.chat_id == Chat.id)
                              .where(ChatParticipant.person_id == me)).all()
            out = []
            for chat in chats:
                entity = s.get(PEntity, chat.object_id)
                project = s.get(PProject, entity.project_id) if entity and entity.project_id else None
                if project is not None and not project.is_open:
                    continue
                doc = row_dict(chat, type_name="Chat")
                doc["entity_name"] = self._full_entity_name(s, chat.object_id)[0]
                doc["project_id"] = entity.project_id if entity else None
                doc["preview_file_id"] = entity.preview_file_id if entity else None
                out.append(doc)
            return out

    @staticmethod
    def _message_doc(m: ChatMessage) -> dict:
        doc = row_dict(m, hidden=("attachment_files",), type_name="ChatMessage")
        doc["attachment_files"] = [{"id": a.get("id"), "name": a.get("name"), "extension": a.get("extension")}
                                   for a in m.attachment_files or []]
        return doc

    @rpc(**expected)
    def chat_messages(self, entity_id, query=None, body=None):
        with self.store.begin() as s:
            chat = self._chat(s, entity_id)
            rows = s.scalars(select(ChatMessage).where(ChatMessage.chat_id == chat.id).order_by(ChatMessage.created_at)).all()
            return [self._message_doc(m) for m in rows]

    @rpc(**expected)
    def create_chat_message(self, entity_id, query=None, body=None):
        body = body or {}
        message = body.get("message") if isinstance(body, dict) else None
        if message is None and isinstance(body, dict):
            message = body.get("text")
        if not isinstance(message, str) or not message.strip():
            raise Invalid("Field message is required", {"field": "message"})
        attachments = body.get("attachments") or []
        if not isinstance(attachments, list):
            raise Invalid("attachments must be a list")
        files = []
        for a in attachments:
            if not isinstance(a, dict) or not isinstance(a.get("name"), str):
                raise Invalid("Each attachment needs a name (and the storage key the gateway wrote)")
            name = a["name"][:250]
            files.append({"id": _new_id(), "name": name, "extension": name.rsplit(".", 1)[-1][:6] if "." in name else "",
                          "key": a.get("key"), "size": a.get("size"), "mimetype": a.get("mimetype")})
        me = self._me()
        with self.store.begin() as s:
            chat = self._chat(s, entity_id)
            m = ChatMessage(chat_id=chat.id, person_id=me, text=message, attachment_files=files)
            s.add(m)
            s.flush()
            chat.last_message = m.created_at
            entity = s.get(PEntity, chat.object_id)
            self.store.emit(s, "chat:new-message", {"chat_id": chat.id, "chat_message_id": m.id,
                                                    "last_message": iso(m.created_at)},
                            project_id=entity.project_id if entity else None)
            return self._message_doc(m)

    @rpc(**expected)
    def chat_message(self, entity_id, chat_message_id, query=None, body=None):
        with self.store.begin() as s:
            chat = self._chat(s, entity_id)
            m = s.get(ChatMessage, valid_uuid(chat_message_id, "chat message id"))
            if m is None or m.chat_id != chat.id:
                raise NotFound(f"Chat message {chat_message_id} not found")
            return self._message_doc(m)

    @rpc(**expected)
    def delete_chat_message(self, entity_id, chat_message_id, query=None, body=None):
        with self.store.begin() as s:
            chat = self._chat(s, entity_id)
            m = s.get(ChatMessage, valid_uuid(chat_message_id, "chat message id"))
            if m is None or m.chat_id != chat.id:
                raise NotFound(f"Chat message {chat_message_id} not found")
            if m.person_id != self.caller.user_id and self.caller.role != "admin":
                raise Forbidden("You can only delete your own messages")
            s.delete(m)
            entity = s.get(PEntity, chat.object_id)
            self.store.emit(s, "chat:deleted-message", {"chat_id": chat.id, "chat_message_id": m.id},
                            project_id=entity.project_id if entity else None)
        return None

    # ================================================================ CRUD (admin, as Zou)
    def _model(self, model):
        if model not in CRUD:
            raise NotFound(f"Unknown model {model}")
        if self.caller.role != "admin":
            raise Forbidden("You are not allowed to do this")
        return CRUD[model]

    def _dump(self, obj, type_name):
        row = row_dict(obj, hidden=("dedup_key",), type_name=type_name)
        if isinstance(obj, Notification):
            # Zou's serializer puts the model name in "type" and the kind of
            # notification (comment, mention, assignation, reply…) beside it.
            row["notification_type"] = obj.type
        return row

    @rpc(**expected)
    def crud_list(self, model, query=None, body=None):
        cls, type_name = self._model(model)
        with self.store.session() as s:
            stmt = apply_filters(select(cls), cls, query or {}, forbidden=("dedup_key",))
            return list_rows(s, cls, stmt, query, lambda o: self._dump(o, type_name))

    @rpc(**expected)
    def crud_get(self, model, instance_id, query=None, body=None):
        cls, type_name = self._model(model)
        with self.store.session() as s:
            obj = s.get(cls, valid_uuid(instance_id))
            if obj is None:
                raise NotFound(f"{type_name} {instance_id} not found")
            return self._dump(obj, type_name)

    @rpc(**expected)
    def crud_create(self, model, query=None, body=None):
        cls, type_name = self._model(model)
        if not isinstance(body, dict):
            raise Invalid("A JSON object is expected")
        for f in REQUIRED.get(model, ()):
            if body.get(f) in (None, ""):
                raise Invalid(f"Field {f} is required", {"field": f})
        if model == "notifications" and body.get("type") not in NOTIFICATION_TYPES:
            raise Invalid("Invalid notification type", {"field": "type"})
        with self.store.begin() as s:
            obj = cls()
            apply_body(obj, body, WRITABLE[model])
            s.add(obj)
            try:
                s.flush()
            except Exception:  # noqa: BLE001 - a unique or type violation is the caller's input
                raise Invalid(f"A {type_name.lower()} with the same unique values already exists") from None
            prefix = {"chat-messages": "chat-message", "subscriptions": "subscription", "notifications": "notification",
                      "chats": "chat", "news": "news"}[model]
            self.store.emit(s, f"{prefix}:new", {f"{prefix.replace('-', '_')}_id": obj.id})
            return self._dump(obj, type_name)

    @rpc(**expected)
    def crud_update(self, model, instance_id, query=None, body=None):
        cls, type_name = self._model(model)
        if not isinstance(body, dict):
            raise Invalid("A JSON object is expected")
        with self.store.begin() as s:
            obj = s.get(cls, valid_uuid(instance_id))
            if obj is None:
                raise NotFound(f"{type_name} {instance_id} not found")
            apply_body(obj, body, WRITABLE[model])
            if hasattr(obj, "updated_at"):
                obj.updated_at = now()
            try:
                s.flush()
            except Exception:  # noqa: BLE001
                raise Invalid("Invalid values") from None
            return self._dump(obj, type_name)

    @rpc(**expected)
    def crud_delete(self, model, instance_id, query=None, body=None):
        cls, type_name = self._model(model)
        with self.store.begin() as s:
            obj = s.get(cls, valid_uuid(instance_id))
            if obj is None:
                raise NotFound(f"{type_name} {instance_id} not found")
            if model == "chats":
                s.execute(delete(ChatMessage).where(ChatMessage.chat_id == obj.id))
                s.execute(delete(ChatParticipant).where(ChatParticipant.chat_id == obj.id))
            s.delete(obj)
        return None


def _bool(value, what):
    low = str(value).lower()
    if low in ("true", "1"):
        return True
    if low in ("false", "0"):
        return False
    raise Invalid(f"Invalid value for {what}: {value}")


def _int(value, default):
    if value in (None, ""):
        return default
    try:
        return max(1, int(value))
    except (TypeError, ValueError):
        raise Invalid("page and limit must be integers") from None


def _lock_task(s, task_id) -> None:
    """Serialise the handlers of one task (comment:new and task:status-changed
    may run at once on two workers) for the rest of the transaction."""
    s.execute(text("SELECT pg_advisory_xact_lock(hashtext(:k))"), {"k": f"task:{task_id}"})


def _new_id():
    import uuid

    return str(uuid.uuid4())


def _fault_hook():
    """F1's kill point: after the side effect committed, before the ack
    (``SLATE_FAULT_NOTIFICATIONS_EXIT_AFTER`` = N events, test env only)."""
    n = os.environ.get("SLATE_FAULT_NOTIFICATIONS_EXIT_AFTER")
    if not n or config.get("SLATE_ENV") != "test":
        return
    _fault["handled"] += 1
    if _fault["handled"] >= int(n):
        logging.shutdown()
        os._exit(137)


Service = NotificationsService
