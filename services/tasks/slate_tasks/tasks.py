"""Tasks: create (one, per entity, in bulk), read, update, delete, assign,
task lists per project/entity/person, open tasks, and the RPCs other
services call (``get_task``, ``export_tasks``)."""

from __future__ import annotations

from nameko.rpc import rpc
from slatekit.crud import apply_body, apply_filters, list_rows, now, to_json, valid_uuid
from slatekit.errors import SLATE_ERRORS, Forbidden, Invalid, NotFound
from sqlalchemy import delete, func, or_, select
from sqlalchemy.exc import IntegrityError

from . import domain, schemas
from .models import (
    Comment,
    ProjEntity,
    ProjEntityType,
    ProjPerson,
    ProjProject,
    Task,
    TaskStatus,
    TaskType,
    task_person_link,
)

expected = {"expected_exceptions": SLATE_ERRORS}
RESERVED_TYPES = {"Shot", "Sequence", "Episode", "Scene", "Edit", "Concept"}
TASK_WRITABLE = ("name", "description", "priority", "difficulty", "duration", "estimation", "completion_rate",
                 "retake_count", "sort_order", "start_date", "due_date", "real_start_date", "end_date",
                 "done_date", "last_comment_date", "nb_assets_ready", "data", "nb_drawings", "shotgun_id",
                 "last_preview_file_id", "task_type_id", "task_status_id", "assigner_id")
SUPERVISOR_WRITABLE = {"priority", "difficulty", "estimation", "start_date", "due_date", "end_date",
                       "completion_rate", "sort_order", "data", "nb_drawings", "description", "assignees",
                       "task_status_id", "last_comment_date"}
DATE_FIELDS = ("start_date", "due_date", "real_start_date", "end_date", "done_date", "last_comment_date")


def id_list(body, key: str | None = None, required: bool = True) -> list[str] | None:
    """A JSON array of UUIDs (or ``body[key]``), validated."""
    value = body.get(key) if key and isinstance(body, dict) else body
    if value in (None, {}, []) and not required:
        return None
    if not isinstance(value, list) or (required and not value):
        raise Invalid("A list of ids is required" + (f" in {key}" if key else ""))
    return [valid_uuid(v) for v in value]


class TasksMixin:
    # ------------------------------------------------------------ RPCs for services
    @rpc(**expected)
    def get_task(self, task_id):
        """The task JSON (with assignees) for other services."""
        with self.store.session() as s:
            return self._task_json(s, self._task(s, task_id))

    @rpc(**expected)
    def export_tasks(self, after=None, limit=1000):
        """Tasks ordered by id, for projections rebuilt by other services."""
        limit = max(1, min(int(limit or 1000), 5000))
        with self.store.session() as s:
            stmt = select(Task).order_by(Task.id).limit(limit)
            if after:
                stmt = stmt.where(Task.id > valid_uuid(after))
            rows = list(s.scalars(stmt))
            assignees = self._assignees(s, [t.id for t in rows])
            return [schemas.task(t, assignees[t.id]) for t in rows]

    # ------------------------------------------------------------ access
    def _visible_task_filter(self, s, stmt):
        role = self.caller.role
        if role == "admin":
            return stmt
        if role == "vendor":
            return stmt.where(Task.id.in_(
                select(task_person_link.c.task_id).where(task_person_link.c.person_id == self.caller.user_id)))
        return stmt.where(Task.project_id.in_(self._my_project_ids(s)))

    def _check_task_read(self, s, task: Task) -> ProjProject:
        project = self._project(s, task.project_id)
        self._check_project_access(project)
        if self.caller.role == "vendor":
            if self.caller.user_id not in self._assignees(s, [task.id])[task.id]:
                raise Forbidden("You are not allowed to access this task")
        return project

    def _task_action_allowed(self, s, task: Task, project: ProjProject, assignees=None) -> bool:
        if assignees is None:
            assignees = self._assignees(s, [task.id])[task.id]
        tt = s.get(TaskType, task.task_type_id)
        return domain.can_act_on_task(self._role(project), self.caller.user_id, self.caller.departments,
                                      project.team, assignees, tt.department_id if tt else None)

    def _dump_tasks(self, s, rows) -> list[dict]:
        assignees = self._assignees(s, [t.id for t in rows])
        return [schemas.task(t, assignees[t.id]) for t in rows]

    def _paged_tasks(self, s, stmt, query):
        """Zou's paging on task rows, serialised with their assignees in one query."""
        from slatekit.crud import select_fields

        query = dict(query or {})
        fields = query.pop("fields", None)
        if not query.get("page") and not fields:
            return self._fast_task_docs(s, stmt, query)
        result = list_rows(s, Task, stmt, query, lambda t: t)
        rows = result["data"] if isinstance(result, dict) else result
        docs = [select_fields(d, fields) for d in self._dump_tasks(s, rows)]
        if isinstance(result, dict):
            result["data"] = docs
            return result
        return docs

    def _fast_task_docs(self, s, stmt, query) -> list[dict]:
        """Large unpaged lists (a 10,000-task production): plain column rows,
        no ORM objects, and the assignees of every listed task in one query."""
        import datetime as _dt

        cols = list(Task.__table__.columns)
        ids_sub = stmt.with_only_columns(Task.id).order_by(None)
        if "limit" in query:
            from slatekit.crud import page_args

            stmt = stmt.limit(page_args(query)[1])
            ids_sub = ids_sub.limit(page_args(query)[1])
        assignees: dict = {}
        for tid, pid in s.execute(select(task_person_link.c.task_id, task_person_link.c.person_id)
                                  .where(task_person_link.c.task_id.in_(ids_sub.scalar_subquery()))):
            assignees.setdefault(tid, []).append(pid)
        keys = [c.key for c in cols]
        out = []
        for row in s.execute(stmt.with_only_columns(*[Task.__table__.c[k] for k in keys])):
            doc = {}
            for k, v in zip(keys, row):
                if isinstance(v, _dt.datetime):
                    v = v.isoformat(timespec="seconds")
                doc[k] = v
            doc["type"] = "Task"
            doc["assignees"] = assignees.get(doc["id"], [])
            out.append(doc)
        return out

    # ------------------------------------------------------------ CRUD
    def list_tasks(self, query=None):
        with self.store.session() as s:
            stmt = apply_filters(select(Task), Task, query)
            stmt = self._visible_task_filter(s, stmt)
            return self._paged_tasks(s, stmt, query)

    def get_task_doc(self, task_id):
        with self.store.session() as s:
            task = self._task(s, task_id)
            self._check_task_read(s, task)
            return self._task_json(s, task)

    def _new_task(self, s, project, entity, task_type, status=None, name="main", assignees=(), body=None):
        exists = s.scalars(select(Task).where(
            Task.project_id == project.id, Task.entity_id == entity.id, Task.task_type_id == task_type.id,
            Task.name == name)).first()
        if exists is not None:
            return exists, False
        status = status or self._default_status(s)
        task = Task(name=name, project_id=project.id, entity_id=entity.id, task_type_id=task_type.id,
                    task_status_id=status.id, assigner_id=self.caller.user_id if assignees else None)
        if body:
            apply_body(task, body, [f for f in TASK_WRITABLE if f not in ("task_type_id", "task_status_id",
                                                                          "assigner_id")])
        s.add(task)
        s.flush()
        for pid in dict.fromkeys(assignees):
            s.execute(task_person_link.insert().values(task_id=task.id, person_id=pid))
        record = self._emit_task(s, "task:new", task)
        for pid in dict.fromkeys(assignees):
            self.store.emit(s, "task:assign", {"task_id": task.id, "person_id": pid,
                                               "assigner_id": self.caller.user_id},
                            project_id=task.project_id, record=record)
        return task, True

    @rpc(**expected)
    def create_task(self, body=None, query=None):
        """POST /data/tasks (gazu.task.new_task)."""
        if not isinstance(body, dict):
            raise Invalid("A JSON object is expected")
        for f in ("entity_id", "task_type_id"):
            if not body.get(f):
                raise Invalid(f"Field {f} is required", {"field": f})
        with self.store.begin() as s:
            entity_probe = s.get(ProjEntity, valid_uuid(body["entity_id"], "entity id"))
            project_id = body.get("project_id") or (entity_probe.project_id if entity_probe else None)
            if not project_id:
                raise Invalid("Field project_id is required", {"field": "project_id"})
            project = self._project(s, project_id, placeholder_ok=True)
            self._check_manager(project)
            entity = self._entity(s, body["entity_id"], project.id, placeholder_ok=True)
            if entity.project_id and entity.project_id != project.id:
                raise Invalid("The entity does not belong to this project")
            task_type = self._task_type(s, body["task_type_id"])
            status = self._status(s, body["task_status_id"]) if body.get("task_status_id") else None
            assignees = [valid_uuid(a, "person id") for a in (body.get("assignees") or [])]
            extra = {k: v for k, v in body.items() if k in TASK_WRITABLE}
            for f in DATE_FIELDS:
                if f in extra:
                    extra[f] = self._date_or_400(extra[f])
            task, created = self._new_task(s, project, entity, task_type, status, body.get("name") or "main",
                                           assignees, extra)
            if not created:
                raise Invalid("A task with this name, type and entity already exists")
            return self._task_json(s, task)

    def _date_or_400(self, value):
        try:
            return domain.parse_datetime(value)
        except domain.Bad as exc:
            raise Invalid(str(exc)) from None

    @rpc(**expected)
    def update_task(self, task_id, body=None, query=None):
        """PUT /data/tasks/<id>: dates, estimates, priority, status, assignees."""
        if not isinstance(body, dict):
            raise Invalid("A JSON object is expected")
        with self.store.begin() as s:
            task = self._task(s, task_id, lock=True)
            project = self._project(s, task.project_id)
            role = self._role(project)
            if self.caller.role != "admin":
                if not self._in_team(project) or role not in ("manager", "supervisor"):
                    raise Forbidden("You are not allowed to update this task")
                if role == "supervisor":
                    tt = s.get(TaskType, task.task_type_id)
                    deps = self.caller.departments
                    if deps and (tt is None or tt.department_id not in deps):
                        raise Forbidden("This task type is outside your departments")
                    bad = [k for k in body if k not in SUPERVISOR_WRITABLE and k not in ("id", "type")]
                    if bad:
                        raise Forbidden(f"Supervisors cannot change {', '.join(sorted(bad))}")
            previous_status = task.task_status_id
            changes = {k: v for k, v in body.items() if k in TASK_WRITABLE}
            for f in DATE_FIELDS:
                if f in changes:
                    changes[f] = self._date_or_400(changes[f])
            if "task_type_id" in changes:
                self._task_type(s, changes["task_type_id"])
            new_status = None
            if changes.get("task_status_id") and changes["task_status_id"] != previous_status:
                new_status = self._status(s, changes["task_status_id"])
                changes.update(domain.status_dates(new_status, now()))
            if "data" in changes and isinstance(changes["data"], dict):
                changes["data"] = {**(task.data or {}), **changes["data"]}
            apply_body(task, changes, list(changes))
            added, removed = [], []
            if "assignees" in body:
                people = [valid_uuid(p if isinstance(p, str) else (p or {}).get("id"), "person id")
                          for p in (body.get("assignees") or [])]
                added, removed = self._set_assignees(s, task, people)
            self._touch(task)
            try:
                s.flush()
            except IntegrityError:
                raise Invalid("A task with this name, type and entity already exists") from None
            record = self._emit_task(s, "task:update", task)
            # As in Zou, a status set through PUT emits task:update only;
            # task:status-changed belongs to the comment workflow.
            for pid in added:
                self.store.emit(s, "task:assign", {"task_id": task.id, "person_id": pid,
                                                   "assigner_id": self.caller.user_id},
                                project_id=task.project_id, record=record)
            for pid in removed:
                self.store.emit(s, "task:unassign", {"task_id": task.id, "person_id": pid},
                                project_id=task.project_id, record=record)
            return record

    def _remove_task(self, s, task: Task) -> None:
        record = self._task_json(s, task)
        s.execute(delete(Comment).where(Comment.object_id == task.id))
        s.delete(task)
        s.flush()
        self.store.emit(s, "task:delete", {"task_id": task.id}, project_id=task.project_id, record=record)

    @rpc(**expected)
    def delete_task(self, task_id, query=None, body=None):
        with self.store.begin() as s:
            task = self._task(s, task_id, lock=True)
            self._check_manager(self._project(s, task.project_id))
            self._remove_task(s, task)
            return None

    @rpc(**expected)
    def delete_tasks(self, project_id, body=None, query=None):
        """POST /actions/projects/<id>/delete-tasks: a JSON array of task ids."""
        ids = id_list(body)
        with self.store.begin() as s:
            self._check_manager(self._project(s, project_id))
            for task in s.scalars(select(Task).where(Task.id.in_(ids), Task.project_id == project_id)):
                self._remove_task(s, task)
            return ids

    @rpc(**expected)
    def delete_tasks_for_type(self, project_id, task_type_id, query=None, body=None):
        with self.store.begin() as s:
            self._check_manager(self._project(s, project_id))
            self._task_type(s, task_type_id)
            for task in s.scalars(select(Task).where(Task.project_id == project_id,
                                                     Task.task_type_id == task_type_id)):
                self._remove_task(s, task)
            return None

    # ------------------------------------------------------------ bulk creation
    @rpc(**expected)
    def create_tasks(self, project_id, task_type_id, entity_type=None, kind=None, body=None, query=None):
        """POST .../task-types/<tt>/{assets,shots,edits,concepts}/create-tasks and
        .../create-tasks/<entity_type>: one task per entity (all of the kind when
        the body names none)."""
        wanted = id_list(body, required=False) if isinstance(body, list) or body not in (None, {}) else None
        with self.store.begin() as s:
            project = self._project(s, project_id, placeholder_ok=True)
            if kind == "concepts":
                self._check_project_access(project)
                if self._role(project) in ("vendor", "client"):
                    raise Forbidden("You are not allowed to create concept tasks")
            else:
                self._check_manager(project)
            task_type = self._task_type(s, task_type_id)
            stmt = select(ProjEntity).where(ProjEntity.project_id == project.id)
            if wanted:
                stmt = stmt.where(ProjEntity.id.in_(wanted))
            type_name = {"shots": "Shot", "edits": "Edit", "concepts": "Concept"}.get(kind or "")
            if kind == "entity":
                type_name = (entity_type or "").capitalize()
            entities = []
            for e in s.scalars(stmt.order_by(ProjEntity.name)):
                if kind == "assets":
                    if e.type_name in RESERVED_TYPES:
                        continue
                elif type_name and e.type_name and e.type_name != type_name:
                    continue
                if e.canceled:
                    continue
                entities.append(e)
            if wanted and self.caller.role == "admin":
                known = {e.id for e in entities}
                for eid in wanted:
                    if eid not in known and s.get(ProjEntity, eid) is None:
                        entities.append(self._entity(s, eid, project.id, placeholder_ok=True))
            return self._dump_tasks(s, self._bulk_new_tasks(s, project, task_type, entities))

    def _bulk_new_tasks(self, s, project, task_type, entities) -> list[Task]:
        """One ``main`` task per entity that has none of this type: one
        insert batch, one ``task:new`` each (no per-row lookups)."""
        have = set(s.scalars(select(Task.entity_id).where(
            Task.project_id == project.id, Task.task_type_id == task_type.id, Task.name == "main")))
        status = self._default_status(s)
        stamp = now()
        created = [Task(name="main", project_id=project.id, entity_id=e.id, task_type_id=task_type.id,
                        task_status_id=status.id, created_at=stamp, updated_at=stamp)
                   for e in dict((e.id, e) for e in entities).values() if e.id not in have]
        if not created:
            return []
        s.add_all(created)
        s.flush()
        self._emit_many(s, "task:new", [({"task_id": t.id}, t.project_id, schemas.task(t, [])) for t in created])
        return created

    @rpc(**expected)
    def create_entity_tasks(self, entity_id, body=None, query=None):
        """POST /data/entities/<id>/tasks: {task_type_ids: [...]}."""
        ids = id_list(body, "task_type_ids")
        with self.store.begin() as s:
            entity = self._entity(s, entity_id)
            project = self._project(s, entity.project_id)
            self._check_manager(project)
            out = []
            for tt_id in ids:
                task, _ = self._new_task(s, project, entity, self._task_type(s, tt_id))
                out.append(task)
            return self._dump_tasks(s, out)

    # ------------------------------------------------------------ assignation
    def _assign(self, s, task: Task, person_id: str) -> dict:
        project = self._project(s, task.project_id)
        role = self._role(project)
        if self.caller.role != "admin":
            if not self._in_team(project) or role not in ("manager", "supervisor"):
                raise Forbidden("You are not allowed to assign this task")
            if role == "supervisor":
                tt = s.get(TaskType, task.task_type_id)
                if self.caller.departments and (tt is None or tt.department_id not in self.caller.departments):
                    raise Forbidden("This task type is outside your departments")
        person = s.get(ProjPerson, person_id)
        if person is not None and (person.record or {}).get("is_bot"):
            raise Invalid("A bot cannot be assigned to a task")
        added, _ = self._set_assignees(s, task, self._assignees(s, [task.id])[task.id] + [person_id])
        if not added:
            return self._task_json(s, task)
        task.assigner_id = self.caller.user_id
        self._touch(task)
        s.flush()
        record = self._emit_task(s, "task:update", task)
        self.store.emit(s, "task:assign", {"task_id": task.id, "person_id": person_id,
                                           "assigner_id": self.caller.user_id},
                        project_id=task.project_id, record=record)
        return record

    @rpc(**expected)
    def assign_task(self, task_id, body=None, query=None):
        """PUT /actions/tasks/<id>/assign: {person_id}."""
        if not isinstance(body, dict) or not body.get("person_id"):
            raise Invalid("Assignee ID required.", {"field": "person_id"})
        with self.store.begin() as s:
            person_id = self._person_ok(s, body["person_id"])
            task = self._task(s, task_id, lock=True)
            return self._assign(s, task, person_id)

    @rpc(**expected)
    def assign_tasks(self, person_id, body=None, query=None):
        """PUT /actions/persons/<id>/assign: {task_ids: [...]}, in one batch:
        one lock query, one permission check per project and task type, one
        insert of the new links, and the events in one outbox insert."""
        ids = list(dict.fromkeys(id_list(body, "task_ids")))
        with self.store.begin() as s:
            pid = self._person_ok(s, person_id)
            person = s.get(ProjPerson, pid)
            if person is not None and (person.record or {}).get("is_bot"):
                raise Invalid("A bot cannot be assigned to a task")
            tasks = {t.id: t for t in s.scalars(select(Task).where(Task.id.in_(ids)).with_for_update())}
            missing = [i for i in ids if i not in tasks]
            if missing:
                raise NotFound(f"Task {missing[0]} not found")
            if self.caller.role != "admin":
                types = {tt.id: tt for tt in s.scalars(select(TaskType))}
                for project_id in {t.project_id for t in tasks.values()}:
                    project = self._project(s, project_id)
                    role = self._role(project)
                    if not self._in_team(project) or role not in ("manager", "supervisor"):
                        raise Forbidden("You are not allowed to assign these tasks")
                    if role == "supervisor" and self.caller.departments:
                        for t in tasks.values():
                            tt = types.get(t.task_type_id)
                            if t.project_id == project_id and (tt is None or tt.department_id
                                                               not in self.caller.departments):
                                raise Forbidden("This task type is outside your departments")
            current = self._assignees(s, ids)
            new = [tasks[i] for i in ids if pid not in current[i]]
            if new:
                s.execute(task_person_link.insert(), [{"task_id": t.id, "person_id": pid} for t in new])
                stamp = now()
                for t in new:
                    t.assigner_id = self.caller.user_id
                    t.updated_at = stamp
                    current[t.id] = current[t.id] + [pid]
                s.flush()
            docs = {i: schemas.task(tasks[i], current[i]) for i in ids}
            self._emit_many(s, "task:update", [({"task_id": t.id}, t.project_id, docs[t.id]) for t in new])
            self._emit_many(s, "task:assign", [({"task_id": t.id, "person_id": pid, "assigner_id": self.caller.user_id},
                                             t.project_id, docs[t.id]) for t in new])
            return [docs[i] for i in ids]

    @rpc(**expected)
    def clear_assignation(self, body=None, query=None):
        """PUT /actions/tasks/clear-assignation: {task_ids, person_id?}."""
        ids = id_list(body, "task_ids")
        person_id = body.get("person_id")
        if person_id:
            person_id = valid_uuid(person_id, "person id")
        with self.store.begin() as s:
            out = []
            for tid in ids:
                task = self._task(s, tid, lock=True)
                project = self._project(s, task.project_id)
                role = self._role(project)
                if self.caller.role != "admin":
                    if not self._in_team(project) or role not in ("manager", "supervisor"):
                        raise Forbidden("You are not allowed to unassign this task")
                    if role == "supervisor":
                        tt = s.get(TaskType, task.task_type_id)
                        if self.caller.departments and (tt is None or tt.department_id not in
                                                        self.caller.departments):
                            raise Forbidden("This task type is outside your departments")
                current = self._assignees(s, [task.id])[task.id]
                keep = [p for p in current if person_id and p != person_id]
                _, removed = self._set_assignees(s, task, keep)
                self._touch(task)
                s.flush()
                record = self._emit_task(s, "task:update", task)
                for pid in removed:
                    self.store.emit(s, "task:unassign", {"task_id": task.id, "person_id": pid},
                                    project_id=task.project_id, record=record)
                out.append(task.id)
            return out

    @rpc(**expected)
    def set_tasks_priority(self, body=None, query=None):
        ids = id_list(body, "task_ids")
        try:
            priority = int(body.get("priority"))
        except (TypeError, ValueError):
            raise Invalid("Priority to set is required", {"field": "priority"}) from None
        if priority < 0:
            raise Invalid("Priority must be positive")
        out = []
        for tid in ids:
            out.append(self.update_task(task_id=tid, body={"priority": priority}))
        return out

    # ------------------------------------------------------------ lists
    def _task_list_docs(self, s, rows, with_names=True) -> list[dict]:
        """Tasks with the names Kitsu's lists show, from the projections."""
        docs = self._dump_tasks(s, rows)
        if not with_names or not rows:
            return docs
        entity_ids = {t.entity_id for t in rows}
        entities = {e.id: e for e in s.scalars(select(ProjEntity).where(ProjEntity.id.in_(entity_ids)))}
        parent_ids = {e.parent_id for e in entities.values() if e.parent_id}
        parents = {e.id: e for e in s.scalars(select(ProjEntity).where(ProjEntity.id.in_(parent_ids)))} \
            if parent_ids else {}
        gp_ids = {p.parent_id for p in parents.values() if p.parent_id} - set(parents)
        if gp_ids:
            parents.update({e.id: e for e in s.scalars(select(ProjEntity).where(ProjEntity.id.in_(gp_ids)))})
        projects = {p.id: p for p in s.scalars(select(ProjProject).where(
            ProjProject.id.in_({t.project_id for t in rows})))}
        types = {t.id: t for t in s.scalars(select(TaskType))}
        statuses = {t.id: t for t in s.scalars(select(TaskStatus))}
        etypes = {t.id: t.name for t in s.scalars(select(ProjEntityType))}
        last_comments = {}
        for c in s.execute(
            select(Comment.object_id, Comment.text, Comment.created_at, Comment.person_id)
            .where(Comment.object_id.in_([t.id for t in rows]))
            .distinct(Comment.object_id).order_by(Comment.object_id, Comment.created_at.desc())
        ):
            last_comments[c.object_id] = {"text": c.text, "date": to_json(c.created_at), "person_id": c.person_id}
        for doc, t in zip(docs, rows):
            e = entities.get(t.entity_id)
            p = projects.get(t.project_id)
            tt = types.get(t.task_type_id)
            st = statuses.get(t.task_status_id)
            parent = parents.get(e.parent_id) if e and e.parent_id else None
            episode = None
            sequence = None
            if parent is not None and parent.type_name == "Sequence":
                sequence = parent
                episode = parents.get(parent.parent_id) if parent.parent_id else None
            elif parent is not None and parent.type_name == "Episode":
                episode = parent
            type_name = (e.type_name if e else None) or (etypes.get(e.entity_type_id) if e else None)
            doc.update({
                "project_name": p.name if p else None,
                "project_has_avatar": bool(p.has_avatar) if p else False,
                "entity_name": e.name if e else None,
                "entity_description": e.description if e else None,
                "entity_data": (e.data or {}) if e else {},
                "entity_preview_file_id": (e.preview_file_id or "") if e else "",
                "entity_source_id": (e.source_id or "") if e else "",
                "entity_type_name": type_name,
                "entity_canceled": bool(e.canceled) if e else False,
                "sequence_name": sequence.name if sequence else None,
                "episode_id": episode.id if episode else "",
                "episode_name": episode.name if episode else None,
                "task_type_for_entity": tt.for_entity if tt else None,
                "task_estimation": t.estimation,
                "task_duration": t.duration,
                "task_start_date": to_json(t.start_date),
                "task_due_date": to_json(t.due_date),
                "task_type_name": tt.name if tt else None,
                "task_status_name": st.name if st else None,
                "task_type_color": tt.color if tt else None,
                "task_status_color": st.color if st else None,
                "task_status_short_name": st.short_name if st else None,
                "last_comment": last_comments.get(t.id, {}),
            })
        return docs

    @rpc(**expected)
    def project_tasks(self, project_id, query=None, body=None):
        """GET /data/projects/<id>/tasks (paged with ?page=)."""
        with self.store.session() as s:
            project = self._project(s, project_id)
            self._check_project_access(project)
            stmt = apply_filters(select(Task).where(Task.project_id == project.id), Task, query)
            if self.caller.role == "vendor":
                stmt = self._visible_task_filter(s, stmt)
            return self._paged_tasks(s, stmt.order_by(Task.created_at, Task.id), query)

    def _entity_scope(self, s, entity_id, scope: str) -> list[str]:
        entity = self._entity(s, entity_id)
        self._check_project_access(self._project(s, entity.project_id))
        if scope == "self":
            return [entity.id]
        children = list(s.scalars(select(ProjEntity.id).where(ProjEntity.parent_id == entity.id)))
        if scope == "children":
            return children
        if scope == "grandchildren":
            return list(s.scalars(select(ProjEntity.id).where(ProjEntity.parent_id.in_(children)))) if children \
                else []
        return [entity.id] + children

    @rpc(**expected)
    def entity_tasks(self, query=None, body=None, scope="self", mine=False, kind=None, **ids):
        """Tasks of an asset/shot/sequence/episode/scene/edit/concept (``scope``
        self), of its children (shot-tasks of a sequence) or grandchildren."""
        entity_id = next(iter(ids.values()), None)
        with self.store.session() as s:
            scope_ids = self._entity_scope(s, entity_id, scope)
            if kind == "assets":
                # Episode asset tasks: assets whose parent is the episode.
                scope_ids = list(s.scalars(select(ProjEntity.id).where(
                    ProjEntity.parent_id == entity_id, ProjEntity.type_name.notin_(RESERVED_TYPES))))
            elif kind == "shots" and scope == "grandchildren":
                pass
            stmt = select(Task).where(Task.entity_id.in_(scope_ids))
            stmt = apply_filters(stmt, Task, query)
            stmt = self._visible_task_filter(s, stmt)
            if mine:
                stmt = stmt.where(Task.id.in_(select(task_person_link.c.task_id).where(
                    task_person_link.c.person_id == self.caller.user_id)))
            rows = list(s.scalars(stmt.order_by(Task.created_at)))
            return self._task_list_docs(s, rows)

    @rpc(**expected)
    def entity_task_types(self, query=None, body=None, mine=False, **ids):
        entity_id = next(iter(ids.values()), None)
        with self.store.session() as s:
            scope_ids = self._entity_scope(s, entity_id, "self")
            stmt = select(Task.task_type_id).where(Task.entity_id.in_(scope_ids))
            if mine:
                stmt = stmt.where(Task.id.in_(select(task_person_link.c.task_id).where(
                    task_person_link.c.person_id == self.caller.user_id)))
            tt_ids = set(s.scalars(stmt))
            return [schemas.dump(t) for t in s.scalars(
                select(TaskType).where(TaskType.id.in_(tt_ids)).order_by(TaskType.priority, TaskType.name))]

    @rpc(**expected)
    def entity_type_tasks(self, entity_id, task_type_id, query=None, body=None):
        with self.store.session() as s:
            ids = self._entity_scope(s, entity_id, "self")
            rows = list(s.scalars(self._visible_task_filter(s, select(Task).where(
                Task.entity_id.in_(ids), Task.task_type_id == valid_uuid(task_type_id)))))
            return self._dump_tasks(s, rows)

    def _person_tasks(self, s, person_id, done: bool, query=None) -> list[dict]:
        stmt = (select(Task).join(task_person_link, task_person_link.c.task_id == Task.id)
                .join(TaskStatus, TaskStatus.id == Task.task_status_id)
                .join(ProjProject, ProjProject.id == Task.project_id)
                .where(task_person_link.c.person_id == person_id,
                       TaskStatus.is_done.is_(True) if done else TaskStatus.is_done.isnot(True),
                       or_(ProjProject.status.is_(None), ProjProject.status != "closed")))
        if (query or {}).get("project_id"):
            stmt = stmt.where(Task.project_id == valid_uuid(query["project_id"]))
        if self.caller.role != "admin" and person_id != self.caller.user_id:
            stmt = stmt.where(Task.project_id.in_(self._my_project_ids(s)))
        rows = list(s.scalars(stmt.order_by(Task.due_date, Task.created_at)))
        return self._task_list_docs(s, rows)

    @rpc(**expected)
    def user_tasks(self, query=None, body=None):
        """GET /data/user/tasks: the caller's open tasks (gazu.user.all_tasks_to_do)."""
        with self.store.session() as s:
            return self._person_tasks(s, self.caller.user_id, False, query)

    @rpc(**expected)
    def user_done_tasks(self, query=None, body=None):
        with self.store.session() as s:
            return self._person_tasks(s, self.caller.user_id, True, query)

    @rpc(**expected)
    def person_tasks(self, person_id, query=None, body=None, done=False):
        pid = valid_uuid(person_id, "person id")
        if self.caller.role not in ("admin", "manager", "supervisor") and pid != self.caller.user_id:
            raise Forbidden("You are not allowed to see this person's tasks")
        with self.store.session() as s:
            return self._person_tasks(s, pid, bool(done), query)

    @rpc(**expected)
    def user_tasks_to_check(self, query=None, body=None):
        """Tasks waiting for feedback in the caller's projects (and departments
        for supervisors)."""
        with self.store.session() as s:
            stmt = (select(Task).join(TaskStatus, TaskStatus.id == Task.task_status_id)
                    .join(ProjProject, ProjProject.id == Task.project_id)
                    .where(TaskStatus.is_feedback_request.is_(True),
                           or_(ProjProject.status.is_(None), ProjProject.status != "closed")))
            if self.caller.role != "admin":
                stmt = stmt.where(Task.project_id.in_(self._my_project_ids(s)))
            if self.caller.role == "supervisor" and self.caller.departments:
                stmt = stmt.join(TaskType, TaskType.id == Task.task_type_id).where(
                    TaskType.department_id.in_(self.caller.departments))
            if self.caller.role not in ("admin", "manager", "supervisor"):
                return []
            return self._task_list_docs(s, list(s.scalars(stmt.order_by(Task.end_date))))

    @rpc(**expected)
    def task_full(self, task_id, query=None, body=None):
        """GET /data/tasks/<id>/full: the task with entity, project, type, status, assignees."""
        from slatekit.crud import to_json as tj

        with self.store.session() as s:
            task = self._task(s, task_id)
            project = self._check_task_read(s, task)
            doc = self._task_json(s, task)
            entity = s.get(ProjEntity, task.entity_id)
            tt = s.get(TaskType, task.task_type_id)
            st = s.get(TaskStatus, task.task_status_id)
            people = list(s.scalars(select(ProjPerson).where(ProjPerson.id.in_(doc["assignees"]))))
            doc.update({
                "entity": schemas.entity_doc(entity) if entity else None,
                "entity_type": {"id": entity.entity_type_id, "name": entity.type_name, "type": "EntityType"}
                if entity else None,
                "is_subscribed": False,
                "persons": [tj(p.record) if p.record else schemas.person_short(p, p.id) for p in people],
                "project": schemas.project_doc(project),
                "task_status": schemas.dump(st) if st else None,
                "task_type": schemas.dump(tt) if tt else None,
                "assigner": None,
                "sequence": None,
                "episode": None,
            })
            if entity and entity.parent_id:
                parent = s.get(ProjEntity, entity.parent_id)
                if parent is not None and parent.type_name == "Sequence":
                    doc["sequence"] = schemas.entity_doc(parent)
                    if parent.parent_id:
                        ep = s.get(ProjEntity, parent.parent_id)
                        doc["episode"] = schemas.entity_doc(ep) if ep else None
                elif parent is not None and parent.type_name == "Episode":
                    doc["episode"] = schemas.entity_doc(parent)
            if task.assigner_id:
                a = s.get(ProjPerson, task.assigner_id)
                doc["assigner"] = schemas.person_short(a, task.assigner_id)
            return doc

    @rpc(**expected)
    def open_tasks(self, query=None, body=None):
        """GET /data/tasks/open-tasks: tasks of open projects, paged."""
        query = query or {}
        with self.store.session() as s:
            stmt = (select(Task).join(ProjProject, ProjProject.id == Task.project_id)
                    .where(or_(ProjProject.status.is_(None), ProjProject.status != "closed")))
            for key in ("project_id", "task_type_id", "task_status_id"):
                if query.get(key):
                    stmt = stmt.where(getattr(Task, key) == valid_uuid(query[key]))
            if query.get("person_id"):
                stmt = stmt.where(Task.id.in_(select(task_person_link.c.task_id).where(
                    task_person_link.c.person_id == valid_uuid(query["person_id"]))))
            stmt = self._visible_task_filter(s, stmt)
            try:
                limit = max(1, min(int(query.get("limit") or 100), 5000))
                page = max(1, int(query.get("page") or 1))
            except ValueError:
                raise Invalid("page and limit must be integers") from None
            total = s.scalar(select(func.count()).select_from(stmt.subquery()))
            rows = list(s.scalars(stmt.order_by(Task.updated_at.desc(), Task.id)
                                  .offset((page - 1) * limit).limit(limit)))
            return {"data": self._task_list_docs(s, rows), "stats": {"total": total}, "limit": limit,
                    "is_more": page * limit < total}

    @rpc(**expected)
    def open_tasks_stats(self, query=None, body=None):
        with self.store.session() as s:
            stmt = (select(Task.project_id, Task.task_type_id, Task.task_status_id, func.count(),
                           func.coalesce(func.sum(Task.estimation), 0), func.coalesce(func.sum(Task.duration), 0))
                    .join(ProjProject, ProjProject.id == Task.project_id)
                    .where(or_(ProjProject.status.is_(None), ProjProject.status != "closed"))
                    .group_by(Task.project_id, Task.task_type_id, Task.task_status_id))
            if self.caller.role != "admin":
                stmt = stmt.where(Task.project_id.in_(self._my_project_ids(s)))
            out: dict = {}
            for pid, ttid, stid, count, est, dur in s.execute(stmt):
                proj = out.setdefault(pid, {"total": 0, "total_duration": 0, "total_estimation": 0})
                proj["total"] += count
                proj["total_duration"] += dur
                proj["total_estimation"] += est
                tt = proj.setdefault(ttid, {})
                tt[stid] = {"count": count, "duration": dur, "estimation": est}
            return out
