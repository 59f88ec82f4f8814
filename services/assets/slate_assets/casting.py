"""Casting (entity links with labels and occurrences), asset instances,
scenes and their shots, shared assets. Every listing is one or two queries
whatever the number of rows (joins, no query per row)."""

from __future__ import annotations

from nameko.rpc import rpc
from slatekit.crud import list_rows, now, row_dict, valid_uuid
from slatekit.errors import SLATE_ERRORS, Forbidden, Invalid, NotFound
from sqlalchemy import delete, func, select
from sqlalchemy.orm import aliased

from . import domain
from .base import need, need_object
from .models import AssetInstance, AssetInstanceLink, Entity, EntityLink, EntityType

expected = {"expected_exceptions": SLATE_ERRORS}


class CastingMixin:
    def _no_vendor(self):
        if self.caller.role == "vendor":
            raise Forbidden("Vendors cannot read the breakdown")

    def _casting_rows(self, s, entity_in_ids):
        """(link, asset, asset type name) for every asset cast in the given entities."""
        if not entity_in_ids:
            return []
        stmt = (select(EntityLink, Entity, EntityType.name)
                .join(Entity, Entity.id == EntityLink.entity_out_id)
                .join(EntityType, EntityType.id == Entity.entity_type_id)
                .where(EntityLink.entity_in_id.in_(entity_in_ids))
                .order_by(EntityType.name, Entity.name))
        return s.execute(stmt).all()

    @staticmethod
    def _cast_doc(link, asset, type_name, **extra) -> dict:
        doc = {"asset_id": asset.id, "name": asset.name, "asset_name": asset.name, "asset_type_name": type_name,
               "ready_for": asset.ready_for, "episode_id": asset.source_id, "preview_file_id": asset.preview_file_id,
               "nb_occurences": link.nb_occurences, "label": link.label or "", "is_shared": bool(asset.is_shared),
               "project_id": asset.project_id}
        doc.update(extra)
        return doc

    def _entity_of_project(self, s, entity_id, project_id) -> Entity:
        entity = self._entity(s, entity_id)
        if entity.project_id != project_id:
            raise Forbidden("This entity does not belong to this project")
        return entity

    @rpc(**expected)
    def get_casting(self, project_id=None, entity_id=None, asset_id=None, query=None, body=None):
        with self.store.begin() as s:
            entity = self._entity(s, entity_id or asset_id)
            if project_id:
                project = self._project(s, project_id)
                if entity.project_id != project.id:
                    raise Forbidden("This entity does not belong to this project")
            self._check_access(s, entity.project_id)
            self._no_vendor()
            out = []
            for link, asset, tname in self._casting_rows(s, [entity.id]):
                doc = self._cast_doc(link, asset, tname)
                doc.pop("name")
                out.append(doc)
            return out

    def _validate_casting(self, casting) -> list[dict]:
        if not isinstance(casting, list):
            raise Invalid("Request body must be a JSON array")
        out = []
        for item in casting:
            if not isinstance(item, dict) or not item.get("asset_id"):
                raise Invalid("Each casting item needs an asset_id", {"field": "asset_id"})
            nb = item.get("nb_occurences", 1)
            try:
                nb = int(1 if nb is None else nb)
            except (TypeError, ValueError):
                raise Invalid("Field nb_occurences must be an integer", {"field": "nb_occurences"}) from None
            if nb < 0:
                raise Invalid("Field nb_occurences must be positive", {"field": "nb_occurences"})
            try:
                label = domain.casting_label(item.get("label"))
            except ValueError:
                raise Invalid("Field label must be a string", {"field": "label"}) from None
            out.append({"asset_id": valid_uuid(item["asset_id"], "asset_id"), "nb_occurences": nb, "label": label})
        return out

    def _set_casting(self, s, entity: Entity, casting: list[dict]) -> list[dict]:
        """Replace an entity's casting (Zou's update_casting)."""
        asset_ids = [c["asset_id"] for c in casting]
        assets = {e.id: e for e in s.scalars(select(Entity).where(Entity.id.in_(asset_ids)))} if asset_ids else {}
        for c in casting:
            a = assets.get(c["asset_id"])
            if a is None:
                raise Invalid(f"Asset {c['asset_id']} not found", {"field": "asset_id"})
            if a.project_id != entity.project_id and not a.is_shared:
                raise Invalid(f"Asset {a.id} belongs to another project", {"field": "asset_id"})
        s.execute(delete(EntityLink).where(EntityLink.entity_in_id == entity.id))
        kept = []
        for c in casting:
            if c["nb_occurences"] == 0:
                continue
            s.add(EntityLink(entity_in_id=entity.id, entity_out_id=c["asset_id"], nb_occurences=c["nb_occurences"],
                             label=c["label"]))
            kept.append(c)
        entity.nb_entities_out = len(kept)
        entity.updated_at = now()
        s.flush()
        self._link_episode(s, entity, [c["asset_id"] for c in kept])
        self._emit_casting(s, entity)
        return kept

    def _link_episode(self, s, shot: Entity, asset_ids: list[str]):
        """Zou keeps the episode casting in step: an asset cast in a shot is cast in its episode too."""
        if not asset_ids or self._etype_name(s, shot) != "Shot" or not shot.parent_id:
            return
        seq = s.get(Entity, shot.parent_id)
        if seq is None or not seq.parent_id:
            return
        have = set(s.scalars(select(EntityLink.entity_out_id).where(EntityLink.entity_in_id == seq.parent_id)))
        added = False
        for aid in asset_ids:
            if aid not in have:
                s.add(EntityLink(entity_in_id=seq.parent_id, entity_out_id=aid, nb_occurences=1, label=""))
                added = True
        if added:
            s.flush()
            ep = s.get(Entity, seq.parent_id)
            ep.nb_entities_out = s.scalar(select(func.count()).select_from(EntityLink).where(EntityLink.entity_in_id == ep.id))

    def _emit_casting(self, s, entity: Entity):
        prefix = domain.event_prefix(self._type_names(s).get(entity.entity_type_id))
        casting = [{"asset_id": l.entity_out_id, "nb_occurences": l.nb_occurences, "label": l.label}
                   for l in s.scalars(select(EntityLink).where(EntityLink.entity_in_id == entity.id))]
        record = self._entity_json(s, entity)
        record["casting"] = casting
        self.store.emit(s, f"{prefix}:casting-update",
                        {f"{prefix}_id": entity.id, "nb_entities_out": entity.nb_entities_out},
                        project_id=entity.project_id, record=record)

    @rpc(**expected)
    def update_casting(self, project_id=None, entity_id=None, asset_id=None, query=None, body=None):
        casting = self._validate_casting(body)
        with self.store.begin() as s:
            entity = self._entity(s, entity_id or asset_id)
            if project_id:
                project = self._project(s, project_id)
                if entity.project_id != project.id:
                    raise Forbidden("This entity does not belong to this project")
            self._check_manager(s, entity.project_id)
            return self._set_casting(s, entity, casting)

    @rpc(**expected)
    def update_castings(self, project_id, query=None, body=None):
        if not isinstance(body, dict) or not all(isinstance(v, list) for v in body.values()):
            raise Invalid("Request body must be a JSON object mapping entity ids to casting arrays")
        castings = {valid_uuid(k, "entity id"): self._validate_casting(v) for k, v in body.items()}
        with self.store.begin() as s:
            project = self._project(s, project_id)
            self._check_manager(s, project.id)
            out = {}
            for eid, casting in castings.items():
                entity = self._entity_of_project(s, eid, project.id)
                out[eid] = self._set_casting(s, entity, casting)
            return out

    @rpc(**expected)
    def cast_asset(self, project_id, asset_id, query=None, body=None):
        body = need_object(body)
        entity_ids = body.get("entity_ids")
        if not isinstance(entity_ids, list) or not entity_ids:
            raise Invalid("Field entity_ids must be a non-empty list", {"field": "entity_ids"})
        nb = body.get("nb_occurences")
        if nb is not None and (not isinstance(nb, int) or isinstance(nb, bool) or nb < 0):
            raise Invalid("Field nb_occurences must be a positive integer", {"field": "nb_occurences"})
        label = body.get("label")
        if label is not None and not isinstance(label, str):
            raise Invalid("Field label must be a string", {"field": "label"})
        with self.store.begin() as s:
            project = self._project(s, project_id)
            self._check_manager(s, project.id)
            asset = self._entity(s, asset_id, "Asset")
            if asset.project_id != project.id and not asset.is_shared:
                raise Invalid("This asset belongs to another project", {"field": "asset_id"})
            out = {}
            for eid in entity_ids:
                entity = self._entity_of_project(s, valid_uuid(eid, "entity_ids"), project.id)
                link = s.scalars(select(EntityLink).where(EntityLink.entity_in_id == entity.id,
                                                          EntityLink.entity_out_id == asset.id)).first()
                if nb == 0:
                    if link is not None:
                        s.delete(link)
                elif link is None:
                    s.add(EntityLink(entity_in_id=entity.id, entity_out_id=asset.id, nb_occurences=nb or 1, label=label or ""))
                else:
                    if nb is not None:
                        link.nb_occurences = nb
                    if label is not None:
                        link.label = label
                s.flush()
                entity.nb_entities_out = s.scalar(select(func.count()).select_from(EntityLink).where(EntityLink.entity_in_id == entity.id))
                entity.updated_at = now()
                if nb != 0:
                    self._link_episode(s, entity, [asset.id])
                self._emit_casting(s, entity)
                out[entity.id] = [
                    {"asset_id": l.entity_out_id, "nb_occurences": l.nb_occurences, "label": l.label}
                    for l in s.scalars(select(EntityLink).where(EntityLink.entity_in_id == entity.id))]
            return out

    # ------------------------------------------------------------ casting listings
    def _shots_casting(self, s, shot_stmt) -> dict:
        seq = aliased(Entity)
        shots = s.execute(select(Entity.id, seq.name).outerjoin(seq, seq.id == Entity.parent_id)
                          .where(Entity.id.in_(shot_stmt))).all()
        seq_names = dict(shots)
        out: dict = {}
        for link, asset, tname in self._casting_rows(s, list(seq_names)):
            out.setdefault(link.entity_in_id, []).append(
                self._cast_doc(link, asset, tname, sequence_name=seq_names.get(link.entity_in_id)))
        for d in out.values():
            for doc in d:
                doc.pop("ready_for", None)
                doc.pop("episode_id", None)
        return out

    @rpc(**expected)
    def get_sequence_casting(self, project_id, sequence_id, query=None, body=None):
        with self.store.begin() as s:
            project = self._project(s, project_id)
            self._check_access(s, project.id)
            self._no_vendor()
            seq = self._entity(s, sequence_id, "Sequence")
            if seq.project_id != project.id:
                raise Forbidden("This sequence does not belong to this project")
            shot_type = self._type_id(s, domain.SHOT)
            return self._shots_casting(s, select(Entity.id).where(Entity.parent_id == seq.id, Entity.entity_type_id == shot_type))

    @rpc(**expected)
    def get_all_sequences_casting(self, project_id, episode_id=None, query=None, body=None):
        with self.store.begin() as s:
            project = self._project(s, project_id)
            self._check_access(s, project.id)
            self._no_vendor()
            shot_type = self._type_id(s, domain.SHOT)
            stmt = select(Entity.id).where(Entity.project_id == project.id, Entity.entity_type_id == shot_type)
            if episode_id:
                ep = self._entity(s, episode_id, "Episode")
                stmt = stmt.where(Entity.parent_id.in_(select(Entity.id).where(Entity.parent_id == ep.id)))
            return self._shots_casting(s, stmt)

    @rpc(**expected)
    def get_episodes_casting(self, project_id, query=None, body=None):
        with self.store.begin() as s:
            project = self._project(s, project_id)
            self._check_access(s, project.id)
            self._no_vendor()
            ep_type = self._type_id(s, domain.EPISODE)
            eps = dict(s.execute(select(Entity.id, Entity.name).where(Entity.project_id == project.id,
                                                                      Entity.entity_type_id == ep_type)).all())
            out: dict = {}
            for link, asset, tname in self._casting_rows(s, list(eps)):
                out.setdefault(link.entity_in_id, []).append(
                    self._cast_doc(link, asset, tname, episode_name=eps.get(link.entity_in_id)))
            return out

    @rpc(**expected)
    def get_asset_type_casting(self, project_id, asset_type_id, query=None, body=None):
        with self.store.begin() as s:
            project = self._project(s, project_id)
            self._check_access(s, project.id)
            self._no_vendor()
            et = s.get(EntityType, valid_uuid(asset_type_id, "asset type id"))
            if et is None:
                raise NotFound(f"Asset type {asset_type_id} not found")
            ids = list(s.scalars(select(Entity.id).where(Entity.project_id == project.id, Entity.entity_type_id == et.id)))
            out: dict = {}
            for link, asset, tname in self._casting_rows(s, ids):
                out.setdefault(link.entity_in_id, []).append(self._cast_doc(link, asset, tname))
            return out

    @rpc(**expected)
    def get_cast_in(self, asset_id, query=None, body=None):
        with self.store.begin() as s:
            asset = self._entity(s, asset_id, "Asset")
            self._check_access(s, asset.project_id)
            seq = aliased(Entity)
            ep = aliased(Entity)
            rows = s.execute(
                select(EntityLink, Entity, seq, ep)
                .join(Entity, Entity.id == EntityLink.entity_in_id)
                .outerjoin(seq, seq.id == Entity.parent_id)
                .outerjoin(ep, ep.id == seq.parent_id)
                .where(EntityLink.entity_out_id == asset.id)
                .order_by(Entity.name)).all()
            names = self._type_names(s)
            visible = self._visible_project_ids(s)
            shots, assets = [], []
            for link, e, sq, epi in rows:
                if e.canceled or (visible is not None and e.project_id not in visible):
                    continue
                kind = domain.type_name(names.get(e.entity_type_id))
                if kind == "Asset":
                    assets.append({"asset_id": e.id, "asset_name": e.name, "asset_type_name": names.get(e.entity_type_id),
                                   "preview_file_id": e.preview_file_id, "nb_occurences": link.nb_occurences})
                elif sq is not None:  # Zou: what hangs under a sequence (shots), never episodes
                    shots.append({"shot_id": e.id, "shot_name": e.name, "sequence_name": sq.name,
                                  "episode_id": epi.id if epi else None, "episode_name": epi.name if epi else None,
                                  "preview_file_id": e.preview_file_id, "nb_occurences": link.nb_occurences})
            shots.sort(key=lambda x: (x["episode_name"] or "", x["sequence_name"] or "", x["shot_name"]))
            assets.sort(key=lambda x: (x["asset_type_name"] or "", x["asset_name"]))
            out = shots + assets
            return out

    @rpc(**expected)
    def get_linked_assets(self, asset_id=None, shot_id=None, query=None, body=None):
        """GET /data/assets/<id>/assets and /data/shots/<id>/assets: cast assets as asset rows."""
        with self.store.begin() as s:
            entity = self._entity(s, asset_id or shot_id, "Asset" if asset_id else "Shot")
            self._check_access(s, entity.project_id)
            rows = s.scalars(select(Entity).join(EntityLink, EntityLink.entity_out_id == Entity.id)
                             .where(EntityLink.entity_in_id == entity.id).order_by(Entity.name))
            return [self._entity_json(s, e) for e in rows]

    # ------------------------------------------------------------ entity links
    @rpc(**expected)
    def get_project_entity_links(self, project_id, query=None, body=None):
        with self.store.begin() as s:
            project = self._project(s, project_id)
            self._check_manager(s, project.id)
            stmt = (select(EntityLink).join(Entity, Entity.id == EntityLink.entity_in_id)
                    .where(Entity.project_id == project.id).order_by(EntityLink.created_at, EntityLink.id))
            q = dict(query or {})
            if q.get("cursor_created_at"):
                from slatekit.crud import cast as _cast
                stmt = stmt.where(EntityLink.created_at > _cast(EntityLink.__table__.c.created_at, q["cursor_created_at"]))
            return list_rows(s, EntityLink, stmt, q, lambda l: row_dict(l, type_name="EntityLink"))

    @rpc(**expected)
    def delete_project_entity_link(self, project_id, entity_link_id, query=None, body=None):
        with self.store.begin() as s:
            project = self._project(s, project_id)
            self._check_manager(s, project.id)
            link = s.get(EntityLink, valid_uuid(entity_link_id, "entity link id"))
            if link is None:
                raise NotFound(f"Entity link {entity_link_id} not found")
            entity = s.get(Entity, link.entity_in_id)
            if entity is None or entity.project_id != project.id:
                raise Forbidden("This link does not belong to this project")
            doc = row_dict(link, type_name="EntityLink")
            s.delete(link)
            s.flush()
            entity.nb_entities_out = s.scalar(select(func.count()).select_from(EntityLink).where(EntityLink.entity_in_id == entity.id))
            self.store.emit(s, "entity-link:delete", {"entity_link_id": doc["id"]}, project_id=project.id, record=doc)
            self._emit_casting(s, entity)
            return doc

    # ------------------------------------------------------------ asset instances
    def _instance_json(self, inst: AssetInstance) -> dict:
        doc = row_dict(inst, type_name="AssetInstance")
        doc.setdefault("entity_id", None)  # Zou's legacy columns, always empty here
        doc.setdefault("entity_type_id", None)
        if doc.get("data") is None:
            doc["data"] = {}
        return doc

    @rpc(**expected)
    def get_asset_instances(self, asset_id=None, scene_id=None, shot_id=None, target="scene", query=None, body=None):
        """Instances of an asset (by scene, shot or asset target) or of a scene / shot."""
        with self.store.begin() as s:
            if asset_id:
                asset = self._entity(s, asset_id, "Asset")
                self._check_access(s, asset.project_id)
                stmt = select(AssetInstance).where(AssetInstance.asset_id == asset.id)
                if target == "scene":
                    stmt = stmt.where(AssetInstance.scene_id.is_not(None))
                    key = "scene_id"
                elif target == "asset":
                    stmt = stmt.where(AssetInstance.target_asset_id.is_not(None))
                    key = "target_asset_id"
                else:
                    insts = s.execute(select(AssetInstanceLink.entity_id, AssetInstance)
                                      .join(AssetInstance, AssetInstance.id == AssetInstanceLink.asset_instance_id)
                                      .where(AssetInstance.asset_id == asset.id)).all()
                    out: dict = {}
                    for shot, inst in insts:
                        out.setdefault(shot, []).append(self._instance_json(inst))
                    return out
                out = {}
                for inst in s.scalars(stmt.order_by(AssetInstance.number)):
                    out.setdefault(getattr(inst, key), []).append(self._instance_json(inst))
                return out
            if scene_id:
                scene = self._entity(s, scene_id, "Scene")
                self._check_access(s, scene.project_id)
                stmt = select(AssetInstance).where(AssetInstance.scene_id == scene.id)
                if target == "camera":
                    cams = select(EntityType.id).where(EntityType.name == "Camera")
                    stmt = stmt.join(Entity, Entity.id == AssetInstance.asset_id).where(Entity.entity_type_id.in_(cams))
                out = {}
                for inst in s.scalars(stmt.order_by(AssetInstance.number)):
                    out.setdefault(inst.asset_id, []).append(self._instance_json(inst))
                return out
            shot = self._entity(s, shot_id, "Shot")
            self._check_access(s, shot.project_id)
            out = {}
            for inst in s.scalars(select(AssetInstance).join(AssetInstanceLink, AssetInstanceLink.asset_instance_id == AssetInstance.id)
                                  .where(AssetInstanceLink.entity_id == shot.id).order_by(AssetInstance.number)):
                out.setdefault(inst.asset_id, []).append(self._instance_json(inst))
            return out

    def _new_instance(self, s, asset: Entity, scene_id=None, target_asset_id=None, description=None) -> AssetInstance:
        col = AssetInstance.scene_id if scene_id else AssetInstance.target_asset_id
        number = (s.scalar(select(func.max(AssetInstance.number)).where(AssetInstance.asset_id == asset.id,
                                                                      col == (scene_id or target_asset_id))) or 0) + 1
        inst = AssetInstance(asset_id=asset.id, scene_id=scene_id, target_asset_id=target_asset_id, number=number,
                             name=f"{asset.name.lower().replace(' ', '_')}_{number:04d}", description=description, data={})
        s.add(inst)
        s.flush()
        doc = self._instance_json(inst)
        self.store.emit(s, "asset-instance:new", {"asset_instance_id": inst.id}, project_id=asset.project_id, record=doc)
        return inst

    @rpc(**expected)
    def add_scene_asset_instance(self, scene_id, query=None, body=None):
        body = need_object(body)
        need(body, "asset_id")
        with self.store.begin() as s:
            scene = self._entity(s, scene_id, "Scene")
            self._check_supervisor(s, scene.project_id)
            asset = self._entity_in_project(s, valid_uuid(body["asset_id"], "asset_id"), scene.project_id, "Asset", "asset_id")
            return self._instance_json(self._new_instance(s, asset, scene_id=scene.id, description=body.get("description")))

    @rpc(**expected)
    def add_asset_asset_instance(self, asset_id, query=None, body=None):
        body = need_object(body)
        need(body, "asset_to_instantiate_id")
        with self.store.begin() as s:
            target = self._entity(s, asset_id, "Asset")
            self._check_supervisor(s, target.project_id)
            asset = self._entity_in_project(s, valid_uuid(body["asset_to_instantiate_id"], "asset_to_instantiate_id"),
                                            target.project_id, "Asset", "asset_to_instantiate_id")
            return self._instance_json(self._new_instance(s, asset, target_asset_id=target.id,
                                                          description=body.get("description")))

    @rpc(**expected)
    def add_shot_asset_instance(self, shot_id, query=None, body=None):
        body = need_object(body)
        need(body, "asset_instance_id")
        with self.store.begin() as s:
            shot = self._entity(s, shot_id, "Shot")
            self._check_supervisor(s, shot.project_id)
            inst = s.get(AssetInstance, valid_uuid(body["asset_instance_id"], "asset_instance_id"))
            if inst is None:
                raise Invalid("Field asset_instance_id: asset instance not found", {"field": "asset_instance_id"})
            if s.get(AssetInstanceLink, (shot.id, inst.id)) is None:
                s.add(AssetInstanceLink(entity_id=shot.id, asset_instance_id=inst.id))
                shot.updated_at = now()
                s.flush()
            doc = self._emit_entity(s, shot, "update")
            doc["instance_casting"] = list(s.scalars(select(AssetInstanceLink.asset_instance_id).where(
                AssetInstanceLink.entity_id == shot.id)))
            return doc

    @rpc(**expected)
    def remove_shot_asset_instance(self, shot_id, asset_instance_id, query=None, body=None):
        with self.store.begin() as s:
            shot = self._entity(s, shot_id, "Shot")
            self._check_supervisor(s, shot.project_id)
            s.execute(delete(AssetInstanceLink).where(AssetInstanceLink.entity_id == shot.id,
                                                      AssetInstanceLink.asset_instance_id == valid_uuid(asset_instance_id, "asset instance id")))
            shot.updated_at = now()
            s.flush()
            self._emit_entity(s, shot, "update")
            return None

    # ------------------------------------------------------------ scenes ↔ shots
    @rpc(**expected)
    def add_shot_to_scene(self, scene_id, query=None, body=None):
        body = need_object(body)
        need(body, "shot_id")
        with self.store.begin() as s:
            scene = self._entity(s, scene_id, "Scene")
            self._check_supervisor(s, scene.project_id)
            shot = self._entity_in_project(s, valid_uuid(body["shot_id"], "shot_id"), scene.project_id, "Shot", "shot_id")
            shot.source_id = scene.id
            shot.updated_at = now()
            s.flush()
            doc = self._emit_entity(s, shot, "update")
            self.store.emit(s, "shot:add-to-scene", {"scene_id": scene.id, "shot_id": shot.id}, project_id=shot.project_id)
            return doc

    @rpc(**expected)
    def remove_shot_from_scene(self, scene_id, shot_id, query=None, body=None):
        with self.store.begin() as s:
            scene = self._entity(s, scene_id, "Scene")
            self._check_supervisor(s, scene.project_id)
            shot = self._entity(s, shot_id, "Shot")
            if shot.source_id == scene.id:
                shot.source_id = None
                shot.updated_at = now()
                s.flush()
                self._emit_entity(s, shot, "update")
                self.store.emit(s, "shot:remove-from-scene", {"scene_id": scene.id, "shot_id": shot.id}, project_id=shot.project_id)
            return None

    # ------------------------------------------------------------ shared assets
    @rpc(**expected)
    def get_shared_used_assets(self, project_id, episode_id=None, query=None, body=None):
        """Shared assets of other projects cast in this project (or episode)."""
        with self.store.begin() as s:
            project = self._project(s, project_id)
            self._check_access(s, project.id)
            ins = select(Entity.id).where(Entity.project_id == project.id)
            if episode_id:
                ep = self._entity(s, episode_id, "Episode")
                seqs = select(Entity.id).where(Entity.parent_id == ep.id)
                ins = select(Entity.id).where((Entity.id == ep.id) | Entity.parent_id.in_(seqs))
            used = select(EntityLink.entity_out_id).where(EntityLink.entity_in_id.in_(ins))
            rows = s.scalars(select(Entity).where(Entity.id.in_(used), Entity.is_shared.is_(True),
                                                  Entity.project_id != project.id).order_by(Entity.name))
            return [self._entity_json(s, e) for e in rows]

    @rpc(**expected)
    def share_assets(self, project_id=None, asset_type_id=None, query=None, body=None):
        """Mark assets shared (or not): by ids, by project, or by project and type."""
        body = body if isinstance(body, dict) else {}
        is_shared = body.get("is_shared", True)
        if not isinstance(is_shared, bool):
            raise Invalid("Field is_shared must be a boolean", {"field": "is_shared"})
        with self.store.begin() as s:
            stmt = select(Entity).where(Entity.entity_type_id.in_(self._asset_type_ids(s)))
            if project_id:
                project = self._project(s, project_id)
                self._check_manager(s, project.id)
                stmt = stmt.where(Entity.project_id == project.id)
                if asset_type_id:
                    stmt = stmt.where(Entity.entity_type_id == valid_uuid(asset_type_id, "asset type id"))
            else:
                ids = body.get("asset_ids")
                if not isinstance(ids, list) or not ids:
                    raise Invalid("Field asset_ids must be a non-empty list", {"field": "asset_ids"})
                stmt = stmt.where(Entity.id.in_([valid_uuid(i, "asset_ids") for i in ids]))
            out = []
            for asset in s.scalars(stmt):
                if not project_id:
                    self._check_manager(s, asset.project_id)
                if asset.is_shared != is_shared:
                    asset.is_shared = is_shared
                    asset.updated_at = now()
                    s.flush()
                    out.append(self._emit_entity(s, asset, "update"))
            return out
