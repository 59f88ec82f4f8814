"""The comment workflow, as Zou does it, in one transaction: the comment, the
task's status change (retake count and cap, real start, end and done dates),
mentions, checklists, attachments (storage keys), hashtags, then status
automations; replies, acknowledgements, pins, edits and deletes.

The task row is locked (``SELECT … FOR UPDATE``) for the whole workflow, so
concurrent comments on one task apply one after the other and the status
history stays consistent. An Idempotency-Key is claimed in the same
transaction: a retried POST returns the first result, never a second comment.
"""

from __future__ import annotations

import re
import uuid

from nameko.rpc import rpc
from slatekit.crud import list_rows, now, to_json, valid_uuid, apply_filters
from slatekit.errors import SLATE_ERRORS, Forbidden, Invalid, NotFound
from sqlalchemy import select

from . import domain, schemas
from .models import (
    AttachmentFile,
    Comment,
    ProjDepartment,
    ProjEntity,
    ProjEntityType,
    ProjPerson,
    ProjProject,
    StatusAutomation,
    Task,
    TaskStatus,
    TaskType,
)

expected = {"expected_exceptions": SLATE_ERRORS}
MAX_AUTOMATION_DEPTH = 5


def precise_now():
    """UTC now with microseconds: comments posted in the same second keep
    their order (the JSON still shows seconds, as Zou does)."""
    import datetime as dt

    return dt.datetime.now(dt.timezone.utc).replace(tzinfo=None)


def _bool(value) -> bool:
    if isinstance(value, str):
        return value.lower() in ("true", "1", "yes")
    return bool(value)


def _json_list(value, what):
    import json

    if value in (None, ""):
        return []
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except ValueError:
            raise Invalid(f"Invalid {what}") from None
    if not isinstance(value, list):
        raise Invalid(f"Invalid {what}")
    return value


_ATTACHMENT_KEY = re.compile(r"^attachments/[0-9a-f]{2}/[0-9a-f]{2}/[0-9a-f-]{36}$")


def _attachment_row(a: dict, comment_id: str, trusted: bool) -> AttachmentFile:
    """An attachment row. Only a ``trusted`` entry (from the gateway's upload
    handler) carries a storage key and its id, and only in the
    ``attachments/`` area."""
    name = str(a.get("name"))[:250]
    key = a.get("key") if trusted else None
    if key is not None and (not isinstance(key, str) or not _ATTACHMENT_KEY.match(key)):
        raise Invalid("Bad attachment storage key")
    row = AttachmentFile(name=name, size=int(a.get("size") or 1),
                         extension=(name.rsplit(".", 1)[-1] if "." in name else "")[:6],
                         mimetype=str(a.get("mimetype"))[:255] if a.get("mimetype") else None,
                         comment_id=comment_id, storage_key=key)
    if trusted and a.get("id"):
        row.id = valid_uuid(a["id"], "attachment id")
    return row


class CommentsMixin:
    # ------------------------------------------------------------ helpers
    def _comment(self, s, comment_id, task_id=None, lock=False) -> Comment:
        cid = valid_uuid(comment_id, "comment id")
        stmt = select(Comment).where(Comment.id == cid)
        if lock:
            stmt = stmt.with_for_update()
        c = s.scalars(stmt).first()
        if c is None or (task_id is not None and c.object_id != valid_uuid(task_id, "task id")):
            raise NotFound(f"Comment {comment_id} not found")
        return c

    def _attachments(self, s, comment_ids) -> dict:
        out: dict = {i: [] for i in comment_ids}
        if comment_ids:
            for a in s.scalars(select(AttachmentFile).where(AttachmentFile.comment_id.in_(list(comment_ids)))):
                out.setdefault(a.comment_id, []).append(a)
        return out

    def _comment_doc(self, s, c: Comment, full=False) -> dict:
        doc = schemas.comment(c, self._attachments(s, [c.id])[c.id])
        if full:
            st = s.get(TaskStatus, c.task_status_id) if c.task_status_id else None
            doc["task_status"] = schemas.dump(st) if st else None
            p = s.get(ProjPerson, c.person_id)
            doc["person"] = to_json(p.record) if p is not None and p.record else schemas.person_short(p, c.person_id)
        return doc

    def _is_mentioned_on_task(self, s, task_id) -> bool:
        uid = self.caller.user_id
        if not uid:
            return False
        deps = list(self.caller.departments or [])
        stmt = select(Comment.id).where(Comment.object_id == task_id)
        cond = Comment.mentions.any(uid)
        if deps:
            cond = cond | Comment.department_mentions.overlap(deps)
        return s.scalars(stmt.where(cond).limit(1)).first() is not None

    def _check_comment_read(self, s, c: Comment, task: Task, project: ProjProject) -> None:
        if self.caller.role == "admin":
            return
        self._check_project_access(project)
        author = s.get(ProjPerson, c.person_id)
        author_role = author.role if author else None
        if not domain.comment_visible(self._role(project), self.caller.user_id, c.person_id, author_role,
                                      c.for_client, project.is_clients_isolated):
            raise Forbidden("You are not allowed to see this comment")

    # ------------------------------------------------------------ RPCs for services
    @rpc(**expected)
    def get_comment(self, comment_id):
        """The comment JSON, for previews and notifications."""
        with self.store.session() as s:
            c = self._comment(s, comment_id)
            doc = self._comment_doc(s, c)
            task = s.get(Task, c.object_id)
            doc["project_id"] = task.project_id if task else c.project_id
            return doc

    # ------------------------------------------------------------ create
    @rpc(**expected)
    def comment_task(self, task_id, body=None, query=None, idempotency_key=None, uploads=None):
        """POST /actions/tasks/<id>/comment (gazu.task.add_comment)."""
        if not isinstance(body, dict):
            raise Invalid("A JSON object is expected")
        if not body.get("task_status_id"):
            raise Invalid("Task status ID required.", {"field": "task_status_id"})
        text = body.get("comment", body.get("text", ""))
        if text is None:
            text = ""
        if not isinstance(text, str):
            raise Invalid("Invalid comment text")
        checklist = _json_list(body.get("checklist"), "checklist")
        links = [str(x) for x in _json_list(body.get("links"), "links")]
        attachments = _json_list(body.get("attachment_files"), "attachment files")
        key = self._idem_key(idempotency_key, body)
        with self.store.begin() as s:
            stored = self._idem_claim(s, key, f"comment:{task_id}")
            if stored is not None:
                return stored["result"]
            task = self._task(s, task_id, lock=True)
            project = self._project(s, task.project_id)
            status = self._status(s, body["task_status_id"])
            if project.status == "closed":
                raise Forbidden("This project is closed: comments are not allowed")
            if self.caller.role != "admin" and not self._in_team(project):
                raise Forbidden("You are not allowed to comment on this task")
            if not self._task_action_allowed(s, task, project):
                # A mention lets someone answer, never change the status.
                if not self._is_mentioned_on_task(s, task.id) or self._role(project) == "vendor":
                    raise Forbidden("You are not allowed to comment on this task")
                if status.id != task.task_status_id:
                    raise Forbidden("A mention lets you answer, not change the task status")
            role = self._role(project)
            try:
                domain.check_status_allowed(role, status)
            except domain.Denied as exc:
                raise Forbidden(str(exc)) from None
            manager = role in ("admin", "manager")
            author_id = self.caller.user_id
            created_at = precise_now()
            for_client = False
            if manager:
                if body.get("person_id"):
                    author_id = valid_uuid(body["person_id"], "person id")
                if body.get("created_at"):
                    try:
                        created_at = domain.parse_datetime(body["created_at"])
                    except domain.Bad as exc:
                        raise Invalid(str(exc)) from None
                for_client = _bool(body.get("for_client"))
            comment = self._post_comment(s, task, project, status, text, author_id, created_at,
                                         checklist=checklist, links=links, for_client=for_client,
                                         attachments=attachments, with_hashtags=True,
                                         uploads=_json_list(uploads, "uploads"))
            result = self._comment_doc(s, comment, full=True)
            self._idem_put(s, key, result)
            return result

    def _post_comment(self, s, task: Task, project: ProjProject, status: TaskStatus, text: str, author_id: str,
                      created_at, checklist=(), links=(), for_client=False, attachments=(),
                      with_hashtags=False, depth=0, uploads=()) -> Comment:
        entity = s.get(ProjEntity, task.entity_id)
        if domain.retake_capped(status, task.retake_count, project.max_retakes, entity.data if entity else None):
            raise Invalid("No more retakes allowed on this task")
        team_people = [(p.id, p.full_name) for p in s.scalars(
            select(ProjPerson).where(ProjPerson.id.in_(list(project.team or []))))]
        departments = [(d.id, d.name) for d in s.scalars(select(ProjDepartment))]
        comment = Comment(
            object_id=task.id, object_type="Task", text=text, task_status_id=status.id, person_id=author_id,
            checklist=list(checklist), links=list(links), for_client=for_client, replies=[], previews=[],
            mentions=domain.mentions(text, team_people), department_mentions=domain.mentions(text, departments),
            acknowledgements=[], project_id=task.project_id, created_at=created_at, updated_at=created_at,
        )
        s.add(comment)
        s.flush()
        for a in attachments:
            if not isinstance(a, dict) or not a.get("name"):
                raise Invalid("Each attachment needs a name")
            # A storage key never comes from a client's JSON (it could name
            # someone else's file): only from the gateway's upload handler.
            s.add(_attachment_row(a, comment.id, trusted=False))
        for a in uploads:
            s.add(_attachment_row(a, comment.id, trusted=True))
        s.flush()
        previous_status_id = task.task_status_id
        changes, changed = domain.status_change(task, status, created_at, now())
        for k, v in changes.items():
            setattr(task, k, v)
        if changes:
            self._touch(task)
        comment.changed_status = changed
        s.flush()
        comment_doc = schemas.comment(comment, self._attachments(s, [comment.id])[comment.id])
        self.store.emit(s, "comment:new", {
            "comment_id": comment.id, "task_id": task.id, "task_status_id": status.id,
            "person_id": author_id, "for_client": for_client, "mentions": comment_doc["mentions"],
            "department_mentions": comment_doc["department_mentions"], "entity_id": task.entity_id,
        }, project_id=task.project_id, record=comment_doc)
        record = self._emit_task(s, "task:update", task) if changes else None
        if changed:
            data = {"task_id": task.id, "new_task_status_id": status.id,
                    "previous_task_status_id": previous_status_id, "person_id": author_id}
            self.store.emit(s, "task:status-changed", data, project_id=task.project_id, record=record)
            if status.is_feedback_request:
                self.store.emit(s, "task:to-review", dict(data, comment_id=comment.id),
                                project_id=task.project_id, record=record)
        if with_hashtags:
            self._hashtags(s, task, project, text, author_id)
        if changed and depth < MAX_AUTOMATION_DEPTH:
            self._run_automations(s, task, project, author_id, depth)
        return comment

    def _hashtags(self, s, task, project, text, author_id):
        tags = domain.hashtags(text)
        if not tags:
            return
        source_type = s.get(TaskType, task.task_type_id)
        siblings = list(s.scalars(select(Task).where(Task.entity_id == task.entity_id, Task.id != task.id)
                                  .with_for_update()))
        for sib in siblings:
            tt = s.get(TaskType, sib.task_type_id)
            if tt is None or ("all" not in tags and tt.name.lower() not in tags):
                continue
            st = s.get(TaskStatus, sib.task_status_id)
            self._post_comment(s, sib, project, st,
                               text + f"\n\n____\nFrom {source_type.name if source_type else ''} task",
                               author_id, precise_now())

    def _run_automations(self, s, task, project, author_id, depth):
        linked = (project.record or {}).get("status_automations")
        if not linked:
            return
        ids = [a if isinstance(a, str) else a.get("id") for a in linked]
        entity = s.get(ProjEntity, task.entity_id)
        type_name = (entity.type_name if entity else None) or ""
        if entity is not None and not type_name and entity.entity_type_id:
            et = s.get(ProjEntityType, entity.entity_type_id)
            type_name = et.name if et else ""
        for auto in s.scalars(select(StatusAutomation).where(StatusAutomation.id.in_(ids))):
            if auto.archived or auto.in_task_type_id != task.task_type_id \
                    or auto.in_task_status_id != task.task_status_id:
                continue
            wanted = (auto.entity_type or "").lower()
            is_asset = type_name not in ("Shot", "Sequence", "Episode", "Scene", "Edit", "Concept")
            if (wanted == "asset" and not is_asset) or (wanted != "asset" and type_name.lower() != wanted):
                continue
            if auto.out_field_type != "status" or not auto.out_task_type_id or not auto.out_task_status_id:
                continue  # ready_for is the assets service's field: not applied here
            in_tt = s.get(TaskType, auto.in_task_type_id)
            out_tt = s.get(TaskType, auto.out_task_type_id)
            if in_tt and out_tt and (in_tt.priority or 0) > (out_tt.priority or 0):
                continue  # rollback: skipped as Zou does, to avoid cycles
            target = s.scalars(select(Task).where(Task.entity_id == task.entity_id,
                                                  Task.task_type_id == auto.out_task_type_id)
                               .with_for_update()).first()
            if target is None:
                continue
            in_status = s.get(TaskStatus, auto.in_task_status_id)
            self._post_comment(s, target, project, s.get(TaskStatus, auto.out_task_status_id),
                               f"Change triggered by {in_tt.name if in_tt else ''} set to "
                               f"{in_status.name if in_status else ''}", author_id, precise_now(), depth=depth + 1)

    @rpc(**expected)
    def comment_many(self, project_id, body=None, query=None):
        """POST /actions/projects/<id>/tasks/comment-many: a list of
        {object_id, task_status_id, comment, ...}; one transaction each."""
        if not isinstance(body, list):
            raise Invalid("A JSON array of comments is expected")
        out = []
        for item in body:
            if not isinstance(item, dict) or not item.get("object_id"):
                raise Invalid("Each comment needs an object_id")
            with self.store.session() as s:
                t = self._task(s, item["object_id"])
                if t.project_id != valid_uuid(project_id, "project id"):
                    raise Invalid("This task does not belong to the project")
            out.append(self.comment_task(task_id=item["object_id"], body=item))
        return out

    @rpc(**expected)
    def batch_comment(self, body=None, query=None, task_id=None):
        """POST /actions/tasks/batch-comment and /actions/tasks/<id>/batch-comment."""
        items = body if isinstance(body, list) else (body or {}).get("comments")
        if not isinstance(items, list):
            raise Invalid("A list of comments is expected")
        out = []
        for item in items:
            if not isinstance(item, dict):
                raise Invalid("Each comment must be an object")
            tid = task_id or item.get("task_id") or item.get("object_id")
            if not tid:
                raise Invalid("Each comment needs a task_id")
            out.append(self.comment_task(task_id=tid, body=item))
        return out

    # ------------------------------------------------------------ read
    @rpc(**expected)
    def task_comments(self, task_id, query=None, body=None):
        """GET /data/tasks/<id>/comments: newest first, with person and status."""
        with self.store.session() as s:
            task = self._task(s, task_id)
            project = self._check_task_read(s, task)
            rows = list(s.scalars(select(Comment).where(Comment.object_id == task.id)
                                  .order_by(Comment.created_at.desc(), Comment.id)))
            people = {p.id: p for p in s.scalars(select(ProjPerson).where(
                ProjPerson.id.in_({c.person_id for c in rows})))}
            statuses = {st.id: st for st in s.scalars(select(TaskStatus))}
            atts = self._attachments(s, [c.id for c in rows])
            role = self._role(project)
            out = []
            for c in rows:
                author = people.get(c.person_id)
                if self.caller.role != "admin" and not domain.comment_visible(
                        role, self.caller.user_id, c.person_id, author.role if author else None,
                        c.for_client, project.is_clients_isolated):
                    continue
                doc = schemas.comment(c, atts[c.id])
                doc["person"] = schemas.person_short(author, c.person_id)
                doc["task_status"] = schemas.status_short(statuses.get(c.task_status_id))
                out.append(doc)
            return out

    @rpc(**expected)
    def task_comment(self, task_id, comment_id, query=None, body=None):
        with self.store.session() as s:
            task = self._task(s, task_id)
            project = self._check_task_read(s, task)
            c = self._comment(s, comment_id, task_id)
            self._check_comment_read(s, c, task, project)
            return self._comment_doc(s, c, full=True)

    def list_comments(self, query=None):
        """GET /data/comments (admin, Zou's filters and paging)."""
        self._require_admin()
        with self.store.session() as s:
            from slatekit.crud import select_fields

            query = dict(query or {})
            fields = query.pop("fields", None)
            stmt = apply_filters(select(Comment), Comment, query)
            result = list_rows(s, Comment, stmt, query, lambda c: c)
            rows = result["data"] if isinstance(result, dict) else result
            atts = self._attachments(s, [c.id for c in rows])
            docs = [select_fields(schemas.comment(c, atts[c.id]), fields) for c in rows]
            if isinstance(result, dict):
                result["data"] = docs
                return result
            return docs

    def get_comment_doc(self, comment_id, query=None):
        with self.store.session() as s:
            c = self._comment(s, comment_id)
            task = self._task(s, c.object_id)
            project = self._check_task_read(s, task)
            self._check_comment_read(s, c, task, project)
            return self._comment_doc(s, c, full=_bool((query or {}).get("relations")))

    @rpc(**expected)
    def project_comments(self, project_id, query=None, body=None):
        with self.store.session() as s:
            project = self._project(s, project_id)
            self._check_manager(project) if self.caller.role != "admin" else None
            stmt = select(Comment).where(Comment.project_id == project.id).order_by(Comment.created_at.desc())
            try:
                limit = int((query or {}).get("limit") or 0)
                page = int((query or {}).get("page") or 0)
            except ValueError:
                raise Invalid("page and limit must be integers") from None
            if limit:
                stmt = stmt.limit(limit).offset(max(page - 1, 0) * limit)
            rows = list(s.scalars(stmt))
            atts = self._attachments(s, [c.id for c in rows])
            return [schemas.comment(c, atts[c.id]) for c in rows]

    # ------------------------------------------------------------ edit, delete
    @rpc(**expected)
    def update_comment(self, comment_id, body=None, query=None):
        """PUT /data/comments/<id>: the author edits text/checklist/pin; managers too."""
        if not isinstance(body, dict):
            raise Invalid("A JSON object is expected")
        with self.store.begin() as s:
            c = self._comment(s, comment_id, lock=True)
            task = self._task(s, c.object_id)
            project = self._project(s, task.project_id)
            role = self._role(project)
            is_author = c.person_id == self.caller.user_id
            if self.caller.role != "admin":
                self._check_project_access(project)
                only_pin_or_check = set(body) <= {"pinned", "checklist", "id", "type"}
                if not (is_author or role == "manager" or (only_pin_or_check and self._task_action_allowed(
                        s, task, project))):
                    raise Forbidden("You are not allowed to edit this comment")
            if "text" in body:
                if not isinstance(body["text"], str):
                    raise Invalid("Invalid comment text")
                c.text = body["text"]
                team_people = [(p.id, p.full_name) for p in s.scalars(
                    select(ProjPerson).where(ProjPerson.id.in_(list(project.team or []))))]
                c.mentions = domain.mentions(c.text, team_people)
                c.department_mentions = domain.mentions(c.text, [(d.id, d.name) for d in s.scalars(
                    select(ProjDepartment))])
                c.editor_id = self.caller.user_id
            if "checklist" in body:
                c.checklist = _json_list(body["checklist"], "checklist")
            if "pinned" in body:
                c.pinned = None if body["pinned"] is None else _bool(body["pinned"])
            if "for_client" in body and role in ("admin", "manager"):
                c.for_client = _bool(body["for_client"])
            if "task_status_id" in body and role in ("admin", "manager"):
                c.task_status_id = self._status(s, body["task_status_id"]).id
            c.updated_at = now()
            s.flush()
            doc = self._comment_doc(s, c)
            self.store.emit(s, "comment:update", {"comment_id": c.id, "task_id": task.id},
                            project_id=task.project_id, record=doc)
            return doc

    @rpc(**expected)
    def delete_comment(self, comment_id, task_id=None, query=None, body=None):
        """DELETE /data/comments/<id> and /data/tasks/<tid>/comments/<cid>: the
        author or a manager; the task's status and last comment are replayed
        from the remaining comments."""
        with self.store.begin() as s:
            c = self._comment(s, comment_id, task_id, lock=True)
            task = self._task(s, c.object_id, lock=True)
            project = self._project(s, task.project_id)
            if self.caller.role != "admin":
                self._check_project_access(project)
                if not (c.person_id == self.caller.user_id or self._role(project) == "manager"):
                    raise Forbidden("You are not allowed to delete this comment")
            doc = self._comment_doc(s, c)
            s.delete(c)
            s.flush()
            self._replay_task(s, task)
            self.store.emit(s, "comment:delete", {"comment_id": c.id, "task_id": task.id},
                            project_id=task.project_id, record=doc)
            self._emit_task(s, "task:update", task)
            return None

    def _replay_task(self, s, task: Task) -> None:
        """Status, last comment date and retake count from the remaining comments."""
        rows = list(s.scalars(select(Comment).where(Comment.object_id == task.id).order_by(Comment.created_at)))
        retakes = 0
        statuses = {st.id: st for st in s.scalars(select(TaskStatus))}
        prev = None
        for c in rows:
            st = statuses.get(c.task_status_id)
            if st is not None and st.is_retake and c.task_status_id != prev:
                retakes += 1
            prev = c.task_status_id
        if rows:
            task.task_status_id = rows[-1].task_status_id or task.task_status_id
            task.last_comment_date = rows[-1].created_at
        else:
            task.task_status_id = self._default_status(s).id
            task.last_comment_date = None
        task.retake_count = retakes
        self._touch(task)
        s.flush()

    # ------------------------------------------------------------ replies, acks
    @rpc(**expected)
    def reply_comment(self, task_id, comment_id, body=None, query=None, idempotency_key=None):
        """POST /data/tasks/<tid>/comments/<cid>/reply: {text}."""
        if not isinstance(body, dict) or not isinstance(body.get("text"), str):
            raise Invalid("Reply text required.", {"field": "text"})
        key = self._idem_key(idempotency_key, body)
        with self.store.begin() as s:
            stored = self._idem_claim(s, key, f"reply:{comment_id}")
            if stored is not None:
                return stored["result"]
            c = self._comment(s, comment_id, lock=True)
            if c.object_id != valid_uuid(task_id, "task id"):
                raise Forbidden("This comment does not belong to this task")
            task = self._task(s, task_id)
            project = self._project(s, task.project_id)
            if c.person_id != self.caller.user_id and self.caller.role != "admin":
                if not self._in_team(project):
                    raise Forbidden("You are not allowed to reply on this task")
                if not self._task_action_allowed(s, task, project):
                    if self._role(project) == "vendor" or not self._is_mentioned_on_task(s, task.id):
                        raise Forbidden("You are not allowed to reply on this task")
            team_people = [(p.id, p.full_name) for p in s.scalars(
                select(ProjPerson).where(ProjPerson.id.in_(list(project.team or []))))]
            stamp = to_json(now())
            reply = {"id": str(uuid.uuid4()), "date": stamp, "person_id": self.caller.user_id,
                     "text": body["text"], "mentions": domain.mentions(body["text"], team_people),
                     "department_mentions": domain.mentions(body["text"], [(d.id, d.name) for d in s.scalars(
                         select(ProjDepartment))]),
                     "created_at": stamp}
            c.replies = list(c.replies or []) + [reply]
            c.updated_at = now()
            s.flush()
            doc = self._comment_doc(s, c)
            self.store.emit(s, "comment:reply", {
                "comment_id": c.id, "reply_id": reply["id"], "task_id": task.id,
                "person_id": self.caller.user_id, "mentions": reply["mentions"],
                "department_mentions": reply["department_mentions"]}, project_id=task.project_id, record=doc)
            out = dict(reply, person=schemas.person_short(s.get(ProjPerson, self.caller.user_id),
                                                          self.caller.user_id))
            self._idem_put(s, key, out)
            return out

    @rpc(**expected)
    def delete_reply(self, task_id, comment_id, reply_id, query=None, body=None):
        with self.store.begin() as s:
            c = self._comment(s, comment_id, task_id, lock=True)
            replies = list(c.replies or [])
            reply = next((r for r in replies if r.get("id") == reply_id), None)
            if reply is None:
                raise NotFound(f"Reply {reply_id} not found")
            if reply.get("person_id") != self.caller.user_id:
                self._require_admin()
            c.replies = [r for r in replies if r.get("id") != reply_id]
            c.updated_at = now()
            s.flush()
            task = self._task(s, c.object_id)
            doc = self._comment_doc(s, c)
            self.store.emit(s, "comment:delete-reply", {"comment_id": c.id, "reply_id": reply_id,
                                                        "task_id": task.id},
                            project_id=task.project_id, record=doc)
            return doc

    @rpc(**expected)
    def ack_comment(self, task_id, comment_id, query=None, body=None):
        """POST /data/tasks/<tid>/comments/<cid>/ack: toggles the caller's acknowledgement."""
        with self.store.begin() as s:
            c = self._comment(s, comment_id, task_id, lock=True)
            task = self._task(s, c.object_id)
            self._check_task_read(s, task)
            uid = self.caller.user_id
            acks = list(c.acknowledgements or [])
            if uid in acks:
                acks.remove(uid)
                name = "comment:unacknowledge"
            else:
                acks.append(uid)
                name = "comment:acknowledge"
            c.acknowledgements = acks
            c.updated_at = now()
            s.flush()
            doc = self._comment_doc(s, c, full=True)
            self.store.emit(s, name, {"comment_id": c.id, "person_id": uid, "user_id": uid, "task_id": task.id},
                            project_id=task.project_id, record=self._comment_doc(s, c))
            return doc

    # ------------------------------------------------------------ attachments
    def _check_add_attachments(self, s, task_id, comment_id, lock=False) -> tuple:
        c = self._comment(s, comment_id, task_id, lock=lock)
        task = self._task(s, task_id)
        project = self._project(s, task.project_id)
        if self.caller.role != "admin" and c.person_id != self.caller.user_id \
                and not self._task_action_allowed(s, task, project):
            raise Forbidden("You are not allowed to add attachments to this comment")
        return c, task

    @rpc(**expected)
    def authorize_add_attachments(self, task_id, comment_id):
        """Checked by the gateway before it streams attachment files to storage."""
        with self.store.session() as s:
            c, _task = self._check_add_attachments(s, task_id, comment_id)
            return {"comment_id": c.id}

    @rpc(**expected)
    def add_attachments(self, task_id, comment_id, body=None, query=None, uploads=None):
        """``uploads``: files the gateway streamed to storage ([{id, name,
        size, mimetype, key}]); only the gateway passes them. Names in a JSON
        ``attachment_files`` body make rows without bytes."""
        files = [(a, False) for a in _json_list((body or {}).get("attachment_files"), "attachment files")]
        files += [(a, True) for a in _json_list(uploads, "uploads")]
        if not files:
            raise Invalid("No attachment given")
        with self.store.begin() as s:
            c, task = self._check_add_attachments(s, task_id, comment_id, lock=True)
            out = []
            for a, trusted in files:
                if not isinstance(a, dict) or not a.get("name"):
                    raise Invalid("Each attachment needs a name")
                row = _attachment_row(a, c.id, trusted)
                s.add(row)
                s.flush()
                out.append(schemas.attachment(row))
                self.store.emit(s, "attachment-file:new", {"attachment_file_id": row.id, "comment_id": c.id},
                                project_id=task.project_id, record=out[-1])
            # Zou answers the new attachments in the comment's short shape
            return [{k: a.get(k) for k in ("id", "name", "extension", "size")} for a in out]

    @rpc(**expected)
    def delete_attachment(self, task_id, comment_id, attachment_file_id, query=None, body=None):
        with self.store.begin() as s:
            c = self._comment(s, comment_id, task_id)
            a = s.get(AttachmentFile, valid_uuid(attachment_file_id))
            if a is None or a.comment_id != c.id:
                raise NotFound(f"Attachment {attachment_file_id} not found")
            task = self._task(s, task_id)
            if self.caller.role != "admin" and c.person_id != self.caller.user_id:
                self._check_manager(self._project(s, task.project_id))
            doc = schemas.attachment(a)
            s.delete(a)
            s.flush()
            self.store.emit(s, "attachment-file:delete", {"attachment_file_id": a.id, "comment_id": c.id},
                            project_id=task.project_id, record=doc)
            return None

    @rpc(**expected)
    def task_attachment_files(self, task_id, query=None, body=None):
        with self.store.session() as s:
            task = self._task(s, task_id)
            self._check_task_read(s, task)
            ids = list(s.scalars(select(Comment.id).where(Comment.object_id == task.id)))
            return [schemas.attachment(a) for a in s.scalars(
                select(AttachmentFile).where(AttachmentFile.comment_id.in_(ids)))] if ids else []

    @rpc(**expected)
    def project_attachment_files(self, project_id, query=None, body=None):
        self._require_admin()
        with self.store.session() as s:
            ids = select(Comment.id).where(Comment.project_id == valid_uuid(project_id, "project id"))
            return [schemas.attachment(a) for a in s.scalars(
                select(AttachmentFile).where(AttachmentFile.comment_id.in_(ids)))]

    @rpc(**expected)
    def attachment_download(self, attachment_file_id, file_name=None, query=None, body=None):
        """Authorises a download: returns the storage key for the gateway to stream."""
        with self.store.session() as s:
            a = s.get(AttachmentFile, valid_uuid(attachment_file_id))
            if a is None or a.comment_id is None:
                raise NotFound(f"Attachment {attachment_file_id} not found")
            c = self._comment(s, a.comment_id)
            task = self._task(s, c.object_id)
            project = self._check_task_read(s, task)
            self._check_comment_read(s, c, task, project)
            return {"key": a.storage_key, "name": a.name, "mimetype": a.mimetype, "size": a.size}

    # ------------------------------------------------------------ previews (consumed)
    def _apply_preview(self, s, record: dict, deleted=False) -> None:
        comment_id = record.get("comment_id")
        task_id = record.get("task_id")
        pid = record.get("id")
        if comment_id:
            c = s.scalars(select(Comment).where(Comment.id == comment_id).with_for_update()).first()
            if c is not None:
                previews = [p for p in (c.previews or []) if (p.get("id") if isinstance(p, dict) else p) != pid]
                if not deleted:
                    previews.append({"id": pid, "revision": record.get("revision"),
                                     "extension": record.get("extension"), "status": record.get("status"),
                                     "annotations": record.get("annotations") or [],
                                     "position": record.get("position"),
                                     "original_name": record.get("original_name"),
                                     "width": record.get("width"), "height": record.get("height"),
                                     "duration": record.get("duration")})
                c.previews = previews
        if task_id:
            task = s.scalars(select(Task).where(Task.id == task_id).with_for_update()).first()
            if task is not None:
                if deleted and task.last_preview_file_id == pid:
                    task.last_preview_file_id = None
                    self._touch(task)
                    self._emit_task(s, "task:update", task)
                elif not deleted and task.last_preview_file_id != pid:
                    task.last_preview_file_id = pid
                    self._touch(task)
                    self._emit_task(s, "task:update", task)


class GuestCommentsMixin:
    """Comments of guests of a shared review link (Zou's shared playlist
    flow). Internal RPCs: the previews service, which owns share links,
    calls them after checking the link's token, that the guest was created
    from that link, and which tasks the link shows (``task_ids``); they are
    not routed by the gateway. Guest comments go through the same workflow
    and emit the same events as any comment."""

    # Zou answers these two with a bare {"error": "..."} body; ``bare`` asks
    # the gateway for that shape.
    def _guest_forbidden(self):
        return Forbidden("Forbidden", {"bare": True})

    def _guest_not_found(self):
        return NotFound("Comment not found", {"bare": True})

    def _guest_comment(self, s, comment_id, guest_id, task_ids, lock=False) -> Comment:
        try:
            c = self._comment(s, comment_id, lock=lock)
        except (NotFound, Invalid):
            raise self._guest_not_found() from None
        if c.person_id != guest_id or c.object_id not in set(task_ids or ()):
            raise self._guest_forbidden()
        return c

    def _guest_person(self, s, guest: dict) -> None:
        """The guest was created a moment ago: its person:new may not have
        reached the projection yet; the comment's author must read right."""
        from .projections import apply_person

        if isinstance(guest, dict) and guest.get("id") and s.get(ProjPerson, guest["id"]) is None:
            apply_person(s, guest)
            s.flush()

    def _guest_status(self, s, status_id) -> TaskStatus:
        try:
            return self._status(s, status_id)
        except (NotFound, Invalid):
            raise Invalid("Task status not found", {"bare": True}) from None

    def _guest_doc(self, s, c: Comment) -> dict:
        doc = self._comment_doc(s, c)
        doc["attachment_files"] = [{"id": a["id"], "name": a["name"], "extension": a["extension"], "size": a["size"]}
                                   for a in doc["attachment_files"]]
        return doc

    @rpc(**expected)
    def guest_create_comment(self, task_id, guest, task_status_id, text="", checklist=None):
        """A guest's comment (maybe a status change, client-allowed only)."""
        if not isinstance(text, str):
            raise Invalid("Invalid comment text")
        with self.store.begin() as s:
            self._guest_person(s, guest)
            task = self._task(s, task_id, lock=True)
            project = self._project(s, task.project_id)
            status = self._guest_status(s, task_status_id)
            if not status.is_client_allowed:
                raise Invalid("Task status not allowed for guests", {"bare": True})
            comment = self._post_comment(s, task, project, status, text, guest["id"], precise_now(),
                                         checklist=_json_list(checklist, "checklist"))
            return self._comment_doc(s, comment, full=True)

    @rpc(**expected)
    def guest_update_comment(self, comment_id, guest_id, task_ids, changes=None):
        """``changes``: any of text, checklist, task_status_id."""
        changes = changes if isinstance(changes, dict) else {}
        with self.store.begin() as s:
            c = self._guest_comment(s, comment_id, guest_id, task_ids, lock=True)
            task = self._task(s, c.object_id, lock=True)
            previous_status_id = task.task_status_id
            new_status_id = changes.get("task_status_id")
            status_changed = bool(new_status_id and new_status_id != c.task_status_id)
            if status_changed:
                try:
                    status = self._status(s, new_status_id)
                except (NotFound, Invalid):
                    raise self._guest_forbidden() from None
                if not status.is_client_allowed:
                    raise self._guest_forbidden()
                c.task_status_id = status.id
            if "text" in changes:
                c.text = changes["text"] or ""
            if "checklist" in changes:
                c.checklist = _json_list(changes["checklist"], "checklist")
            c.editor_id = guest_id
            c.updated_at = now()
            s.flush()
            if status_changed:
                self._replay_task(s, task)
            doc = self._comment_doc(s, c)
            self.store.emit(s, "comment:update", {"comment_id": c.id, "task_id": task.id, "person_id": guest_id,
                                                  "for_client": bool(c.for_client)},
                            project_id=task.project_id, record=doc)
            if status_changed:
                self._guest_task_events(s, task, previous_status_id, guest_id)
            return self._guest_doc(s, c)

    def _guest_task_events(self, s, task: Task, previous_status_id, guest_id) -> None:
        record = self._emit_task(s, "task:update", task)
        if task.task_status_id != previous_status_id:
            self.store.emit(s, "task:status-changed", {
                "task_id": task.id, "new_task_status_id": task.task_status_id,
                "previous_task_status_id": previous_status_id, "person_id": guest_id},
                project_id=task.project_id, record=record)

    @rpc(**expected)
    def guest_delete_comment(self, comment_id, guest_id, task_ids):
        """Deletes a guest's own comment; returns the storage keys of its
        attachments (the previews service removes the files)."""
        with self.store.begin() as s:
            c = self._guest_comment(s, comment_id, guest_id, task_ids, lock=True)
            task = self._task(s, c.object_id, lock=True)
            previous_status_id = task.task_status_id
            doc = self._comment_doc(s, c)
            atts = self._attachments(s, [c.id])[c.id]
            keys = [a.storage_key for a in atts if a.storage_key]
            for a in atts:
                s.delete(a)
            s.delete(c)
            s.flush()
            self._replay_task(s, task)
            self.store.emit(s, "comment:delete", {"comment_id": c.id, "task_id": task.id},
                            project_id=task.project_id, record=doc)
            self._guest_task_events(s, task, previous_status_id, guest_id)
            return {"keys": keys}

    @rpc(**expected)
    def guest_add_attachments(self, comment_id, guest_id, task_ids, files):
        """``files``: [{name, key, size, mimetype}] already in storage."""
        files = _json_list(files, "attachment files")
        with self.store.begin() as s:
            c = self._guest_comment(s, comment_id, guest_id, task_ids, lock=True)
            task = self._task(s, c.object_id)
            for f in files:
                if not isinstance(f, dict) or not f.get("name") or not f.get("key"):
                    raise Invalid("Each attachment needs a name and a storage key")
                name = str(f["name"])[:250]
                row = AttachmentFile(name=name, size=int(f.get("size") or 1),
                                     extension=(name.rsplit(".", 1)[-1] if "." in name else "")[:6],
                                     mimetype=f.get("mimetype"), comment_id=c.id, storage_key=f["key"])
                s.add(row)
                s.flush()
                self.store.emit(s, "attachment-file:new", {"attachment_file_id": row.id, "comment_id": c.id},
                                project_id=task.project_id, record=schemas.attachment(row))
            return self._guest_doc(s, c)

    @rpc(**expected)
    def guest_delete_attachment(self, comment_id, guest_id, task_ids, attachment_file_id):
        """Removes one attachment of a guest's comment; returns its storage key."""
        with self.store.begin() as s:
            c = self._guest_comment(s, comment_id, guest_id, task_ids)
            try:
                a = s.get(AttachmentFile, valid_uuid(attachment_file_id))
            except Invalid:
                a = None
            if a is None or a.comment_id != c.id:
                raise self._guest_not_found()
            doc = schemas.attachment(a)
            key = a.storage_key
            s.delete(a)
            s.flush()
            self.store.emit(s, "attachment-file:delete", {"attachment_file_id": a.id, "comment_id": c.id},
                            project_id=c.project_id, record=doc)
            return {"key": key}

    def _is_guest(self, person: ProjPerson | None) -> bool:
        return bool(person is not None and (person.record or {}).get("is_guest"))

    @rpc(**expected)
    def shared_task_comments(self, task_ids):
        """What a share link shows of its tasks' comments: those for the
        client and those of guests, newest first, with author, status and
        attachments (Zou's shape)."""
        ids = [t for t in (task_ids or []) if isinstance(t, str)]
        if not ids:
            return []
        with self.store.session() as s:
            rows = list(s.scalars(select(Comment).where(Comment.object_id.in_(ids))
                                  .order_by(Comment.created_at.desc(), Comment.id)))
            people = {p.id: p for p in s.scalars(select(ProjPerson).where(
                ProjPerson.id.in_({c.person_id for c in rows} | {c.editor_id for c in rows if c.editor_id})))}
            statuses = {st.id: st for st in s.scalars(select(TaskStatus))}
            visible = [c for c in rows if c.for_client or self._is_guest(people.get(c.person_id))]
            atts = self._attachments(s, [c.id for c in visible])
            out = []
            for c in visible:
                doc = schemas.comment(c, atts[c.id])
                for key in ("mentions", "department_mentions", "acknowledgements", "previews"):
                    doc.pop(key, None)
                author = people.get(c.person_id)
                doc["person"] = dict(schemas.person_short(author, c.person_id), is_guest=self._is_guest(author))
                if c.editor_id:
                    editor = schemas.person_short(people.get(c.editor_id), c.editor_id)
                    editor.pop("full_name", None)
                    doc["editor"] = editor
                doc["task_status"] = schemas.status_short(statuses.get(c.task_status_id))
                doc["attachment_files"] = [{"id": a.id, "name": a.name, "extension": a.extension, "reply_id": None,
                                            "size": a.size} for a in atts[c.id]]
                out.append(doc)
            return out

    @rpc(**expected)
    def shared_attachment(self, attachment_file_id, task_ids):
        """The storage key of an attachment a share link shows (a comment for
        the client or of a guest, on one of the link's tasks)."""
        with self.store.session() as s:
            try:
                a = s.get(AttachmentFile, valid_uuid(attachment_file_id))
            except Invalid:
                a = None
            c = s.get(Comment, a.comment_id) if a is not None and a.comment_id else None
            if c is None or c.object_id not in set(task_ids or ()) or not a.storage_key:
                raise NotFound("Attachment not found")
            if not (c.for_client or self._is_guest(s.get(ProjPerson, c.person_id))):
                raise NotFound("Attachment not found")
            return {"key": a.storage_key, "name": a.name, "mimetype": a.mimetype, "size": a.size}

    @rpc(**expected)
    def shared_project_context(self, project_id):
        """What the page of a share link needs of its project (Zou's shared
        context): the project line, its task types and its task statuses
        (with ``is_client_allowed``: what a guest may set)."""
        with self.store.session() as s:
            project = s.get(ProjProject, valid_uuid(project_id, "project id"))
            record = (project.record or {}) if project is not None else {}
            tt_ids = [t for t in record.get("task_types") or [] if isinstance(t, str)]
            ts_ids = [t for t in record.get("task_statuses") or [] if isinstance(t, str)]
            types = list(s.scalars(select(TaskType).where(TaskType.id.in_(tt_ids)))) if tt_ids else []
            statuses = list(s.scalars(select(TaskStatus).where(TaskStatus.id.in_(ts_ids)))) if ts_ids else []
            return {
                "project": {"id": project_id, "name": record.get("name") or (project.name if project else None),
                            "fps": record.get("fps"), "ratio": record.get("ratio"),
                            "resolution": record.get("resolution"), "team": []},
                "task_types": [{"id": t.id, "name": t.name, "color": t.color, "for_entity": t.for_entity}
                               for t in sorted(types, key=lambda t: tt_ids.index(t.id))],
                "task_statuses": [{"id": st.id, "name": st.name, "short_name": st.short_name, "color": st.color,
                                   "is_client_allowed": bool(st.is_client_allowed), "is_default": bool(st.is_default),
                                   "for_concept": bool(st.for_concept)}
                                  for st in sorted(statuses, key=lambda st: ts_ids.index(st.id))],
            }

    @rpc(**expected)
    def shared_shots_info(self, task_ids):
        """Per task of a share link's playlist, what its page shows and
        cannot look up (Zou's enrichment): entity name, parent name (the
        sequence of a shot, the type of an asset), task type and status colour."""
        ids = [t for t in (task_ids or []) if isinstance(t, str)]
        if not ids:
            return {}
        shot_like = {"Shot", "Sequence", "Episode", "Edit", "Concept"}
        with self.store.session() as s:
            tasks = list(s.scalars(select(Task).where(Task.id.in_(ids))))
            entities = {e.id: e for e in s.scalars(select(ProjEntity).where(
                ProjEntity.id.in_({t.entity_id for t in tasks if t.entity_id})))}
            parents = {e.id: e.name for e in s.scalars(select(ProjEntity).where(
                ProjEntity.id.in_({e.parent_id for e in entities.values() if e.parent_id})))}
            etypes = {e.id: e.name for e in s.scalars(select(ProjEntityType))}
            ttypes = {t.id: t for t in s.scalars(select(TaskType).where(
                TaskType.id.in_({t.task_type_id for t in tasks})))}
            statuses = {st.id: st for st in s.scalars(select(TaskStatus).where(
                TaskStatus.id.in_({t.task_status_id for t in tasks})))}
            out = {}
            for t in tasks:
                e = entities.get(t.entity_id)
                info = {}
                if e is not None:
                    type_name = e.type_name if e.type_name in shot_like else (
                        etypes.get(e.entity_type_id) or e.type_name or "")
                    info["name"] = e.name
                    info["parent_name"] = parents.get(e.parent_id, "") if type_name in shot_like else type_name
                tt = ttypes.get(t.task_type_id)
                if tt is not None:
                    info["preview_file_task_type"] = {"id": tt.id, "name": tt.name, "color": tt.color,
                                                      "for_entity": tt.for_entity}
                    info["preview_file_task_type_name"] = tt.name
                st = statuses.get(t.task_status_id)
                if st is not None and st.color:
                    info["task_status_color"] = st.color
                out[t.id] = info
            return out
