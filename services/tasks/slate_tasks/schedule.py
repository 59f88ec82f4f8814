"""Production schedule: schedule items, milestones, budgets and their
entries (per project routes), production schedule versions and their
task links."""

from __future__ import annotations

from nameko.rpc import rpc
from slatekit.crud import apply_body, now, valid_uuid
from slatekit.errors import SLATE_ERRORS, Invalid, NotFound
from sqlalchemy import func, select

from . import schemas
from .crud import need, writable
from .models import (
    Budget,
    BudgetEntry,
    Milestone,
    ProductionScheduleVersion,
    ProductionScheduleVersionTaskLink,
    ProjEntity,
    ScheduleItem,
    Task,
    TaskType,
)

expected = {"expected_exceptions": SLATE_ERRORS}


class ScheduleMixin:
    @rpc(**expected)
    def project_schedule_items(self, project_id, task_type_id=None, kind=None, query=None, body=None):
        """Schedule items of a project: the task-type rows (object_id null), or
        those of one task type per episode/sequence/asset type/edit."""
        with self.store.begin() as s:
            project = self._project(s, project_id)
            self._check_project_access(project)
            stmt = select(ScheduleItem).where(ScheduleItem.project_id == project.id)
            if kind == "task-types":
                # Zou creates missing task-type rows on read; so do we.
                used = set(s.scalars(select(Task.task_type_id).where(Task.project_id == project.id).distinct()))
                have = set(s.scalars(select(ScheduleItem.task_type_id).where(
                    ScheduleItem.project_id == project.id, ScheduleItem.object_id.is_(None))))
                for tt in used - have:
                    s.add(ScheduleItem(project_id=project.id, task_type_id=tt))
                s.flush()
                stmt = stmt.where(ScheduleItem.object_id.is_(None))
            elif task_type_id:
                stmt = stmt.where(ScheduleItem.task_type_id == valid_uuid(task_type_id),
                                  ScheduleItem.object_id.isnot(None))
                if kind in ("episodes", "sequences", "edits"):
                    type_name = {"episodes": "Episode", "sequences": "Sequence", "edits": "Edit"}[kind]
                    stmt = stmt.where(ScheduleItem.object_id.in_(select(ProjEntity.id).where(
                        ProjEntity.project_id == project.id, ProjEntity.type_name == type_name)))
            return [schemas.dump(r) for r in s.scalars(stmt.order_by(ScheduleItem.start_date))]

    @rpc(**expected)
    def project_milestones(self, project_id, query=None, body=None):
        with self.store.session() as s:
            project = self._project(s, project_id)
            self._check_project_access(project)
            return [schemas.dump(r) for r in s.scalars(select(Milestone).where(
                Milestone.project_id == project.id).order_by(Milestone.date))]

    # ------------------------------------------------------------ budgets
    def _budget(self, s, project_id, budget_id) -> Budget:
        b = s.get(Budget, valid_uuid(budget_id, "budget id"))
        if b is None or b.project_id != valid_uuid(project_id, "project id"):
            raise NotFound(f"Budget {budget_id} not found")
        return b

    @rpc(**expected)
    def project_budgets(self, project_id, query=None, body=None):
        with self.store.session() as s:
            self._check_manager(self._project(s, project_id))
            return [schemas.dump(b) for b in s.scalars(select(Budget).where(
                Budget.project_id == project_id).order_by(Budget.revision.desc()))]

    @rpc(**expected)
    def create_project_budget(self, project_id, body=None, query=None):
        body = need(body, ("name",))
        with self.store.begin() as s:
            project = self._project(s, project_id, placeholder_ok=True)
            self._check_manager(project)
            last = s.scalar(select(func.max(Budget.revision)).where(Budget.project_id == project.id)) or 0
            b = Budget(project_id=project.id, name=str(body["name"])[:255], currency=body.get("currency"),
                       revision=last + 1)
            s.add(b)
            s.flush()
            doc = schemas.dump(b)
            self.store.emit(s, "budget:create", {"budget_id": b.id}, project_id=project.id, record=doc)
            return doc

    @rpc(**expected)
    def get_project_budget(self, project_id, budget_id, query=None, body=None):
        with self.store.session() as s:
            self._check_manager(self._project(s, project_id))
            b = self._budget(s, project_id, budget_id)
            doc = schemas.dump(b)
            doc["budget_entries"] = [schemas.dump(e) for e in s.scalars(
                select(BudgetEntry).where(BudgetEntry.budget_id == b.id))]
            return doc

    @rpc(**expected)
    def update_project_budget(self, project_id, budget_id, body=None, query=None):
        body = need(body, ())
        with self.store.begin() as s:
            self._check_manager(self._project(s, project_id))
            b = self._budget(s, project_id, budget_id)
            apply_body(b, body, ("name", "currency"))
            b.updated_at = now()
            s.flush()
            doc = schemas.dump(b)
            self.store.emit(s, "budget:update", {"budget_id": b.id}, project_id=b.project_id, record=doc)
            return doc

    @rpc(**expected)
    def delete_project_budget(self, project_id, budget_id, query=None, body=None):
        with self.store.begin() as s:
            self._check_manager(self._project(s, project_id))
            b = self._budget(s, project_id, budget_id)
            doc = schemas.dump(b)
            s.delete(b)
            s.flush()
            self.store.emit(s, "budget:delete", {"budget_id": b.id}, project_id=b.project_id, record=doc)
            return None

    @rpc(**expected)
    def budget_entries(self, project_id, budget_id, query=None, body=None):
        with self.store.session() as s:
            self._check_manager(self._project(s, project_id))
            b = self._budget(s, project_id, budget_id)
            return [schemas.dump(e) for e in s.scalars(select(BudgetEntry).where(BudgetEntry.budget_id == b.id))]

    def _entry(self, s, budget, entry_id) -> BudgetEntry:
        e = s.get(BudgetEntry, valid_uuid(entry_id, "entry id"))
        if e is None or e.budget_id != budget.id:
            raise NotFound(f"Budget entry {entry_id} not found")
        return e

    @rpc(**expected)
    def create_budget_entry(self, project_id, budget_id, body=None, query=None):
        body = need(body, ("start_date", "months_duration", "daily_salary"))
        with self.store.begin() as s:
            self._check_manager(self._project(s, project_id))
            b = self._budget(s, project_id, budget_id)
            e = BudgetEntry(budget_id=b.id)
            apply_body(e, body, [f for f in writable(BudgetEntry) if f != "budget_id"])
            s.add(e)
            s.flush()
            doc = schemas.dump(e)
            self.store.emit(s, "budget-entry:create", {"budget_id": b.id, "budget_entry_id": e.id},
                            project_id=b.project_id, record=doc)
            return doc

    @rpc(**expected)
    def get_budget_entry(self, project_id, budget_id, entry_id, query=None, body=None):
        with self.store.session() as s:
            self._check_manager(self._project(s, project_id))
            return schemas.dump(self._entry(s, self._budget(s, project_id, budget_id), entry_id))

    @rpc(**expected)
    def update_budget_entry(self, project_id, budget_id, entry_id, body=None, query=None):
        body = need(body, ())
        with self.store.begin() as s:
            self._check_manager(self._project(s, project_id))
            b = self._budget(s, project_id, budget_id)
            e = self._entry(s, b, entry_id)
            apply_body(e, body, [f for f in writable(BudgetEntry) if f != "budget_id"])
            e.updated_at = now()
            s.flush()
            doc = schemas.dump(e)
            self.store.emit(s, "budget-entry:update", {"budget_id": b.id, "budget_entry_id": e.id},
                            project_id=b.project_id, record=doc)
            return doc

    @rpc(**expected)
    def delete_budget_entry(self, project_id, budget_id, entry_id, query=None, body=None):
        with self.store.begin() as s:
            self._check_manager(self._project(s, project_id))
            b = self._budget(s, project_id, budget_id)
            e = self._entry(s, b, entry_id)
            doc = schemas.dump(e)
            s.delete(e)
            s.flush()
            self.store.emit(s, "budget-entry:delete", {"budget_id": b.id, "budget_entry_id": e.id},
                            project_id=b.project_id, record=doc)
            return None

    # ------------------------------------------------------------ schedule versions
    def _psv(self, s, psv_id) -> ProductionScheduleVersion:
        v = s.get(ProductionScheduleVersion, valid_uuid(psv_id, "production schedule version id"))
        if v is None:
            raise NotFound(f"Production schedule version {psv_id} not found")
        return v

    @rpc(**expected)
    def psv_task_links(self, production_schedule_version_id, query=None, body=None):
        with self.store.session() as s:
            v = self._psv(s, production_schedule_version_id)
            self._check_project_access(self._project(s, v.project_id))
            stmt = select(ProductionScheduleVersionTaskLink).where(
                ProductionScheduleVersionTaskLink.production_schedule_version_id == v.id)
            if (query or {}).get("task_type_id"):
                stmt = stmt.join(Task, Task.id == ProductionScheduleVersionTaskLink.task_id).where(
                    Task.task_type_id == valid_uuid(query["task_type_id"]))
            return [schemas.dump(r) for r in s.scalars(stmt)]

    @rpc(**expected)
    def psv_links_from_production(self, production_schedule_version_id, query=None, body=None):
        """Copy each task's dates, estimation and assignees into the version."""
        with self.store.begin() as s:
            v = self._psv(s, production_schedule_version_id)
            self._check_manager(self._project(s, v.project_id))
            if v.locked:
                raise Invalid("This production schedule version is locked")
            tasks = list(s.scalars(select(Task).where(Task.project_id == v.project_id)))
            assignees = self._assignees(s, [t.id for t in tasks])
            existing = {link.task_id: link for link in s.scalars(select(ProductionScheduleVersionTaskLink).where(
                ProductionScheduleVersionTaskLink.production_schedule_version_id == v.id))}
            out = []
            for t in tasks:
                link = existing.get(t.id) or ProductionScheduleVersionTaskLink(
                    production_schedule_version_id=v.id, task_id=t.id)
                link.start_date, link.due_date, link.estimation = t.start_date, t.due_date, t.estimation
                link.assignees = assignees[t.id]
                s.add(link)
                out.append(link)
            s.flush()
            return [schemas.dump(r) for r in out]

    @rpc(**expected)
    def psv_links_from_psv(self, production_schedule_version_id, body=None, query=None):
        body = need(body, ("production_schedule_version_id",))
        with self.store.begin() as s:
            v = self._psv(s, production_schedule_version_id)
            src = self._psv(s, body["production_schedule_version_id"])
            self._check_manager(self._project(s, v.project_id))
            if v.locked:
                raise Invalid("This production schedule version is locked")
            if src.project_id != v.project_id:
                raise Invalid("Both versions must belong to the same project")
            existing = {link.task_id: link for link in s.scalars(select(ProductionScheduleVersionTaskLink).where(
                ProductionScheduleVersionTaskLink.production_schedule_version_id == v.id))}
            out = []
            for sl in s.scalars(select(ProductionScheduleVersionTaskLink).where(
                    ProductionScheduleVersionTaskLink.production_schedule_version_id == src.id)):
                link = existing.get(sl.task_id) or ProductionScheduleVersionTaskLink(
                    production_schedule_version_id=v.id, task_id=sl.task_id)
                link.start_date, link.due_date, link.estimation = sl.start_date, sl.due_date, sl.estimation
                link.assignees = list(sl.assignees or [])
                s.add(link)
                out.append(link)
            s.flush()
            return [schemas.dump(r) for r in out]

    @rpc(**expected)
    def psv_apply(self, production_schedule_version_id, query=None, body=None):
        """Write the version's dates and estimations back onto the tasks."""
        with self.store.begin() as s:
            v = self._psv(s, production_schedule_version_id)
            self._check_manager(self._project(s, v.project_id))
            for link in s.scalars(select(ProductionScheduleVersionTaskLink).where(
                    ProductionScheduleVersionTaskLink.production_schedule_version_id == v.id)):
                task = s.get(Task, link.task_id)
                if task is None:
                    continue
                task.start_date, task.due_date, task.estimation = link.start_date, link.due_date, link.estimation
                self._touch(task)
                s.flush()
                self._emit_task(s, "task:update", task)
            doc = schemas.dump(v)
            self.store.emit(s, "production_schedule_version:update", {"production_schedule_version_id": v.id},
                            project_id=v.project_id, record=doc)
            return doc

    @rpc(**expected)
    def task_type_used(self, task_type_id):
        with self.store.session() as s:
            return s.get(TaskType, valid_uuid(task_type_id)) is not None
