"""The breakdown: entity types and asset types, assets, episodes, sequences,
shots, scenes, edits, concepts; listings (plain, ``all`` with names,
``with-tasks`` from the task projection), creation, update, deletion."""

from __future__ import annotations

from nameko.rpc import rpc
from slatekit.crud import apply_filters, list_rows, now, row_dict, valid_uuid
from slatekit.errors import SLATE_ERRORS, Forbidden, Invalid, NotFound
from sqlalchemy import delete, func, literal, select, update
from sqlalchemy.exc import IntegrityError

from . import domain
from .base import need, need_object, opt_uuid
from .models import (
    AssetInstance,
    AssetInstanceLink,
    Entity,
    EntityConceptLink,
    EntityLink,
    EntityType,
    EntityVersion,
    Project,
    ProjectLink,
    TaskRow,
)

expected = {"expected_exceptions": SLATE_ERRORS}
KIND_TYPE = {"asset": "Asset", "shot": domain.SHOT, "sequence": domain.SEQUENCE, "episode": domain.EPISODE,
             "scene": domain.SCENE, "edit": domain.EDIT, "concept": domain.CONCEPT,
             "concept-folder": domain.CONCEPT_FOLDER}
ENTITY_WRITABLE = ("name", "code", "description", "canceled", "nb_frames", "is_casting_standby", "is_shared",
                   "status", "parent_id", "source_id", "preview_file_id", "data", "ready_for", "entity_type_id",
                   "shotgun_id")
TASK_FIELDS = ("id", "estimation", "entity_id", "end_date", "due_date", "done_date", "duration",
               "last_comment_date", "last_preview_file_id", "priority", "real_start_date", "retake_count",
               "start_date", "task_status_id", "task_type_id", "assignees")
ET_WRITABLE = ("name", "short_name", "description", "archived")


def _bool(value) -> bool:
    return str(value).lower() in ("true", "1", "yes")


class BreakdownMixin:
    # ------------------------------------------------------------ types
    def _kind_filter(self, s, kind: str):
        if kind == "asset":
            return Entity.entity_type_id.in_(self._asset_type_ids(s))
        return Entity.entity_type_id == self._type_id(s, KIND_TYPE[kind])

    def _asset_type_json(self, et: EntityType) -> dict:
        doc = row_dict(et, type_name="AssetType")
        doc["task_types"] = list(et.task_types or [])
        return doc

    @rpc(**expected)
    def get_asset_types(self, query=None, body=None):
        with self.store.begin() as s:
            stmt = apply_filters(select(EntityType), EntityType, query).where(
                EntityType.name.not_in(domain.SPECIAL_TYPES)).order_by(EntityType.name)
            return list_rows(s, EntityType, stmt, query, self._asset_type_json)

    @rpc(**expected)
    def get_asset_type(self, asset_type_id, query=None, body=None):
        with self.store.begin() as s:
            et = s.get(EntityType, valid_uuid(asset_type_id, "asset type id"))
            if et is None or et.name in domain.SPECIAL_TYPES:
                raise NotFound(f"Asset type {asset_type_id} not found")
            return self._asset_type_json(et)

    @rpc(**expected)
    def get_project_asset_types(self, project_id, query=None, body=None):
        """Asset types used by the project's assets (Zou's listing)."""
        with self.store.begin() as s:
            project = self._project(s, project_id)
            self._check_access(s, project.id)
            used = select(Entity.entity_type_id).where(Entity.project_id == project.id).distinct()
            stmt = select(EntityType).where(EntityType.id.in_(used), EntityType.name.not_in(domain.SPECIAL_TYPES))
            return [self._asset_type_json(e) for e in s.scalars(stmt.order_by(EntityType.name))]

    @rpc(**expected)
    def get_shot_asset_types(self, shot_id, query=None, body=None):
        with self.store.begin() as s:
            shot = self._entity(s, shot_id, "Shot")
            self._check_access(s, shot.project_id)
            cast = select(Entity.entity_type_id).join(EntityLink, EntityLink.entity_out_id == Entity.id).where(
                EntityLink.entity_in_id == shot.id)
            return [self._asset_type_json(e) for e in s.scalars(
                select(EntityType).where(EntityType.id.in_(cast)).order_by(EntityType.name))]

    # ------------------------------------------------------------ dumps
    def _names(self, s, ids) -> dict[str, Entity]:
        ids = [i for i in set(ids) if i]
        if not ids:
            return {}
        return {e.id: e for e in s.scalars(select(Entity).where(Entity.id.in_(ids)))}

    def _project_names(self, s, ids) -> dict[str, str]:
        ids = [i for i in set(ids) if i]
        if not ids:
            return {}
        return dict(s.execute(select(Project.id, Project.name).where(Project.id.in_(ids))).all())

    def _tasks_by_entity(self, s, entity_ids: list[str], project_id: str | None = None) -> dict[str, list]:
        out: dict[str, list] = {}
        if not entity_ids:
            return out
        # Only the listed keys leave the database: task records are large and
        # decoding 10,000 of them dominated the with-tasks listings.
        pairs = []
        for key in TASK_FIELDS:
            pairs += [literal(key), TaskRow.record[key]]
        stmt = select(TaskRow.entity_id, func.jsonb_build_object(*pairs))
        if project_id and len(entity_ids) > 500:
            stmt = stmt.where(TaskRow.project_id == project_id)
        else:
            stmt = stmt.where(TaskRow.entity_id.in_(entity_ids))
        wanted = set(entity_ids)
        for entity_id, rec in s.execute(stmt):
            if entity_id in wanted:
                t = rec
                t["assignees"] = list(rec.get("assignees") or [])
                t["is_subscribed"] = False
                out.setdefault(entity_id, []).append(t)
        return out

    def _enrich(self, s, entities: list[Entity], kind: str, with_names=True) -> list[dict]:
        """Zou's ``all``/detail extras, resolved in batch (no query per row)."""
        docs = [self._entity_json(s, e) for e in entities]
        if not with_names or not docs:
            return docs
        pnames = self._project_names(s, [e.project_id for e in entities])
        parents = self._names(s, [e.parent_id for e in entities] + [e.source_id for e in entities])
        grand = self._names(s, [p.parent_id for p in parents.values()])
        etypes = self._type_names(s)
        for e, doc in zip(entities, docs):
            doc["project_name"] = pnames.get(e.project_id)
            if kind == "shot":
                seq = parents.get(e.parent_id)
                ep = grand.get(seq.parent_id) if seq else None
                doc.update({"sequence_id": e.parent_id, "sequence_name": seq.name if seq else None,
                            "episode_id": ep.id if ep else None, "episode_name": ep.name if ep else None})
                doc.update(domain.shot_frames(e.data, e.nb_frames))
            elif kind in ("sequence", "edit", "scene"):
                par = parents.get(e.parent_id)
                if kind == "scene":
                    ep = grand.get(par.parent_id) if par else None
                    doc.update({"sequence_id": e.parent_id, "sequence_name": par.name if par else None,
                                "episode_id": ep.id if ep else None, "episode_name": ep.name if ep else None})
                else:
                    doc.update({"episode_id": par.id if par else None, "episode_name": par.name if par else None})
            elif kind == "asset":
                doc["asset_type_id"] = e.entity_type_id
                doc["asset_type_name"] = etypes.get(e.entity_type_id)
                doc["episode_id"] = e.source_id or ""
        return docs

    # ------------------------------------------------------------ listings
    def _entity_stmt(self, s, kind, query, project_id=None, asset_type_id=None, episode_id=None,
                     sequence_id=None, scene_id=None):
        q = dict(query or {})
        stmt = select(Entity).where(self._kind_filter(s, kind))
        # Zou's aliases in filters
        if "sequence_id" in q and kind in ("shot", "scene"):
            sequence_id = sequence_id or q.pop("sequence_id")
        if "episode_id" in q:
            episode_id = episode_id or q.pop("episode_id")
        if "asset_type_id" in q and kind == "asset":
            asset_type_id = asset_type_id or q.pop("asset_type_id")
        if project_id:
            project = self._project(s, project_id)
            self._check_access(s, project.id)
            stmt = stmt.where(Entity.project_id == project.id)
        if asset_type_id:
            stmt = stmt.where(Entity.entity_type_id == valid_uuid(asset_type_id, "asset type id"))
        if sequence_id:
            stmt = stmt.where(Entity.parent_id == valid_uuid(sequence_id, "sequence id"))
        if scene_id:
            stmt = stmt.where(Entity.source_id == valid_uuid(scene_id, "scene id"))
        if episode_id:
            ep = valid_uuid(episode_id, "episode id")
            if kind == "shot":
                seqs = select(Entity.id).where(Entity.parent_id == ep)
                stmt = stmt.where(Entity.parent_id.in_(seqs))
            elif kind == "asset":
                cast_in_ep = select(EntityLink.entity_out_id).where(EntityLink.entity_in_id == ep)
                stmt = stmt.where((Entity.source_id == ep) | Entity.id.in_(cast_in_ep))
            else:
                stmt = stmt.where(Entity.parent_id == ep)
        stmt = apply_filters(stmt, Entity, q)
        stmt = self._restrict(s, stmt, Entity.project_id)
        if self.caller.role == "vendor":
            mine = select(TaskRow.entity_id).where(TaskRow.assignees.contains([self.caller.user_id]))
            stmt = stmt.where(Entity.id.in_(mine))
        return stmt.order_by(Entity.name), q

    @rpc(**expected)
    def list_entities(self, kind, query=None, body=None, names=False, with_tasks=False, **ids):
        ids = {k: v for k, v in ids.items() if k in ("project_id", "asset_type_id", "episode_id", "sequence_id", "scene_id")}
        with self.store.begin() as s:
            if ids.get("episode_id") and not ids.get("project_id"):
                ep = self._entity(s, ids["episode_id"], "Episode")
                self._check_access(s, ep.project_id)
            if ids.get("sequence_id") and not ids.get("project_id"):
                seq = self._entity(s, ids["sequence_id"], "Sequence")
                self._check_access(s, seq.project_id)
            if ids.get("scene_id"):
                sc = self._entity(s, ids["scene_id"], "Scene")
                self._check_access(s, sc.project_id)
            if ids.get("asset_type_id"):
                et = s.get(EntityType, valid_uuid(ids["asset_type_id"], "asset type id"))
                if et is None:
                    raise NotFound(f"Asset type {ids['asset_type_id']} not found")
            stmt, q = self._entity_stmt(s, kind, query, **ids)
            if with_tasks:
                entities = list(s.scalars(stmt))
                docs = self._enrich(s, entities, kind)
                tasks = self._tasks_by_entity(s, [e.id for e in entities], (query or {}).get("project_id"))
                episodes = self._casting_episode_ids(s, [e.id for e in entities]) if kind == "asset" else {}
                for e, doc in zip(entities, docs):
                    doc["tasks"] = tasks.get(doc["id"], [])
                    if kind == "asset":
                        doc["casting_episode_ids"] = episodes.get(e.id, [])
                    elif kind in ("sequence", "episode", "concept"):
                        doc.update(domain.shot_frames(e.data, e.nb_frames))
                        if kind == "episode":
                            doc["episode_id"] = None
                    if kind == "concept":
                        doc["preview_file_status"] = None
                if kind == "concept":
                    self._add_concept_links(s, entities, docs)
                return docs
            if names:
                entities = list(s.scalars(stmt))
                return self._enrich(s, entities, kind)
            if q.get("page") in (None, "", "-1"):
                result = self._fast_rows(s, stmt, q)
            else:
                result = list_rows(s, Entity, stmt, q, lambda e: self._entity_json(s, e))
            if kind == "concept" and isinstance(result, list):
                self._add_concept_links(s, None, result)
            return result

    def _fast_rows(self, s, stmt, q) -> list[dict]:
        """A plain listing without ORM objects: rows straight to Zou's JSON (big productions)."""
        from slatekit.crud import page_args, select_fields

        cols = Entity.__table__.columns
        core = stmt.with_only_columns(*cols)
        if "limit" in q:
            core = core.limit(page_args(q)[1])
        names = self._type_names(s)
        fields = q.get("fields")
        out = []
        for row in s.execute(core).mappings():
            doc = dict(row)
            doc["created_at"] = doc["created_at"].isoformat(timespec="seconds")
            doc["updated_at"] = doc["updated_at"].isoformat(timespec="seconds")
            if doc["data"] is None:
                doc["data"] = {}
            doc["type"] = domain.type_name(names.get(doc["entity_type_id"]))
            out.append(select_fields(doc, fields) if fields else doc)
        return out

    def _add_concept_links(self, s, entities, docs):
        ids = [d["id"] for d in docs]
        links: dict = {}
        if ids:
            for a, b in s.execute(select(EntityConceptLink.entity_out_id, EntityConceptLink.entity_in_id).where(
                    EntityConceptLink.entity_out_id.in_(ids))):
                links.setdefault(a, []).append(b)
        for d in docs:
            d["entity_concept_links"] = links.get(d["id"], [])

    def _casting_episode_ids(self, s, asset_ids) -> dict[str, list[str]]:
        """Episodes an asset is cast in (episode casting links), for many assets in one query."""
        if not asset_ids:
            return {}
        ep_type = self._type_id(s, domain.EPISODE)
        out: dict = {}
        for asset_id, ep in s.execute(select(EntityLink.entity_out_id, EntityLink.entity_in_id)
                                      .join(Entity, Entity.id == EntityLink.entity_in_id)
                                      .where(EntityLink.entity_out_id.in_(asset_ids), Entity.entity_type_id == ep_type)):
            out.setdefault(asset_id, []).append(ep)
        return out

    @rpc(**expected)
    def get_entity_detail(self, kind, query=None, body=None, **ids):
        entity_id = next(v for k, v in ids.items() if k.endswith("_id"))
        with self.store.begin() as s:
            entity = self._entity(s, entity_id, KIND_TYPE[kind], what=KIND_TYPE[kind])
            self._check_access(s, entity.project_id)
            if self.caller.role == "vendor":
                self._vendor_entity_check(s, entity.id)
            doc = self._enrich(s, [entity], kind)[0]
            doc["tasks"] = self._tasks_by_entity(s, [entity.id]).get(entity.id, [])
            doc["entities_out"] = list(s.scalars(select(EntityLink.entity_out_id).where(EntityLink.entity_in_id == entity.id)))
            doc["entities_in"] = list(s.scalars(select(EntityLink.entity_in_id).where(EntityLink.entity_out_id == entity.id)))
            doc["entity_concept_links"] = list(s.scalars(select(EntityConceptLink.entity_out_id).where(
                EntityConceptLink.entity_in_id == entity.id)))
            doc["instance_casting"] = list(s.scalars(select(AssetInstanceLink.asset_instance_id).where(
                AssetInstanceLink.entity_id == entity.id)))
            if kind == "asset":
                doc["casting_episode_ids"] = self._casting_episode_ids(s, [entity.id]).get(entity.id, [])
            if kind == "concept":
                doc.update(domain.shot_frames(entity.data, entity.nb_frames))
                doc["preview_file_status"] = None
            return doc

    def _vendor_entity_check(self, s, entity_id):
        n = s.scalar(select(func.count()).select_from(TaskRow).where(
            TaskRow.entity_id == entity_id, TaskRow.assignees.contains([self.caller.user_id])))
        if not n:
            raise Forbidden("You are not allowed to access this entity")

    # ------------------------------------------------------------ create
    @rpc(**expected)
    def create_entity(self, kind, project_id, asset_type_id=None, query=None, body=None):
        body = need_object(body)
        need(body, "name")
        if not isinstance(body["name"], str) or not body["name"].strip():
            raise Invalid("Field name is required", {"field": "name"})
        if "data" in body and body["data"] is not None and not isinstance(body["data"], dict):
            raise Invalid("Field data must be an object", {"field": "data"})
        nb_frames = body.get("nb_frames")
        if nb_frames not in (None, ""):
            try:
                nb_frames = int(nb_frames)
            except (TypeError, ValueError):
                raise Invalid("Field nb_frames must be an integer", {"field": "nb_frames"}) from None
        else:
            nb_frames = None
        with self.store.begin() as s:
            project = self._project(s, project_id)
            role = self._check_access(s, project.id)
            if role not in ("admin", "manager", "supervisor"):
                raise Forbidden("Supervisor rights on this project are required")
            name = body["name"].strip()
            parent_id = None
            source_id = None
            data = dict(body.get("data") or {})
            if kind == "asset":
                et = s.get(EntityType, valid_uuid(asset_type_id, "asset type id"))
                if et is None or et.name in domain.SPECIAL_TYPES:
                    raise NotFound(f"Asset type {asset_type_id} not found")
                type_id = et.id
                ep = opt_uuid(body, "source_id") or opt_uuid(body, "episode_id")
                if ep:
                    source_id = self._entity_in_project(s, ep, project.id, "Episode", "episode_id").id
                if body.get("is_shared") is not None and not isinstance(body.get("is_shared"), bool):
                    raise Invalid("Field is_shared must be a boolean", {"field": "is_shared"})
            else:
                type_id = self._type_id(s, KIND_TYPE[kind])
                if kind in ("shot", "scene"):
                    seq = opt_uuid(body, "sequence_id") or opt_uuid(body, "parent_id")
                    if seq:  # Zou accepts a shot without sequence
                        parent_id = self._entity_in_project(s, seq, project.id, "Sequence", "sequence_id").id
                elif kind in ("sequence", "edit"):
                    ep = opt_uuid(body, "episode_id") or (opt_uuid(body, "parent_id") if kind == "edit" else None)
                    if ep:
                        parent_id = self._entity_in_project(s, ep, project.id, "Episode", "episode_id").id
                    elif kind == "sequence" and project.production_type == "tvshow":
                        raise Invalid("Field episode_id is required for a TV show", {"field": "episode_id"})
                elif kind == "concept":
                    data = dict(body.get("data") or {})
                if kind == "shot":
                    for key in ("frame_in", "frame_out", "fps"):
                        if body.get(key) is not None:
                            data[key] = body[key]
            if kind != "asset":
                # Zou's get-or-create: the same name under the same parent answers the existing row.
                exists = s.scalars(select(Entity).where(
                    Entity.project_id == project.id, Entity.entity_type_id == type_id, Entity.name == name,
                    (Entity.parent_id == parent_id) if parent_id else Entity.parent_id.is_(None))).first()
                if exists is not None:
                    return self._entity_json(s, exists)
            entity = Entity(name=name, project_id=project.id, entity_type_id=type_id, parent_id=parent_id,
                            source_id=source_id, description=body.get("description"), data=data,
                            nb_frames=nb_frames if kind == "shot" else None,
                            is_shared=bool(body.get("is_shared")) if kind == "asset" else False,
                            created_by=self.caller.user_id)
            if kind in ("sequence", "episode", "edit") and entity.description is None:
                entity.description = ""
            try:
                with s.begin_nested():  # a concurrent create of the same name: answer that row
                    s.add(entity)
                    s.flush()
            except IntegrityError:
                existing = s.scalars(select(Entity).where(
                    Entity.project_id == project.id, Entity.entity_type_id == type_id, Entity.name == name,
                    Entity.parent_id == parent_id)).first()
                if existing is None:
                    raise Invalid(f"An entity named {name} already exists here", {"field": "name"}) from None
                return self._entity_json(s, existing)
            if kind == "concept":
                links = body.get("entity_concept_links") or []
                if not isinstance(links, list):
                    raise Invalid("Field entity_concept_links must be a list of ids", {"field": "entity_concept_links"})
                for link_id in links:
                    linked = s.get(Entity, valid_uuid(link_id, "entity_concept_links"))
                    if linked is None or linked.project_id != project.id:
                        raise Invalid(f"Field entity_concept_links: entity {link_id} not found in this project",
                                      {"field": "entity_concept_links"})
                    s.add(EntityConceptLink(entity_in_id=linked.id, entity_out_id=entity.id))
            if kind == "asset" and s.get(ProjectLink, (project.id, "asset_types", type_id)) is None:
                pass  # Zou does not link the type on asset creation either
            doc = self._emit_entity(s, entity, "new")
            if kind == "concept":
                doc["entity_concept_links"] = []
            return doc

    # ------------------------------------------------------------ update
    @rpc(**expected)
    def update_entity(self, instance_id=None, shot_id=None, query=None, body=None, kind=None):
        body = need_object(body)
        with self.store.begin() as s:
            entity = self._entity(s, instance_id or shot_id, "Shot" if shot_id else None)
            role = self._check_access(s, entity.project_id)
            if role in ("vendor", "client", "user"):
                raise Forbidden("Supervisor rights on this project are required")
            self._apply_entity_body(s, entity, body)
            entity.updated_at = now()
            s.flush()
            doc = self._emit_entity(s, entity, "update")
            return doc

    def _apply_entity_body(self, s, entity: Entity, body: dict):
        for key in ENTITY_WRITABLE:
            if key not in body:
                continue
            value = body[key]
            if key == "name":
                if not isinstance(value, str) or not value.strip():
                    raise Invalid("Field name is required", {"field": "name"})
                value = value.strip()
                clash = None if self._etype_name(s, entity) == "Asset" else s.scalars(select(Entity.id).where(
                    Entity.project_id == entity.project_id, Entity.entity_type_id == entity.entity_type_id,
                    Entity.name == value, Entity.id != entity.id,
                    (Entity.parent_id == entity.parent_id) if entity.parent_id else Entity.parent_id.is_(None))).first()
                if clash is not None:
                    raise Invalid(f"An entity named {value} already exists here", {"field": "name"})
            elif key == "data":
                if value is not None and not isinstance(value, dict):
                    raise Invalid("Field data must be an object", {"field": "data"})
                value = dict(value or {})
            elif key in ("parent_id", "source_id", "preview_file_id", "entity_type_id", "ready_for"):
                value = None if value in (None, "", "None") else valid_uuid(value, key)
                if key in ("parent_id", "source_id") and value is not None:
                    other = s.get(Entity, value)
                    if other is None:
                        raise Invalid(f"Field {key}: entity {value} not found", {"field": key})
                    if other.project_id != entity.project_id:
                        raise Invalid(f"Field {key}: entity {value} belongs to another project", {"field": key})
                if key == "entity_type_id" and value is not None:
                    et = s.get(EntityType, value)
                    cur = self._etype_name(s, entity)
                    if et is None or domain.type_name(et.name) != cur:
                        raise Invalid("Field entity_type_id: wrong entity type", {"field": key})
                if key == "entity_type_id" and value is None:
                    continue
            elif key in ("canceled", "is_casting_standby", "is_shared"):
                if not isinstance(value, bool):
                    raise Invalid(f"Field {key} must be a boolean", {"field": key})
            elif key in ("nb_frames", "shotgun_id"):
                if value not in (None, ""):
                    try:
                        value = int(value)
                    except (TypeError, ValueError):
                        raise Invalid(f"Field {key} must be an integer", {"field": key}) from None
                else:
                    value = None
            elif value is not None and not isinstance(value, str):
                raise Invalid(f"Invalid value for {key}", {"field": key})
            setattr(entity, key, value)
        # Zou's shot helpers: frame_in/out/fps at top level go to data
        if self._etype_name(s, entity) == "Shot":
            data = dict(entity.data or {})
            changed = False
            for key in ("frame_in", "frame_out", "fps"):
                if key in body and body[key] is not None and body[key] != data.get(key):
                    data[key] = body[key]
                    changed = True
            if "sequence_id" in body and body["sequence_id"]:
                entity.parent_id = self._entity_in_project(s, body["sequence_id"], entity.project_id, "Sequence", "sequence_id").id
            if changed:
                entity.data = data
        if self._etype_name(s, entity) == "Asset" and "asset_type_id" in body and body["asset_type_id"]:
            et = s.get(EntityType, valid_uuid(body["asset_type_id"], "asset_type_id"))
            if et is None or et.name in domain.SPECIAL_TYPES:
                raise Invalid("Field asset_type_id: unknown asset type", {"field": "asset_type_id"})
            entity.entity_type_id = et.id

    # ------------------------------------------------------------ delete
    def _has_tasks(self, s, entity_id) -> bool:
        return bool(s.scalar(select(func.count()).select_from(TaskRow).where(TaskRow.entity_id == entity_id)))

    def _purge(self, s, entity: Entity):
        """Delete an entity and everything tied to it, with its delete event."""
        doc = self._entity_json(s, entity)
        s.execute(delete(EntityLink).where((EntityLink.entity_in_id == entity.id) | (EntityLink.entity_out_id == entity.id)))
        s.execute(delete(EntityConceptLink).where((EntityConceptLink.entity_in_id == entity.id) | (EntityConceptLink.entity_out_id == entity.id)))
        s.execute(delete(EntityVersion).where(EntityVersion.entity_id == entity.id))
        s.execute(delete(AssetInstanceLink).where(AssetInstanceLink.entity_id == entity.id))
        s.execute(delete(AssetInstance).where((AssetInstance.asset_id == entity.id) | (AssetInstance.scene_id == entity.id)
                                               | (AssetInstance.target_asset_id == entity.id)))
        s.execute(update(Entity).where(Entity.source_id == entity.id).values(source_id=None))
        s.execute(update(Entity).where(Entity.parent_id == entity.id).values(parent_id=None))
        s.execute(delete(TaskRow).where(TaskRow.entity_id == entity.id))
        s.delete(entity)
        s.flush()
        self._emit_entity(s, entity, "delete", record=doc)

    @rpc(**expected)
    def delete_entity(self, kind, query=None, body=None, **ids):
        entity_id = next(v for k, v in ids.items() if k.endswith("_id"))
        force = _bool((query or {}).get("force"))
        with self.store.begin() as s:
            entity = self._entity(s, entity_id, KIND_TYPE[kind], what=KIND_TYPE[kind])
            role = self._check_access(s, entity.project_id)
            if role not in ("admin", "manager"):
                raise Forbidden("Manager rights on this project are required")
            children = list(s.scalars(select(Entity).where(Entity.parent_id == entity.id)))
            if kind in ("asset", "shot", "edit", "concept") and self._has_tasks(s, entity.id) and not force:
                entity.canceled = True
                entity.updated_at = now()
                s.flush()
                self._emit_entity(s, entity, "update")
                return None
            if children and kind in ("sequence", "episode"):
                if not force:
                    raise Invalid(f"This {kind} has children; use force=true to delete it with them")
                for child in children:
                    for grandchild in s.scalars(select(Entity).where(Entity.parent_id == child.id)):
                        self._purge(s, grandchild)
                    self._purge(s, child)
            self._purge(s, entity)
            return None

    @rpc(**expected)
    def delete_entities(self, project_id, query=None, body=None):
        """POST /actions/projects/<id>/delete-entities: a list of entity ids, removed like one DELETE each."""
        ids = body if isinstance(body, list) else (body or {}).get("entity_ids") if isinstance(body, dict) else None
        if not isinstance(ids, list):
            raise Invalid("A list of entity ids is expected")
        with self.store.begin() as s:
            project = self._project(s, project_id)
            self._check_manager(s, project.id)
            done = []
            for eid in ids:
                entity = s.get(Entity, valid_uuid(eid, "entity id"))
                if entity is None or entity.project_id != project.id:
                    continue
                self._purge(s, entity)
                done.append(entity.id)
            return done

    # ------------------------------------------------------------ versions, concepts
    @rpc(**expected)
    def get_entity_versions(self, query=None, body=None, **ids):
        entity_id = next(v for k, v in ids.items() if k.endswith("_id"))
        with self.store.begin() as s:
            entity = self._entity(s, entity_id)
            self._check_access(s, entity.project_id)
            rows = s.scalars(select(EntityVersion).where(EntityVersion.entity_id == entity.id)
                             .order_by(EntityVersion.created_at.desc()))
            return [row_dict(v, type_name="EntityVersion") for v in rows]

    def _record_version(self, s, entity: Entity):
        s.add(EntityVersion(name=entity.name, data=dict(entity.data or {}), entity_id=entity.id,
                            person_id=self.caller.user_id))

    @rpc(**expected)
    def move_concepts(self, project_id, query=None, body=None):
        body = need_object(body)
        concept_ids = body.get("concept_ids") or []
        folder = opt_uuid(body, "concept_folder_id") or opt_uuid(body, "parent_id")
        with self.store.begin() as s:
            project = self._project(s, project_id)
            self._check_supervisor(s, project.id)
            if folder:
                self._entity_in_project(s, folder, project.id, "ConceptFolder", "concept_folder_id")
            out = []
            for cid in concept_ids:
                c = self._entity(s, cid, "Concept")
                if c.project_id != project.id:
                    raise Invalid(f"Concept {cid} belongs to another project", {"field": "concept_ids"})
                c.parent_id = folder
                c.updated_at = now()
                s.flush()
                out.append(self._emit_entity(s, c, "update"))
            return out

    @rpc(**expected)
    def update_concept_folder(self, concept_folder_id, query=None, body=None):
        body = need_object(body)
        with self.store.begin() as s:
            folder = self._entity(s, concept_folder_id, "ConceptFolder")
            self._check_supervisor(s, folder.project_id)
            self._apply_entity_body(s, folder, {k: v for k, v in body.items() if k in ("name", "description", "data")})
            folder.updated_at = now()
            s.flush()
            return self._emit_entity(s, folder, "update")

    # ------------------------------------------------------------ entity types CRUD helpers
    def _crud_entity_type_create(self, s, body):
        need(body, "name")
        if s.scalars(select(EntityType).where(EntityType.name == body["name"])).first():
            raise Invalid("An entity type with this name already exists", {"field": "name"})
        et = EntityType(name=body["name"])
        for key in ("short_name", "description", "archived"):
            if key in body:
                setattr(et, key, body[key])
        if "task_types" in body:
            et.task_types = [valid_uuid(t, "task_types") for t in body.get("task_types") or []]
        s.add(et)
        s.flush()
        self._types_cache = None
        return et
