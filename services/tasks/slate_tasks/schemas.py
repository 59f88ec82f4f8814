"""What crosses the wire: Zou's JSON shapes for the rows this service owns."""

from __future__ import annotations

from slatekit.crud import row_dict, to_json

from . import models as m

TYPE_NAMES = {
    m.TaskType: "TaskType",
    m.TaskStatus: "TaskStatus",
    m.StatusAutomation: "StatusAutomation",
    m.Task: "Task",
    m.Comment: "Comment",
    m.AttachmentFile: "AttachmentFile",
    m.TimeSpent: "TimeSpent",
    m.ScheduleItem: "ScheduleItem",
    m.Milestone: "Milestone",
    m.ProductionScheduleVersion: "ProductionScheduleVersion",
    m.ProductionScheduleVersionTaskLink: "ProductionScheduleVersionTaskLink",
    m.Budget: "Budget",
    m.BudgetEntry: "BudgetEntry",
    m.SalaryScale: "SalaryScale",
}
HIDDEN = {
    m.Comment: ("changed_status", "project_id", "mentions", "department_mentions", "acknowledgements", "previews"),
    m.AttachmentFile: ("storage_key",),
}


def dump(obj) -> dict:
    cls = type(obj)
    return row_dict(obj, hidden=HIDDEN.get(cls, ()), type_name=TYPE_NAMES.get(cls))


def task(obj: m.Task, assignees: list[str] | None) -> dict:
    doc = row_dict(obj, type_name="Task")
    doc["assignees"] = list(assignees or [])
    return doc


def comment(obj: m.Comment, attachments: list | None = None) -> dict:
    doc = dump(obj)
    doc["replies"] = obj.replies or []
    doc["checklist"] = obj.checklist or []
    doc["links"] = obj.links or []
    doc["mentions"] = list(obj.mentions or [])
    doc["department_mentions"] = list(obj.department_mentions or [])
    doc["acknowledgements"] = list(obj.acknowledgements or [])
    doc["previews"] = list(obj.previews or [])
    doc["attachment_files"] = [attachment(a) for a in (attachments or [])]
    return doc


def attachment(obj: m.AttachmentFile) -> dict:
    return dump(obj)


def person_short(p: m.ProjPerson | None, person_id: str | None) -> dict:
    if p is None:
        return {"id": person_id, "first_name": "", "last_name": "", "full_name": "", "has_avatar": False,
                "role": None}
    return {"first_name": p.first_name, "last_name": p.last_name, "full_name": p.full_name,
            "has_avatar": bool(p.has_avatar), "role": p.role, "id": p.id}


def status_short(st: m.TaskStatus | None) -> dict | None:
    if st is None:
        return None
    return {"name": st.name, "short_name": st.short_name, "color": st.color, "id": st.id}


def project_doc(p: m.ProjProject) -> dict:
    if p.record:
        return to_json(p.record)
    return {"id": p.id, "name": p.name, "project_status_name": "Open" if p.status != "closed" else "Closed",
            "max_retakes": p.max_retakes, "is_clients_isolated": p.is_clients_isolated,
            "production_type": p.production_type, "type": "Project"}


def entity_doc(e: m.ProjEntity) -> dict:
    if e.record:
        return to_json(e.record)
    return {"id": e.id, "name": e.name, "project_id": e.project_id, "entity_type_id": e.entity_type_id,
            "parent_id": e.parent_id, "source_id": e.source_id, "canceled": e.canceled,
            "nb_frames": e.nb_frames, "preview_file_id": e.preview_file_id, "data": e.data or {},
            "type": "Entity"}
