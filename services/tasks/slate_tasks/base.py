"""Helpers every area of the tasks service shares: lookups with Zou's
errors, access checks on the local projections, task JSON with assignees,
task events, and Idempotency-Key results."""

from __future__ import annotations

from slatekit.crud import now, valid_uuid
from slatekit.errors import Forbidden, Invalid, NotFound
from sqlalchemy import delete, insert, select

from . import domain, schemas
from .models import (
    IdempotencyKey,
    ProjEntity,
    ProjPerson,
    ProjProject,
    Task,
    TaskStatus,
    TaskType,
    task_person_link,
)


class TasksBase:
    """Mixed into the service class; needs ``self.store``."""

    # ------------------------------------------------------------ caller
    @property
    def caller(self):
        return self.store.caller

    def _require_admin(self):
        if self.caller.role != "admin":
            raise Forbidden("Admin rights are required")

    # ------------------------------------------------------------ projections
    def _project(self, s, project_id, placeholder_ok: bool = False) -> ProjProject:
        pid = valid_uuid(project_id, "project id")
        project = s.get(ProjProject, pid)
        if project is None:
            if placeholder_ok and self.caller.role == "admin":
                # An admin referenced a project whose event has not reached us
                # yet: keep a placeholder that the event will fill.
                project = ProjProject(id=pid, status="open", team=[], roles={}, placeholder=True)
                s.add(project)
                s.flush()
                return project
            raise NotFound(f"Project {project_id} not found")
        return project

    def _entity(self, s, entity_id, project_id: str | None = None, placeholder_ok: bool = False) -> ProjEntity:
        eid = valid_uuid(entity_id, "entity id")
        entity = s.get(ProjEntity, eid)
        if entity is None:
            if placeholder_ok and self.caller.role == "admin" and project_id:
                entity = ProjEntity(id=eid, project_id=project_id, placeholder=True, canceled=False)
                s.add(entity)
                s.flush()
                return entity
            raise NotFound(f"Entity {entity_id} not found")
        return entity

    def _role(self, project: ProjProject | None) -> str | None:
        roles = project.roles if project is not None else {}
        return domain.effective_role(self.caller.role, roles, self.caller.user_id)

    def _in_team(self, project: ProjProject) -> bool:
        return domain.belongs_to_project(self.caller.user_id, project.team)

    def _check_project_access(self, project: ProjProject) -> None:
        if not domain.can_access_project(self.caller.role, self.caller.user_id, project.team):
            raise Forbidden("You are not allowed to access this project")

    def _check_manager(self, project: ProjProject) -> None:
        if self.caller.role == "admin":
            return
        if not (self._in_team(project) and self._role(project) == "manager"):
            raise Forbidden("Manager rights on this project are required")

    def _check_supervisor(self, project: ProjProject) -> None:
        if self.caller.role == "admin":
            return
        if not (self._in_team(project) and self._role(project) in ("manager", "supervisor")):
            raise Forbidden("Supervisor rights on this project are required")

    def _my_project_ids(self, s) -> list[str]:
        uid = self.caller.user_id
        if not uid:
            return []
        return list(s.scalars(select(ProjProject.id).where(ProjProject.team.any(uid))))

    # ------------------------------------------------------------ own rows
    def _task(self, s, task_id, lock: bool = False) -> Task:
        tid = valid_uuid(task_id, "task id")
        stmt = select(Task).where(Task.id == tid)
        if lock:
            stmt = stmt.with_for_update()
        task = s.scalars(stmt).first()
        if task is None:
            raise NotFound(f"Task {task_id} not found")
        return task

    def _status(self, s, status_id) -> TaskStatus:
        st = s.get(TaskStatus, valid_uuid(status_id, "task status id"))
        if st is None:
            raise NotFound(f"Task status {status_id} not found")
        return st

    def _task_type(self, s, task_type_id) -> TaskType:
        tt = s.get(TaskType, valid_uuid(task_type_id, "task type id"))
        if tt is None:
            raise NotFound(f"Task type {task_type_id} not found")
        return tt

    def _default_status(self, s) -> TaskStatus:
        st = s.scalars(
            select(TaskStatus).where(TaskStatus.is_default.is_(True), TaskStatus.for_concept.isnot(True))
            .order_by(TaskStatus.created_at)
        ).first() or s.scalars(select(TaskStatus).where(TaskStatus.short_name == "todo")).first()
        if st is None:
            raise Invalid("No default task status is defined")
        return st

    def _assignees(self, s, task_ids) -> dict[str, list[str]]:
        ids = list(task_ids)
        out: dict[str, list[str]] = {i: [] for i in ids}
        if not ids:
            return out
        for tid, pid in s.execute(
            select(task_person_link.c.task_id, task_person_link.c.person_id).where(
                task_person_link.c.task_id.in_(ids)
            )
        ):
            out.setdefault(tid, []).append(pid)
        return out

    def _set_assignees(self, s, task: Task, person_ids: list[str]) -> tuple[list[str], list[str]]:
        current = self._assignees(s, [task.id])[task.id]
        wanted = list(dict.fromkeys(person_ids))
        added = [p for p in wanted if p not in current]
        removed = [p for p in current if p not in wanted]
        if removed:
            s.execute(delete(task_person_link).where(
                task_person_link.c.task_id == task.id, task_person_link.c.person_id.in_(removed)))
        for p in added:
            s.execute(insert(task_person_link).values(task_id=task.id, person_id=p))
        return added, removed

    def _task_json(self, s, task: Task, assignees: list[str] | None = None) -> dict:
        if assignees is None:
            assignees = self._assignees(s, [task.id])[task.id]
        return schemas.task(task, assignees)

    def _emit_task(self, s, name: str, task: Task, data: dict | None = None, record: dict | None = None) -> dict:
        record = record or self._task_json(s, task)
        payload = {"task_id": task.id}
        payload.update(data or {})
        self.store.emit(s, name, payload, project_id=task.project_id, record=record)
        return record

    def _emit_many(self, s, name: str, items: list[tuple[dict, str | None, dict]]) -> None:
        """Many events of one name in one outbox insert (bulk task creation):
        the same envelopes ``store.emit`` writes, without a round trip each."""
        from slatekit.events import envelope

        from .models import outbox

        rows = []
        for data, project_id, record in items:
            body = envelope(name, data, source="tasks", actor_id=self.caller.user_id, project_id=project_id,
                            trace_id=self.caller.trace_id, record=record)
            rows.append({"event_id": body["event_id"], "name": name, "body": body})
        if rows:
            s.execute(insert(outbox), rows)
            self.store.emitted += len(rows)  # wakes the relay at the end of the call

    def _touch(self, task: Task) -> None:
        task.updated_at = now()

    def _person_ok(self, s, person_id) -> str:
        pid = valid_uuid(person_id, "person id")
        if s.get(ProjPerson, pid) is None and pid != self.caller.user_id:
            raise NotFound(f"Person {person_id} not found")
        return pid

    # ------------------------------------------------------------ idempotency
    def _idem_key(self, idempotency_key, body) -> str | None:
        key = idempotency_key or (body.get("idempotency_key") if isinstance(body, dict) else None)
        if key is None:
            return None
        if not isinstance(key, str) or not 1 <= len(key) <= 200:
            raise Invalid("Invalid Idempotency-Key")
        return key

    def _idem_claim(self, s, key: str | None, operation: str):
        """Claim ``key`` in this transaction, or return the stored result of
        the request that used it first. A concurrent twin waits on the row
        lock until the first commits, then reads its result."""
        if key is None:
            return None
        from sqlalchemy.dialects.postgresql import insert as pg_insert

        claimed = s.execute(
            pg_insert(IdempotencyKey.__table__)
            .values(key=key, person_id=self.caller.user_id, operation=operation, result=None, created_at=now())
            .on_conflict_do_nothing()
            .returning(IdempotencyKey.key)
        ).first()
        if claimed is not None:
            return None
        row = s.get(IdempotencyKey, key)
        if row.operation != operation or (row.person_id and row.person_id != self.caller.user_id):
            raise Invalid("This Idempotency-Key was used for another request")
        return {"result": row.result}

    def _idem_put(self, s, key: str | None, result) -> None:
        if key is None:
            return
        row = s.get(IdempotencyKey, key)
        row.result = result
        s.flush()
