"""Project templates (a reusable configuration) and the caller-scoped
``/data/user/...`` views."""

from __future__ import annotations

from nameko.rpc import rpc
from slatekit.crud import apply_body, now, row_dict, valid_uuid
from slatekit.errors import SLATE_ERRORS, Invalid, NotFound
from sqlalchemy import select

from . import domain
from .base import need, need_object
from .models import (
    EntityType,
    MetadataDescriptor,
    Project,
    ProjectLink,
    ProjectPersonLink,
    ProjectTaskStatusLink,
    ProjectTaskTypeLink,
    ProjectTemplate,
)

expected = {"expected_exceptions": SLATE_ERRORS}
TEMPLATE_SETTINGS = (
    "fps", "ratio", "resolution", "production_type", "production_style", "max_retakes", "is_clients_isolated",
    "is_client_stats_visible", "is_client_task_list_visible", "is_client_task_panel_visible",
    "is_preview_download_allowed", "is_set_preview_automated", "is_publish_default_for_artists",
    "is_single_preview_per_revision", "is_frame_in_numbering", "revision_padding", "homepage",
    "hd_bitrate_compression", "ld_bitrate_compression", "file_tree", "data", "default_preview_background_file_id",
)
TEMPLATE_LISTS = {"task-types": ("task_types", "task_type_id"), "task-statuses": ("task_statuses", "task_status_id"),
                  "asset-types": ("asset_types", "asset_type_id"),
                  "status-automations": ("status_automations", "status_automation_id"),
                  "preview-background-files": ("preview_background_files", "preview_background_file_id")}


class TemplatesMixin:
    def _template_json(self, t: ProjectTemplate) -> dict:
        doc = row_dict(t, type_name="ProjectTemplate")
        for key, _ in TEMPLATE_LISTS.values():
            doc[key] = list(doc.get(key) or [])
        doc["metadata_descriptors"] = list(doc.get("metadata_descriptors") or [])
        return doc

    def _template(self, s, template_id) -> ProjectTemplate:
        t = s.get(ProjectTemplate, valid_uuid(template_id, "project template id"))
        if t is None:
            raise NotFound(f"Project template {template_id} not found")
        return t

    def _emit_template(self, s, t, action):
        doc = self._template_json(t)
        self.store.emit(s, f"project-template:{action}", {"project_template_id": t.id}, record=doc)
        return doc

    @rpc(**expected)
    def create_template(self, query=None, body=None):
        body = need_object(body)
        need(body, "name")
        self._require_manager_role()
        with self.store.begin() as s:
            if s.scalars(select(ProjectTemplate).where(ProjectTemplate.name == body["name"])).first():
                raise Invalid("A project template with this name already exists", {"field": "name"})
            t = ProjectTemplate(name=body["name"], description=body.get("description"))
            apply_body(t, body, TEMPLATE_SETTINGS)
            for key, _ in TEMPLATE_LISTS.values():
                if key in body:
                    setattr(t, key, self._id_list(body, key))
            s.add(t)
            s.flush()
            return self._emit_template(s, t, "new")

    @rpc(**expected)
    def update_template(self, instance_id, query=None, body=None):
        body = need_object(body)
        self._require_manager_role()
        with self.store.begin() as s:
            t = self._template(s, instance_id)
            if "name" in body and s.scalars(select(ProjectTemplate).where(
                    ProjectTemplate.name == body["name"], ProjectTemplate.id != t.id)).first():
                raise Invalid("A project template with this name already exists", {"field": "name"})
            apply_body(t, body, ("name", "description", *TEMPLATE_SETTINGS))
            t.updated_at = now()
            s.flush()
            return self._emit_template(s, t, "update")

    @rpc(**expected)
    def template_from_project(self, project_id, query=None, body=None):
        body = body if isinstance(body, dict) else {}
        self._require_manager_role()
        with self.store.begin() as s:
            p = self._project(s, project_id)
            self._check_manager(s, p.id)
            name = body.get("name") or f"{p.name} template"
            if s.scalars(select(ProjectTemplate).where(ProjectTemplate.name == name)).first():
                raise Invalid("A project template with this name already exists", {"field": "name"})
            t = ProjectTemplate(name=name, description=body.get("description"))
            for key in TEMPLATE_SETTINGS:
                setattr(t, key, getattr(p, key))
            doc = self._project_json(s, p)
            for key, _ in TEMPLATE_LISTS.values():
                setattr(t, key, list(doc.get(key) or []))
            t.metadata_descriptors = [
                {k: v for k, v in self._descriptor_json(d).items() if k in ("name", "entity_type", "data_type", "choices",
                                                                            "for_client", "departments", "task_type_id", "position")}
                for d in s.scalars(select(MetadataDescriptor).where(MetadataDescriptor.project_id == p.id))]
            s.add(t)
            s.flush()
            return self._emit_template(s, t, "new")

    @rpc(**expected)
    def apply_template(self, project_id, project_template_id, query=None, body=None):
        with self.store.begin() as s:
            p = self._project(s, project_id)
            self._check_manager(s, p.id)
            t = self._template(s, project_template_id)
            for key in TEMPLATE_SETTINGS:
                value = getattr(t, key)
                if value is not None:
                    setattr(p, key, value)
            for oid in t.asset_types or []:
                if s.get(ProjectLink, (p.id, "asset_types", oid)) is None:
                    s.add(ProjectLink(project_id=p.id, kind="asset_types", other_id=oid))
            for oid in t.status_automations or []:
                if s.get(ProjectLink, (p.id, "status_automations", oid)) is None:
                    s.add(ProjectLink(project_id=p.id, kind="status_automations", other_id=oid))
            for oid in t.preview_background_files or []:
                if s.get(ProjectLink, (p.id, "preview_background_files", oid)) is None:
                    s.add(ProjectLink(project_id=p.id, kind="preview_background_files", other_id=oid))
            have = set(s.scalars(select(ProjectTaskTypeLink.task_type_id).where(ProjectTaskTypeLink.project_id == p.id)))
            for oid in t.task_types or []:
                if oid not in have:
                    s.add(ProjectTaskTypeLink(project_id=p.id, task_type_id=oid))
            have = set(s.scalars(select(ProjectTaskStatusLink.task_status_id).where(ProjectTaskStatusLink.project_id == p.id)))
            for oid in t.task_statuses or []:
                if oid not in have:
                    s.add(ProjectTaskStatusLink(project_id=p.id, task_status_id=oid))
            s.flush()
            for d in t.metadata_descriptors or []:
                fname = domain.slugify_field_name(d.get("name"))
                if not s.scalars(select(MetadataDescriptor).where(
                        MetadataDescriptor.project_id == p.id, MetadataDescriptor.entity_type == d.get("entity_type"),
                        MetadataDescriptor.field_name == fname)).first():
                    self._create_descriptor(s, p.id, dict(d))
            p.updated_at = now()
            s.flush()
            return self._emit_project(s, p, "update")

    @rpc(**expected)
    def template_links(self, project_template_id, kind, action="list", query=None, body=None, **ids):
        key, id_key = TEMPLATE_LISTS[kind]
        self._require_manager_role()
        with self.store.begin() as s:
            t = self._template(s, project_template_id)
            values = list(getattr(t, key) or [])
            if action == "list":
                if kind == "asset-types":
                    rows = s.scalars(select(EntityType).where(EntityType.id.in_(values)))
                    return [self._asset_type_json(e) for e in rows]
                ext = {"task-types": "task-type", "task-statuses": "task-status", "status-automations": "status-automation",
                       "preview-background-files": "preview-background-file"}[kind]
                recs = self._ext_rows(s, ext, values)
                return [recs.get(v) or {"id": v} for v in values]
            if action == "add":
                body = need_object(body)
                need(body, id_key)
                oid = valid_uuid(body[id_key], id_key)
                if kind == "asset-types":
                    et = s.get(EntityType, oid)
                    if et is None or et.name in domain.SPECIAL_TYPES:
                        raise NotFound(f"Asset type {oid} not found")
                if oid not in values:
                    values.append(oid)
            elif action == "remove":
                oid = valid_uuid(ids.get(id_key), id_key)
                values = [v for v in values if v != oid]
            elif action == "reorder":
                order = body.get(f"{id_key}s") or body.get("ids") if isinstance(body, dict) else body
                if not isinstance(order, list):
                    raise Invalid("A list of ids is expected")
                order = [valid_uuid(o, "ids") for o in order]
                values = [v for v in order if v in values] + [v for v in values if v not in order]
            setattr(t, key, values)
            t.updated_at = now()
            s.flush()
            if action == "remove":
                self._emit_template(s, t, "update")
                return None
            return self._emit_template(s, t, "update")

    @rpc(**expected)
    def template_settings(self, project_template_id, what, query=None, body=None):
        """PUT metadata-descriptors (the list) / default-preview-background-file."""
        body = body if body is not None else {}
        self._require_manager_role()
        with self.store.begin() as s:
            t = self._template(s, project_template_id)
            if what == "metadata-descriptors":
                items = body.get("metadata_descriptors") if isinstance(body, dict) else body
                if not isinstance(items, list) or any(not isinstance(i, dict) or not i.get("name") or
                                                      i.get("entity_type") not in domain.METADATA_ENTITY_TYPES for i in items):
                    raise Invalid("Field metadata_descriptors: a list of {name, entity_type, …} is expected",
                                  {"field": "metadata_descriptors"})
                t.metadata_descriptors = items
            else:
                body = need_object(body)
                pid = body.get("preview_background_file_id")
                t.default_preview_background_file_id = valid_uuid(pid, "preview_background_file_id") if pid else None
            t.updated_at = now()
            s.flush()
            return self._emit_template(s, t, "update")

    # ------------------------------------------------------------ user-scoped views
    def _open_status_id(self, s):
        return self._status(s, "Open").id

    @rpc(**expected)
    def user_open_projects(self, query=None, body=None):
        """Open projects of which the caller is in the team (all of them for an admin)."""
        with self.store.begin() as s:
            stmt = select(Project).where(Project.project_status_id == self._open_status_id(s))
            if not self._is_admin():
                stmt = stmt.join(ProjectPersonLink, ProjectPersonLink.project_id == Project.id).where(
                    ProjectPersonLink.person_id == self.caller.user_id)
            name = (query or {}).get("name")
            if name:
                stmt = stmt.where(Project.name == name)
            return [self._user_project_json(s, p) for p in s.scalars(stmt.order_by(Project.name))]

    def _user_project_json(self, s, p: Project) -> dict:
        """Zou's open-project entry: descriptors narrowed on the caller's role, link maps, first episode."""
        doc = self._project_json(s, p)
        rows = list(s.scalars(select(MetadataDescriptor).where(MetadataDescriptor.project_id == p.id)
                              .order_by(MetadataDescriptor.position.nulls_last(), MetadataDescriptor.name)))
        project_role = None if self._is_admin() else self._team_role(s, p.id)[1]
        role = domain.effective_role(self.caller.role, project_role)
        if role == "client":
            rows = [r for r in rows if r.for_client]
        elif role == "vendor":
            mine = set(self.caller.departments or [])
            rows = [r for r in rows if not r.departments or mine & set(r.departments)]
        doc["descriptors"] = [{k: v for k, v in self._descriptor_json(r).items()
                               if k in ("id", "name", "field_name", "data_type", "choices", "for_client",
                                        "entity_type", "task_type_id", "position", "departments")} for r in rows]
        tt = {l.task_type_id: {"priority": l.priority, "hd_bitrate_compression": l.hd_bitrate_compression,
                               "ld_bitrate_compression": l.ld_bitrate_compression,
                               "is_client_visible": l.is_client_visible}
              for l in s.scalars(select(ProjectTaskTypeLink).where(ProjectTaskTypeLink.project_id == p.id))}
        doc["task_type_links"] = tt
        doc["task_types_priority"] = {k: v["priority"] for k, v in tt.items()}
        doc["task_statuses_link"] = {
            l.task_status_id: {"priority": l.priority, "roles_for_board": list(l.roles_for_board or []),
                               "is_client_allowed": l.is_client_allowed}
            for l in s.scalars(select(ProjectTaskStatusLink).where(ProjectTaskStatusLink.project_id == p.id))}
        if p.production_type == "tvshow":
            from .models import Entity
            ep = s.scalars(select(Entity.id).where(Entity.project_id == p.id,
                                                   Entity.entity_type_id == self._type_id(s, domain.EPISODE))
                           .order_by(Entity.created_at)).first()
            if ep:
                doc["first_episode_id"] = ep
        return doc

    @rpc(**expected)
    def user_project_roles(self, query=None, body=None):
        """{project_id: role} for the caller's explicit per-project roles (Zou's context ``project_roles``)."""
        with self.store.session() as s:
            if not self.caller.user_id:
                return {}
            return {l.project_id: l.role for l in s.scalars(select(ProjectPersonLink).where(
                ProjectPersonLink.person_id == self.caller.user_id, ProjectPersonLink.role.is_not(None)))}

    @rpc(**expected)
    def user_projects_context(self):
        """The ``projects`` part of Zou's /data/user/context for the caller."""
        return self.user_open_projects()

    @rpc(**expected)
    def user_project_asset_types(self, project_id, query=None, body=None):
        """Asset types of the project's assets on which the caller has a task (Zou's user view)."""
        from .models import Entity, TaskRow

        with self.store.begin() as s:
            project = self._project(s, project_id)
            self._check_access(s, project.id)
            mine = select(TaskRow.entity_id).where(TaskRow.project_id == project.id,
                                                   TaskRow.assignees.contains([self.caller.user_id]))
            used = select(Entity.entity_type_id).where(Entity.project_id == project.id, Entity.id.in_(mine))
            rows = s.scalars(select(EntityType).where(EntityType.id.in_(used),
                                                      EntityType.name.not_in(domain.SPECIAL_TYPES)).order_by(EntityType.name))
            return [self._asset_type_json(e) for e in rows]
