"""Time spents: set, add, remove per task/person/day, and the timesheet
views (per person and day/week/month/year, and the studio tables)."""

from __future__ import annotations

import datetime as dt

from nameko.rpc import rpc
from slatekit.crud import valid_uuid
from slatekit.errors import SLATE_ERRORS, Forbidden, Invalid
from sqlalchemy import extract, func, select

from . import domain, schemas
from .models import Task, TimeSpent

expected = {"expected_exceptions": SLATE_ERRORS}


def _day(value) -> dt.date:
    try:
        return domain.parse_day(value)
    except domain.Bad as exc:
        raise Invalid(str(exc)) from None


def _int(value, what) -> int:
    try:
        return domain.parse_int(value, what)
    except domain.Bad as exc:
        raise Invalid(str(exc)) from None


class TimesheetsMixin:
    def _check_time_access(self, s, task: Task, person_id: str) -> None:
        project = self._project(s, task.project_id)
        assignees = self._assignees(s, [task.id])[task.id]
        if not domain.can_log_time(self._role(project), self.caller.user_id, person_id, assignees,
                                   self._in_team(project)):
            raise Forbidden("A time spent needs the person to be assigned to the task")

    def _duration(self, body) -> float:
        try:
            duration = float((body or {}).get("duration"))
        except (TypeError, ValueError):
            raise Invalid("Duration required.", {"field": "duration"}) from None
        return duration

    def _recompute_duration(self, s, task: Task) -> None:
        task.duration = s.scalar(select(func.coalesce(func.sum(TimeSpent.duration), 0.0))
                                 .where(TimeSpent.task_id == task.id)) or 0.0
        self._touch(task)

    def _save_time(self, s, task_id, date, person_id, duration, add=False):
        day = _day(date)
        task = self._task(s, task_id, lock=True)
        pid = valid_uuid(person_id, "person id")
        self._check_time_access(s, task, pid)
        row = s.scalars(select(TimeSpent).where(TimeSpent.task_id == task.id, TimeSpent.person_id == pid,
                                                TimeSpent.date == day).with_for_update()).first()
        name = "time-spent:update"
        if row is None:
            row = TimeSpent(task_id=task.id, person_id=pid, date=day, duration=0)
            s.add(row)
            name = "time-spent:new"
        row.duration = (row.duration or 0) + duration if add else duration
        if row.duration <= 0 and not add and duration <= 0:
            raise Invalid("Duration must be positive")
        s.flush()
        self._recompute_duration(s, task)
        s.flush()
        doc = schemas.dump(row)
        self.store.emit(s, name, {"time_spent_id": row.id, "task_id": task.id, "person_id": pid},
                        project_id=task.project_id, record=doc)
        self._emit_task(s, "task:update", task)
        return doc

    @rpc(**expected)
    def set_time_spent(self, task_id, date, person_id, body=None, query=None):
        """POST /actions/tasks/<id>/time-spents/<date>/persons/<pid>: {duration}."""
        duration = self._duration(body)
        if duration <= 0:
            raise Invalid("Duration must be positive", {"field": "duration"})
        with self.store.begin() as s:
            return self._save_time(s, task_id, date, person_id, duration)

    @rpc(**expected)
    def add_time_spent(self, task_id, date, person_id, body=None, query=None):
        duration = self._duration(body)
        with self.store.begin() as s:
            return self._save_time(s, task_id, date, person_id, duration, add=True)

    @rpc(**expected)
    def delete_time_spent(self, task_id, date, person_id, query=None, body=None):
        day = _day(date)
        with self.store.begin() as s:
            task = self._task(s, task_id, lock=True)
            pid = valid_uuid(person_id, "person id")
            self._check_time_access(s, task, pid)
            row = s.scalars(select(TimeSpent).where(TimeSpent.task_id == task.id, TimeSpent.person_id == pid,
                                                    TimeSpent.date == day)).first()
            if row is None:
                from slatekit.errors import NotFound

                raise NotFound("Time spent not found")
            doc = schemas.dump(row)
            s.delete(row)
            s.flush()
            self._recompute_duration(s, task)
            self.store.emit(s, "time-spent:delete", {"time_spent_id": row.id, "task_id": task.id},
                            project_id=task.project_id, record=doc)
            self._emit_task(s, "task:update", task)
            return None

    @rpc(**expected)
    def task_time_spents(self, task_id, date=None, query=None, body=None):
        """GET /actions/tasks/<id>/time-spents[/<date>]: {total, <person_id>: [...]}."""
        with self.store.session() as s:
            task = self._task(s, task_id)
            self._check_task_read(s, task)
            stmt = select(TimeSpent).where(TimeSpent.task_id == task.id)
            if date is not None:
                stmt = stmt.where(TimeSpent.date == _day(date))
            out: dict = {"total": 0}
            for row in s.scalars(stmt.order_by(TimeSpent.date)):
                out.setdefault(row.person_id, []).append(schemas.dump(row))
                out["total"] += row.duration
            return out

    def _check_person_view(self, person_id) -> str:
        pid = valid_uuid(person_id, "person id")
        if pid != self.caller.user_id and self.caller.role not in ("admin", "manager", "supervisor"):
            raise Forbidden("You are not allowed to see this person's time spents")
        return pid

    @rpc(**expected)
    def person_time_spents(self, person_id=None, date=None, query=None, body=None):
        """Rows of a person (the caller when no person_id), optionally one day."""
        pid = self._check_person_view(person_id or self.caller.user_id)
        with self.store.session() as s:
            stmt = select(TimeSpent).where(TimeSpent.person_id == pid)
            if date is not None:
                stmt = stmt.where(TimeSpent.date == _day(date))
            q = query or {}
            if q.get("start_date"):
                stmt = stmt.where(TimeSpent.date >= _day(q["start_date"]))
            if q.get("end_date"):
                stmt = stmt.where(TimeSpent.date <= _day(q["end_date"]))
            return [schemas.dump(r) for r in s.scalars(stmt.order_by(TimeSpent.date))]

    @rpc(**expected)
    def user_task_time_spents(self, task_id, date, query=None, body=None):
        with self.store.session() as s:
            task = self._task(s, task_id)
            return [schemas.dump(r) for r in s.scalars(select(TimeSpent).where(
                TimeSpent.task_id == task.id, TimeSpent.person_id == self.caller.user_id,
                TimeSpent.date == _day(date)))]

    @rpc(**expected)
    def person_period_time_spents(self, person_id, year, month=None, day=None, week=None, query=None, body=None,
                                  all_rows=False):
        """Aggregated per task/entity/project for a person and a day/week/month/year."""
        pid = self._check_person_view(person_id)
        y = _int(year, "year")
        try:
            if day is not None:
                start = end = dt.date(y, _int(month, "month"), _int(day, "day"))
            elif week is not None:
                start, end = domain.week_bounds(y, _int(week, "week"))
            elif month is not None:
                start, end = domain.month_bounds(y, _int(month, "month"))
            else:
                start, end = dt.date(y, 1, 1), dt.date(y, 12, 31)
        except (ValueError, domain.Bad):
            raise Invalid("Wrong date") from None
        with self.store.session() as s:
            rows = list(s.execute(select(TimeSpent, Task).join(Task, Task.id == TimeSpent.task_id).where(
                TimeSpent.person_id == pid, TimeSpent.date >= start, TimeSpent.date <= end)))
            if all_rows:
                return [schemas.dump(ts) for ts, _ in rows]
            total = 0.0
            by_task: dict = {}
            for ts, task in rows:
                total += ts.duration
                item = by_task.setdefault(task.id, {"task_id": task.id, "entity_id": task.entity_id,
                                                    "project_id": task.project_id,
                                                    "task_type_id": task.task_type_id, "duration": 0.0})
                item["duration"] += ts.duration
            return {"total": total, "tasks": list(by_task.values()), "start_date": start.isoformat(),
                    "end_date": end.isoformat()}

    def _table(self, group, where) -> dict:
        """{person_id: {period: duration}} like Zou's timesheet tables."""
        with self.store.session() as s:
            stmt = (select(TimeSpent.person_id, group.label("period"), func.sum(TimeSpent.duration))
                    .where(*where).group_by(TimeSpent.person_id, "period"))
            if (self.caller.role not in ("admin", "manager")):
                stmt = stmt.where(TimeSpent.person_id == self.caller.user_id)
            out: dict = {}
            for pid, period, total in s.execute(stmt):
                out.setdefault(str(int(period)), {})[pid] = total
            return out

    @rpc(**expected)
    def day_table(self, year, month, query=None, body=None):
        y, m = _int(year, "year"), _int(month, "month")
        return self._table(extract("day", TimeSpent.date),
                           [extract("year", TimeSpent.date) == y, extract("month", TimeSpent.date) == m])

    @rpc(**expected)
    def week_table(self, year, query=None, body=None):
        return self._table(extract("week", TimeSpent.date), [extract("year", TimeSpent.date) == _int(year, "year")])

    @rpc(**expected)
    def month_table(self, year, query=None, body=None):
        return self._table(extract("month", TimeSpent.date), [extract("year", TimeSpent.date) == _int(year, "year")])

    @rpc(**expected)
    def year_table(self, query=None, body=None):
        return self._table(extract("year", TimeSpent.date), [])

    @rpc(**expected)
    def entity_time_spents(self, entity_id, query=None, body=None):
        with self.store.session() as s:
            entity = self._entity(s, entity_id)
            self._check_project_access(self._project(s, entity.project_id))
            rows = s.scalars(select(TimeSpent).join(Task, Task.id == TimeSpent.task_id)
                             .where(Task.entity_id == entity.id).order_by(TimeSpent.date))
            return [schemas.dump(r) for r in rows]

    @rpc(**expected)
    def project_time_spents(self, project_id, task_type_id=None, query=None, body=None, by_month=False):
        with self.store.session() as s:
            project = self._project(s, project_id)
            self._check_supervisor(project)
            stmt = select(TimeSpent).join(Task, Task.id == TimeSpent.task_id).where(Task.project_id == project.id)
            if task_type_id:
                stmt = stmt.where(Task.task_type_id == valid_uuid(task_type_id))
            rows = list(s.scalars(stmt.order_by(TimeSpent.date)))
            if not by_month:
                return [schemas.dump(r) for r in rows]
            out: dict = {}
            for r in rows:
                key = r.date.strftime("%Y-%m")
                out.setdefault(r.person_id, {}).setdefault(key, 0.0)
                out[r.person_id][key] += r.duration
            return out

    @rpc(**expected)
    def persons_task_dates(self, query=None, body=None):
        """For each person with tasks: first start and last due date."""
        from .models import task_person_link

        with self.store.session() as s:
            rows = s.execute(select(task_person_link.c.person_id, func.min(Task.start_date),
                                    func.max(Task.due_date))
                             .join(Task, Task.id == task_person_link.c.task_id)
                             .group_by(task_person_link.c.person_id))
            from slatekit.crud import to_json

            return [{"person_id": pid, "min_date": to_json(a), "max_date": to_json(b)} for pid, a, b in rows]

    @rpc(**expected)
    def person_quotas(self, person_id, year, month=None, week=None, day=None, query=None, body=None):
        """Shots a person finished in a period (Zou's quota shots): tasks done
        (feedback-request end date) in the period, with the shot's frames."""
        from .models import ProjEntity, task_person_link

        pid = self._check_person_view(person_id)
        y = _int(year, "year")
        try:
            if day is not None:
                start = end = dt.date(y, _int(month, "month"), _int(day, "day"))
            elif week is not None:
                start, end = domain.week_bounds(y, _int(week, "week"))
            else:
                start, end = domain.month_bounds(y, _int(month, "month"))
        except (ValueError, domain.Bad):
            raise Invalid("Wrong date") from None
        with self.store.session() as s:
            rows = s.execute(select(Task, ProjEntity).join(task_person_link, task_person_link.c.task_id == Task.id)
                             .join(ProjEntity, ProjEntity.id == Task.entity_id)
                             .where(task_person_link.c.person_id == pid, ProjEntity.type_name == "Shot",
                                    Task.end_date >= dt.datetime.combine(start, dt.time.min),
                                    Task.end_date <= dt.datetime.combine(end, dt.time.max)))
            out = []
            for task, shot in rows:
                doc = schemas.entity_doc(shot)
                doc.update({"weight": 1, "nb_frames": shot.nb_frames, "task_id": task.id})
                out.append(doc)
            return out

    @rpc(**expected)
    def project_quotas(self, project_id, task_type_id=None, person_id=None, query=None, body=None):
        """Frames and shots done per person and day/week/month for a project."""
        from .models import ProjEntity, task_person_link

        with self.store.session() as s:
            project = self._project(s, project_id)
            self._check_project_access(project)
            stmt = (select(task_person_link.c.person_id, Task.end_date, ProjEntity.nb_frames)
                    .join(Task, Task.id == task_person_link.c.task_id)
                    .join(ProjEntity, ProjEntity.id == Task.entity_id)
                    .where(Task.project_id == project.id, Task.end_date.isnot(None)))
            if task_type_id:
                stmt = stmt.where(Task.task_type_id == valid_uuid(task_type_id))
            if person_id:
                stmt = stmt.where(task_person_link.c.person_id == valid_uuid(person_id))
            out: dict = {"day": {}, "week": {}, "month": {}}
            for pid, end, frames in s.execute(stmt):
                for period, key in (("day", end.strftime("%Y-%m-%d")), ("week", "%s-%s" % end.isocalendar()[:2]),
                                    ("month", end.strftime("%Y-%m"))):
                    slot = out[period].setdefault(pid, {}).setdefault(key, {"frames": 0, "count": 0})
                    slot["frames"] += frames or 0
                    slot["count"] += 1
            return out
