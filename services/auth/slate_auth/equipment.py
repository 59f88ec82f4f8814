"""Hardware items and software licences per department (budget forecasts).

Hardware items are auth's rows (generic CRUD ``/data/hardware-items``).
Software rows belong to the files service: a licence link keeps the software
id and the software JSON is read from ``files`` at request time (a bare
``{"id", "type"}`` when files does not answer). Zou emits no event for links.
"""

from __future__ import annotations

import logging

from nameko.rpc import rpc
from slatekit.crud import row_dict, valid_uuid
from slatekit.errors import SLATE_ERRORS, Invalid, NotFound, SlateError
from sqlalchemy import select

from .errors import malformed_id, validation_error
from .models import Department, HardwareItem, HardwareItemDepartmentLink, SoftwareDepartmentLink

log = logging.getLogger(__name__)
expected = {"expected_exceptions": SLATE_ERRORS}


def _uuid(value) -> str:
    try:
        return valid_uuid(value)
    except Invalid:
        raise malformed_id() from None


def _body_uuid(body, field) -> str:
    body = body if isinstance(body, dict) else {}
    if body.get(field) is None:
        raise validation_error([(field, "Field required")])
    try:
        return valid_uuid(body[field])
    except Invalid:
        raise validation_error([(field, "Input should be a valid UUID")]) from None


class EquipmentMixin:
    """Mixed into AuthService; uses its ``store``, ``rpc`` and helpers."""

    def _department(self, s, department_id) -> Department:
        dep = s.get(Department, _uuid(department_id))
        if dep is None:
            raise NotFound(f"Department {department_id} not found")
        return dep

    def _hardware_item(self, s, hardware_item_id) -> HardwareItem:
        item = s.get(HardwareItem, _uuid(hardware_item_id))
        if item is None:
            raise NotFound(f"Hardware item {hardware_item_id} not found")
        return item

    def _software(self, software_ids: list[str], must_exist: bool = False) -> dict[str, dict]:
        """Software JSON by id from the files service."""
        out: dict[str, dict] = {}
        if not software_ids:
            return out
        try:
            import json

            rows = self.peers.call("files", "crud_list", model="softwares", query={"id": json.dumps(software_ids)})
            for row in rows or []:
                out[row["id"]] = row
        except NotFound:
            pass
        except SlateError as exc:
            if must_exist:
                raise
            log.info("files did not answer for software: %s", exc)
            return {sid: {"id": sid, "type": "Software"} for sid in software_ids}
        except Exception as exc:  # noqa: BLE001 - a remote failure must not hide the links
            if must_exist:
                raise
            log.info("files failed for software: %s", exc)
            return {sid: {"id": sid, "type": "Software"} for sid in software_ids}
        return out

    # ------------------------------------------------------------ hardware
    @rpc(**expected)
    def all_department_hardware_items(self, query=None, body=None):
        self._require_admin()
        with self.store.session() as s:
            out: dict[str, list] = {}
            rows = s.execute(
                select(HardwareItem, HardwareItemDepartmentLink.department_id).join(
                    HardwareItemDepartmentLink, HardwareItemDepartmentLink.hardware_item_id == HardwareItem.id
                ).order_by(HardwareItem.name)
            )
            for item, department_id in rows:
                out.setdefault(department_id, []).append(row_dict(item, type_name="HardwareItem"))
            return out

    @rpc(**expected)
    def add_hardware_item_to_department(self, department_id, query=None, body=None):
        self._require_admin()
        item_id = _body_uuid(body, "hardware_item_id")
        with self.store.begin() as s:
            dep = self._department(s, department_id)
            item = self._hardware_item(s, item_id)
            link = s.scalars(select(HardwareItemDepartmentLink).filter_by(
                department_id=dep.id, hardware_item_id=item.id)).first()
            if link is None:
                link = HardwareItemDepartmentLink(department_id=dep.id, hardware_item_id=item.id)
                s.add(link)
                s.flush()
            return row_dict(link, type_name="HardwareItemDepartmentLink")

    @rpc(**expected)
    def department_hardware_item(self, department_id, hardware_item_id, query=None, body=None):
        self._require_admin()
        with self.store.session() as s:
            dep = self._department(s, department_id)
            item = self._hardware_item(s, hardware_item_id)
            link = s.scalars(select(HardwareItemDepartmentLink).filter_by(
                department_id=dep.id, hardware_item_id=item.id)).first()
            if link is None:
                raise NotFound("Hardware item not linked to this department")
            return row_dict(item, type_name="HardwareItem")

    @rpc(**expected)
    def remove_hardware_item_from_department(self, department_id, hardware_item_id, query=None, body=None):
        self._require_admin()
        with self.store.begin() as s:
            dep = self._department(s, department_id)
            item = self._hardware_item(s, hardware_item_id)
            link = s.scalars(select(HardwareItemDepartmentLink).filter_by(
                department_id=dep.id, hardware_item_id=item.id)).first()
            if link is not None:
                s.delete(link)
        return None

    # ------------------------------------------------------------ software
    @rpc(**expected)
    def all_department_software(self, query=None, body=None):
        self._require_admin()
        with self.store.session() as s:
            links = s.scalars(select(SoftwareDepartmentLink)).all()
            pairs = [(link.department_id, link.software_id) for link in links]
        software = self._software(sorted({sid for _, sid in pairs}))
        out: dict[str, list] = {}
        for department_id, software_id in pairs:
            if software_id in software:
                out.setdefault(department_id, []).append(software[software_id])
        return out

    @rpc(**expected)
    def add_software_to_department(self, department_id, query=None, body=None):
        self._require_admin()
        software_id = _body_uuid(body, "software_id")
        with self.store.session() as s:
            self._department(s, department_id)
        if software_id not in self._software([software_id], must_exist=True):
            raise NotFound(f"Software {software_id} not found")
        with self.store.begin() as s:
            dep = self._department(s, department_id)
            link = s.scalars(select(SoftwareDepartmentLink).filter_by(
                department_id=dep.id, software_id=software_id)).first()
            if link is None:
                link = SoftwareDepartmentLink(department_id=dep.id, software_id=software_id)
                s.add(link)
                s.flush()
            return row_dict(link, type_name="SoftwareDepartmentLink")

    @rpc(**expected)
    def department_software(self, department_id, software_id, query=None, body=None):
        self._require_admin()
        software_id = _uuid(software_id)
        with self.store.session() as s:
            dep = self._department(s, department_id)
            link = s.scalars(select(SoftwareDepartmentLink).filter_by(
                department_id=dep.id, software_id=software_id)).first()
        if link is None:
            raise NotFound(f"Software {software_id} not found")
        return self._software([software_id]).get(software_id) or {"id": software_id, "type": "Software"}

    @rpc(**expected)
    def remove_software_from_department(self, department_id, software_id, query=None, body=None):
        self._require_admin()
        software_id = _uuid(software_id)
        with self.store.begin() as s:
            dep = self._department(s, department_id)
            link = s.scalars(select(SoftwareDepartmentLink).filter_by(
                department_id=dep.id, software_id=software_id)).first()
            if link is not None:
                s.delete(link)
        return None
