"""Helpers shared by the assets service's entrypoint mixins: loading rows,
per-project access (Zou's permissions_service rules on our own team data),
serialisation and event emission."""

from __future__ import annotations

from slatekit.crud import row_dict, valid_uuid
from slatekit.errors import Forbidden, Invalid, NotFound
from sqlalchemy import select

from . import domain
from .models import Entity, EntityType, Project, ProjectLink, ProjectPersonLink, ProjectStatus, ProjectTaskStatusLink, ProjectTaskTypeLink

PROJECT_TYPE = "Project"
_ENTITY_KEYS = tuple(c.key for c in Entity.__table__.columns)


def need_object(body) -> dict:
    if not isinstance(body, dict):
        raise Invalid("A JSON object is expected")
    return body


def need(body: dict, *fields):
    for f in fields:
        if body.get(f) in (None, ""):
            raise invalid_field(f, "Field required", f"Field {f} is required")


def invalid_field(field: str, detail: str, message: str | None = None) -> Invalid:
    """A 400 naming the field, with Zou's validation ``data.errors`` list."""
    return Invalid(message or f"Field {field}: {detail}", {"data": {"errors": [{"field": field, "message": detail}]}})


def opt_uuid(body: dict, key: str) -> str | None:
    value = body.get(key)
    if value in (None, ""):
        return None
    return valid_uuid(value, key)


class Helpers:
    """Mixed into the service class; every method takes an open session."""

    # ------------------------------------------------------------ caller
    @property
    def caller(self):
        return self.store.caller

    def _is_admin(self) -> bool:
        return self.caller.role == "admin"

    def _team_role(self, s, project_id) -> tuple[bool, str | None]:
        link = s.get(ProjectPersonLink, (project_id, self.caller.user_id)) if self.caller.user_id else None
        return link is not None, (link.role if link else None)

    def _check_access(self, s, project_id) -> str:
        """Zou's check_project_access: admin, or member of the team. Returns the effective role."""
        if self._is_admin():
            return "admin"
        member, role = self._team_role(s, project_id)
        if not member:
            raise Forbidden("You are not allowed to access this project")
        return domain.effective_role(self.caller.role, role)

    def _check_manager(self, s, project_id) -> str:
        role = self._check_access(s, project_id)
        if role not in ("admin", "manager"):
            raise Forbidden("Manager rights on this project are required")
        return role

    def _check_supervisor(self, s, project_id) -> str:
        role = self._check_access(s, project_id)
        if role not in ("admin", "manager", "supervisor"):
            raise Forbidden("Supervisor rights on this project are required")
        return role

    def _check_not_vendor_client(self, role: str):
        if role in ("vendor", "client"):
            raise Forbidden("You are not allowed to do this")

    def _visible_project_ids(self, s) -> list[str] | None:
        """None: every project (admin); else the projects whose team has the caller."""
        if self._is_admin():
            return None
        if not self.caller.user_id:
            return []
        return list(s.scalars(select(ProjectPersonLink.project_id).where(ProjectPersonLink.person_id == self.caller.user_id)))

    def _restrict(self, s, stmt, column, query: dict | None = None):
        """Narrow a listing to the caller's projects (also guards ?project_id=)."""
        ids = self._visible_project_ids(s)
        if ids is None:
            return stmt
        return stmt.where(column.in_(ids))

    # ------------------------------------------------------------ loaders
    def _project(self, s, project_id) -> Project:
        project = s.get(Project, valid_uuid(project_id, "project id"))
        if project is None:
            raise NotFound(f"Project {project_id} not found")
        return project

    def _types(self, s) -> dict[str, str]:
        """name -> id of every entity type (small table)."""
        cache = getattr(self, "_types_cache", None)
        if cache is None:
            cache = {t.name: t.id for t in s.scalars(select(EntityType))}
            self._types_cache = cache
        return cache

    def _type_names(self, s) -> dict[str, str]:
        types = self._types(s)
        cached = getattr(self, "_names_cache", None)
        if cached is None or cached[0] is not types or len(cached[1]) != len(types):
            cached = (types, {v: k for k, v in types.items()})
            self._names_cache = cached
        return cached[1]

    def _type_id(self, s, name: str) -> str:
        tid = self._types(s).get(name)
        if tid is None:
            et = EntityType(name=name)
            s.add(et)
            s.flush()
            self._types_cache[name] = et.id
            tid = et.id
        return tid

    def _asset_type_ids(self, s) -> list[str]:
        return [v for k, v in self._types(s).items() if k not in domain.SPECIAL_TYPES]

    def _entity(self, s, entity_id, kind: str | None = None, what: str | None = None) -> Entity:
        entity = s.get(Entity, valid_uuid(entity_id, f"{(what or kind or 'entity').lower()} id"))
        if entity is None:
            raise NotFound(f"{what or kind or 'Entity'} {entity_id} not found")
        if kind is not None:
            tname = self._type_names(s).get(entity.entity_type_id)
            actual = domain.type_name(tname)
            if actual != kind:
                raise NotFound(f"{what or kind} {entity_id} not found")
        return entity

    def _entity_in_project(self, s, entity_id, project_id, kind: str, field: str) -> Entity:
        """A parent given in a body: must exist, be a ``kind``, and belong to the project."""
        parent = self._entity(s, entity_id, kind, what=kind)  # unknown: 404 as Zou
        if parent.project_id != project_id:
            raise invalid_field(field, f"{kind} {entity_id} belongs to another project")
        return parent

    # ------------------------------------------------------------ dumps
    def _etype_name(self, s, entity: Entity) -> str:
        return domain.type_name(self._type_names(s).get(entity.entity_type_id))

    def _entity_json(self, s, entity: Entity) -> dict:
        """Zou's entity JSON. Hot path of every listing: plain attribute reads
        (ids are strings already; only the two timestamps need formatting)."""
        state = entity.__dict__
        doc = {k: state[k] if k in state else getattr(entity, k) for k in _ENTITY_KEYS}
        for k in ("created_at", "updated_at"):
            v = doc.get(k)
            if v is not None and not isinstance(v, str):
                doc[k] = v.isoformat(timespec="seconds")
        if doc.get("data") is None:
            doc["data"] = {}
        doc["type"] = domain.type_name(self._type_names(s).get(entity.entity_type_id))
        return doc

    def _project_json(self, s, project: Project, for_event: bool = False) -> dict:
        doc = row_dict(project, hidden=("preview_account",), type_name="Project")
        pid = project.id
        doc["team"] = list(s.scalars(select(ProjectPersonLink.person_id).where(ProjectPersonLink.project_id == pid)))
        links = s.execute(select(ProjectLink.kind, ProjectLink.other_id).where(ProjectLink.project_id == pid)).all()
        for kind in ("asset_types", "status_automations", "preview_background_files"):
            doc[kind] = [o for k, o in links if k == kind]
        doc["task_statuses"] = list(s.scalars(select(ProjectTaskStatusLink.task_status_id).where(ProjectTaskStatusLink.project_id == pid)))
        doc["task_types"] = list(s.scalars(select(ProjectTaskTypeLink.task_type_id).where(ProjectTaskTypeLink.project_id == pid)))
        if for_event:
            # Consumers get the status without a lookup (not in Zou's API JSON).
            status = s.get(ProjectStatus, project.project_status_id) if project.project_status_id else None
            doc["project_status_name"] = status.name if status else None
            doc["project_status"] = "closed" if status and status.name.lower() == "closed" else "open"
        return doc

    # ------------------------------------------------------------ events
    def _emit_project(self, s, project: Project, action: str):
        doc = self._project_json(s, project, for_event=True)
        self.store.emit(s, f"project:{action}", {"project_id": project.id}, project_id=project.id, record=doc)
        return {k: v for k, v in doc.items() if k not in ("project_status_name", "project_status")}

    def _emit_entity(self, s, entity: Entity, action: str, record: dict | None = None):
        tname = self._type_names(s).get(entity.entity_type_id)
        prefix = domain.event_prefix(tname)
        doc = record or self._entity_json(s, entity)
        data = {f"{prefix.replace('-', '_')}_id": entity.id}
        if prefix == "asset":
            data["asset_type"] = entity.entity_type_id
        # Consumers that name entities as Zou does ("<asset type> / <asset>")
        # need the type's name; it rides the event only, not the reply.
        self.store.emit(s, f"{prefix}:{action}", data, project_id=entity.project_id,
                        record={**doc, "entity_type_name": tname} if isinstance(doc, dict) else doc)
        return doc
