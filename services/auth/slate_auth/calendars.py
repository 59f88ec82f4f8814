"""Calendars and logs: day-offs by person and period, a production's
day-offs, the desktop presence sheet and the login logs.

Who reads whose day-offs (Zou's ``check_day_off_read_access``): an admin and
the person themself read them whole; a manager of a production (team role,
else global role) reads its team's whole; a supervisor reads the dates only
(no description) of its team members sharing one of their departments;
anyone else is refused. Teams come from assets over RPC at request time
(``user_projects_context`` + ``get_project_team``: open productions only).
Writing a day-off stays between the person and the admins.
"""

from __future__ import annotations

import datetime as dt
import json

from nameko.rpc import rpc
from slatekit.crud import apply_filters, list_rows, row_dict, valid_uuid
from slatekit.errors import SLATE_ERRORS, Forbidden, Invalid
from sqlalchemy import select

from . import domain
from .errors import malformed_id
from .models import DayOff, Department, DesktopLoginLog, LoginLog, Person

expected = {"expected_exceptions": SLATE_ERRORS}
FORBIDDEN = "You don't have the permission to access the requested resource. It is either read-protected or not readable by the server."


def day_off_json(d: DayOff, with_description: bool = True) -> dict:
    doc = row_dict(d, type_name="DayOff")
    if not with_description:
        doc.pop("description", None)
    return doc


def _int(value, what="year") -> int:
    try:
        return int(value)
    except (TypeError, ValueError):
        raise Invalid(f"Invalid {what}.") from None


class CalendarMixin:
    """Mixed into AuthService; uses its ``store``, ``caller`` and helpers."""

    # ------------------------------------------------------------ access
    def _my_departments(self, s) -> set[str]:
        if self.caller.departments:
            return set(self.caller.departments)
        me = s.get(Person, self.caller.user_id)
        return {d.id for d in me.departments} if me else set()

    def _day_off_scopes(self) -> list[tuple[str, set[str]]]:
        """(role, team) of each production where the caller reads the team's
        leave: their role there (the team link's, else the global one) is
        manager or supervisor. Teams come from assets at request time."""
        scopes = []
        for project in self.peers.call("assets", "user_projects_context") or []:
            team = self.peers.call("assets", "get_project_team", project_id=project["id"]) or []
            mine = next((m for m in team if m.get("person_id") == self.caller.user_id), None)
            if mine is None:
                continue
            role = mine.get("role") or self.caller.role
            if role in ("manager", "supervisor"):
                scopes.append((role, {m["person_id"] for m in team}))
        return scopes

    def _readable_person_ids(self, s) -> dict[str, bool] | None:
        """Persons whose day-offs the caller reads (id → with description);
        None means everybody, whole (admins). Zou's rule: oneself; the team
        of a production one manages (whole); the team of a production one
        supervises, narrowed to one's departments (dates only; a supervisor
        without department supervises everybody there)."""
        if self.caller.role == "admin":
            return None
        readable = {self.caller.user_id: True}
        supervised: set[str] = set()
        for role, team in self._day_off_scopes():
            if role == "manager":
                readable.update({pid: True for pid in team})
            else:
                supervised |= team
        supervised -= set(readable)
        if supervised:
            deps = self._my_departments(s)
            if deps:
                supervised = set(s.scalars(
                    select(Person.id).where(Person.id.in_(list(supervised)),
                                            Person.departments.any(Department.id.in_(list(deps))))
                ).all())
            for pid in supervised:
                readable.setdefault(pid, False)
        return readable

    def _check_day_off_read(self, s, person_id) -> bool:
        """True: whole day-offs; False: dates only; Forbidden otherwise."""
        if self.caller.role == "admin" or person_id == self.caller.user_id:
            return True
        readable = self._readable_person_ids(s)
        if person_id in readable:
            return readable[person_id]
        raise Forbidden(FORBIDDEN)

    def _check_day_off_write(self, person_id) -> None:
        if self.caller.role == "admin":
            return
        if person_id is not None and str(person_id) == self.caller.user_id:
            return
        raise Forbidden(FORBIDDEN)

    def _list_day_offs(self, query: dict):
        self._require_admin()
        with self.store.session() as s:
            try:
                stmt = apply_filters(select(DayOff), DayOff, query)
            except Invalid:
                raise Invalid("One of the provided values has an invalid format.") from None
            return list_rows(s, DayOff, stmt, query, day_off_json)

    # ------------------------------------------------------------ queries
    @staticmethod
    def _between(s, start=None, end=None, person_id=None, person_ids=None) -> list[DayOff]:
        stmt = select(DayOff)
        if person_id is not None:
            stmt = stmt.where(DayOff.person_id == person_id)
        if person_ids is not None:
            stmt = stmt.where(DayOff.person_id.in_(list(person_ids)))
        if start is not None:
            stmt = stmt.where(DayOff.end_date >= start)
        if end is not None:
            stmt = stmt.where(DayOff.date <= end)
        return list(s.scalars(stmt.order_by(DayOff.date)))

    def _person_period(self, person_id, bounds=None) -> list[dict]:
        with self.store.session() as s:
            person = self._person(s, person_id)
            whole = self._check_day_off_read(s, person.id)
            start, end = bounds if bounds else (None, None)
            return [day_off_json(d, whole) for d in self._between(s, start, end, person_id=person.id)]

    @rpc(**expected)
    def person_day_offs(self, person_id, query=None, body=None):
        return self._person_period(person_id)

    @rpc(**expected)
    def person_day_offs_for_year(self, person_id, year, query=None, body=None):
        try:
            bounds = domain.year_bounds(_int(year))
        except ValueError:
            raise Invalid("Invalid year.") from None
        return self._person_period(person_id, bounds)

    @rpc(**expected)
    def person_day_offs_for_month(self, person_id, year, month, query=None, body=None):
        try:
            bounds = domain.month_bounds(_int(year), _int(month, "month"))
        except ValueError:
            raise Invalid("Invalid month.") from None
        return self._person_period(person_id, bounds)

    @rpc(**expected)
    def person_day_offs_for_week(self, person_id, year, week, query=None, body=None):
        try:
            bounds = domain.week_bounds(_int(year), _int(week, "week"))
        except ValueError:
            raise Invalid("Invalid week.") from None
        return self._person_period(person_id, bounds)

    def _day_off_at(self, s, person_id, date, message) -> dict:
        try:
            day = dt.date.fromisoformat(str(date)[:10])
        except ValueError:
            raise Invalid(message, {"data": None}) from None
        found = self._between(s, day, day, person_id=person_id)
        return found[0] if found else None

    @rpc(**expected)
    def person_day_off(self, person_id, date, query=None, body=None):
        with self.store.session() as s:
            person = self._person(s, person_id)
            whole = self._check_day_off_read(s, person.id)
            found = self._day_off_at(s, person.id, date, "Invalid date format.")
            return day_off_json(found, whole) if found else {}

    @rpc(**expected)
    def user_day_off(self, date, query=None, body=None):
        with self.store.session() as s:
            found = self._day_off_at(s, self.caller.user_id, date, "Wrong date format.")
            return day_off_json(found) if found else {}

    def _period_for_readers(self, bounds) -> list[dict]:
        with self.store.session() as s:
            readable = self._readable_person_ids(s)
            rows = self._between(s, *bounds, person_ids=None if readable is None else readable.keys())
            if readable is None:
                return [day_off_json(d) for d in rows]
            return [day_off_json(d, readable.get(d.person_id, False)) for d in rows]

    @rpc(**expected)
    def day_offs_for_year(self, year, query=None, body=None):
        try:
            bounds = domain.year_bounds(_int(year))
        except ValueError:
            raise Invalid("Invalid year.") from None
        return self._period_for_readers(bounds)

    @rpc(**expected)
    def day_offs_for_month(self, year, month, query=None, body=None):
        try:
            bounds = domain.month_bounds(_int(year), _int(month, "month"))
        except ValueError:
            raise Invalid("Invalid month.") from None
        return self._period_for_readers(bounds)

    @rpc(**expected)
    def project_day_offs(self, project_id, query=None, body=None):
        """Day-offs of a production's team, by person: ``{person_id: [day off]}``.
        The team comes from assets (``get_project_team``); without assets
        the route answers 503."""
        try:
            project_id = valid_uuid(project_id)
        except Invalid:
            raise malformed_id() from None
        if self.caller.role in ("client", "vendor"):
            raise Forbidden(FORBIDDEN)
        query = query or {}
        team = self.peers.call("assets", "get_project_team", project_id=project_id)
        member_ids = {m["person_id"] if isinstance(m, dict) else m for m in team or []}
        if self.caller.role not in ("admin", "manager") and self.caller.user_id not in member_ids:
            raise Forbidden(FORBIDDEN)
        start = end = None
        try:
            if query.get("start_date"):
                start = dt.date.fromisoformat(str(query["start_date"])[:10])
            if query.get("end_date"):
                end = dt.date.fromisoformat(str(query["end_date"])[:10])
        except ValueError:
            raise Invalid("Wrong date format.", {"data": None}) from None
        safe = self.caller.role in ("admin", "manager")
        out: dict[str, list] = {}
        with self.store.session() as s:
            for d in self._between(s, start, end, person_ids=member_ids) if member_ids else []:
                out.setdefault(d.person_id, []).append(day_off_json(d, safe or d.person_id == self.caller.user_id))
        return out

    # ------------------------------------------------------------ logs
    @rpc(**expected)
    def presence_logs(self, month_date, query=None, body=None):
        """Rows of Zou's presence CSV for a ``YYYY-MM`` month (admin)."""
        self._require_admin()
        try:
            month = dt.datetime.strptime(str(month_date), "%Y-%m")
        except ValueError:
            raise Invalid("Invalid month or year.", {"data": None}) from None
        start, last = domain.month_bounds(month.year, month.month)
        end = dt.datetime.combine(last, dt.time.max)
        with self.store.session() as s:
            persons = s.scalars(
                select(Person).where(Person.active.is_(True)).order_by(Person.first_name, Person.last_name)
            ).all()
            logs: dict[str, list] = {}
            for row in s.scalars(
                select(DesktopLoginLog).where(
                    DesktopLoginLog.date >= dt.datetime.combine(start, dt.time.min), DesktopLoginLog.date <= end
                )
            ):
                logs.setdefault(row.person_id, []).append(row.date)
            return domain.presence_rows(month.year, month.month, [(p.id, p.full_name) for p in persons], logs)

    @rpc(**expected)
    def last_login_logs(self, query=None, body=None):
        """Newest login logs first, cursor-paged (admin: they hold IPs)."""
        self._require_admin()
        query = query or {}
        try:
            limit = min(int(query.get("limit") or 100), 1000)
        except ValueError:
            raise Invalid("limit must be an integer.", {"data": None}) from None
        stmt = select(LoginLog).order_by(LoginLog.created_at.desc(), LoginLog.id)
        raw_ids = query.get("person_ids")
        if raw_ids:
            try:
                ids = json.loads(raw_ids) if str(raw_ids).startswith("[") else str(raw_ids).split(",")
                ids = [valid_uuid(i) for i in ids]
            except (ValueError, Invalid):
                raise Invalid("Invalid person ids.", {"data": None}) from None
            stmt = stmt.where(LoginLog.person_id.in_(ids))
        for key, op in (("after", "gt"), ("before", "lt")):
            if query.get(key):
                try:
                    when = dt.datetime.fromisoformat(str(query[key]))
                except ValueError:
                    raise Invalid(f"Wrong date format for {key}.", {"data": None}) from None
                stmt = stmt.where(LoginLog.created_at > when if op == "gt" else LoginLog.created_at < when)
        with self.store.session() as s:
            cursor = query.get("cursor_login_log_id")
            if cursor:
                try:
                    row = s.get(LoginLog, valid_uuid(cursor))
                except Invalid:
                    raise Invalid("The cursor_login_log_id parameter is not a valid id", {"data": None}) from None
                if row is None:
                    raise Invalid(f"No login log found with id: {cursor}", {"data": None})
                stmt = stmt.where(LoginLog.created_at < row.created_at)
            return [
                {"id": r.id, "created_at": row_dict(r)["created_at"], "ip_address": r.ip_address,
                 "person_id": r.person_id, "origin": r.origin}
                for r in s.scalars(stmt.limit(limit))
            ]
