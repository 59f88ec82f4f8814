"""Guests of shared review links, and person look-ups for other services.

A guest is a person as in Zou: ``role="client"``, ``is_guest=True``, a
generated ``guest-<hex>@guest.kitsu`` address, no credential (so no
password, no login, no token ever) and ``data.share_link_id`` naming the
share link that created it. The previews service owns share links and calls
these RPCs after it has checked the link's token; they are not routed by the
gateway (internal RPCs, like ``get_principal``).
"""

from __future__ import annotations

import uuid

from nameko.rpc import rpc
from slatekit.crud import valid_uuid
from slatekit.errors import SLATE_ERRORS, NotFound
from sqlalchemy import select

from . import schemas
from .models import Person

expected = {"expected_exceptions": SLATE_ERRORS}


class GuestsMixin:
    @rpc(**expected)
    def create_guest(self, share_link_id, first_name="Guest", last_name=""):
        """The guest of this link with these names, or a new one (Zou reuses
        a guest by names only within the same link). Returns
        ``{"created": bool, "person": <person JSON>}``."""
        link_id = valid_uuid(share_link_id, "share link id")
        first = (str(first_name or "Guest")).strip()[:80] or "Guest"
        last = (str(last_name or "")).strip()[:80]
        with self.store.begin() as s:
            existing = s.scalars(select(Person).where(
                Person.is_guest.is_(True), Person.first_name == first, Person.last_name == last,
                Person.data["share_link_id"].astext == link_id).order_by(Person.created_at)).first()
            if existing is not None:
                return {"created": False, "person": schemas.person_full(existing)}
            guest = Person(first_name=first, last_name=last, email=f"guest-{uuid.uuid4().hex[:8]}@guest.kitsu",
                           role="client", is_guest=True, active=True, data={"share_link_id": link_id})
            s.add(guest)
            s.flush()
            self._emit_person(s, "person:new", guest)
            return {"created": True, "person": schemas.person_full(guest)}

    @rpc(**expected)
    def get_guest(self, guest_id):
        """A guest's person JSON (``data.share_link_id`` says its link);
        NotFound for anyone who is not a guest."""
        with self.store.session() as s:
            try:
                person = s.get(Person, valid_uuid(guest_id, "guest id"))
            except Exception:  # noqa: BLE001 - a malformed id is an unknown guest
                person = None
            if person is None or not person.is_guest:
                raise NotFound("Guest not found")
            return schemas.person_full(person)

    @rpc(**expected)
    def persons_by_ids(self, person_ids):
        """Person JSON (role, studio, departments, email, names) of the given
        ids, unknown ids left out: recipients of playlist notifications and
        share invitations."""
        ids = []
        for pid in person_ids or []:
            try:
                ids.append(valid_uuid(pid))
            except Exception:  # noqa: BLE001
                continue
        if not ids:
            return []
        with self.store.session() as s:
            return [schemas.person_full(p) for p in s.scalars(select(Person).where(Person.id.in_(ids[:5000])))]
