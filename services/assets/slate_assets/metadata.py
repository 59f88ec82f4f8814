"""Metadata descriptors: custom fields of a project's entities.

A rename moves the stored values in ``entity.data`` (or ``project.data``) to
the new key and a delete drops them, in the same transaction as the
descriptor change. Task descriptors' values live in tasks (another service):
it gets ``metadata-descriptor:update|delete`` with ``old_field_name`` in the
record and moves its own values."""

from __future__ import annotations

from nameko.rpc import rpc
from slatekit.crud import now, row_dict, valid_uuid
from slatekit.errors import SLATE_ERRORS, Forbidden, Invalid, NotFound
from sqlalchemy import select

from . import domain
from .base import need, need_object
from .models import Entity, MetadataDescriptor, Project

expected = {"expected_exceptions": SLATE_ERRORS}


class MetadataMixin:
    def _descriptor_json(self, d: MetadataDescriptor) -> dict:
        doc = row_dict(d, type_name="MetadataDescriptor")
        doc["choices"] = list(d.choices or [])
        doc["departments"] = list(d.departments or [])
        return doc

    def _descriptor_entities(self, s, d: MetadataDescriptor):
        """The rows whose ``data`` hold this descriptor's values."""
        if d.entity_type == "Project":
            return [s.get(Project, d.project_id)]
        if d.entity_type == "Task":
            return []
        if d.entity_type == "Asset":
            cond = Entity.entity_type_id.in_(self._asset_type_ids(s))
        else:
            cond = Entity.entity_type_id == self._type_id(s, d.entity_type)
        return list(s.scalars(select(Entity).where(Entity.project_id == d.project_id, cond,
                                                   Entity.data.has_key(d.field_name))))

    def _validate_descriptor(self, body: dict, partial=False):
        if not partial or "entity_type" in body:
            if body.get("entity_type") not in domain.METADATA_ENTITY_TYPES:
                raise Invalid("Field entity_type must be one of " + ", ".join(domain.METADATA_ENTITY_TYPES),
                              {"field": "entity_type"})
        if "data_type" in body and body["data_type"] is not None and body["data_type"] not in domain.METADATA_TYPES:
            raise Invalid("Invalid data_type", {"field": "data_type"})
        if "choices" in body and body["choices"] is not None and not isinstance(body["choices"], list):
            raise Invalid("Field choices must be a list", {"field": "choices"})
        if "departments" in body and body["departments"] is not None:
            if not isinstance(body["departments"], list):
                raise Invalid("Field departments must be a list", {"field": "departments"})
            body["departments"] = [valid_uuid(x.get("id") if isinstance(x, dict) else x, "departments")
                                   for x in body["departments"]]
        if "name" in body and (not isinstance(body["name"], str) or not body["name"].strip()) and not partial:
            raise Invalid("Field name is required", {"field": "name"})

    def _create_descriptor(self, s, project_id, body) -> dict:
        need(body, "name", "entity_type")
        self._validate_descriptor(body)
        project = self._project(s, project_id)
        self._check_manager(s, project.id)
        task_type_id = body.get("task_type_id")
        if body["entity_type"] == "Task" and not task_type_id:
            raise Invalid("Field task_type_id is required for a Task descriptor", {"field": "task_type_id"})
        if body["entity_type"] != "Task" and task_type_id:
            raise Invalid("Field task_type_id is only allowed for a Task descriptor", {"field": "task_type_id"})
        field_name = domain.slugify_field_name(body["name"])
        clash = s.scalars(select(MetadataDescriptor).where(
            MetadataDescriptor.project_id == project.id, MetadataDescriptor.entity_type == body["entity_type"],
            (MetadataDescriptor.name == body["name"].strip()) | (MetadataDescriptor.field_name == field_name))).first()
        if clash is not None:
            raise Invalid("Metadata descriptor already exists.", {"field": "name"})
        d = MetadataDescriptor(project_id=project.id, entity_type=body["entity_type"], name=body["name"].strip(),
                               field_name=field_name, data_type=body.get("data_type") or "string",
                               choices=body.get("choices") or [], for_client=bool(body.get("for_client")),
                               departments=body.get("departments") or [],
                               task_type_id=valid_uuid(task_type_id, "task_type_id") if task_type_id else None)
        s.add(d)
        s.flush()
        doc = self._descriptor_json(d)
        self.store.emit(s, "metadata-descriptor:new", {"metadata_descriptor_id": d.id}, project_id=project.id, record=doc)
        return doc

    def _update_descriptor(self, s, d: MetadataDescriptor, body) -> dict:
        self._check_manager(s, d.project_id)
        body = dict(body)
        if not body.get("name"):
            body.pop("name", None)
        self._validate_descriptor(body, partial=True)
        if "entity_type" in body and body["entity_type"] != d.entity_type:
            raise Invalid("The entity type of a descriptor cannot change", {"field": "entity_type"})
        old_field = d.field_name
        if "name" in body:
            new_field = domain.slugify_field_name(body["name"])
            clash = s.scalars(select(MetadataDescriptor).where(
                MetadataDescriptor.project_id == d.project_id, MetadataDescriptor.entity_type == d.entity_type,
                MetadataDescriptor.id != d.id,
                (MetadataDescriptor.name == body["name"].strip()) | (MetadataDescriptor.field_name == new_field))).first()
            if clash is not None:
                raise Invalid("Metadata descriptor already exists.", {"field": "name"})
            if new_field != old_field:
                for row in self._descriptor_entities(s, d):
                    if row is not None:
                        row.data = domain.rename_data_key(row.data, old_field, new_field)
                        row.updated_at = now()
                        s.flush()
                        if isinstance(row, Entity):
                            self._emit_entity(s, row, "update")
                        else:
                            self._emit_project(s, row, "update")
            d.name = body["name"].strip()
            d.field_name = new_field
        for key in ("data_type", "choices", "for_client", "departments", "position"):
            if key in body:
                setattr(d, key, body[key])
        d.updated_at = now()
        s.flush()
        doc = self._descriptor_json(d)
        record = dict(doc, old_field_name=old_field)
        self.store.emit(s, "metadata-descriptor:update", {"metadata_descriptor_id": d.id, "field_name": d.field_name,
                                                           "old_field_name": old_field},
                        project_id=d.project_id, record=record)
        return doc

    def _delete_descriptor(self, s, d: MetadataDescriptor):
        self._check_manager(s, d.project_id)
        doc = self._descriptor_json(d)
        for row in self._descriptor_entities(s, d):
            if row is not None and row.data and d.field_name in row.data:
                row.data = domain.drop_data_key(row.data, d.field_name)
                row.updated_at = now()
                s.flush()
                if isinstance(row, Entity):
                    self._emit_entity(s, row, "update")
                else:
                    self._emit_project(s, row, "update")
        s.delete(d)
        self.store.emit(s, "metadata-descriptor:delete", {"metadata_descriptor_id": d.id, "field_name": d.field_name},
                        project_id=d.project_id, record=doc)
        return None

    def _project_descriptor(self, s, project_id, descriptor_id) -> MetadataDescriptor:
        project = self._project(s, project_id)
        d = s.get(MetadataDescriptor, valid_uuid(descriptor_id, "metadata descriptor id"))
        if d is None or d.project_id != project.id:
            raise NotFound(f"Metadata descriptor {descriptor_id} not found")
        return d

    def _narrow_descriptors(self, s, project_id, rows):
        role = self._check_access(s, project_id)
        if role == "client":
            rows = [r for r in rows if r.for_client]
        elif role == "vendor":
            mine = set(self.caller.departments or [])
            rows = [r for r in rows if not r.departments or mine & set(r.departments)]
        return rows

    @rpc(**expected)
    def get_project_descriptors(self, project_id, query=None, body=None):
        with self.store.begin() as s:
            project = self._project(s, project_id)
            rows = list(s.scalars(select(MetadataDescriptor).where(MetadataDescriptor.project_id == project.id)
                                  .order_by(MetadataDescriptor.position.nulls_last(), MetadataDescriptor.name)))
            return [self._descriptor_json(r) for r in self._narrow_descriptors(s, project.id, rows)]

    @rpc(**expected)
    def create_project_descriptor(self, project_id, query=None, body=None):
        body = need_object(body)
        with self.store.begin() as s:
            return self._create_descriptor(s, project_id, body)

    @rpc(**expected)
    def get_project_descriptor(self, project_id, metadata_descriptor_id, query=None, body=None):
        with self.store.begin() as s:
            d = self._project_descriptor(s, project_id, metadata_descriptor_id)
            if not self._narrow_descriptors(s, d.project_id, [d]):
                raise NotFound(f"Metadata descriptor {metadata_descriptor_id} not found")
            return self._descriptor_json(d)

    @rpc(**expected)
    def update_project_descriptor(self, project_id, metadata_descriptor_id, query=None, body=None):
        body = need_object(body)
        with self.store.begin() as s:
            d = self._project_descriptor(s, project_id, metadata_descriptor_id)
            return self._update_descriptor(s, d, body)

    @rpc(**expected)
    def delete_project_descriptor(self, project_id, metadata_descriptor_id, query=None, body=None):
        with self.store.begin() as s:
            d = self._project_descriptor(s, project_id, metadata_descriptor_id)
            return self._delete_descriptor(s, d)

    @rpc(**expected)
    def reorder_project_descriptors(self, project_id, query=None, body=None):
        body = need_object(body)
        need(body, "entity_type")
        ids = body.get("descriptor_ids") or []
        if not isinstance(ids, list):
            raise Invalid("Field descriptor_ids must be a list", {"field": "descriptor_ids"})
        with self.store.begin() as s:
            project = self._project(s, project_id)
            self._check_manager(s, project.id)
            rows = {r.id: r for r in s.scalars(select(MetadataDescriptor).where(
                MetadataDescriptor.project_id == project.id, MetadataDescriptor.entity_type == body["entity_type"]))}
            ids = [valid_uuid(i, "descriptor_ids") for i in ids]
            for i in ids:
                if i not in rows:
                    raise Invalid(f"Descriptor {i} not found for project {project.id} and entity type {body['entity_type']}")
            for pos, i in enumerate(ids, start=1):
                rows[i].position = pos
            rest = sorted((r for k, r in rows.items() if k not in ids), key=lambda r: r.name)
            for off, r in enumerate(rest):
                r.position = len(ids) + 1 + off
            s.flush()
            return [self._descriptor_json(r) for r in sorted(rows.values(), key=lambda r: (r.position, r.name))]

    # ------------------------------------------------------------ all projects (admin)
    def _all_projects_descriptors(self, s, field_name=None, entity_type=None):
        stmt = select(MetadataDescriptor)
        if field_name:
            stmt = stmt.where(MetadataDescriptor.field_name == field_name)
        if entity_type:
            stmt = stmt.where(MetadataDescriptor.entity_type == entity_type)
        return list(s.scalars(stmt))

    @rpc(**expected)
    def descriptors_all_projects(self, action, field_name=None, query=None, body=None):
        if not self._is_admin():
            raise Forbidden("Admin rights are required")
        with self.store.begin() as s:
            if action == "create":
                body = need_object(body)
                need(body, "name", "entity_type")
                project_ids = body.get("project_ids") or list(s.scalars(select(Project.id)))
                out = []
                for pid in project_ids:
                    fname = domain.slugify_field_name(body["name"])
                    if s.scalars(select(MetadataDescriptor).where(MetadataDescriptor.project_id == valid_uuid(pid, "project_ids"),
                                                                  MetadataDescriptor.entity_type == body["entity_type"],
                                                                  MetadataDescriptor.field_name == fname)).first():
                        continue
                    out.append(self._create_descriptor(s, pid, {k: v for k, v in body.items() if k != "project_ids"}))
                return out
            entity_type = (query or {}).get("entity_type") or (body or {}).get("entity_type") if isinstance(body, dict) or query else None
            rows = self._all_projects_descriptors(s, field_name, entity_type)
            if action == "update":
                body = need_object(body)
                return [self._update_descriptor(s, d, body) for d in rows]
            if action == "delete":
                for d in rows:
                    self._delete_descriptor(s, d)
                return None
            if action == "reorder":
                body = need_object(body)
                need(body, "entity_type")
                names = body.get("field_names") or body.get("descriptor_field_names") or []
                by_project: dict = {}
                for d in self._all_projects_descriptors(s, None, body["entity_type"]):
                    by_project.setdefault(d.project_id, []).append(d)
                for rows in by_project.values():
                    order = {n: i for i, n in enumerate(names, start=1)}
                    rest = sorted((d for d in rows if d.field_name not in order), key=lambda d: d.name)
                    for d in rows:
                        if d.field_name in order:
                            d.position = order[d.field_name]
                    for off, d in enumerate(rest):
                        d.position = len(order) + 1 + off
                return {"success": True}
            raise NotFound("Unknown action")
