"""The rules of tasks, comments and timesheets in plain Python (no nameko, no session).

Objects passed in only need the attributes named (ORM rows or simple
namespaces), so unit tests use plain objects.
"""

from __future__ import annotations

import datetime as dt
import re
from typing import Iterable

MANAGER_ROLES = ("admin", "manager")
SUPERVISOR_ROLES = ("admin", "manager", "supervisor")


class Denied(Exception):
    """A rule refused the action; the service turns it into Forbidden."""


class Bad(Exception):
    """A rule refused the input; the service turns it into Invalid."""


# ------------------------------------------------------------------ roles
def effective_role(global_role: str | None, project_roles: dict | None, person_id: str | None) -> str | None:
    """The per-project role override wins over the global role, except for admins."""
    if global_role == "admin":
        return "admin"
    override = (project_roles or {}).get(person_id or "")
    return override or global_role


def belongs_to_project(person_id: str | None, team: Iterable[str] | None) -> bool:
    return bool(person_id) and person_id in set(team or ())


def can_access_project(role: str | None, person_id: str | None, team) -> bool:
    return role == "admin" or belongs_to_project(person_id, team)


def can_act_on_task(role, person_id, departments, team, assignees, task_type_department_id) -> bool:
    """Zou's task action access: admin; in the team, a manager or client, an
    assignee, or a supervisor whose departments cover the task type."""
    if role == "admin":
        return True
    if not belongs_to_project(person_id, team):
        return False
    if role in ("manager", "client"):
        return True
    if person_id in set(assignees or ()):
        return True
    if role == "supervisor":
        return not departments or task_type_department_id in set(departments)
    return False


def check_status_allowed(role: str | None, status) -> None:
    """Artists and clients may only post statuses flagged for them."""
    if role in ("user", "vendor") and not status.is_artist_allowed:
        raise Denied("This status is not allowed for artists.")
    if role == "client" and not status.is_client_allowed:
        raise Denied("This status is not allowed for clients.")


def can_log_time(role, caller_id, person_id, assignees, in_team) -> bool:
    """A time spent needs the person to be assigned; the caller is that person,
    an admin, or a manager of the project."""
    if person_id not in set(assignees or ()):
        return False
    return caller_id == person_id or role == "admin" or (in_team and role == "manager")


def comment_visible(role, caller_id, comment_author_id, author_role, for_client, is_clients_isolated) -> bool:
    """Clients see client-authored and for_client comments (only their own when
    the project isolates clients); others do not see client comments unless
    supervisor or above."""
    if role in SUPERVISOR_ROLES:
        return True
    if role == "client":
        if for_client:
            return True
        if is_clients_isolated:
            return comment_author_id == caller_id
        return author_role == "client"
    return author_role != "client"


# ------------------------------------------------------------------ status change
def retake_capped(status, retake_count: int | None, project_max_retakes: int | None,
                  entity_data: dict | None) -> bool:
    """True when moving to a retake status would exceed the cap (0 = no cap)."""
    if not status.is_retake:
        return False
    project_max = project_max_retakes or 0
    if project_max <= 0:
        return False
    entity_max = (entity_data or {}).get("max_retakes")
    try:
        cap = int(entity_max or project_max)
    except (TypeError, ValueError):
        cap = project_max
    return cap > 0 and (retake_count or 0) >= cap


def status_change(task, status, comment_date: dt.datetime, now: dt.datetime) -> tuple[dict, bool]:
    """What a comment does to its task: returns (changes, status_changed).

    An older comment than the task's last one does not move the status.
    A retake increments the retake count; a first WIP stamps the real start
    date; feedback requests stamp the end date; done stamps the done date;
    leaving those clears them.
    """
    last = task.last_comment_date
    if last is not None and last > comment_date:
        return {}, False
    changes: dict = {"last_comment_date": comment_date}
    changed = str(status.id) != str(task.task_status_id)
    if changed:
        changes["task_status_id"] = str(status.id)
        if status.is_retake:
            changes["retake_count"] = (task.retake_count or 0) + 1
        if status.is_wip and task.real_start_date is None:
            changes["real_start_date"] = now
        changes.update(status_dates(status, now))
    return changes, changed


def status_dates(status, now: dt.datetime) -> dict:
    out = {}
    if status.is_feedback_request:
        out["end_date"] = now
    elif not status.is_done:
        out["end_date"] = None
    out["done_date"] = now if status.is_done else None
    return out


# ------------------------------------------------------------------ mentions
def mentions(text: str | None, people: Iterable[tuple[str, str]]) -> list[str]:
    """Ids of the people named ``@Full Name`` in the text."""
    if not text:
        return []
    out = []
    for pid, full_name in people:
        if full_name and re.search(f"@{re.escape(full_name)}( |$)", text):
            out.append(pid)
    return out


def hashtags(text: str | None) -> list[str]:
    if not text:
        return []
    tags = [h[1:].lower() for h in re.findall(r"#[a-zA-Z]*", text)]
    return ["all"] if "all" in tags else [t for t in tags if t]


# ------------------------------------------------------------------ dates
def parse_day(value) -> dt.date:
    """``YYYY-MM-DD`` (Zou's time-spent route) or raise Bad."""
    if isinstance(value, dt.date) and not isinstance(value, dt.datetime):
        return value
    text = str(value or "")
    if not re.match(r"^\d{4}-\d{2}-\d{2}$", text[:10]):
        raise Bad("Wrong date format")
    try:
        return dt.date.fromisoformat(text[:10])
    except ValueError:
        raise Bad("Wrong date format") from None


def parse_datetime(value) -> dt.datetime | None:
    """Zou accepts ``YYYY-MM-DD``, ``YYYY-MM-DD HH:MM:SS`` and ISO datetimes."""
    if value in (None, ""):
        return None
    if isinstance(value, dt.datetime):
        return value.replace(tzinfo=None)
    s = str(value).strip().replace("Z", "")
    try:
        d = dt.datetime.fromisoformat(s.replace(" ", "T"))
        if d.tzinfo is not None:
            d = d.astimezone(dt.timezone.utc).replace(tzinfo=None)
        return d
    except ValueError:
        raise Bad(f"Wrong date format: {value}") from None


def parse_int(value, what: str) -> int:
    try:
        return int(value)
    except (TypeError, ValueError):
        raise Bad(f"Invalid {what}: {value}") from None


def week_bounds(year: int, week: int) -> tuple[dt.date, dt.date]:
    try:
        start = dt.date.fromisocalendar(year, week, 1)
    except ValueError:
        raise Bad("Wrong week") from None
    return start, start + dt.timedelta(days=6)


def month_bounds(year: int, month: int) -> tuple[dt.date, dt.date]:
    if not 1 <= month <= 12 or year < 1:
        raise Bad("Wrong month")
    start = dt.date(year, month, 1)
    nxt = dt.date(year + (month == 12), (month % 12) + 1, 1)
    return start, nxt - dt.timedelta(days=1)
