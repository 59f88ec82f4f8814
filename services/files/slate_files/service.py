"""Entrypoints of the files service: output types, softwares, file status,
working files, output files, the project file tree and path generation.

Every RPC called by the gateway takes its path parameters by name plus
``query`` and ``body``. Names used in paths (project, entities, task types,
entity types) come from the ``ref`` projection, fed by their owners' events.
"""

from __future__ import annotations

import logging

from nameko.rpc import rpc
from slatekit.consumer import subscribe
from slatekit.crud import apply_body, apply_filters, list_rows, now, row_dict, valid_uuid
from slatekit.errors import SLATE_ERRORS, Forbidden, Invalid, NotFound
from slatekit.health import HealthMixin
from slatekit.service_rpc import ServiceRpc
from slatekit.store import Store
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from . import paths
from .models import FileStatus, OutputFile, OutputType, ProjectFileTree, Ref, Software, WorkingFile, metadata

log = logging.getLogger(__name__)
expected = {"expected_exceptions": SLATE_ERRORS}

CRUD = {
    "output-types": (OutputType, "output-type", "OutputType"),
    "softwares": (Software, "software", "Software"),
    "file-status": (FileStatus, "file-status", "FileStatus"),
    "working-files": (WorkingFile, "working-file", "WorkingFile"),
    "output-files": (OutputFile, "output-file", "OutputFile"),
}
WRITABLE = {
    "output-types": ("name", "short_name"),
    "softwares": ("name", "short_name", "archived", "version", "file_extension", "secondary_extensions",
                  "monthly_cost", "inventory_amount"),
    "file-status": ("name", "color"),
    "working-files": ("name", "description", "comment", "revision", "size", "checksum", "path", "data",
                      "validation_status", "task_id", "entity_id", "person_id", "software_id"),
    "output-files": ("name", "canceled", "size", "checksum", "description", "comment", "extension", "revision",
                     "representation", "nb_elements", "source", "path", "data", "file_status_id", "entity_id",
                     "asset_instance_id", "output_type_id", "task_type_id", "person_id", "source_file_id",
                     "temporal_entity_id"),
}
REQUIRED = {
    "output-types": ("name",),
    "softwares": ("name", "file_extension"),
    "file-status": ("name", "color"),
    "working-files": ("name",),
    "output-files": ("name",),
}
CATALOGUES = {"output-types", "softwares", "file-status"}
WRITERS = {"admin", "manager", "supervisor", "user"}

# Which events feed the ``ref`` projection, and as what kind.
ENTITY_EVENTS = [f"{k}:{a}" for k in ("asset", "shot", "sequence", "episode", "scene", "edit", "concept")
                 for a in ("new", "update", "delete")]
REF_EVENTS = {
    **{f"project:{a}": "project" for a in ("new", "update", "delete")},
    **{name: "entity" for name in ENTITY_EVENTS},
    **{f"task:{a}": "task" for a in ("new", "update", "delete")},
    **{f"task-type:{a}": "task_type" for a in ("new", "update", "delete")},
    **{f"asset-type:{a}": "entity_type" for a in ("new", "update", "delete")},
    **{f"entity-type:{a}": "entity_type" for a in ("new", "update", "delete")},
}


def _need(body, fields):
    if not isinstance(body, dict):
        raise Invalid("A JSON object is expected")
    for f in fields:
        if body.get(f) in (None, ""):
            raise Invalid(f"Field {f} is required", {"field": f})


def _int(value, what, default=0):
    if value in (None, ""):
        return default
    try:
        return int(value)
    except (TypeError, ValueError):
        raise Invalid(f"{what} must be an integer") from None


def _ts(value):
    import datetime as dt

    if not value:
        return None
    try:
        return dt.datetime.fromisoformat(str(value)).replace(tzinfo=None)
    except ValueError:
        return None


class FilesService(HealthMixin):
    name = "files"
    store = Store(metadata)
    rpc_out = ServiceRpc()

    @property
    def caller(self):
        return self.store.caller

    def _writer(self):
        if self.caller.role not in WRITERS:
            raise Forbidden("You are not allowed to write files")


    # ------------------------------------------------------------ generic CRUD
    def _model(self, model):
        if model not in CRUD:
            raise NotFound(f"Model {model} not found")
        return CRUD[model]

    def _dump(self, obj, model):
        return row_dict(obj, hidden=("project_id",), type_name=CRUD[model][2])

    def _get(self, s, model, instance_id):
        cls = self._model(model)[0]
        obj = s.get(cls, valid_uuid(instance_id))
        if obj is None:
            raise NotFound(f"{CRUD[model][2]} {instance_id} not found")
        return obj

    @rpc(**expected)
    def crud_list(self, model, query=None, body=None):
        cls = self._model(model)[0]
        with self.store.session() as s:
            stmt = apply_filters(select(cls), cls, query)
            if model in CATALOGUES:
                stmt = stmt.order_by(cls.name)
            else:
                stmt = stmt.order_by(cls.created_at, cls.id)
            return list_rows(s, cls, stmt, query, lambda o: self._dump(o, model))

    @rpc(**expected)
    def crud_get(self, model, instance_id, query=None, body=None):
        with self.store.session() as s:
            return self._dump(self._get(s, model, instance_id), model)

    @rpc(**expected)
    def crud_create(self, model, query=None, body=None):
        cls, prefix, _ = self._model(model)
        _need(body, REQUIRED[model])
        if model in CATALOGUES and self.caller.role not in ("admin", "manager"):
            raise Forbidden("Only managers can edit this catalogue")
        self._writer()
        try:
            with self.store.begin() as s:
                obj = cls()
                apply_body(obj, body, WRITABLE[model])
                if model == "output-types" and not obj.short_name:
                    obj.short_name = obj.name[:20]
                if model == "softwares" and not obj.short_name:
                    obj.short_name = obj.name[:20]
                self._fill_project(s, obj)
                s.add(obj)
                s.flush()
                doc = self._dump(obj, model)
                self.store.emit(s, f"{prefix}:new", {f"{prefix.replace('-', '_')}_id": obj.id},
                                project_id=getattr(obj, "project_id", None), record=doc)
                return doc
        except IntegrityError:
            raise Invalid(f"A {CRUD[model][2]} with these values already exists") from None

    def _fill_project(self, s, obj):
        if isinstance(obj, WorkingFile) and obj.task_id and not obj.project_id:
            task = s.get(Ref, obj.task_id)
            obj.project_id = task.project_id if task else None
        if isinstance(obj, OutputFile) and obj.entity_id and not obj.project_id:
            ent = s.get(Ref, obj.entity_id)
            obj.project_id = ent.project_id if ent else None

    @rpc(**expected)
    def crud_update(self, model, instance_id, query=None, body=None):
        cls, prefix, _ = self._model(model)
        if not isinstance(body, dict):
            raise Invalid("A JSON object is expected")
        if model in CATALOGUES and self.caller.role not in ("admin", "manager"):
            raise Forbidden("Only managers can edit this catalogue")
        self._writer()
        try:
            with self.store.begin() as s:
                obj = self._get(s, model, instance_id)
                apply_body(obj, body, WRITABLE[model])
                obj.updated_at = now()
                s.flush()
                doc = self._dump(obj, model)
                self.store.emit(s, f"{prefix}:update", {f"{prefix.replace('-', '_')}_id": obj.id},
                                project_id=getattr(obj, "project_id", None), record=doc)
                return doc
        except IntegrityError:
            raise Invalid(f"A {CRUD[model][2]} with these values already exists") from None

    @rpc(**expected)
    def crud_delete(self, model, instance_id, query=None, body=None):
        cls, prefix, _ = self._model(model)
        if model in CATALOGUES and self.caller.role not in ("admin", "manager"):
            raise Forbidden("Only managers can edit this catalogue")
        self._writer()
        with self.store.begin() as s:
            obj = self._get(s, model, instance_id)
            doc = self._dump(obj, model)
            s.delete(obj)
            self.store.emit(s, f"{prefix}:delete", {f"{prefix.replace('-', '_')}_id": doc["id"]},
                            project_id=getattr(obj, "project_id", None), record=doc)
        return None

    # ------------------------------------------------------------ names
    def _ref(self, s, ref_id, kind, what):
        ref = s.get(Ref, valid_uuid(ref_id, f"{what} id"))
        if ref is None or ref.kind != kind:
            if kind == "task":
                ref = self._task_from_owner(s, ref_id)
            if ref is None:
                raise NotFound(f"{what.capitalize()} {ref_id} not found")
        return ref

    def _task_from_owner(self, s, task_id):
        """A task not yet in the projection: ask its owner once."""
        try:
            task = self.rpc_out.call("tasks", "get_task", task_id=task_id, timeout=5)
        except Exception:  # noqa: BLE001 - owner absent or task unknown: not found
            return None
        if not isinstance(task, dict) or not task.get("id"):
            return None
        ref = Ref(id=task["id"], kind="task", name=task.get("name"), project_id=task.get("project_id"),
                  type_id=task.get("task_type_id"), entity_id=task.get("entity_id"),
                  updated_at=_ts(task.get("updated_at")))
        s.merge(ref)
        s.flush()
        return ref

    def _name(self, s, ref_id):
        if not ref_id:
            return ""
        ref = s.get(Ref, ref_id)
        return ref.name if ref is not None and ref.name else ""

    def _entity_values(self, s, entity_id) -> tuple[str, dict, str | None]:
        values: dict = {}
        ent = s.get(Ref, entity_id) if entity_id else None
        if ent is None:
            return "shot", values, None
        kind = ((ent.data or {}).get("type") or "Shot").lower()
        values["Project"] = self._name(s, ent.project_id)
        if kind == "asset":
            values["Asset"] = ent.name
            values["AssetType"] = self._name(s, ent.type_id)
        elif kind == "shot":
            values["Shot"] = ent.name
            seq = s.get(Ref, ent.parent_id) if ent.parent_id else None
            values["Sequence"] = seq.name if seq else ""
            if seq is not None and seq.parent_id:
                values["Episode"] = self._name(s, seq.parent_id)
        elif kind == "scene":
            values["Scene"] = ent.name
            values["Sequence"] = self._name(s, ent.parent_id)
        elif kind == "sequence":
            values["Sequence"] = ent.name
            values["Episode"] = self._name(s, ent.parent_id)
        elif kind == "episode":
            values["Episode"] = ent.name
        elif kind == "edit":
            values["Edit"] = ent.name
        else:
            values[kind.capitalize()] = ent.name
        return kind, values, ent.project_id

    def _tree(self, s, project_id) -> dict:
        row = s.get(ProjectFileTree, project_id) if project_id else None
        if row is not None:
            return row.file_tree
        proj = s.get(Ref, project_id) if project_id else None
        if proj is not None and isinstance((proj.data or {}).get("file_tree"), dict) and proj.data["file_tree"]:
            return proj.data["file_tree"]
        raise Invalid("No tree can be found for given project.")

    def _software(self, s, software_id):
        if software_id:
            sw = s.get(Software, valid_uuid(software_id, "software id"))
            if sw is None:
                raise Invalid("Software not found", {"software_id": software_id})
            return sw
        return s.scalars(select(Software).order_by(Software.created_at)).first()

    def _task_paths(self, s, task: Ref, body: dict):
        mode = body.get("mode") or "working"
        sep = body.get("sep") or body.get("separator") or "/"
        if sep not in ("/", "\\"):
            raise Invalid("sep must be / or \\")
        kind, values, project_id = self._entity_values(s, task.entity_id)
        values["TaskType"] = self._name(s, task.type_id)
        values["Task"] = task.name or ""
        software = self._software(s, body.get("software_id"))
        if software is not None:
            values["Software"] = software.name
        tree = self._tree(s, task.project_id or project_id)
        folder = paths.folder_path(tree, mode, kind, values, sep)
        base = paths.file_name(tree, mode, kind, values)
        return folder, base, software, sep

    # ------------------------------------------------------------ working files
    def _wf_dump(self, obj):
        return self._dump(obj, "working-files")

    @rpc(**expected)
    def working_file_path(self, task_id, query=None, body=None):
        body = body if isinstance(body, dict) else {}
        with self.store.begin() as s:
            task = self._ref(s, task_id, "task", "task")
            folder, base, _, _ = self._task_paths(s, task, body)
            return {"path": folder, "name": base}

    @rpc(**expected)
    def new_working_file(self, task_id, query=None, body=None):
        self._writer()
        body = body if isinstance(body, dict) else {}
        name = body.get("name") or "main"
        if not isinstance(name, str) or len(name) > 250:
            raise Invalid("name must be a string of at most 250 characters")
        revision = _int(body.get("revision"), "revision", 0)
        with self.store.begin() as s:
            task = self._ref(s, task_id, "task", "task")
            if revision <= 0:
                last = s.scalar(select(func.max(WorkingFile.revision)).where(
                    WorkingFile.task_id == task.id, WorkingFile.name == name))
                revision = (last or 0) + 1
            elif s.scalars(select(WorkingFile).where(WorkingFile.task_id == task.id, WorkingFile.name == name,
                                                     WorkingFile.revision == revision)).first():
                raise Invalid("The given working file already exists.")
            folder, fname, software, sep = self._task_paths(s, task, body)
            wf = WorkingFile(
                name=name, revision=revision, comment=body.get("comment") or "",
                description=body.get("description") or "", task_id=task.id, entity_id=task.entity_id,
                project_id=task.project_id, person_id=body.get("person_id") or self.caller.user_id,
                software_id=software.id if software else None, path=f"{folder}{sep}{fname}",
                size=_int(body.get("size"), "size", 0) or None, data=body.get("data") if isinstance(body.get("data"), dict) else None,
            )
            if wf.person_id:
                wf.person_id = valid_uuid(wf.person_id, "person id")
            s.add(wf)
            s.flush()
            doc = self._wf_dump(wf)
            self.store.emit(s, "working-file:new", {"working_file_id": wf.id, "task_id": task.id},
                            project_id=task.project_id, record=doc)
            return doc

    @rpc(**expected)
    def task_working_files(self, task_id, query=None, body=None):
        with self.store.session() as s:
            rows = s.scalars(select(WorkingFile).where(WorkingFile.task_id == valid_uuid(task_id, "task id"))
                             .order_by(WorkingFile.name, WorkingFile.revision.desc()))
            return [self._wf_dump(o) for o in rows]

    @rpc(**expected)
    def last_working_files(self, task_id, query=None, body=None):
        """Last revision of each working file name of a task, keyed by name."""
        with self.store.session() as s:
            out = {}
            rows = s.scalars(select(WorkingFile).where(WorkingFile.task_id == valid_uuid(task_id, "task id"))
                             .order_by(WorkingFile.name, WorkingFile.revision.desc()))
            for o in rows:
                out.setdefault(o.name, self._wf_dump(o))
            return out

    @rpc(**expected)
    def entity_working_files(self, entity_id, query=None, body=None):
        with self.store.session() as s:
            stmt = select(WorkingFile).where(WorkingFile.entity_id == valid_uuid(entity_id, "entity id"))
            if (query or {}).get("task_id"):
                stmt = stmt.where(WorkingFile.task_id == valid_uuid(query["task_id"], "task id"))
            if (query or {}).get("name"):
                stmt = stmt.where(WorkingFile.name == query["name"])
            rows = s.scalars(stmt.order_by(WorkingFile.name, WorkingFile.revision.desc()))
            return [self._wf_dump(o) for o in rows]

    @rpc(**expected)
    def comment_working_file(self, working_file_id, query=None, body=None):
        self._writer()
        _need(body, ("comment",))
        if not isinstance(body["comment"], str):
            raise Invalid("comment must be a string")
        with self.store.begin() as s:
            wf = self._get(s, "working-files", working_file_id)
            wf.comment = body["comment"]
            wf.updated_at = now()
            s.flush()
            doc = self._wf_dump(wf)
            self.store.emit(s, "working-file:update", {"working_file_id": wf.id}, project_id=wf.project_id,
                            record=doc)
            return doc

    @rpc(**expected)
    def modified_working_file(self, working_file_id, query=None, body=None):
        self._writer()
        with self.store.begin() as s:
            wf = self._get(s, "working-files", working_file_id)
            wf.updated_at = now()
            s.flush()
            doc = self._wf_dump(wf)
            self.store.emit(s, "working-file:update", {"working_file_id": wf.id}, project_id=wf.project_id,
                            record=doc)
            return doc

    @rpc(**expected)
    def get_file(self, file_id, query=None, body=None):
        """A working or an output file by id (Zou's /data/files/<id>)."""
        with self.store.session() as s:
            fid = valid_uuid(file_id, "file id")
            wf = s.get(WorkingFile, fid)
            if wf is not None:
                return self._wf_dump(wf)
            of = s.get(OutputFile, fid)
            if of is not None:
                return self._dump(of, "output-files")
            raise NotFound(f"File {file_id} not found")

    # ------------------------------------------------------------ output files
    def _of_dump(self, obj):
        return self._dump(obj, "output-files")

    def _output_args(self, s, body):
        body = body if isinstance(body, dict) else {}
        _need(body, ("output_type_id", "task_type_id"))
        output_type = s.get(OutputType, valid_uuid(body["output_type_id"], "output type id"))
        if output_type is None:
            raise Invalid("Cannot find given output type.")
        task_type_id = valid_uuid(body["task_type_id"], "task type id")
        return body, output_type, task_type_id

    def _output_scope(self, entity_id, instance_id=None, temporal_id=None):
        if instance_id:
            return [OutputFile.asset_instance_id == instance_id, OutputFile.temporal_entity_id == temporal_id]
        return [OutputFile.entity_id == entity_id]

    def _output_path(self, s, entity_id, body, output_type, task_type_id, revision, instance_id=None):
        kind, values, project_id = self._entity_values(s, entity_id)
        values["OutputType"] = output_type.name
        values["TaskType"] = self._name(s, task_type_id)
        values["OutputFile"] = body.get("name") or "main"
        values["Representation"] = body.get("representation") or ""
        values["Revision"] = f"{int(revision):03d}"
        sep = body.get("sep") or body.get("separator") or "/"
        if sep not in ("/", "\\"):
            raise Invalid("sep must be / or \\")
        tree = self._tree(s, project_id)
        folder = paths.folder_path(tree, body.get("mode") or "output", kind, values, sep)
        name = paths.file_name(tree, body.get("mode") or "output", kind, values)
        return folder, name, project_id, sep

    def _new_output(self, entity_id, body, instance_id=None, temporal_id=None):
        self._writer()
        entity_id = valid_uuid(entity_id, "entity id") if entity_id else None
        instance_id = valid_uuid(instance_id, "asset instance id") if instance_id else None
        temporal_id = valid_uuid(temporal_id, "entity id") if temporal_id else None
        with self.store.begin() as s:
            body, output_type, task_type_id = self._output_args(s, body)
            name = body.get("name") or "main"
            representation = body.get("representation") or ""
            if not isinstance(name, str) or not isinstance(representation, str):
                raise Invalid("name and representation must be strings")
            scope = self._output_scope(entity_id, instance_id, temporal_id) + [
                OutputFile.output_type_id == output_type.id, OutputFile.task_type_id == task_type_id,
                OutputFile.name == name, OutputFile.representation == representation]
            revision = _int(body.get("revision"), "revision", 0)
            if revision <= 0:
                last = s.scalar(select(func.max(OutputFile.revision)).where(*scope))
                revision = (last or 0) + 1
            elif s.scalars(select(OutputFile).where(*scope, OutputFile.revision == revision)).first():
                raise Invalid("The given output file already exists.")
            working = None
            if body.get("working_file_id"):
                working = s.get(WorkingFile, valid_uuid(body["working_file_id"], "working file id"))
                if working is None:
                    raise Invalid("Cannot find given working file.")
            target = temporal_id if instance_id else entity_id
            folder, fname, project_id, sep = self._output_path(s, target, body, output_type, task_type_id,
                                                               revision, instance_id)
            ext = body.get("extension") or ""
            if not isinstance(ext, str) or len(ext) > 10:
                raise Invalid("extension must be a string of at most 10 characters")
            of = OutputFile(
                name=name, representation=representation, revision=revision, comment=body.get("comment") or "",
                extension=ext, nb_elements=_int(body.get("nb_elements"), "nb_elements", 1) or 1,
                output_type_id=output_type.id, task_type_id=task_type_id, entity_id=entity_id,
                asset_instance_id=instance_id, temporal_entity_id=temporal_id, project_id=project_id,
                person_id=valid_uuid(body.get("person_id") or self.caller.user_id, "person id"),
                file_status_id=valid_uuid(body["file_status_id"], "file status id") if body.get("file_status_id") else None,
                source_file_id=working.id if working else None,
                path=f"{folder}{sep}{fname}",
            )
            if of.file_status_id is None:
                default = s.scalars(select(FileStatus).where(FileStatus.name == "Created")).first()
                if default is None:
                    default = FileStatus(name="Created", color="#ff0000")
                    s.add(default)
                    s.flush()
                of.file_status_id = default.id
            s.add(of)
            s.flush()
            doc = self._of_dump(of)
            self.store.emit(s, "output-file:new", {"output_file_id": of.id}, project_id=project_id, record=doc)
            out = {**doc, "folder_path": folder, "file_name": fname}
            if working is not None:
                out["source_file"] = self._wf_dump(working)
            return out

    @rpc(**expected)
    def new_entity_output_file(self, entity_id, query=None, body=None):
        return self._new_output(entity_id, body)

    @rpc(**expected)
    def new_instance_output_file(self, asset_instance_id, temporal_entity_id, query=None, body=None):
        return self._new_output(None, body, asset_instance_id, temporal_entity_id)

    def _next_revision(self, body, entity_id=None, instance_id=None, temporal_id=None):
        with self.store.session() as s:
            body, output_type, task_type_id = self._output_args(s, body)
            scope = self._output_scope(entity_id, instance_id, temporal_id) + [
                OutputFile.output_type_id == output_type.id, OutputFile.task_type_id == task_type_id,
                OutputFile.name == (body.get("name") or "main")]
            if body.get("representation"):
                scope.append(OutputFile.representation == body["representation"])
            last = s.scalar(select(func.max(OutputFile.revision)).where(*scope))
            return {"next_revision": (last or 0) + 1}

    @rpc(**expected)
    def next_entity_output_revision(self, entity_id, query=None, body=None):
        return self._next_revision(body, valid_uuid(entity_id, "entity id"))

    @rpc(**expected)
    def next_instance_output_revision(self, asset_instance_id, temporal_entity_id, query=None, body=None):
        return self._next_revision(body, None, valid_uuid(asset_instance_id, "asset instance id"),
                                   valid_uuid(temporal_entity_id, "entity id"))

    def _path(self, body, entity_id):
        with self.store.session() as s:
            body, output_type, task_type_id = self._output_args(s, body)
            revision = _int(body.get("revision"), "revision", 1) or 1
            folder, fname, _, _ = self._output_path(s, entity_id, body, output_type, task_type_id, revision)
            return {"folder_path": folder, "file_name": fname}

    @rpc(**expected)
    def entity_output_file_path(self, entity_id, query=None, body=None):
        return self._path(body, valid_uuid(entity_id, "entity id"))

    @rpc(**expected)
    def instance_output_file_path(self, asset_instance_id, temporal_entity_id, query=None, body=None):
        return self._path(body, valid_uuid(temporal_entity_id, "entity id"))

    def _list_outputs(self, scope, query, last=False):
        query = query or {}
        with self.store.session() as s:
            stmt = select(OutputFile).where(*scope)
            for key in ("output_type_id", "task_type_id", "file_status_id"):
                if query.get(key):
                    stmt = stmt.where(getattr(OutputFile, key) == valid_uuid(query[key], key))
            for key in ("name", "representation"):
                if query.get(key):
                    stmt = stmt.where(getattr(OutputFile, key) == query[key])
            rows = list(s.scalars(stmt.order_by(OutputFile.revision.desc(), OutputFile.created_at.desc())))
            if not last:
                return [self._of_dump(o) for o in rows]
            out = []
            seen = set()
            for o in rows:
                key = (o.task_type_id, o.output_type_id, o.name, o.representation)
                if key in seen:
                    continue
                seen.add(key)
                out.append(self._of_dump(o))
            return out

    @rpc(**expected)
    def entity_output_files(self, entity_id, query=None, body=None):
        return self._list_outputs([OutputFile.entity_id == valid_uuid(entity_id, "entity id")], query)

    @rpc(**expected)
    def entity_last_output_files(self, entity_id, query=None, body=None):
        return self._list_outputs([OutputFile.entity_id == valid_uuid(entity_id, "entity id")], query, last=True)

    @rpc(**expected)
    def entity_output_type_files(self, entity_id, output_type_id, query=None, body=None):
        return self._list_outputs([OutputFile.entity_id == valid_uuid(entity_id, "entity id"),
                                   OutputFile.output_type_id == valid_uuid(output_type_id, "output type id")], query)

    @rpc(**expected)
    def instance_output_files(self, asset_instance_id, temporal_entity_id=None, query=None, body=None):
        scope = [OutputFile.asset_instance_id == valid_uuid(asset_instance_id, "asset instance id")]
        if temporal_entity_id or (query or {}).get("temporal_entity_id"):
            scope.append(OutputFile.temporal_entity_id == valid_uuid(
                temporal_entity_id or query["temporal_entity_id"], "entity id"))
        return self._list_outputs(scope, query)

    @rpc(**expected)
    def instance_last_output_files(self, asset_instance_id, temporal_entity_id, query=None, body=None):
        return self._list_outputs([OutputFile.asset_instance_id == valid_uuid(asset_instance_id, "asset instance id"),
                                   OutputFile.temporal_entity_id == valid_uuid(temporal_entity_id, "entity id")],
                                  query, last=True)

    @rpc(**expected)
    def instance_output_type_files(self, asset_instance_id, temporal_entity_id, output_type_id, query=None, body=None):
        return self._list_outputs([OutputFile.asset_instance_id == valid_uuid(asset_instance_id, "asset instance id"),
                                   OutputFile.temporal_entity_id == valid_uuid(temporal_entity_id, "entity id"),
                                   OutputFile.output_type_id == valid_uuid(output_type_id, "output type id")], query)

    def _output_types_of(self, scope):
        with self.store.session() as s:
            ids = select(OutputFile.output_type_id).where(*scope).distinct()
            rows = s.scalars(select(OutputType).where(OutputType.id.in_(ids)).order_by(OutputType.name))
            return [self._dump(o, "output-types") for o in rows]

    @rpc(**expected)
    def entity_output_types(self, entity_id, query=None, body=None):
        return self._output_types_of([OutputFile.entity_id == valid_uuid(entity_id, "entity id")])

    @rpc(**expected)
    def instance_output_types(self, asset_instance_id, temporal_entity_id, query=None, body=None):
        return self._output_types_of([
            OutputFile.asset_instance_id == valid_uuid(asset_instance_id, "asset instance id"),
            OutputFile.temporal_entity_id == valid_uuid(temporal_entity_id, "entity id")])

    @rpc(**expected)
    def project_output_files(self, project_id, query=None, body=None):
        return self._list_outputs([OutputFile.project_id == valid_uuid(project_id, "project id")], query)

    # ------------------------------------------------------------ file tree
    @rpc(**expected)
    def set_file_tree(self, project_id, query=None, body=None):
        if self.caller.role not in ("admin", "manager"):
            raise Forbidden("Only managers can set a project's file tree")
        _need(body, ())
        if body.get("tree_name"):
            tree = paths.named_tree(str(body["tree_name"]))
        else:
            tree = paths.validate_tree(body.get("file_tree"))
        project_id = valid_uuid(project_id, "project id")
        with self.store.begin() as s:
            row = s.get(ProjectFileTree, project_id)
            if row is None:
                row = ProjectFileTree(project_id=project_id, file_tree=tree, updated_at=now())
                s.add(row)
            else:
                row.file_tree = tree
                row.updated_at = now()
            proj = s.get(Ref, project_id)
            doc = {"id": project_id, "file_tree": tree, "name": proj.name if proj else None, "type": "Project"}
            self.store.emit(s, "project:file-tree-set", {"project_id": project_id}, project_id=project_id,
                            record={"id": project_id, "file_tree": tree})
            return doc

    @rpc(**expected)
    def guess_from_path(self, query=None, body=None):
        _need(body, ("project_id", "file_path"))
        if not isinstance(body["file_path"], str):
            raise Invalid("file_path must be a string")
        project_id = valid_uuid(body["project_id"], "project id")
        with self.store.session() as s:
            tree = self._tree(s, project_id)
            found = paths.guess_from_path(tree, body["file_path"])
            if not found["kind"]:
                return []
            values = found["values"]
            name = values.get({"asset": "Asset", "shot": "Shot", "sequence": "Sequence", "scene": "Scene",
                               "episode": "Episode", "edit": "Edit"}[found["kind"]])
            if not name:
                return []
            rows = s.scalars(select(Ref).where(Ref.kind == "entity", Ref.project_id == project_id,
                                               func.lower(Ref.name) == name.lower()))
            return [{"id": r.id, "name": r.name, "type": (r.data or {}).get("type"), "project_id": r.project_id}
                    for r in rows]

    # ------------------------------------------------------------ working file binaries
    # The gateway streams the bytes to storage (never through RabbitMQ) under
    # ``working-files/<id[0:2]>/<id[2:4]>/<id>`` (the previews service's key
    # layout); these RPCs are the access checks and the bookkeeping.
    @staticmethod
    def _wf_key(wf_id: str) -> str:
        return f"working-files/{wf_id[:2]}/{wf_id[2:4]}/{wf_id}"

    def _check_wf_access(self, s, wf: WorkingFile) -> None:
        """Zou's check_task_access: an admin, or a member of the task's
        project (a vendor only on a task assigned to them)."""
        role = self.caller.role
        if role == "admin":
            return
        project_id = wf.project_id
        if project_id is None and wf.task_id:
            ref = self._ref(s, wf.task_id, "task", "task")
            project_id = ref.project_id
        try:
            team = self.rpc_out.call("assets", "get_project_team", project_id=project_id, timeout=5) \
                if project_id else []
        except Exception:  # noqa: BLE001 - owner unreachable: no proof of membership
            raise Forbidden("You don't have access to this project") from None
        members = {(t.get("person_id") or t.get("id")) if isinstance(t, dict) else t for t in team or []}
        if self.caller.user_id not in members:
            raise Forbidden("You don't have access to this project")
        if role == "vendor":
            try:
                task = self.rpc_out.call("tasks", "get_task", task_id=wf.task_id, timeout=5)
            except Exception:  # noqa: BLE001
                raise Forbidden("You are not assigned to this task") from None
            if self.caller.user_id not in ((task or {}).get("assignees") or []):
                raise Forbidden("You are not assigned to this task")

    @rpc(**expected)
    def authorize_working_file_upload(self, working_file_id):
        """Checked by the gateway before it streams a working file's bytes."""
        with self.store.session() as s:
            wf = self._get(s, "working-files", working_file_id)
            self._check_wf_access(s, wf)
            return {"id": wf.id, "key": self._wf_key(wf.id)}

    @rpc(**expected)
    def set_working_file_binary(self, working_file_id, key, size=None):
        """The gateway stored the bytes at ``key``: record their size."""
        with self.store.begin() as s:
            wf = self._get(s, "working-files", working_file_id)
            self._check_wf_access(s, wf)
            if key != self._wf_key(wf.id):
                raise Invalid("Bad working file storage key")
            if size is not None:
                wf.size = _int(size, "size", 0)
            wf.updated_at = now()
            s.flush()
            doc = self._wf_dump(wf)
            self.store.emit(s, "working-file:update", {"working_file_id": wf.id}, project_id=wf.project_id,
                            record=doc)
            return doc

    @rpc(**expected)
    def working_file_download(self, working_file_id):
        """Which key the gateway streams for GET /data/working-files/<id>/file."""
        with self.store.session() as s:
            wf = self._get(s, "working-files", working_file_id)
            self._check_wf_access(s, wf)
            base = (wf.path or "").replace("\\", "/").rsplit("/", 1)[-1] or f"{wf.name or wf.id}"
            return {"key": self._wf_key(wf.id), "content_type": "application/octet-stream",
                    "filename": base, "attachment": True}

    # ------------------------------------------------------------ projection
    @subscribe(*REF_EVENTS)
    def on_ref(self, event):
        kind = REF_EVENTS.get(event.get("name"))
        record = event.get("record") or {}
        rid = record.get("id")
        if not kind or not rid:
            return
        with self.store.begin() as s:
            if not self.store.claim(s, event):
                return
            current = s.get(Ref, rid)
            if event["name"].endswith(":delete"):
                if current is not None:
                    s.delete(current)
                return
            stamp = _ts(record.get("updated_at"))
            if current is not None and current.updated_at and stamp and stamp < current.updated_at:
                return
            ref = current or Ref(id=rid, kind=kind)
            ref.kind = kind
            ref.name = record.get("name")
            ref.project_id = record.get("project_id") if kind != "project" else rid
            ref.parent_id = record.get("parent_id")
            ref.type_id = record.get("task_type_id") if kind == "task" else record.get("entity_type_id")
            ref.entity_id = record.get("entity_id")
            ref.data = {"type": record.get("type"), "file_tree": record.get("file_tree")}
            ref.updated_at = stamp
            if current is None:
                s.add(ref)


Service = FilesService
