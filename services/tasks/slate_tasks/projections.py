"""Local projections of other services' rows, fed by their events and
rebuildable from their owners (``rebuild_*`` RPCs use the owners' ``export_*``).

A record is applied only if its ``updated_at`` is not older than the stored
one; deletes remove the row by id. Readers are tolerant: unknown fields are
kept in ``record``, missing ones keep their defaults.
"""

from __future__ import annotations

import datetime as dt
import logging

from nameko.rpc import rpc
from slatekit.consumer import subscribe
from slatekit.errors import SLATE_ERRORS

from .models import ProjDepartment, ProjEntity, ProjEntityType, ProjPerson, ProjProject

log = logging.getLogger(__name__)
expected = {"expected_exceptions": SLATE_ERRORS}
ENTITY_EVENTS = [f"{k}:{a}" for k in ("asset", "shot", "sequence", "episode", "scene", "edit", "concept")
                 for a in ("new", "update", "delete")]
ENTITY_TYPE_NAMES = {"shot": "Shot", "sequence": "Sequence", "episode": "Episode", "scene": "Scene",
                     "edit": "Edit", "concept": "Concept"}


def _ts(value) -> dt.datetime | None:
    if not value:
        return None
    try:
        return dt.datetime.fromisoformat(str(value).replace("Z", "")).replace(tzinfo=None)
    except ValueError:
        return None


def _newer(row, record) -> bool:
    """Apply unless the stored row is newer (placeholders always lose)."""
    if row is None or getattr(row, "placeholder", False):
        return True
    incoming = _ts(record.get("updated_at"))
    return row.updated_at is None or incoming is None or incoming >= row.updated_at


def _ids(values) -> list[str]:
    out = []
    for v in values or []:
        v = v.get("id") if isinstance(v, dict) else v
        if v:
            out.append(str(v))
    return out


def apply_project(s, record: dict, deleted: bool = False) -> None:
    pid = record.get("id")
    if not pid:
        return
    row = s.get(ProjProject, pid)
    if deleted:
        if row is not None:
            s.delete(row)
        return
    if not _newer(row, record):
        return
    if row is None:
        row = ProjProject(id=pid, team=[], roles={})
        s.add(row)
    row.name = record.get("name")
    status = (record.get("project_status") or record.get("status") or record.get("project_status_name")
              or "open")
    row.status = "closed" if str(status).lower() == "closed" else "open"
    if "team" in record:
        row.team = _ids(record.get("team"))
    if isinstance(record.get("roles"), dict):
        row.roles = record["roles"]
    row.max_retakes = record.get("max_retakes") or 0
    row.is_clients_isolated = bool(record.get("is_clients_isolated"))
    row.production_type = record.get("production_type")
    row.has_avatar = bool(record.get("has_avatar"))
    row.record = record
    row.placeholder = False
    row.updated_at = _ts(record.get("updated_at")) or row.updated_at


def apply_team(s, name: str, data: dict) -> None:
    pid, person = data.get("project_id"), data.get("person_id")
    if not pid or not person:
        return
    row = s.get(ProjProject, pid)
    if row is None:
        row = ProjProject(id=pid, team=[], roles={}, placeholder=True, status="open")
        s.add(row)
    team = list(row.team or [])
    roles = dict(row.roles or {})
    if name.endswith("removed"):
        team = [p for p in team if p != person]
        roles.pop(person, None)
    else:
        if person not in team:
            team.append(person)
        if data.get("role"):
            roles[person] = data["role"]
        elif name.endswith("role-changed"):
            roles.pop(person, None)
    row.team = team
    row.roles = roles


def apply_entity(s, kind: str, record: dict, deleted: bool = False) -> None:
    eid = record.get("id")
    if not eid:
        return
    row = s.get(ProjEntity, eid)
    if deleted:
        if row is not None:
            s.delete(row)
        return
    if not _newer(row, record):
        return
    if row is None:
        row = ProjEntity(id=eid)
        s.add(row)
    row.name = record.get("name")
    row.description = record.get("description")
    row.project_id = record.get("project_id")
    row.entity_type_id = record.get("entity_type_id")
    type_name = ENTITY_TYPE_NAMES.get(kind)
    if type_name is None:  # an asset: its type's name
        et = s.get(ProjEntityType, row.entity_type_id) if row.entity_type_id else None
        type_name = record.get("asset_type_name") or (et.name if et else None) or "Asset"
    row.type_name = type_name
    row.parent_id = record.get("parent_id")
    row.source_id = record.get("source_id")
    row.canceled = bool(record.get("canceled"))
    row.nb_frames = record.get("nb_frames")
    row.preview_file_id = record.get("preview_file_id")
    row.data = record.get("data") or {}
    row.record = record
    row.placeholder = False
    row.updated_at = _ts(record.get("updated_at")) or row.updated_at


def apply_person(s, record: dict, deleted: bool = False) -> None:
    pid = record.get("id")
    if not pid:
        return
    row = s.get(ProjPerson, pid)
    if deleted:
        if row is not None:
            s.delete(row)
        return
    if not _newer(row, record):
        return
    if row is None:
        row = ProjPerson(id=pid)
        s.add(row)
    row.first_name = record.get("first_name")
    row.last_name = record.get("last_name")
    row.full_name = record.get("full_name") or " ".join(
        x for x in (record.get("first_name"), record.get("last_name")) if x)
    row.role = record.get("role")
    row.active = record.get("active", True)
    row.has_avatar = bool(record.get("has_avatar"))
    row.departments = _ids(record.get("departments"))
    row.record = {k: v for k, v in record.items() if k not in ("password", "totp_secret")}
    row.updated_at = _ts(record.get("updated_at")) or row.updated_at


def apply_simple(s, cls, record: dict, deleted: bool = False) -> None:
    rid = record.get("id")
    if not rid:
        return
    row = s.get(cls, rid)
    if deleted:
        if row is not None:
            s.delete(row)
        return
    if row is not None and not _newer(row, record):
        return
    if row is None:
        row = cls(id=rid)
        s.add(row)
    row.name = record.get("name")
    row.updated_at = _ts(record.get("updated_at"))


class ProjectionsMixin:
    def _consume(self, event, apply) -> None:
        with self.store.begin() as s:
            if not self.store.claim(s, event):
                return
            apply(s)

    @subscribe("project:new", "project:update", "project:delete")
    def on_project(self, event):
        record = event.get("record") or {}
        if not record.get("id") and (event.get("data") or {}).get("project_id"):
            record = dict(record, id=event["data"]["project_id"])
        self._consume(event, lambda s: apply_project(s, record, event.get("name") == "project:delete"))

    @subscribe("project:team-member-added", "project:team-member-removed", "project:team-member-role-changed")
    def on_team(self, event):
        self._consume(event, lambda s: apply_team(s, event.get("name", ""), event.get("data") or {}))

    @subscribe(*ENTITY_EVENTS)
    def on_entity(self, event):
        kind, _, action = (event.get("name") or "").partition(":")
        record = event.get("record") or {}
        if not record.get("id"):
            record = dict(record, id=(event.get("data") or {}).get(f"{kind}_id"))
        self._consume(event, lambda s: apply_entity(s, kind, record, action == "delete"))

    @subscribe("asset-type:new", "asset-type:update", "asset-type:delete")
    def on_asset_type(self, event):
        self._consume(event, lambda s: apply_simple(s, ProjEntityType, event.get("record") or {},
                                                    event.get("name") == "asset-type:delete"))

    @subscribe("person:new", "person:update", "person:delete")
    def on_person(self, event):
        self._consume(event, lambda s: apply_person(s, event.get("record") or {},
                                                    event.get("name") == "person:delete"))

    @subscribe("department:new", "department:update", "department:delete")
    def on_department(self, event):
        self._consume(event, lambda s: apply_simple(s, ProjDepartment, event.get("record") or {},
                                                    event.get("name") == "department:delete"))

    @subscribe("preview-file:new", "preview-file:update", "preview-file:add-file", "preview-file:delete")
    def on_preview_file(self, event):
        record = event.get("record") or {}
        if not record.get("id"):
            return
        self._consume(event, lambda s: self._apply_preview(s, record, event.get("name") == "preview-file:delete"))

    # ------------------------------------------------------------ rebuild
    def _rebuild(self, service, method, apply, **kw) -> int:
        after, count = None, 0
        while True:
            rows = self.peers.call(service, method, after=after, limit=1000, timeout=60)
            if not rows:
                return count
            with self.store.begin() as s:
                for r in rows:
                    apply(s, r)
            count += len(rows)
            after = rows[-1]["id"]
            if len(rows) < 1000:
                return count

    @rpc(**expected)
    def rebuild_projections(self):
        """Refill projects, entities and persons from their owners."""
        self._require_admin()
        out = {}
        out["projects"] = self._rebuild("assets", "export_projects", lambda s, r: apply_project(s, r))

        def entity(s, r):
            kind = (r.get("type") or "asset").lower()
            apply_entity(s, kind if kind in ENTITY_TYPE_NAMES else "asset", r)

        out["entities"] = self._rebuild("assets", "export_entities", entity)
        out["persons"] = self._rebuild("auth", "export_persons", lambda s, r: apply_person(s, r))
        return out
