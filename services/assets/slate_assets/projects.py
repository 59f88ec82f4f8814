"""Projects: create/read/update/delete, statuses, team and per-project roles,
production settings links (asset types, task types, task statuses, status
automations, preview backgrounds), preview account."""

from __future__ import annotations

import re

from nameko.rpc import rpc
from slatekit.crud import apply_body, apply_filters, list_rows, now, row_dict, valid_uuid
from slatekit.errors import SLATE_ERRORS, Forbidden, Invalid, NotFound
from sqlalchemy import delete, func, select

from . import domain
from .base import need, need_object
from .models import (
    AssetInstance,
    Entity,
    EntityLink,
    EntityType,
    ExtRecord,
    MetadataDescriptor,
    Project,
    ProjectLink,
    ProjectPersonLink,
    ProjectStatus,
    ProjectTaskStatusLink,
    ProjectTaskTypeLink,
)

expected = {"expected_exceptions": SLATE_ERRORS}
PROJECT_WRITABLE = (
    "name", "code", "description", "file_tree", "data", "has_avatar", "fps", "ratio", "resolution",
    "production_type", "production_style", "start_date", "end_date", "man_days", "nb_episodes",
    "episode_span", "max_retakes", "is_clients_isolated", "is_client_stats_visible",
    "is_client_task_list_visible", "is_client_task_panel_visible", "is_preview_download_allowed",
    "is_set_preview_automated", "homepage", "is_publish_default_for_artists",
    "is_bot_collaboration_enabled", "is_single_preview_per_revision", "is_frame_in_numbering",
    "revision_padding", "hd_bitrate_compression", "ld_bitrate_compression", "project_status_id",
    "default_preview_background_file_id", "from_schedule_version_id", "shotgun_id",
)
STYLES = ("2d", "3d", "2d3d", "ar", "vfx", "stop-motion", "motion-design", "archviz", "commercial",
          "catalog", "immersive", "nft", "video-game", "vr")
_RESOLUTION = re.compile(r"^\d*x\d+$")
LINK_KINDS = {"asset-types": "asset_types", "status-automations": "status_automations",
              "preview-background-files": "preview_background_files"}


def validate_project_body(body: dict):
    if "production_style" in body and body["production_style"] is not None and body["production_style"] not in STYLES:
        raise Invalid("Invalid production_style", {"field": "production_style"})
    if "production_type" in body and body["production_type"] is not None and body["production_type"] not in domain.PRODUCTION_TYPES:
        raise Invalid("Invalid production_type", {"field": "production_type"})
    res = body.get("resolution")
    if res not in (None, "") and (not isinstance(res, str) or not _RESOLUTION.match(res)):
        raise Invalid("Invalid resolution, expected WIDTHxHEIGHT", {"field": "resolution"})
    for key in ("max_retakes", "revision_padding", "nb_episodes", "episode_span", "man_days"):
        v = body.get(key)
        if v is not None and (isinstance(v, bool) or not isinstance(v, (int, str))):
            raise Invalid(f"Invalid value for {key}", {"field": key})


class ProjectsMixin:
    # ------------------------------------------------------------ statuses
    def _status(self, s, name: str) -> ProjectStatus:
        st = s.scalars(select(ProjectStatus).where(func.lower(ProjectStatus.name) == name.lower())).first()
        if st is None:
            st = ProjectStatus(name=name.capitalize(), color="#000000")
            s.add(st)
            s.flush()
        return st

    def _is_open(self, s, project: Project) -> bool:
        st = s.get(ProjectStatus, project.project_status_id) if project.project_status_id else None
        return not (st and st.name.lower() == "closed")

    def _first_episode(self, s, project: Project) -> Entity:
        ep_type = self._type_id(s, domain.EPISODE)
        ep = s.scalars(select(Entity).where(Entity.project_id == project.id, Entity.entity_type_id == ep_type)
                       .order_by(Entity.created_at)).first()
        if ep is None:
            ep = Entity(name="E01", project_id=project.id, entity_type_id=ep_type, description="", data={},
                        created_by=self.caller.user_id)
            s.add(ep)
            s.flush()
            self._emit_entity(s, ep, "new")
        return ep

    # ------------------------------------------------------------ project CRUD
    def _projects_list(self, s, query, open_only=False, with_names=False):
        stmt = select(Project)
        q = dict(query or {})
        stmt = apply_filters(stmt, Project, q)
        if open_only:
            stmt = stmt.where(Project.project_status_id == self._status(s, "Open").id)
        stmt = self._restrict(s, stmt, Project.id).order_by(Project.name)
        result = list_rows(s, Project, stmt, q, lambda p: self._project_json(s, p))
        return result

    @rpc(**expected)
    def get_projects(self, query=None, body=None):
        with self.store.begin() as s:
            return self._projects_list(s, query)

    @rpc(**expected)
    def get_open_projects(self, query=None, body=None):
        with self.store.begin() as s:
            return self._projects_list(s, query, open_only=True)

    @rpc(**expected)
    def get_project(self, instance_id=None, project_id=None, query=None, body=None):
        with self.store.begin() as s:
            project = self._project(s, instance_id or project_id)
            self._check_access(s, project.id)
            return self._project_json(s, project)

    @rpc(**expected)
    def create_project(self, query=None, body=None):
        body = need_object(body)
        need(body, "name")
        if not isinstance(body["name"], str):
            raise Invalid("Field name must be a string", {"field": "name"})
        validate_project_body(body)
        if self.caller.role not in ("admin",):
            raise Forbidden("Admin rights are required")
        with self.store.begin() as s:
            if s.scalars(select(Project).where(Project.name == body["name"].strip())).first() is not None:
                raise Invalid("A project with this name already exists", {"field": "name"})
            project = Project()
            apply_body(project, {k: v for k, v in body.items() if v is not None or k == "data"}, PROJECT_WRITABLE)
            project.name = body["name"].strip()
            if not project.project_status_id:
                project.project_status_id = self._status(s, "Open").id
            elif s.get(ProjectStatus, project.project_status_id) is None:
                raise Invalid("Field project_status_id: unknown project status", {"field": "project_status_id"})
            s.add(project)
            s.flush()
            for pid in self._id_list(body, "team"):
                s.add(ProjectPersonLink(project_id=project.id, person_id=pid))
            for kind in ("asset_types", "status_automations", "preview_background_files"):
                for oid in self._id_list(body, kind):
                    s.add(ProjectLink(project_id=project.id, kind=kind, other_id=oid))
            for i, tid in enumerate(self._id_list(body, "task_types")):
                s.add(ProjectTaskTypeLink(project_id=project.id, task_type_id=tid))
            for tid in self._id_list(body, "task_statuses"):
                s.add(ProjectTaskStatusLink(project_id=project.id, task_status_id=tid))
            s.flush()
            first_episode = None
            if project.production_type == "tvshow":
                first_episode = self._first_episode(s, project)
            doc = self._emit_project(s, project, "new")
            if first_episode is not None:
                doc["first_episode_id"] = first_episode.id
            return doc

    def _id_list(self, body, key) -> list[str]:
        values = body.get(key) or []
        if not isinstance(values, list):
            raise Invalid(f"Field {key} must be a list of ids", {"field": key})
        out = []
        for v in values:
            if isinstance(v, dict):
                v = v.get("id")
            out.append(valid_uuid(v, key))
        return list(dict.fromkeys(out))

    @rpc(**expected)
    def update_project(self, instance_id=None, project_id=None, query=None, body=None):
        body = need_object(body)
        validate_project_body(body)
        with self.store.begin() as s:
            project = self._project(s, instance_id or project_id)
            self._check_manager(s, project.id)
            if "name" in body:
                if not isinstance(body["name"], str) or not body["name"].strip():
                    raise Invalid("Field name is required", {"field": "name"})
                other = s.scalars(select(Project).where(Project.name == body["name"].strip(), Project.id != project.id)).first()
                if other is not None:
                    raise Invalid("A project with this name already exists", {"field": "name"})
            if body.get("project_status_id") and s.get(ProjectStatus, valid_uuid(body["project_status_id"], "project_status_id")) is None:
                raise Invalid("Field project_status_id: unknown project status", {"field": "project_status_id"})
            apply_body(project, body, PROJECT_WRITABLE)
            project.updated_at = now()
            s.flush()
            if project.production_type == "tvshow":
                self._first_episode(s, project)
            return self._emit_project(s, project, "update")

    @rpc(**expected)
    def delete_project(self, instance_id=None, project_id=None, query=None, body=None):
        query = query or {}
        force = str(query.get("force", "")).lower() in ("true", "1")
        with self.store.begin() as s:
            project = self._project(s, instance_id or project_id)
            if not self._is_admin():
                raise Forbidden("Admin rights are required")
            if self._is_open(s, project):
                raise Invalid("Only closed projects can be deleted")
            has_data = s.scalar(select(func.count()).select_from(Entity).where(Entity.project_id == project.id))
            if has_data and not force:
                raise Invalid("This project has data; use force=true to delete it with everything in it")
            doc = self._project_json(s, project, for_event=True)
            ids = select(Entity.id).where(Entity.project_id == project.id)
            s.execute(delete(EntityLink).where(EntityLink.entity_in_id.in_(ids)))
            s.execute(delete(AssetInstance).where(AssetInstance.asset_id.in_(ids)))
            s.execute(Entity.__table__.update().where(Entity.project_id == project.id).values(parent_id=None, source_id=None))
            s.execute(delete(Entity).where(Entity.project_id == project.id))
            s.execute(delete(MetadataDescriptor).where(MetadataDescriptor.project_id == project.id))
            s.delete(project)
            self.store.emit(s, "project:delete", {"project_id": doc["id"]}, project_id=doc["id"], record=doc)
            return None

    # ------------------------------------------------------------ team
    def _person_json(self, s, person_id) -> dict:
        rec = s.get(ExtRecord, ("person", person_id))
        if rec is not None:
            return rec.record
        return {"id": person_id, "type": "Person"}

    @rpc(**expected)
    def get_project_team_persons(self, project_id, query=None, body=None):
        with self.store.begin() as s:
            project = self._project(s, project_id)
            self._check_access(s, project.id)
            links = s.scalars(select(ProjectPersonLink).where(ProjectPersonLink.project_id == project.id)).all()
            recs = {r.id: r.record for r in s.scalars(select(ExtRecord).where(
                ExtRecord.kind == "person", ExtRecord.id.in_([l.person_id for l in links])))}
            out = []
            for link in links:
                doc = dict(recs.get(link.person_id) or {"id": link.person_id, "type": "Person"})
                doc["project_role"] = link.role
                out.append(doc)
            return out

    @rpc(**expected)
    def get_project_team(self, project_id):
        """For other services: [{person_id, role}] of a project."""
        with self.store.session() as s:
            return [{"person_id": l.person_id, "role": l.role} for l in s.scalars(
                select(ProjectPersonLink).where(ProjectPersonLink.project_id == valid_uuid(project_id, "project id")))]

    def _valid_role(self, role):
        if role is not None and role not in domain.PROJECT_ROLES:
            raise Invalid(f"Invalid role: {role}", {"field": "role"})
        return role

    @rpc(**expected)
    def add_team_member(self, project_id, query=None, body=None):
        body = need_object(body)
        need(body, "person_id")
        person_id = valid_uuid(body["person_id"], "person_id")
        role = self._valid_role(body.get("role"))
        with self.store.begin() as s:
            project = self._project(s, project_id)
            self._check_manager(s, project.id)
            link = s.get(ProjectPersonLink, (project.id, person_id))
            if link is None:
                s.add(ProjectPersonLink(project_id=project.id, person_id=person_id, role=role))
                project.updated_at = now()
                s.flush()
                self.store.emit(s, "project:team-member-added",
                                {"project_id": project.id, "person_id": person_id, "role": role}, project_id=project.id)
                return self._emit_project(s, project, "update")
            return self._project_json(s, project)

    @rpc(**expected)
    def update_team_member(self, project_id, person_id, query=None, body=None):
        body = need_object(body)
        role = self._valid_role(body.get("role"))
        with self.store.begin() as s:
            project = self._project(s, project_id)
            self._check_manager(s, project.id)
            link = s.get(ProjectPersonLink, (project.id, valid_uuid(person_id, "person id")))
            if link is None:
                raise NotFound(f"Person {person_id} is not in the team of this project")
            link.role = role
            project.updated_at = now()
            s.flush()
            self.store.emit(s, "project:team-member-role-changed",
                            {"project_id": project.id, "person_id": link.person_id, "role": role}, project_id=project.id)
            self._emit_project(s, project, "update")
            return {"project_id": project.id, "person_id": link.person_id, "role": role}

    @rpc(**expected)
    def remove_team_member(self, project_id, person_id, query=None, body=None):
        with self.store.begin() as s:
            project = self._project(s, project_id)
            self._check_manager(s, project.id)
            pid = valid_uuid(person_id, "person id")
            link = s.get(ProjectPersonLink, (project.id, pid))
            if link is not None:
                s.delete(link)
                project.updated_at = now()
                s.flush()
                self.store.emit(s, "project:team-member-removed",
                                {"project_id": project.id, "person_id": pid, "role": link.role}, project_id=project.id)
                self._emit_project(s, project, "update")
            return None

    # ------------------------------------------------------------ settings links
    def _ext_rows(self, s, kind, ids):
        recs = {r.id: r.record for r in s.scalars(select(ExtRecord).where(ExtRecord.kind == kind, ExtRecord.id.in_(ids)))}
        return recs

    @rpc(**expected)
    def add_project_link(self, project_id, kind, query=None, body=None):
        """POST settings/asset-types | status-automations | preview-background-files."""
        body = need_object(body)
        key = {"asset-types": "asset_type_id", "status-automations": "status_automation_id",
               "preview-background-files": "preview_background_file_id"}[kind]
        need(body, key)
        other = valid_uuid(body[key], key)
        with self.store.begin() as s:
            project = self._project(s, project_id)
            self._check_manager(s, project.id)
            if kind == "asset-types":
                et = s.get(EntityType, other)
                if et is None or et.name in domain.SPECIAL_TYPES:
                    raise NotFound(f"Asset type {other} not found")
            if s.get(ProjectLink, (project.id, LINK_KINDS[kind], other)) is None:
                s.add(ProjectLink(project_id=project.id, kind=LINK_KINDS[kind], other_id=other))
                project.updated_at = now()
                s.flush()
                return self._emit_project(s, project, "update")
            return self._project_json(s, project)

    @rpc(**expected)
    def remove_project_link(self, project_id, kind, asset_type_id=None, status_automation_id=None,
                            preview_background_file_id=None, query=None, body=None):
        other = valid_uuid(asset_type_id or status_automation_id or preview_background_file_id, "id")
        with self.store.begin() as s:
            project = self._project(s, project_id)
            self._check_manager(s, project.id)
            link = s.get(ProjectLink, (project.id, LINK_KINDS[kind], other))
            if link is not None:
                s.delete(link)
                project.updated_at = now()
                s.flush()
                self._emit_project(s, project, "update")
            return None

    @rpc(**expected)
    def get_project_links(self, project_id, kind, query=None, body=None):
        """GET settings/status-automations | preview-background-files: the linked rows."""
        with self.store.begin() as s:
            project = self._project(s, project_id)
            self._check_access(s, project.id)
            ids = list(s.scalars(select(ProjectLink.other_id).where(
                ProjectLink.project_id == project.id, ProjectLink.kind == LINK_KINDS[kind])))
            ext_kind = {"status-automations": "status-automation", "preview-background-files": "preview-background-file"}[kind]
            recs = self._ext_rows(s, ext_kind, ids)
            return [recs.get(i) or {"id": i} for i in ids]

    @rpc(**expected)
    def add_project_task_type(self, project_id, query=None, body=None):
        body = need_object(body)
        need(body, "task_type_id")
        tid = valid_uuid(body["task_type_id"], "task_type_id")
        priority = body.get("priority")
        if priority is not None:
            try:
                priority = int(priority)
            except (TypeError, ValueError):
                raise Invalid("Field priority must be an integer", {"field": "priority"}) from None
        with self.store.begin() as s:
            project = self._project(s, project_id)
            self._check_manager(s, project.id)
            link = s.scalars(select(ProjectTaskTypeLink).where(ProjectTaskTypeLink.project_id == project.id,
                                                              ProjectTaskTypeLink.task_type_id == tid)).first()
            if link is None:
                s.add(ProjectTaskTypeLink(project_id=project.id, task_type_id=tid, priority=priority))
            else:
                link.priority = priority
            project.updated_at = now()
            s.flush()
            return self._emit_project(s, project, "update")

    @rpc(**expected)
    def remove_project_task_type(self, project_id, task_type_id, query=None, body=None):
        with self.store.begin() as s:
            project = self._project(s, project_id)
            self._check_manager(s, project.id)
            s.execute(delete(ProjectTaskTypeLink).where(ProjectTaskTypeLink.project_id == project.id,
                                                        ProjectTaskTypeLink.task_type_id == valid_uuid(task_type_id, "task type id")))
            project.updated_at = now()
            s.flush()
            self._emit_project(s, project, "update")
            return None

    @rpc(**expected)
    def add_project_task_status(self, project_id, query=None, body=None):
        body = need_object(body)
        need(body, "task_status_id")
        tid = valid_uuid(body["task_status_id"], "task_status_id")
        with self.store.begin() as s:
            project = self._project(s, project_id)
            self._check_manager(s, project.id)
            link = s.scalars(select(ProjectTaskStatusLink).where(ProjectTaskStatusLink.project_id == project.id,
                                                                ProjectTaskStatusLink.task_status_id == tid)).first()
            if link is None:
                s.add(ProjectTaskStatusLink(project_id=project.id, task_status_id=tid,
                                            priority=body.get("priority"), roles_for_board=body.get("roles_for_board")))
            project.updated_at = now()
            s.flush()
            return self._emit_project(s, project, "update")

    @rpc(**expected)
    def update_project_task_status(self, project_id, task_status_id, query=None, body=None):
        body = need_object(body)
        with self.store.begin() as s:
            project = self._project(s, project_id)
            self._check_manager(s, project.id)
            link = s.scalars(select(ProjectTaskStatusLink).where(
                ProjectTaskStatusLink.project_id == project.id,
                ProjectTaskStatusLink.task_status_id == valid_uuid(task_status_id, "task status id"))).first()
            if link is None:
                raise NotFound(f"Task status {task_status_id} is not linked to this project")
            if "roles_for_board" in body:
                roles = body["roles_for_board"]
                if roles is not None and (not isinstance(roles, list) or any(r not in ("admin", *domain.PROJECT_ROLES) for r in roles)):
                    raise Invalid("Field roles_for_board: a list of roles is expected", {"field": "roles_for_board"})
                link.roles_for_board = roles
            if "priority" in body:
                link.priority = body["priority"]
            if "is_client_allowed" in body:
                link.is_client_allowed = bool(body["is_client_allowed"])
            link.updated_at = now()
            s.flush()
            return row_dict(link, type_name="ProjectTaskStatusLink")

    @rpc(**expected)
    def remove_project_task_status(self, project_id, task_status_id, query=None, body=None):
        with self.store.begin() as s:
            project = self._project(s, project_id)
            self._check_manager(s, project.id)
            s.execute(delete(ProjectTaskStatusLink).where(
                ProjectTaskStatusLink.project_id == project.id,
                ProjectTaskStatusLink.task_status_id == valid_uuid(task_status_id, "task status id")))
            project.updated_at = now()
            s.flush()
            self._emit_project(s, project, "update")
            return None

    @rpc(**expected)
    def get_project_task_statuses(self, project_id, query=None, body=None):
        with self.store.begin() as s:
            project = self._project(s, project_id)
            self._check_access(s, project.id)
            links = s.scalars(select(ProjectTaskStatusLink).where(ProjectTaskStatusLink.project_id == project.id)).all()
            recs = self._ext_rows(s, "task-status", [l.task_status_id for l in links])
            out = []
            for link in links:
                doc = dict(recs.get(link.task_status_id) or {"id": link.task_status_id, "type": "TaskStatus"})
                doc["priority"] = link.priority
                doc["roles_for_board"] = link.roles_for_board
                doc["project_task_status_link_id"] = link.id
                out.append(doc)
            return out

    @rpc(**expected)
    def get_project_task_types(self, project_id, query=None, body=None):
        with self.store.begin() as s:
            project = self._project(s, project_id)
            self._check_access(s, project.id)
            links = s.scalars(select(ProjectTaskTypeLink).where(ProjectTaskTypeLink.project_id == project.id)).all()
            recs = self._ext_rows(s, "task-type", [l.task_type_id for l in links])
            out = []
            for link in links:
                doc = dict(recs.get(link.task_type_id) or {"id": link.task_type_id, "type": "TaskType"})
                if link.priority is not None:
                    doc["priority"] = link.priority
                out.append(doc)
            return out

    @rpc(**expected)
    def create_task_type_link(self, query=None, body=None):
        body = need_object(body)
        need(body, "project_id", "task_type_id")
        with self.store.begin() as s:
            project = self._project(s, body["project_id"])
            self._check_manager(s, project.id)
            tid = valid_uuid(body["task_type_id"], "task_type_id")
            link = s.scalars(select(ProjectTaskTypeLink).where(ProjectTaskTypeLink.project_id == project.id,
                                                              ProjectTaskTypeLink.task_type_id == tid)).first()
            if link is None:
                link = ProjectTaskTypeLink(project_id=project.id, task_type_id=tid)
                s.add(link)
            if "priority" in body:
                link.priority = body["priority"]
            project.updated_at = now()
            s.flush()
            self._emit_project(s, project, "update")
            return row_dict(link, hidden=("softwares",), type_name="ProjectTaskTypeLink")

    @rpc(**expected)
    def create_task_status_link(self, query=None, body=None):
        body = need_object(body)
        need(body, "project_id", "task_status_id")
        with self.store.begin() as s:
            project = self._project(s, body["project_id"])
            self._check_manager(s, project.id)
            tid = valid_uuid(body["task_status_id"], "task_status_id")
            link = s.scalars(select(ProjectTaskStatusLink).where(ProjectTaskStatusLink.project_id == project.id,
                                                                ProjectTaskStatusLink.task_status_id == tid)).first()
            if link is None:
                link = ProjectTaskStatusLink(project_id=project.id, task_status_id=tid)
                s.add(link)
            for key in ("priority", "roles_for_board", "is_client_allowed"):
                if key in body:
                    setattr(link, key, body[key])
            project.updated_at = now()
            s.flush()
            self._emit_project(s, project, "update")
            return row_dict(link, type_name="ProjectTaskStatusLink")

    @rpc(**expected)
    def reorder_links(self, project_id, kind, query=None, body=None):
        """Body: a list of task type (or status) ids in the wanted order, or {"ids": [...]}."""
        ids = body.get("task_type_ids") or body.get("task_status_ids") or body.get("ids") if isinstance(body, dict) else body
        if not isinstance(ids, list):
            raise Invalid("A list of ids is expected")
        model, col = (ProjectTaskTypeLink, "task_type_id") if kind == "task-types" else (ProjectTaskStatusLink, "task_status_id")
        with self.store.begin() as s:
            project = self._project(s, project_id)
            self._check_manager(s, project.id)
            links = {getattr(l, col): l for l in s.scalars(select(model).where(model.project_id == project.id))}
            for i, oid in enumerate(ids, start=1):
                link = links.get(valid_uuid(oid, col))
                if link is not None:
                    link.priority = i
            project.updated_at = now()
            s.flush()
            self._emit_project(s, project, "update")
            return [row_dict(l, hidden=("softwares",)) for l in sorted(links.values(), key=lambda l: l.priority or 0)]

    @rpc(**expected)
    def settings_batch(self, project_id, query=None, body=None):
        """Several settings links at once: {asset_types, task_types, task_statuses} lists of ids."""
        body = need_object(body)
        with self.store.begin() as s:
            project = self._project(s, project_id)
            self._check_manager(s, project.id)
            for oid in self._id_list(body, "asset_types"):
                if s.get(ProjectLink, (project.id, "asset_types", oid)) is None:
                    s.add(ProjectLink(project_id=project.id, kind="asset_types", other_id=oid))
            existing = set(s.scalars(select(ProjectTaskTypeLink.task_type_id).where(ProjectTaskTypeLink.project_id == project.id)))
            for oid in self._id_list(body, "task_types"):
                if oid not in existing:
                    s.add(ProjectTaskTypeLink(project_id=project.id, task_type_id=oid))
            existing = set(s.scalars(select(ProjectTaskStatusLink.task_status_id).where(ProjectTaskStatusLink.project_id == project.id)))
            for oid in self._id_list(body, "task_statuses"):
                if oid not in existing:
                    s.add(ProjectTaskStatusLink(project_id=project.id, task_status_id=oid))
            project.updated_at = now()
            s.flush()
            return self._emit_project(s, project, "update")

    @rpc(**expected)
    def task_type_softwares(self, project_id, task_type_id=None, software_id=None, action="list", query=None, body=None):
        with self.store.begin() as s:
            project = self._project(s, project_id)
            if action == "list":
                self._check_access(s, project.id)
                out = {}
                for link in s.scalars(select(ProjectTaskTypeLink).where(ProjectTaskTypeLink.project_id == project.id)):
                    out[link.task_type_id] = list(link.softwares or [])
                return out
            self._check_manager(s, project.id)
            link = s.scalars(select(ProjectTaskTypeLink).where(
                ProjectTaskTypeLink.project_id == project.id,
                ProjectTaskTypeLink.task_type_id == valid_uuid(task_type_id, "task type id"))).first()
            if link is None:
                raise NotFound(f"Task type {task_type_id} is not linked to this project")
            softwares = list(link.softwares or [])
            if action == "add":
                body = need_object(body)
                need(body, "software_id")
                sid = valid_uuid(body["software_id"], "software_id")
                if sid not in softwares:
                    softwares.append(sid)
            else:
                sid = valid_uuid(software_id, "software id")
                softwares = [x for x in softwares if x != sid]
            link.softwares = softwares
            link.updated_at = now()
            if action == "add":
                return {"project_id": project.id, "task_type_id": link.task_type_id, "software_id": sid}
            return None

    # ------------------------------------------------------------ preview account
    @rpc(**expected)
    def preview_account(self, project_id, action="get", query=None, body=None):
        with self.store.begin() as s:
            project = self._project(s, project_id)
            self._check_manager(s, project.id)
            if action == "get":
                if not project.preview_account:
                    raise NotFound("This project has no preview account")
                return {k: v for k, v in project.preview_account.items() if k != "password"}
            if action == "delete":
                project.preview_account = None
                return None
            body = need_object(body)
            if action == "create":
                need(body, "email")
            account = dict(project.preview_account or {})
            for key in ("email", "first_name", "last_name", "password"):
                if key in body:
                    account[key] = body[key]
            account.setdefault("project_id", project.id)
            project.preview_account = account
            return {k: v for k, v in account.items() if k != "password"}
