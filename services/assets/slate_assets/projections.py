"""Event-fed projections of other services' rows, their rebuilds, and the
paged exports other services rebuild theirs from.

- ``ext_record`` kind ``person`` ← auth ``person:new|update|delete`` (team listings)
- ``ext_record`` kind ``task-type`` / ``task-status`` ← tasks (project settings listings)
- ``task_row`` ← tasks ``task:*`` (the ``*/with-tasks`` listings, vendor scoping,
  deletion-as-cancel of an entity with tasks)
- ``preview-file:*`` from previews: an entity whose main preview is not set yet
  takes the new preview (Zou's ``is_set_preview_automated`` behaviour is the
  project's flag; we apply it when set).

A record is applied only if its ``updated_at`` is not older than the stored one.
"""

from __future__ import annotations

import logging

from nameko.rpc import rpc
from slatekit.consumer import subscribe
from slatekit.crud import now, valid_uuid
from slatekit.errors import SLATE_ERRORS
from sqlalchemy import delete, select
from sqlalchemy.dialects.postgresql import insert as pg_insert

from .models import Entity, ExtRecord, Project, TaskRow

log = logging.getLogger(__name__)
expected = {"expected_exceptions": SLATE_ERRORS}


def _newer(stored: str | None, incoming: str | None) -> bool:
    if stored is None or incoming is None:
        return True
    return str(incoming) >= str(stored)


class ProjectionsMixin:
    # ------------------------------------------------------------ appliers
    def _apply_ext(self, s, kind: str, record: dict | None, deleted: bool, record_id: str | None = None):
        rid = (record or {}).get("id") or record_id
        if not rid:
            return
        if deleted:
            s.execute(delete(ExtRecord).where(ExtRecord.kind == kind, ExtRecord.id == rid))
            return
        current = s.get(ExtRecord, (kind, rid))
        if current is not None and not _newer(current.updated_at, record.get("updated_at")):
            return
        stmt = pg_insert(ExtRecord).values(kind=kind, id=rid, updated_at=record.get("updated_at"), record=record)
        s.execute(stmt.on_conflict_do_update(index_elements=["kind", "id"],
                                             set_={"updated_at": stmt.excluded.updated_at, "record": stmt.excluded.record}))

    def _apply_task(self, s, record: dict | None, deleted: bool, task_id: str | None = None):
        tid = (record or {}).get("id") or task_id
        if not tid:
            return
        if deleted:
            s.execute(delete(TaskRow).where(TaskRow.id == tid))
            return
        current = s.get(TaskRow, tid)
        if current is not None and not _newer(current.updated_at, record.get("updated_at")):
            return
        values = dict(id=tid, project_id=record.get("project_id"), entity_id=record.get("entity_id"),
                      task_type_id=record.get("task_type_id"), task_status_id=record.get("task_status_id"),
                      assignees=list(record.get("assignees") or []), updated_at=record.get("updated_at"), record=record)
        stmt = pg_insert(TaskRow).values(**values)
        s.execute(stmt.on_conflict_do_update(index_elements=["id"], set_={k: stmt.excluded[k] for k in values if k != "id"}))

    # ------------------------------------------------------------ handlers
    @subscribe("person:new", "person:update", "person:delete")
    def on_person(self, event):
        with self.store.begin() as s:
            if not self.store.claim(s, event):
                return
            self._apply_ext(s, "person", event.get("record"), event["name"].endswith(":delete"),
                            (event.get("data") or {}).get("person_id"))

    @subscribe("task-type:new", "task-type:update", "task-type:delete",
               "task-status:new", "task-status:update", "task-status:delete",
               "status-automation:new", "status-automation:update", "status-automation:delete",
               "preview-background-file:new", "preview-background-file:update", "preview-background-file:delete")
    def on_catalogue(self, event):
        name = event["name"]
        kind = name.split(":")[0]
        with self.store.begin() as s:
            if not self.store.claim(s, event):
                return
            data = event.get("data") or {}
            self._apply_ext(s, kind, event.get("record"), name.endswith(":delete"),
                            data.get(f"{kind.replace('-', '_')}_id"))

    @subscribe("task:new", "task:update", "task:delete", "task:assign", "task:unassign", "task:status-changed")
    def on_task(self, event):
        with self.store.begin() as s:
            if not self.store.claim(s, event):
                return
            self._apply_task(s, event.get("record"), event["name"] == "task:delete",
                             (event.get("data") or {}).get("task_id"))

    @subscribe("preview-file:new", "preview-file:update", "preview-file:add-file", "preview-file:set-main")
    def on_preview_file(self, event):
        """A preview set as main (or the first one of an automated project) becomes the entity's preview."""
        record = event.get("record") or {}
        data = event.get("data") or {}
        with self.store.begin() as s:
            if not self.store.claim(s, event):
                return
            if record.get("id"):
                self._apply_ext(s, "preview-file", record, False)
            entity_id = data.get("entity_id") or record.get("entity_id")
            if not entity_id and record.get("task_id"):
                task = s.get(TaskRow, record["task_id"])
                entity_id = task.entity_id if task else None
            if not entity_id:
                return
            entity = s.get(Entity, entity_id)
            if entity is None:
                return
            project = s.get(Project, entity.project_id)
            if event["name"] == "preview-file:add-file" and not record.get("id"):
                return
            wants = event["name"] == "preview-file:set-main" or (project is not None and project.is_set_preview_automated)
            pid = record.get("id") or data.get("preview_file_id")
            if wants and pid and entity.preview_file_id != pid:
                entity.preview_file_id = pid
                entity.updated_at = now()
                s.flush()
                self._emit_entity(s, entity, "update")

    # ------------------------------------------------------------ set main preview (actions)
    @rpc(**expected)
    def set_main_preview(self, preview_file_id=None, task_id=None, query=None, body=None):
        """Set an entity's main preview: from a preview file (its task's entity) or a task's last preview."""
        from slatekit.errors import Invalid, NotFound

        with self.store.begin() as s:
            if preview_file_id:
                rec = s.get(ExtRecord, ("preview-file", valid_uuid(preview_file_id, "preview file id")))
                record = rec.record if rec else None
                if record is None:
                    raise NotFound(f"Preview file {preview_file_id} not found")
                task = s.get(TaskRow, record.get("task_id")) if record.get("task_id") else None
                entity_id = (task.entity_id if task else None) or record.get("entity_id")
                pid = record["id"]
            elif task_id:
                task = s.get(TaskRow, valid_uuid(task_id, "task id"))
                if task is None:
                    raise NotFound(f"Task {task_id} not found")
                entity_id = task.entity_id
                pid = task.record.get("last_preview_file_id")
                if not pid:
                    raise Invalid("This task has no preview")
            else:
                ids = (body or {}).get("task_ids") if isinstance(body, dict) else None
                if not isinstance(ids, list):
                    raise Invalid("Field task_ids must be a list", {"field": "task_ids"})
                out = []
                for tid in ids:
                    task = s.get(TaskRow, valid_uuid(tid, "task_ids"))
                    if task is None or not task.record.get("last_preview_file_id"):
                        continue
                    entity = s.get(Entity, task.entity_id)
                    if entity is None:
                        continue
                    self._check_supervisor(s, entity.project_id)
                    entity.preview_file_id = task.record["last_preview_file_id"]
                    entity.updated_at = now()
                    s.flush()
                    out.append(self._emit_entity(s, entity, "update"))
                return out
            entity = s.get(Entity, entity_id) if entity_id else None
            if entity is None:
                raise NotFound("Entity not found for this preview")
            self._check_supervisor(s, entity.project_id)
            entity.preview_file_id = pid
            entity.updated_at = now()
            s.flush()
            return self._emit_entity(s, entity, "update")

    @rpc(**expected)
    def set_shot_nb_frames(self, project_id, task_type_id, query=None, body=None):
        """Each shot of the project takes the frame count of its task's last preview (of that task type)."""
        from .breakdown import KIND_TYPE  # noqa: F401  (kind names)

        with self.store.begin() as s:
            project = self._project(s, project_id)
            self._check_supervisor(s, project.id)
            tt = valid_uuid(task_type_id, "task type id")
            shot_type = self._type_id(s, "Shot")
            rows = s.execute(select(Entity, TaskRow).join(TaskRow, TaskRow.entity_id == Entity.id).where(
                Entity.project_id == project.id, Entity.entity_type_id == shot_type, TaskRow.task_type_id == tt)).all()
            previews = {r.id: r.record for r in s.scalars(select(ExtRecord).where(
                ExtRecord.kind == "preview-file",
                ExtRecord.id.in_([t.record.get("last_preview_file_id") for _, t in rows if t.record.get("last_preview_file_id")])))}
            out = []
            for shot, task in rows:
                pf = previews.get(task.record.get("last_preview_file_id") or "")
                nb = (pf or {}).get("nb_frames")
                if isinstance(nb, int) and nb != shot.nb_frames:
                    shot.nb_frames = nb
                    shot.updated_at = now()
                    s.flush()
                    out.append(self._emit_entity(s, shot, "update"))
            return out

    @rpc(**expected)
    def get_entities_linked_with_tasks(self, entity_id, query=None, body=None):
        """Entities concept-linked to this one (both directions), each with its tasks."""
        from .models import EntityConceptLink

        with self.store.begin() as s:
            entity = self._entity(s, entity_id)
            self._check_access(s, entity.project_id)
            ids = set(s.scalars(select(EntityConceptLink.entity_in_id).where(EntityConceptLink.entity_out_id == entity.id)))
            ids |= set(s.scalars(select(EntityConceptLink.entity_out_id).where(EntityConceptLink.entity_in_id == entity.id)))
            rows = list(s.scalars(select(Entity).where(Entity.id.in_(ids)).order_by(Entity.name))) if ids else []
            tasks = self._tasks_by_entity(s, [e.id for e in rows])
            out = []
            for e in rows:
                doc = self._entity_json(s, e)
                doc["tasks"] = tasks.get(e.id, [])
                out.append(doc)
            return out

    # ------------------------------------------------------------ exports and rebuilds
    @rpc(**expected)
    def export_projects(self, after=None, limit=1000):
        with self.store.session() as s:
            stmt = select(Project).order_by(Project.id).limit(max(1, min(int(limit), 5000)))
            if after:
                stmt = stmt.where(Project.id > valid_uuid(after, "after"))
            return [self._project_json(s, p, for_event=True) for p in s.scalars(stmt)]

    @rpc(**expected)
    def export_entities(self, after=None, limit=1000):
        with self.store.session() as s:
            stmt = select(Entity).order_by(Entity.id).limit(max(1, min(int(limit), 5000)))
            if after:
                stmt = stmt.where(Entity.id > valid_uuid(after, "after"))
            return [self._entity_json(s, e) for e in s.scalars(stmt)]

    @rpc(**expected)
    def rebuild_task_projection(self):
        """Reload ``task_row`` from tasks.export_tasks (paged); returns the count."""
        after = None
        count = 0
        with self.store.begin() as s:
            s.execute(delete(TaskRow))
            while True:
                rows = self.peers.call("tasks", "export_tasks", after=after, limit=1000)
                if not rows:
                    break
                for r in rows:
                    self._apply_task(s, r, False)
                count += len(rows)
                after = rows[-1]["id"]
                if len(rows) < 1000:
                    break
        return count

    @rpc(**expected)
    def rebuild_person_projection(self):
        after = None
        count = 0
        with self.store.begin() as s:
            while True:
                rows = self.peers.call("auth", "export_persons", after=after, limit=1000)
                if not rows:
                    break
                for r in rows:
                    self._apply_ext(s, "person", r, False)
                count += len(rows)
                after = rows[-1]["id"]
                if len(rows) < 1000:
                    break
        return count
