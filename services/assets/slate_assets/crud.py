"""Zou's generic ``/data/<model>`` routes for the models this service owns."""

from __future__ import annotations

from nameko.rpc import rpc
from slatekit.crud import apply_body, apply_filters, list_rows, now, row_dict, valid_uuid
from slatekit.errors import SLATE_ERRORS, Forbidden, Invalid, NotFound
from sqlalchemy import func, select

from . import domain
from .base import need, need_object
from .models import (
    AssetInstance,
    CustomAction,
    Entity,
    EntityLink,
    EntityType,
    MetadataDescriptor,
    Project,
    ProjectStatus,
    ProjectTemplate,
)

expected = {"expected_exceptions": SLATE_ERRORS}

# model -> (class, event prefix, type name, writable columns, required)
SIMPLE = {
    "project-status": (ProjectStatus, "project-status", "ProjectStatus", ("name", "color"), ("name",)),
    "entity-types": (EntityType, "entity-type", "EntityType", ("name", "short_name", "description", "archived"), ("name",)),
    "custom-actions": (CustomAction, "custom-action", "CustomAction", ("name", "url", "entity_type", "is_ajax"), ("name",)),
    "asset-instances": (AssetInstance, "asset-instance", "AssetInstance",
                        ("asset_id", "name", "number", "description", "active", "data", "scene_id", "target_asset_id"),
                        ("asset_id",)),
    "entity-links": (EntityLink, "entity-link", "EntityLink",
                     ("entity_in_id", "entity_out_id", "data", "nb_occurences", "label"), ("entity_in_id", "entity_out_id")),
}
# Catalogues anyone logged in may read.
READ_ALL = {"project-status", "entity-types", "custom-actions"}


class CrudMixin:
    def _crud_row_project(self, s, model, obj) -> str | None:
        if model == "asset-instances":
            asset = s.get(Entity, obj.asset_id)
            return asset.project_id if asset else None
        if model == "entity-links":
            e = s.get(Entity, obj.entity_in_id)
            return e.project_id if e else None
        if model == "entities":
            return obj.project_id
        if model == "metadata-descriptors":
            return obj.project_id
        return None

    def _crud_dump(self, s, model, obj):
        if model == "projects":
            return self._project_json(s, obj)
        if model == "entities":
            return self._entity_json(s, obj)
        if model == "metadata-descriptors":
            return self._descriptor_json(obj)
        if model == "project-templates":
            return self._template_json(obj)
        return row_dict(obj, type_name=SIMPLE[model][2])

    @rpc(**expected)
    def crud_list(self, model, query=None, body=None):
        query = dict(query or {})
        with self.store.begin() as s:
            if model == "projects":
                return self._projects_list(s, query)
            if model == "asset-types":
                return self.get_asset_types(query=query)
            if model == "entities":
                stmt = self._restrict(s, apply_filters(select(Entity), Entity, query), Entity.project_id)
                return list_rows(s, Entity, stmt.order_by(Entity.name), query, lambda e: self._entity_json(s, e))
            if model == "metadata-descriptors":
                stmt = self._restrict(s, apply_filters(select(MetadataDescriptor), MetadataDescriptor, query),
                                      MetadataDescriptor.project_id)
                return list_rows(s, MetadataDescriptor, stmt, query, self._descriptor_json)
            if model == "project-templates":
                self._require_manager_role()
                stmt = apply_filters(select(ProjectTemplate), ProjectTemplate, query).order_by(ProjectTemplate.name)
                return list_rows(s, ProjectTemplate, stmt, query, self._template_json)
            cls, _, tname, _, _ = SIMPLE[model]
            stmt = apply_filters(select(cls), cls, query)
            if model == "asset-instances":
                stmt = self._restrict(s, stmt.join(Entity, Entity.id == AssetInstance.asset_id), Entity.project_id)
            elif model == "entity-links":
                stmt = self._restrict(s, stmt.join(Entity, Entity.id == EntityLink.entity_in_id), Entity.project_id)
            if hasattr(cls, "name"):
                stmt = stmt.order_by(cls.name)
            return list_rows(s, cls, stmt, query, lambda o: row_dict(o, type_name=tname))

    def _require_manager_role(self):
        if self.caller.role not in ("admin", "manager"):
            raise Forbidden("Manager rights are required")

    def _crud_load(self, s, model, instance_id):
        cls = {"projects": Project, "entities": Entity, "metadata-descriptors": MetadataDescriptor,
               "project-templates": ProjectTemplate}.get(model) or SIMPLE[model][0]
        obj = s.get(cls, valid_uuid(instance_id, "id"))
        if obj is None:
            raise NotFound(f"{model} {instance_id} not found")
        return obj

    @rpc(**expected)
    def crud_get(self, model, instance_id, query=None, body=None):
        if model == "projects":
            return self.get_project(instance_id=instance_id)
        with self.store.begin() as s:
            obj = self._crud_load(s, model, instance_id)
            pid = self._crud_row_project(s, model, obj)
            if pid:
                self._check_access(s, pid)
            if model == "project-templates":
                self._require_manager_role()
            return self._crud_dump(s, model, obj)

    @rpc(**expected)
    def crud_create(self, model, query=None, body=None):
        body = need_object(body)
        if model == "projects":
            return self.create_project(body=body)
        if model == "project-templates":
            return self.create_template(body=body)
        with self.store.begin() as s:
            if model == "entities":
                need(body, "name", "project_id", "entity_type_id")
                project = self._project(s, body["project_id"])
                self._check_supervisor(s, project.id)
                et = s.get(EntityType, valid_uuid(body["entity_type_id"], "entity_type_id"))
                if et is None:
                    raise Invalid("Field entity_type_id: unknown entity type", {"field": "entity_type_id"})
                entity = Entity(name="x", project_id=project.id, entity_type_id=et.id, created_by=self.caller.user_id, data={})
                self._apply_entity_body(s, entity, {k: v for k, v in body.items() if k not in ("entity_type_id",)})
                s.add(entity)
                s.flush()
                return self._emit_entity(s, entity, "new")
            if model == "metadata-descriptors":
                need(body, "project_id")
                return self._create_descriptor(s, body["project_id"], body)
            if model == "entity-types":
                et = self._crud_entity_type_create(s, body)
                doc = row_dict(et, hidden=("task_types",), type_name="EntityType")
                prefix = "entity-type" if et.name in domain.SPECIAL_TYPES else "asset-type"
                self.store.emit(s, f"{prefix}:new", {f"{prefix.replace('-', '_')}_id": et.id}, record=doc)
                return doc
            cls, prefix, tname, writable, required = SIMPLE[model]
            need(body, *required)
            obj = cls()
            apply_body(obj, body, writable)
            if model in ("project-status",):
                if s.scalars(select(cls).where(func.lower(cls.name) == str(body["name"]).lower())).first():
                    raise Invalid("A project status with this name already exists", {"field": "name"})
                if not self._is_admin():
                    raise Forbidden("Admin rights are required")
            elif model == "custom-actions":
                if not self._is_admin():
                    raise Forbidden("Admin rights are required")
            pid = None
            if model == "asset-instances":
                asset = self._entity(s, obj.asset_id, "Asset")
                pid = asset.project_id
                self._check_supervisor(s, pid)
                for key in ("scene_id", "target_asset_id"):
                    if getattr(obj, key) and s.get(Entity, getattr(obj, key)) is None:
                        raise Invalid(f"Field {key}: entity not found", {"field": key})
            elif model == "entity-links":
                a = s.get(Entity, obj.entity_in_id)
                b = s.get(Entity, obj.entity_out_id)
                if a is None or b is None:
                    raise Invalid("Fields entity_in_id / entity_out_id must be existing entities")
                if a.project_id != b.project_id and not b.is_shared:
                    raise Invalid("Both entities must belong to the same project")
                pid = a.project_id
                self._check_supervisor(s, pid)
                if s.scalars(select(EntityLink).where(EntityLink.entity_in_id == a.id, EntityLink.entity_out_id == b.id)).first():
                    raise Invalid("This link already exists")
            s.add(obj)
            s.flush()
            doc = row_dict(obj, type_name=tname)
            self.store.emit(s, f"{prefix}:new", {f"{prefix.replace('-', '_')}_id": obj.id}, project_id=pid, record=doc)
            return doc

    @rpc(**expected)
    def crud_update(self, model, instance_id, query=None, body=None):
        body = need_object(body)
        if model == "projects":
            return self.update_project(instance_id=instance_id, body=body)
        if model == "entities":
            return self.update_entity(instance_id=instance_id, body=body)
        if model == "project-templates":
            return self.update_template(instance_id, body=body)
        with self.store.begin() as s:
            obj = self._crud_load(s, model, instance_id)
            if model == "metadata-descriptors":
                return self._update_descriptor(s, obj, body)
            if model == "entity-types":
                cls, prefix, tname, writable = EntityType, None, "EntityType", ("name", "short_name", "description", "archived")
                prefix = "entity-type" if obj.name in domain.SPECIAL_TYPES else "asset-type"
                if not self._is_admin():
                    raise Forbidden("Admin rights are required")
                if "name" in body and s.scalars(select(EntityType).where(EntityType.name == body["name"], EntityType.id != obj.id)).first():
                    raise Invalid("An entity type with this name already exists", {"field": "name"})
                apply_body(obj, body, writable)
                if "task_types" in body:
                    obj.task_types = [valid_uuid(t, "task_types") for t in body.get("task_types") or []]
                self._types_cache = None
                obj.updated_at = now()
                s.flush()
                doc = row_dict(obj, hidden=("task_types",), type_name=tname)
                self.store.emit(s, f"{prefix}:update", {f"{prefix.replace('-', '_')}_id": obj.id}, record=doc)
                return doc
            cls, prefix, tname, writable, _ = SIMPLE[model]
            pid = self._crud_row_project(s, model, obj)
            if pid:
                self._check_supervisor(s, pid)
            elif not self._is_admin():
                raise Forbidden("Admin rights are required")
            apply_body(obj, body, writable)
            obj.updated_at = now()
            s.flush()
            doc = row_dict(obj, type_name=tname)
            self.store.emit(s, f"{prefix}:update", {f"{prefix.replace('-', '_')}_id": obj.id}, project_id=pid, record=doc)
            return doc

    @rpc(**expected)
    def crud_delete(self, model, instance_id, query=None, body=None):
        if model == "projects":
            return self.delete_project(instance_id=instance_id, query=query)
        if model == "entities":
            with self.store.begin() as s:
                e = self._crud_load(s, model, instance_id)
                kind = {"Asset": "asset"}.get(self._etype_name(s, e), self._etype_name(s, e).lower())
                if kind == "conceptfolder":
                    kind = "concept-folder"
            return self.delete_entity(kind, query=query, entity_id=instance_id)
        with self.store.begin() as s:
            obj = self._crud_load(s, model, instance_id)
            if model == "metadata-descriptors":
                return self._delete_descriptor(s, obj)
            if model == "project-templates":
                self._require_manager_role()
                s.delete(obj)
                self.store.emit(s, "project-template:delete", {"project_template_id": obj.id}, record=self._template_json(obj))
                return None
            if model == "entity-types":
                if not self._is_admin():
                    raise Forbidden("Admin rights are required")
                used = s.scalar(select(func.count()).select_from(Entity).where(Entity.entity_type_id == obj.id))
                if used:
                    raise Invalid("This entity type is used by entities")
                prefix = "entity-type" if obj.name in domain.SPECIAL_TYPES else "asset-type"
                doc = row_dict(obj, hidden=("task_types",), type_name="EntityType")
                s.delete(obj)
                self._types_cache = None
                self.store.emit(s, f"{prefix}:delete", {f"{prefix.replace('-', '_')}_id": obj.id}, record=doc)
                return None
            cls, prefix, tname, _, _ = SIMPLE[model]
            pid = self._crud_row_project(s, model, obj)
            if pid:
                self._check_supervisor(s, pid)
            elif not self._is_admin():
                raise Forbidden("Admin rights are required")
            if model == "project-status":
                if s.scalar(select(func.count()).select_from(Project).where(Project.project_status_id == obj.id)):
                    raise Invalid("This project status is used by projects")
            doc = row_dict(obj, type_name=tname)
            s.delete(obj)
            self.store.emit(s, f"{prefix}:delete", {f"{prefix.replace('-', '_')}_id": obj.id}, project_id=pid, record=doc)
            return None
