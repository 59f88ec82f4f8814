"""Zou's generic ``/data/<model>`` routes for the models this service owns.

Tasks and comments have their own rules (project access, assignees, the
comment workflow) and are handled in ``tasks.py`` and ``comments.py``; the
rest share one table of specs: who may read and write, required fields,
and the event prefix (``<prefix>:new|update|delete``).
"""

from __future__ import annotations

from dataclasses import dataclass

from nameko.rpc import rpc
from slatekit.crud import apply_body, apply_filters, list_rows, valid_uuid
from slatekit.errors import SLATE_ERRORS, Forbidden, Invalid, NotFound
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from . import schemas
from .models import (
    AttachmentFile,
    Budget,
    BudgetEntry,
    Milestone,
    ProductionScheduleVersion,
    ProductionScheduleVersionTaskLink,
    ProjProject,
    SalaryScale,
    ScheduleItem,
    StatusAutomation,
    TaskStatus,
    TaskType,
    TimeSpent,
)

expected = {"expected_exceptions": SLATE_ERRORS}
BASE_COLS = {"id", "created_at", "updated_at"}


@dataclass(frozen=True)
class Spec:
    model: type
    prefix: str
    required: tuple = ()
    read: str = "any"  # any | project | admin
    write: str = "admin"  # admin | project-manager


SPECS = {
    "task-types": Spec(TaskType, "task-type", ("name",)),
    "task-status": Spec(TaskStatus, "task-status", ("name", "short_name")),
    "status-automations": Spec(StatusAutomation, "status-automation", ("in_task_type_id", "in_task_status_id")),
    "time-spents": Spec(TimeSpent, "time-spent", ("task_id", "person_id", "date", "duration"), read="admin"),
    "schedule-items": Spec(ScheduleItem, "schedule-item", ("project_id",), read="project", write="project-manager"),
    "milestones": Spec(Milestone, "milestone", ("name", "project_id"), read="project", write="project-manager"),
    "budgets": Spec(Budget, "budget", ("project_id", "name"), read="admin"),
    "budget-entries": Spec(BudgetEntry, "budget-entry", ("budget_id", "start_date", "months_duration", "daily_salary"),
                           read="admin"),
    "salary-scales": Spec(SalaryScale, "salary-scale", (), read="admin"),
    "production-schedule-versions": Spec(ProductionScheduleVersion, "production-schedule-version",
                                         ("name", "project_id"), read="project", write="project-manager"),
    "production-schedule-version-task-links": Spec(ProductionScheduleVersionTaskLink,
                                                   "production-schedule-version-task-link",
                                                   ("production_schedule_version_id", "task_id"), read="admin"),
    "attachment-files": Spec(AttachmentFile, "attachment-file", (), read="admin"),
}
INTERNAL = {"storage_key"}


def writable(model) -> tuple:
    return tuple(c.key for c in model.__table__.columns if c.key not in BASE_COLS | INTERNAL)


def need(body, fields) -> dict:
    if not isinstance(body, dict):
        raise Invalid("A JSON object is expected")
    for f in fields:
        if body.get(f) in (None, ""):
            raise Invalid(f"Field {f} is required", {"field": f})
    return body


class CrudMixin:
    def _spec(self, model) -> Spec:
        spec = SPECS.get(model)
        if spec is None:
            raise NotFound(f"Unknown model {model}")
        return spec

    def _check_read(self, s, spec: Spec, row=None):
        if spec.read == "any" or self.caller.role == "admin":
            return
        if spec.read == "admin":
            raise Forbidden("Admin rights are required")
        if row is not None:
            project = self._project(s, row.project_id)
            self._check_project_access(project)
            if self.caller.role == "vendor":
                raise Forbidden("Vendors cannot access this resource")

    def _check_write(self, s, spec: Spec, project_id=None):
        if self.caller.role == "admin":
            if project_id is not None and spec.write == "project-manager":
                self._project(s, project_id, placeholder_ok=True)
            return
        if spec.write == "admin" or project_id is None:
            raise Forbidden("Admin rights are required")
        self._check_manager(self._project(s, project_id))

    @rpc(**expected)
    def crud_list(self, model, query=None, body=None):
        if model == "tasks":
            return self.list_tasks(query=query)
        if model == "comments":
            return self.list_comments(query=query)
        spec = self._spec(model)
        self._check_read(None, spec)
        cls = spec.model
        with self.store.session() as s:
            stmt = apply_filters(select(cls), cls, query)
            if spec.read == "project" and self.caller.role != "admin":
                stmt = stmt.where(cls.project_id.in_(self._my_project_ids(s)))
            if not (query or {}).get("page"):
                stmt = stmt.order_by(cls.created_at, cls.id)
            return list_rows(s, cls, stmt, query, schemas.dump)

    @rpc(**expected)
    def crud_get(self, model, instance_id, query=None, body=None):
        if model == "tasks":
            return self.get_task_doc(task_id=instance_id)
        if model == "comments":
            return self.get_comment_doc(comment_id=instance_id, query=query)
        spec = self._spec(model)
        with self.store.session() as s:
            row = self._row(s, spec, instance_id)
            self._check_read(s, spec, row)
            return schemas.dump(row)

    def _row(self, s, spec: Spec, instance_id):
        row = s.get(spec.model, valid_uuid(instance_id))
        if row is None:
            raise NotFound(f"{schemas.TYPE_NAMES[spec.model]} {instance_id} not found")
        return row

    @rpc(**expected)
    def crud_create(self, model, query=None, body=None):
        if model == "tasks":
            return self.create_task(body=body)
        if model == "comments":
            self._require_admin()
            raise Invalid("Use /actions/tasks/<task_id>/comment to post a comment")
        spec = self._spec(model)
        body = need(body, spec.required)
        with self.store.begin() as s:
            self._check_write(s, spec, body.get("project_id"))
            row = spec.model()
            apply_body(row, body, writable(spec.model))
            self._validate_row(s, model, row)
            s.add(row)
            try:
                s.flush()
            except IntegrityError:
                raise Invalid(f"A {schemas.TYPE_NAMES[spec.model]} with these values already exists") from None
            doc = schemas.dump(row)
            self.store.emit(s, f"{spec.prefix}:new", {f"{spec.prefix.replace('-', '_')}_id": row.id},
                            project_id=getattr(row, "project_id", None), record=doc)
            return doc

    @rpc(**expected)
    def crud_update(self, model, instance_id, query=None, body=None):
        if model == "tasks":
            return self.update_task(task_id=instance_id, body=body)
        if model == "comments":
            return self.update_comment(comment_id=instance_id, body=body)
        spec = self._spec(model)
        body = need(body, ())
        with self.store.begin() as s:
            row = self._row(s, spec, instance_id)
            self._check_write(s, spec, getattr(row, "project_id", None))
            apply_body(row, body, [f for f in writable(spec.model) if f != "project_id"])
            self._validate_row(s, model, row)
            try:
                s.flush()
            except IntegrityError:
                raise Invalid("These values conflict with another row") from None
            doc = schemas.dump(row)
            self.store.emit(s, f"{spec.prefix}:update", {f"{spec.prefix.replace('-', '_')}_id": row.id},
                            project_id=getattr(row, "project_id", None), record=doc)
            return doc

    @rpc(**expected)
    def crud_delete(self, model, instance_id, query=None, body=None):
        if model == "tasks":
            return self.delete_task(task_id=instance_id)
        if model == "comments":
            return self.delete_comment(comment_id=instance_id)
        spec = self._spec(model)
        with self.store.begin() as s:
            row = self._row(s, spec, instance_id)
            self._check_write(s, spec, getattr(row, "project_id", None))
            doc = schemas.dump(row)
            if model == "task-status":
                from .models import Task

                if s.scalars(select(Task.id).where(Task.task_status_id == row.id).limit(1)).first():
                    raise Invalid("This task status is used by tasks; it cannot be deleted")
            if model == "task-types":
                from .models import Task

                if s.scalars(select(Task.id).where(Task.task_type_id == row.id).limit(1)).first():
                    raise Invalid("This task type is used by tasks; it cannot be deleted")
            s.delete(row)
            s.flush()
            self.store.emit(s, f"{spec.prefix}:delete", {f"{spec.prefix.replace('-', '_')}_id": row.id},
                            project_id=getattr(row, "project_id", None), record=doc)
            return None

    def _validate_row(self, s, model, row):
        if model == "task-status" and row.color is None:
            row.color = "#f5f5f5"
        if model == "status-automations":
            self._task_type(s, row.in_task_type_id)
            self._status(s, row.in_task_status_id)
            if row.out_field_type not in (None, "status", "ready_for"):
                raise Invalid("out_field_type must be status or ready_for")
            if row.out_task_type_id:
                self._task_type(s, row.out_task_type_id)
            if row.out_task_status_id:
                self._status(s, row.out_task_status_id)
        if model == "time-spents":
            self._task(s, row.task_id)
            if row.duration is not None and row.duration < 0:
                raise Invalid("Duration must be positive")
        if model == "budget-entries":
            s.get(Budget, row.budget_id) or _nf("Budget", row.budget_id)
        if model == "production-schedule-version-task-links":
            s.get(ProductionScheduleVersion, row.production_schedule_version_id) or _nf(
                "Production schedule version", row.production_schedule_version_id)
            self._task(s, row.task_id)
        if hasattr(row, "project_id") and row.project_id and s.get(ProjProject, row.project_id) is None:
            raise NotFound(f"Project {row.project_id} not found")


def _nf(what, ident):
    raise NotFound(f"{what} {ident} not found")


class ReorderMixin:
    @rpc(**expected)
    def reorder_task_types(self, body=None, query=None):
        """POST /actions/task-types/reorder: priorities from an ordered id list."""
        from .tasks import id_list

        ids = id_list(body if isinstance(body, list) else (body or {}).get("task_type_ids"))
        with self.store.begin() as s:
            out = []
            for i, tid in enumerate(ids, start=1):
                tt = self._task_type(s, tid)
                tt.priority = i
                from slatekit.crud import now as _now

                tt.updated_at = _now()
                s.flush()
                doc = schemas.dump(tt)
                self.store.emit(s, "task-type:update", {"task_type_id": tt.id}, record=doc)
                out.append(doc)
            return out
