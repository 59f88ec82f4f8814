"""Entrypoints of the files service: output types, softwares, file status,
working files, output files, the project file tree and path generation.

Every RPC called by the gateway takes its path parameters by name plus
``query`` and ``body``. Names used in paths (project, entities, task types,
entity types) come from the ``ref`` projection, fed by their owners' events.
"""

from __future__ import annotations

import datetime as dt
import logging
import uuid

from nameko.rpc import rpc
from slatekit.consumer import subscribe
from slatekit.crud import apply_body, apply_filters, list_rows, now, row_dict, valid_uuid
from slatekit.errors import SLATE_ERRORS, Forbidden, Invalid, NotFound
from slatekit.health import HealthMixin
from slatekit.service_rpc import ServiceRpc
from slatekit.store import Store
from sqlalchemy import func, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.exc import DataError, IntegrityError
from sqlalchemy.orm import object_session

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
            # Zou's CRUD answer for a missing column.
            raise Invalid("A required field is missing.", {"field": f})


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


_TOO_LONG = "A value is too long or out of range (a name, a path, a number)."


def _precise_now():
    """Microseconds kept in the database (JSON still shows seconds): lists
    ordered by creation keep the creation order, as Zou's do."""
    return dt.datetime.now(dt.UTC).replace(tzinfo=None)


def _is_uuid(value) -> bool:
    try:
        uuid.UUID(str(value))
        return True
    except (ValueError, TypeError, AttributeError):
        return False


def _uuid404(value, what="id"):
    """An id in a URL: malformed is a 404, as Zou's routes answer."""
    if not _is_uuid(value):
        raise NotFound(f"{what.capitalize()} {value} not found")
    return str(uuid.UUID(str(value)))


def _uuid400(value, what="id"):
    return valid_uuid(value, what)


def _body(body, str_fields=None, int_fields=None, opt_fields=(), required=()):
    """Validate a JSON body like Zou's pydantic schemas: defaults for the
    absent fields, 400 for a missing required one or a wrong type."""
    if body is None:
        body = {}
    if not isinstance(body, dict):
        raise Invalid("Validation error.")
    out = {}
    for key in required:
        value = body.get(key)
        if value is None or (isinstance(value, str) and not value):
            raise Invalid("Validation error.", {"data": {"errors": [{"field": key, "message": "Field required"}]}})
        if not isinstance(value, str):
            raise Invalid("Validation error.", {"data": {"errors": [{"field": key, "message": "Input should be a valid string"}]}})
        out[key] = value
    for key, default in (str_fields or {}).items():
        value = body.get(key, default)
        if value is None:
            value = default
        if not isinstance(value, str):
            raise Invalid("Validation error.", {"data": {"errors": [{"field": key, "message": "Input should be a valid string"}]}})
        out[key] = value
    for key, default in (int_fields or {}).items():
        value = body.get(key, default)
        if isinstance(value, bool) or value is None:
            value = default if value is None else int(value)
        try:
            out[key] = int(value) if not isinstance(value, float) or value.is_integer() else None
            if out[key] is None or not -2**31 <= out[key] < 2**31:
                raise ValueError
        except (TypeError, ValueError):
            raise Invalid("Validation error.", {"data": {"errors": [{
                "field": key, "message": "Input should be a valid integer, unable to parse string as an integer"}]}}) \
                from None
    for key in opt_fields:
        value = body.get(key)
        if value is not None and not isinstance(value, str):
            raise Invalid("Validation error.", {"data": {"errors": [{"field": key, "message": "Input should be a valid string"}]}})
        out[key] = value or None
    return out


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

    def _dump(self, obj, model, with_source=True):
        doc = row_dict(obj, hidden=("project_id",), type_name=CRUD[model][2])
        if model == "output-files" and with_source:
            # Zou serialises an output file with its source working file.
            session = object_session(obj)
            source = session.get(WorkingFile, obj.source_file_id) if session and obj.source_file_id else None
            doc["source_file"] = self._dump(source, "working-files") if source is not None else None
        return doc

    def _dump_one(self, s, obj, model):
        """A single row as Zou serialises it with its relations: a working
        file lists its outputs' ids, an output file embeds its source file."""
        doc = self._dump(obj, model)
        if model == "working-files":
            doc["outputs"] = list(s.scalars(select(OutputFile.id).where(OutputFile.source_file_id == obj.id)
                                            .order_by(OutputFile.created_at)))
        return doc

    def _dump_outputs(self, s, rows):
        rows = list(rows)
        ids = {o.source_file_id for o in rows if o.source_file_id}
        sources = {w.id: self._wf_dump(w) for w in s.scalars(select(WorkingFile).where(WorkingFile.id.in_(ids)))} \
            if ids else {}
        return [{**self._of_dump(o, with_source=False), "source_file": sources.get(o.source_file_id)} for o in rows]

    def _get(self, s, model, instance_id):
        cls = self._model(model)[0]
        obj = s.get(cls, _uuid404(instance_id, CRUD[model][2]))
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
            return self._dump_one(s, self._get(s, model, instance_id), model)

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
        except DataError:
            raise Invalid(_TOO_LONG) from None

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
        except DataError:
            raise Invalid(_TOO_LONG) from None

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
        """A projected row by id: a malformed or unknown id is a 404, as in Zou."""
        ref = s.get(Ref, _uuid404(ref_id, what))
        if ref is None or ref.kind != kind:
            if kind == "task":
                ref = self._task_from_owner(s, ref_id)
            if ref is None or ref.kind != kind:
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
        # The projection consumer may insert the same row at the same moment:
        # whichever comes second keeps the first one's row.
        s.execute(pg_insert(Ref.__table__).values(
            id=task["id"], kind="task", name=task.get("name"), project_id=task.get("project_id"),
            type_id=task.get("task_type_id"), entity_id=task.get("entity_id"),
            updated_at=_ts(task.get("updated_at"))).on_conflict_do_nothing(index_elements=["id"]))
        return s.get(Ref, task["id"])

    def _name(self, s, ref_id):
        if not ref_id:
            return ""
        ref = s.get(Ref, ref_id)
        return ref.name if ref is not None and ref.name else ""

    @staticmethod
    def _fields(ref):
        if ref is None:
            return None
        data = ref.data or {}
        out = {"name": ref.name or "", "id": ref.id}
        for key in ("short_name", "number"):
            if data.get(key) is not None:
                out[key] = data[key]
        return out

    def _get_or_create(self, s, cls, name, **fields):
        row = s.scalars(select(cls).where(cls.name == name)).first()
        if row is None:
            row = cls(name=name, **fields)
            s.add(row)
            s.flush()
            prefix = {Software: "software", OutputType: "output-type", FileStatus: "file-status"}[cls]
            self.store.emit(s, f"{prefix}:new", {f"{prefix.replace('-', '_')}_id": row.id},
                            record=row_dict(row, type_name=cls.__name__))
        return row

    def _instance(self, asset_instance_id):
        """An asset instance, asked of its owner (not projected here)."""
        instance_id = _uuid404(asset_instance_id, "asset instance id")
        try:
            row = self.rpc_out.call("assets", "crud_get", model="asset-instances", instance_id=instance_id,
                                    timeout=5)
        except (NotFound, Invalid):
            raise NotFound(f"Asset instance {asset_instance_id} not found") from None
        if not isinstance(row, dict) or not row.get("asset_id"):
            raise NotFound(f"Asset instance {asset_instance_id} not found")
        return row

    def _values(self, s, entity_id, *, task=None, task_type_id=None, software=None, output_type=None,
                name="", representation="", revision=1, instance=None):
        """Template kind, token values and project id for an entity (Zou's
        get_folder_from_datatype); software and output type fall back to
        3dsmax and Geometry, created when a template asks for them."""
        ent = s.get(Ref, entity_id) if entity_id else None
        if ent is None:
            raise NotFound(f"Entity {entity_id} not found")
        kind = ((ent.data or {}).get("type") or "Asset").lower()
        me = self._fields(ent)
        etype = s.get(Ref, ent.type_id) if ent.type_id else None
        seq = episode = None
        if kind in ("shot", "scene"):
            seq = s.get(Ref, ent.parent_id) if ent.parent_id else None
            episode = s.get(Ref, seq.parent_id) if seq is not None and seq.parent_id else None
        elif kind == "sequence":
            seq = ent
            episode = s.get(Ref, ent.parent_id) if ent.parent_id else None
        elif kind == "episode":
            episode = ent
        seq_fields = None
        if seq is not None:
            seq_fields = {k: paths.sequence_name(v) for k, v in self._fields(seq).items()}
        elif kind not in ("shot", "scene"):
            seq_fields = ""
        task_type = s.get(Ref, task.type_id if task is not None else task_type_id) \
            if (task is not None and task.type_id) or task_type_id else None
        svc = self

        class Values(dict):
            def get(self, key, default=None):
                if key == "Software":
                    sw = software or svc._get_or_create(s, Software, "3dsmax", short_name="max",
                                                        file_extension=".max")
                    return {"name": sw.name, "short_name": sw.short_name, "id": sw.id}
                if key == "AssetType" and dict.get(self, "AssetType") is None:
                    # Zou reads it as an asset type: a shot's or an edit's
                    # type is none, the route answers 404.
                    raise NotFound(f"Asset type {ent.type_id} not found")
                if key == "OutputType":
                    ot = output_type or svc._get_or_create(s, OutputType, "Geometry")
                    return {"name": ot.name.lower(), "short_name": ot.short_name.lower(), "id": ot.id}
                return dict.get(self, key, default)

        values = Values({
            "Project": self._fields(s.get(Ref, ent.project_id)) if ent.project_id else None,
            "Shot": me, "Asset": me, "Scene": me, "TemporalEntity": me,
            "TemporalEntityType": {**(self._fields(etype) or {}), "name": ((etype.name if etype else "") or
                                                                       (ent.data or {}).get("type") or "").lower()},
            "AssetType": self._fields(etype) if kind == "asset" else None,
            "Sequence": seq_fields,
            "Episode": self._fields(episode) if episode is not None else "e001",
            "Task": self._fields(task),
            "TaskType": self._fields(task_type) if task_type is not None else "",
            "Department": "",
            "Representation": representation or "",
            "Name": name, "OutputFile": name, "WorkingFile": name,
            "Version": paths.revision_text(revision), "Revision": paths.revision_text(revision),
        })
        if instance is not None:
            # Zou: the asset comes from the instance, everything else from
            # the temporal entity (shot, scene) the instance sits in.
            asset = s.get(Ref, instance["asset_id"])
            if asset is None:
                raise NotFound(f"Asset {instance['asset_id']} not found")
            asset_type = s.get(Ref, asset.type_id) if asset.type_id else None
            number = str(instance.get("number") or 0).zfill(4)
            values["Asset"] = self._fields(asset)
            values["AssetType"] = self._fields(asset_type) or ""
            values["Instance"] = {"name": instance.get("name") or number, "number": number,
                                  "short_name": number, "id": number}
            kind = "instance_asset" if instance.get("target_asset_id") else "instance"
        return kind, values, ent.project_id

    def _tree(self, s, project_id):
        """The project's file tree, None when it has none: the last one set,
        by set-file-tree or by the project's own ``file_tree`` (its events)."""
        row = s.get(ProjectFileTree, project_id) if project_id else None
        if row is not None:
            return row.file_tree
        proj = s.get(Ref, project_id) if project_id else None
        own = (proj.data or {}).get("file_tree") if proj is not None else None
        return own if isinstance(own, dict) and own else None

    def _software(self, s, software_id):
        sw = s.get(Software, _uuid404(software_id, "software id"))
        if sw is None:
            raise NotFound(f"Software {software_id} not found")
        return sw

    def _task_paths(self, s, task: Ref, *, mode, software, name, revision, sep):
        kind, values, project_id = self._values(s, task.entity_id, task=task, software=software, name=name,
                                                revision=revision)
        tree = self._tree(s, task.project_id or project_id)
        folder = paths.folder_path(tree, mode, kind, values, sep)
        base = paths.file_name(tree, mode, kind, values)
        return folder, base

    def _next_working_revision(self, s, task_id, name):
        last = s.scalar(select(func.max(WorkingFile.revision)).where(
            WorkingFile.task_id == task_id, WorkingFile.name == name))
        return (last or 0) + 1

    # ------------------------------------------------------------ working files
    def _wf_dump(self, obj):
        return self._dump(obj, "working-files")

    @rpc(**expected)
    def working_file_path(self, task_id, query=None, body=None):
        """Zou reads ``sep`` here (gazu sends ``separator``, which is ignored)
        and always makes sure a "3ds Max" software exists, the default one."""
        body = _body(body, str_fields={"name": "main", "mode": "working", "comment": "", "sep": "/"},
                     int_fields={"revision": 0}, opt_fields=("software_id",))
        with self.store.begin() as s:
            task = self._ref(s, task_id, "task", "task")
            self._check_project(task.project_id)
            default = self._get_or_create(s, Software, "3ds Max", short_name="max", file_extension=".max")
            software = self._software(s, body["software_id"]) if body["software_id"] else default
            revision = body["revision"] or self._next_working_revision(s, task.id, body["name"])
            folder, base = self._task_paths(s, task, mode=body["mode"], software=software, name=body["name"],
                                            revision=revision, sep=body["sep"])
            return {"path": folder, "name": base}

    @rpc(**expected)
    def new_working_file(self, task_id, query=None, body=None):
        try:
            return self._new_working_file(task_id, body)
        except DataError:
            raise Invalid(_TOO_LONG) from None

    def _new_working_file(self, task_id, body):
        self._writer()
        body = _body(body, str_fields={"description": "", "mode": "working", "comment": "", "sep": "/"},
                     int_fields={"revision": 0}, opt_fields=("person_id", "software_id"), required=("name",))
        name = body["name"]
        if len(name) > 250:
            raise Invalid("name must be a string of at most 250 characters")
        with self.store.begin() as s:
            task = self._ref(s, task_id, "task", "task")
            self._check_project(task.project_id)
            if body["software_id"]:
                software = self._software(s, body["software_id"])
            else:
                software = self._get_or_create(s, Software, "Blender", short_name="blender",
                                               file_extension=".blend")
            revision = body["revision"] or self._next_working_revision(s, task.id, name)
            if s.scalars(select(WorkingFile).where(WorkingFile.task_id == task.id, WorkingFile.name == name,
                                                   WorkingFile.revision == revision)).first():
                raise Invalid("The given working file already exists.")
            # Zou renders the folder with the server's separator and joins
            # the file name with the given one.
            folder, fname = self._task_paths(s, task, mode=body["mode"], software=software, name=name,
                                             revision=revision, sep="/")
            stamp = _precise_now()
            wf = WorkingFile(
                created_at=stamp, updated_at=stamp, name=name, revision=revision, comment=body["comment"], task_id=task.id, entity_id=task.entity_id,
                project_id=task.project_id,
                person_id=_uuid400(body["person_id"] or self.caller.user_id, "person id"),
                software_id=software.id, path=f"{folder}{body['sep']}{fname}",
            )
            s.add(wf)
            s.flush()
            doc = self._wf_dump(wf)
            self.store.emit(s, "working-file:new", {"working_file_id": wf.id, "task_id": task.id},
                            project_id=task.project_id, record=doc)
            return doc

    @rpc(**expected)
    def task_working_files(self, task_id, query=None, body=None):
        with self.store.begin() as s:
            task = self._ref(s, task_id, "task", "task")
            self._check_project(task.project_id)
            rows = s.scalars(select(WorkingFile).where(WorkingFile.task_id == task.id, WorkingFile.revision >= 0)
                             .order_by(WorkingFile.revision.desc(), WorkingFile.created_at.desc()))
            return [self._wf_dump(o) for o in rows]

    @rpc(**expected)
    def last_working_files(self, task_id, query=None, body=None):
        """Last revision of each working file name of a task, keyed by name."""
        with self.store.begin() as s:
            task = self._ref(s, task_id, "task", "task")
            self._check_project(task.project_id)
            out = {}
            rows = s.scalars(select(WorkingFile).where(WorkingFile.task_id == task.id)
                             .order_by(WorkingFile.name, WorkingFile.revision.desc()))
            for o in rows:
                out.setdefault(o.name, self._wf_dump(o))
            return out

    @rpc(**expected)
    def entity_working_files(self, entity_id, query=None, body=None):
        with self.store.session() as s:
            ent = self._ref(s, entity_id, "entity", "entity")
            self._check_project(ent.project_id)
            stmt = select(WorkingFile).where(WorkingFile.entity_id == ent.id, WorkingFile.revision >= 0)
            if (query or {}).get("task_id"):
                stmt = stmt.where(WorkingFile.task_id == _uuid400(query["task_id"], "task id"))
            if (query or {}).get("name"):
                stmt = stmt.where(WorkingFile.name == query["name"])
            rows = s.scalars(stmt.order_by(WorkingFile.revision.desc(), WorkingFile.created_at.desc()))
            return [self._wf_dump(o) for o in rows]

    @rpc(**expected)
    def comment_working_file(self, working_file_id, query=None, body=None):
        self._writer()
        body = _body(body, required=("comment",))
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
            fid = _uuid404(file_id, "file id")
            wf = s.get(WorkingFile, fid)
            if wf is not None:
                self._check_project(wf.project_id)
                return self._dump_one(s, wf, "working-files")
            of = s.get(OutputFile, fid)
            if of is not None:
                self._check_project(of.project_id)
                return self._dump_one(s, of, "output-files")
            raise NotFound(f"File {file_id} not found")

    # ------------------------------------------------------------ output files
    def _of_dump(self, obj, with_source=True):
        return self._dump(obj, "output-files", with_source)

    def _output_args(self, s, body, schema):
        """Zou's OutputFilePathSchema / NewOutputFileSchema / NextRevisionSchema."""
        body = _body(body, str_fields=schema, int_fields={"revision": 0, "nb_elements": 1},
                     opt_fields=("person_id", "working_file_id", "file_status_id"),
                     required=("output_type_id", "task_type_id"))
        return body

    def _output_type(self, s, output_type_id, missing=NotFound):
        ot = s.get(OutputType, _uuid404(output_type_id, "output type id")) if _is_uuid(output_type_id) else None
        if ot is None:
            raise missing("Cannot find given output type.")
        return ot

    def _task_type(self, s, task_type_id):
        return self._ref(s, task_type_id, "task_type", "task type")

    def _last_output_revision(self, s, entity_id, output_type_id, task_type_id, name, instance_id=None,
                              temporal_id=None):
        scope = [OutputFile.output_type_id == output_type_id, OutputFile.task_type_id == task_type_id,
                 OutputFile.name == name, OutputFile.revision > 0]
        if instance_id is None:
            scope.append(OutputFile.entity_id == entity_id)
        else:
            scope += [OutputFile.asset_instance_id == instance_id, OutputFile.temporal_entity_id == temporal_id]
        return s.scalar(select(func.max(OutputFile.revision)).where(*scope)) or 0

    def _output_path(self, s, entity_id, body, output_type, task_type, revision, folder_revision, sep, mode,
                     nb_elements=1, instance=None):
        kind, values, project_id = self._values(s, entity_id, task_type_id=task_type.id, output_type=output_type,
                                                name=body["name"], representation=body["representation"],
                                                revision=folder_revision, instance=instance)
        tree = self._tree(s, project_id)
        folder = paths.folder_path(tree, mode, kind, values, sep)
        values["Version"] = values["Revision"] = paths.revision_text(revision)
        values["Representation"] = ""
        name = paths.file_name(tree, mode, kind, values, nb_elements)
        return folder, name, project_id

    def _new_output(self, entity_id, body, instance_id=None, temporal_id=None):
        try:
            return self._create_output(entity_id, body, instance_id, temporal_id)
        except DataError:
            raise Invalid(_TOO_LONG) from None

    def _create_output(self, entity_id, body, instance_id=None, temporal_id=None):
        self._writer()
        with self.store.begin() as s:
            body = self._output_args(s, body, {"name": "main", "mode": "output", "comment": "", "extension": "",
                                               "representation": "", "sep": "/"})
            instance = None
            if instance_id:
                instance = self._instance(instance_id)
                instance_id = instance["id"]
                temporal_id = _uuid404(temporal_id, "entity id")
                target = self._ref(s, temporal_id, "entity", "entity").id
            else:
                target = self._ref(s, entity_id, "entity", "entity").id
            self._check_project(s.get(Ref, target).project_id)
            name, representation, ext = body["name"], body["representation"], body["extension"]
            if len(ext) > 10 or len(representation) > 20 or len(name) > 250:
                raise Invalid("name, representation or extension is too long")
            output_type = self._output_type(s, body["output_type_id"], missing=Invalid)
            task_type = self._task_type(s, body["task_type_id"])
            working = None
            if body["working_file_id"] and _is_uuid(body["working_file_id"]):
                working = s.get(WorkingFile, valid_uuid(body["working_file_id"]))
            if body["person_id"] and not _is_uuid(body["person_id"]):
                raise Invalid("Cannot find given person.")
            revision = body["revision"]
            if revision < 1:
                revision = self._last_output_revision(
                    s, None if instance_id else target, output_type.id, task_type.id, name, instance_id,
                    temporal_id) + 1
            scope = [OutputFile.output_type_id == output_type.id, OutputFile.task_type_id == task_type.id,
                     OutputFile.name == name, OutputFile.representation == representation,
                     OutputFile.revision == revision]
            scope += ([OutputFile.asset_instance_id == instance_id, OutputFile.temporal_entity_id == temporal_id]
                      if instance_id else [OutputFile.entity_id == target, OutputFile.asset_instance_id.is_(None)])
            if s.scalars(select(OutputFile).where(*scope)).first():
                raise Invalid("The given output file already exists.")
            nb_elements = body["nb_elements"]
            # Zou renders the stored path with the "output" templates whatever
            # the mode; an instance's file name never gets the _[1-N] suffix.
            folder, fname, project_id = self._output_path(s, target, body, output_type, task_type, revision,
                                                          revision, body["sep"], "output",
                                                          1 if instance else nb_elements, instance)
            status_id = body["file_status_id"]
            if status_id:
                status_id = _uuid400(status_id, "file status id")
            else:
                status_id = self._get_or_create(s, FileStatus, "To review", color="#FFFFFF").id
            stamp = _precise_now()
            of = OutputFile(
                created_at=stamp, updated_at=stamp, name=name, representation=representation, revision=revision, comment=body["comment"],
                extension=ext, nb_elements=nb_elements, output_type_id=output_type.id, task_type_id=task_type.id,
                entity_id=instance["asset_id"] if instance else target, asset_instance_id=instance_id,
                temporal_entity_id=temporal_id, project_id=project_id,
                person_id=body["person_id"] or self.caller.user_id, file_status_id=status_id,
                source_file_id=working.id if working else None, path=f"{folder}{body['sep']}{fname}{ext}",
            )
            s.add(of)
            s.flush()
            doc = self._of_dump(of)
            self.store.emit(s, "output-file:new", {"output_file_id": of.id}, project_id=project_id, record=doc)
            return {**doc, "folder_path": folder, "file_name": fname}

    @rpc(**expected)
    def new_entity_output_file(self, entity_id, query=None, body=None):
        return self._new_output(entity_id, body)

    @rpc(**expected)
    def new_instance_output_file(self, asset_instance_id, temporal_entity_id, query=None, body=None):
        return self._new_output(None, body, asset_instance_id, temporal_entity_id)

    def _next_revision(self, body, entity_id=None, instance_id=None, temporal_id=None):
        with self.store.begin() as s:
            body = _body(body, str_fields={"name": "main"}, required=("output_type_id", "task_type_id"))
            if instance_id:
                instance_id = self._instance(instance_id)["id"]
            target_ref = self._ref(s, temporal_id if instance_id else entity_id, "entity", "entity")
            self._check_project(target_ref.project_id)
            target = target_ref.id
            output_type = self._output_type(s, body["output_type_id"])
            task_type = self._task_type(s, body["task_type_id"])
            last = self._last_output_revision(s, None if instance_id else target, output_type.id, task_type.id,
                                              body["name"], instance_id, temporal_id)
            return {"next_revision": last + 1}

    @rpc(**expected)
    def next_entity_output_revision(self, entity_id, query=None, body=None):
        return self._next_revision(body, entity_id)

    @rpc(**expected)
    def next_instance_output_revision(self, asset_instance_id, temporal_entity_id, query=None, body=None):
        return self._next_revision(body, None, asset_instance_id, _uuid404(temporal_entity_id, "entity id"))

    def _path(self, body, entity_id, instance_id=None):
        """Zou's output-file-path: reads ``separator``; the folder gets the
        revision as sent (0 renders 000), the file name the next one."""
        with self.store.begin() as s:
            body = self._output_args(s, body, {"name": "main", "mode": "output", "extension": "",
                                               "representation": "", "separator": "/"})
            instance = self._instance(instance_id) if instance_id else None
            target_ref = self._ref(s, entity_id, "entity", "entity")
            self._check_project(target_ref.project_id)
            target = target_ref.id
            output_type = self._output_type(s, body["output_type_id"])
            task_type = self._task_type(s, body["task_type_id"])
            revision = body["revision"]
            if revision == 0 and instance is None:
                revision = self._last_output_revision(s, target, output_type.id, task_type.id, body["name"]) + 1
            folder, fname, _ = self._output_path(s, target, body, output_type, task_type, revision,
                                                 body["revision"], body["separator"], body["mode"],
                                                 instance=instance)
            return {"folder_path": folder, "file_name": fname}

    @rpc(**expected)
    def entity_output_file_path(self, entity_id, query=None, body=None):
        return self._path(body, entity_id)

    @rpc(**expected)
    def instance_output_file_path(self, asset_instance_id, temporal_entity_id, query=None, body=None):
        return self._path(body, temporal_entity_id, asset_instance_id)

    def _list_outputs(self, scope, query, last=False, newest_first=False):
        query = query or {}
        with self.store.session() as s:
            stmt = select(OutputFile).where(*scope)
            for key in ("output_type_id", "task_type_id", "file_status_id"):
                if query.get(key):
                    stmt = stmt.where(getattr(OutputFile, key) == _uuid400(query[key], key))
            for key in ("name", "representation"):
                if query.get(key):
                    stmt = stmt.where(getattr(OutputFile, key) == query[key])
            order = (OutputFile.created_at.desc(), OutputFile.revision.desc()) if newest_first else (OutputFile.revision.desc(),
                                                                          OutputFile.created_at.desc())
            rows = list(s.scalars(stmt.order_by(*order)))
            if last:
                out, seen = [], set()
                for o in rows:
                    key = (o.task_type_id, o.output_type_id, o.name, o.representation)
                    if key not in seen:
                        seen.add(key)
                        out.append(o)
                # Zou's join has no order: the table's, i.e. creation order.
                rows = sorted(out, key=lambda o: (o.created_at, o.revision))
            return self._dump_outputs(s, rows)

    def _entity_scope(self, entity_id, own=True):
        """An entity's outputs; ``own``: not its asset instances' (Zou files
        those under the asset too)."""
        with self.store.begin() as s:
            ent = self._ref(s, entity_id, "entity", "entity")
            self._check_project(ent.project_id)
            scope = [OutputFile.entity_id == ent.id]
        if own:
            scope += [OutputFile.asset_instance_id.is_(None), OutputFile.temporal_entity_id.is_(None),
                      OutputFile.revision >= 0]
        return scope

    @rpc(**expected)
    def entity_output_files(self, entity_id, query=None, body=None):
        return self._list_outputs(self._entity_scope(entity_id), query)

    @rpc(**expected)
    def entity_last_output_files(self, entity_id, query=None, body=None):
        return self._list_outputs(self._entity_scope(entity_id), query, last=True)

    @rpc(**expected)
    def entity_output_type_files(self, entity_id, output_type_id, query=None, body=None):
        scope = self._entity_scope(entity_id)
        with self.store.session() as s:
            self._output_type(s, output_type_id)
        return self._list_outputs(scope + [OutputFile.output_type_id == valid_uuid(output_type_id)],
                                  {"representation": (query or {}).get("representation")})

    @rpc(**expected)
    def instance_output_files(self, asset_instance_id, temporal_entity_id=None, query=None, body=None):
        # Unknown instance: 404; outside its project: the owner's 403.
        scope = [OutputFile.asset_instance_id == self._instance(asset_instance_id)["id"]]
        if temporal_entity_id or (query or {}).get("temporal_entity_id"):
            scope.append(OutputFile.temporal_entity_id == _uuid400(
                temporal_entity_id or query["temporal_entity_id"], "entity id"))
        return self._list_outputs(scope, query)

    @rpc(**expected)
    def instance_last_output_files(self, asset_instance_id, temporal_entity_id, query=None, body=None):
        return self._list_outputs([OutputFile.asset_instance_id == self._instance(asset_instance_id)["id"],
                                   OutputFile.temporal_entity_id == _uuid404(temporal_entity_id, "entity id")],
                                  query, last=True)

    @rpc(**expected)
    def instance_output_type_files(self, asset_instance_id, temporal_entity_id, output_type_id, query=None, body=None):
        instance_id = self._instance(asset_instance_id)["id"]
        with self.store.session() as s:
            self._output_type(s, output_type_id)
        return self._list_outputs([OutputFile.asset_instance_id == instance_id,
                                   OutputFile.temporal_entity_id == _uuid404(temporal_entity_id, "entity id"),
                                   OutputFile.output_type_id == valid_uuid(output_type_id)],
                                  {"representation": (query or {}).get("representation")})

    def _output_types_of(self, scope):
        with self.store.session() as s:
            ids = select(OutputFile.output_type_id).where(*scope).distinct()
            rows = s.scalars(select(OutputType).where(OutputType.id.in_(ids)).order_by(OutputType.name))
            return [self._dump(o, "output-types") for o in rows]

    @rpc(**expected)
    def entity_output_types(self, entity_id, query=None, body=None):
        return self._output_types_of(self._entity_scope(entity_id, own=False))

    @rpc(**expected)
    def instance_output_types(self, asset_instance_id, temporal_entity_id, query=None, body=None):
        return self._output_types_of([
            OutputFile.asset_instance_id == self._instance(asset_instance_id)["id"],
            OutputFile.temporal_entity_id == _uuid404(temporal_entity_id, "entity id")])

    @rpc(**expected)
    def project_output_files(self, project_id, query=None, body=None):
        with self.store.begin() as s:
            pid = self._ref(s, project_id, "project", "project").id
        self._check_project(pid, manager=True)
        return self._list_outputs([OutputFile.project_id == pid, OutputFile.asset_instance_id.is_(None),
                                   OutputFile.temporal_entity_id.is_(None), OutputFile.revision >= 0],
                                  query, newest_first=True)

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
        """Zou's guess-from-path: for every template of every mode the path
        matches, the ids its tokens resolve to, left to right, stopping at
        the first token that resolves to nothing."""
        body = _body(body, str_fields={"sep": "/"}, required=("project_id", "file_path"))
        with self.store.session() as s:
            project = self._ref(s, body["project_id"], "project", "project")
            self._check_project(project.id)
            tree = self._tree(s, project.id)
            try:
                candidates = list(paths.guess_candidates(tree, body["file_path"], body["sep"] or "/"))
            except paths.MalformedTree:
                raise
            out: list = []
            for kind, template_elements, tokens in candidates:
                data = {"Template": kind}
                for element in template_elements:
                    token = next((t for t in tokens if f"<{t}>" in element), None)
                    if token is None:
                        continue
                    found = self._guess_token(s, token, tokens[token], data)
                    if not found:
                        break
                    if token == "Project" and found != project.id:
                        break
                    data[token] = found
                if data not in out:
                    out.append(data)
            return out

    def _guess_token(self, s, token, value, known):
        def named(kind, **where):
            stmt = select(Ref).where(Ref.kind == kind, func.lower(Ref.name) == value.lower())
            for key, val in where.items():
                stmt = stmt.where(getattr(Ref, key) == val)
            stmt = stmt.order_by(Ref.updated_at)
            rows = [r for r in s.scalars(stmt)]
            return rows

        def entity(type_name, **where):
            rows = [r for r in named("entity", **where) if ((r.data or {}).get("type") or "") == type_name]
            return rows[0].id if rows else None

        project = known.get("Project")
        if token == "Project":
            rows = named("project")
            return rows[0].id if rows else None
        if token in ("AssetType", "TemporalEntityType"):
            rows = named("entity_type")
            return rows[0].id if rows else None
        if token == "TaskType":
            rows = named("task_type")
            return rows[0].id if rows else None
        if token == "OutputType":
            row = s.scalars(select(OutputType).where(func.lower(OutputType.name) == value.lower())).first()
            return row.id if row else None
        if token in ("Name", "Representation"):
            return value
        if token == "Version":
            try:
                return str(int(value))
            except ValueError:
                return None
        if not project:
            return None
        if token == "Asset":
            if not known.get("AssetType"):
                return None
            rows = named("entity", project_id=project, type_id=known["AssetType"])
            return rows[0].id if rows else None
        if token == "TemporalEntity":
            if not known.get("TemporalEntityType"):
                return None
            rows = named("entity", project_id=project, type_id=known["TemporalEntityType"])
            return rows[0].id if rows else None
        if token == "Episode":
            return entity("Episode", project_id=project)
        if token == "Sequence":
            where = {"project_id": project}
            if known.get("Episode"):
                where["parent_id"] = known["Episode"]
            return entity("Sequence", **where)
        if token == "Scene":
            where = {"project_id": project}
            if known.get("Sequence"):
                where["parent_id"] = known["Sequence"]
            return entity("Scene", **where)
        if token == "Shot":
            if not known.get("Sequence"):
                return None
            return entity("Shot", project_id=project, parent_id=known["Sequence"])
        if token == "Task":
            if not known.get("TaskType"):
                return None
            owner = next((known[k] for k in ("Scene", "Asset", "Shot") if known.get(k)), None)
            if owner is None:
                return None
            rows = named("task", project_id=project, type_id=known["TaskType"], entity_id=owner)
            return rows[0].id if rows else None
        # Department, Instance, Software: not resolvable here (Zou resolves no
        # Software either; departments and instances are not projected).
        return None

    # ------------------------------------------------------------ working file binaries
    # The gateway streams the bytes to storage (never through RabbitMQ) under
    # ``working-files/<id[0:2]>/<id[2:4]>/<id>`` (the previews service's key
    # layout); these RPCs are the access checks and the bookkeeping.
    @staticmethod
    def _wf_key(wf_id: str) -> str:
        return f"working-files/{wf_id[:2]}/{wf_id[2:4]}/{wf_id}"

    def _check_project(self, project_id, manager=False) -> None:
        """Zou's check_project_access: an admin, or a member of the project
        (asked of the assets service); ``manager``: its manager variant."""
        role = self.caller.role
        if role == "admin":
            return
        if manager and role != "manager":
            raise Forbidden("You don't have access to this project")
        try:
            team = self.rpc_out.call("assets", "get_project_team", project_id=project_id, timeout=5) \
                if project_id else []
        except Exception:  # noqa: BLE001 - owner unreachable: no proof of membership
            raise Forbidden("You don't have access to this project") from None
        members = {(t.get("person_id") or t.get("id")) if isinstance(t, dict) else t for t in team or []}
        if self.caller.user_id not in members:
            raise Forbidden("You don't have access to this project")

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
        self._check_project(project_id)
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
            for key in ("short_name", "number"):
                if record.get(key) is not None:
                    ref.data[key] = record[key]
            ref.updated_at = stamp
            if current is None:
                s.add(ref)
            tree = record.get("file_tree")
            if kind == "project" and isinstance(tree, dict) and tree:
                # PUT /data/projects/<id> {file_tree} (gazu's
                # update_project_file_tree) replaces the tree set-file-tree set.
                row = s.get(ProjectFileTree, rid)
                if row is None:
                    s.add(ProjectFileTree(project_id=rid, file_tree=tree, updated_at=stamp or now()))
                elif row.file_tree != tree:
                    row.file_tree = tree
                    row.updated_at = stamp or now()


Service = FilesService
