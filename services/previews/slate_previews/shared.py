"""The guest flow of shared review links (Zou's ``/shared/playlists/<token>/*``)
and the playlist messages to people outside the team (notify clients, invite
reviewers).

Access, as in Zou: the share token in the path is the access to one
playlist; a guest is a person (auth: ``role=client``, ``is_guest``, bound to
the link that created it by ``data.share_link_id``) that names itself with
``guest_id`` in each write. No token is ever issued to a guest: it has no
password, cannot log in, and a ``guest_id`` means nothing outside the
``/shared/...`` routes of the link that created it. What a link reaches: the
tasks of the previews its playlist positions (``preview_file_task_id``), the
comments on them that are for the client or from a guest, and the previews
positioned (or another position of the same revision).

Comments live in the tasks service (``guest_*`` RPCs, same workflow and
events as any comment), persons in auth (``create_guest``, ``get_guest``,
``persons_by_ids``), notifications and mail in the notifications service
(``playlist:notify-clients`` event, ``send_share_invitations`` RPC).
"""

from __future__ import annotations

import re
import uuid

from nameko.rpc import rpc
from slatekit import config
from slatekit.crud import row_dict
from slatekit.errors import SLATE_ERRORS, Forbidden, Invalid, NotFound
from sqlalchemy import select

from . import annotations as annot
from . import processing, storage
from .models import Playlist, PreviewFile, ProjectRef, SharedLink, Thumbnail

expected = {"expected_exceptions": SLATE_ERRORS}

# Zou's (werkzeug's) bodies for its NotFound and PermissionDenied.
ZOU_404 = ("404 Not Found: The requested URL was not found on the server. If you entered the URL manually "
           "please check your spelling and try again.")
ZOU_403 = ("403 Forbidden: You don't have the permission to access the requested resource. It is either "
           "read-protected or not readable by the server.")
# Zou's ALLOWED_PICTURE_EXTENSION | ALLOWED_FILE_EXTENSION (previews blueprint).
ALLOWED_EXTENSIONS = frozenset({
    "jpe", "jpeg", "jpg", "png", "ae", "ai", "blend", "clip", "comp", "diff", "exr", "fbx", "fla", "flv", "gif",
    "glb", "gltf", "hip", "kra", "ma", "mb", "md", "mp3", "obj", "pdf", "psd", "psb", "rar", "rev", "riv", "sai",
    "sai2", "sbbkp", "svg", "swf", "tvpp", "wav", "zip"})
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
_MISSING = object()


def _bare(status_cls, message):
    """An error Zou answers with ``{"error": "<message>"}`` alone."""
    return status_cls(message, {"bare": True})


def _validate(body, spec: dict) -> dict:
    """Zou's pydantic check of a body: ``spec`` maps a field to (kind,
    required, default) with kind uuid, str or list; errors come back as Zou's
    400 ``Validation error.`` with ``data.errors``."""
    body = body if isinstance(body, dict) else {}
    out, problems = {}, []
    for name, (kind, required, default) in spec.items():
        value = body.get(name, _MISSING)
        if kind == "uuid" and value == "" and not required:
            value = None
        if value is _MISSING or (value is None and required):
            if required:
                problems.append({"field": name, "message": "Field required"})
            else:
                out[name] = default
            continue
        if value is None:
            out[name] = None
        elif kind == "uuid":
            try:
                out[name] = str(uuid.UUID(str(value)))
            except ValueError:
                problems.append({"field": name, "message": "Input should be a valid UUID"})
        elif kind == "str":
            if not isinstance(value, str):
                problems.append({"field": name, "message": "Input should be a valid string"})
            else:
                out[name] = value
        elif kind == "list":
            if not isinstance(value, list):
                problems.append({"field": name, "message": "Input should be a valid list"})
            else:
                out[name] = value
    if problems:
        raise Invalid("Validation error.", {"data": {"errors": problems}})
    return out


def _remote_kind(exc) -> str:
    return type(exc).__name__


# Share-link passwords: scrypt (stdlib), salted; only the hash is stored.
_SCRYPT = {"n": 2 ** 14, "r": 8, "p": 1}


def hash_password(password: str) -> str:
    import hashlib
    import os

    salt = os.urandom(16)
    digest = hashlib.scrypt(password.encode(), salt=salt, dklen=32, **_SCRYPT)
    return f"scrypt${salt.hex()}${digest.hex()}"


def password_matches(stored: str | None, given) -> bool:
    import hashlib
    import hmac

    if not stored:
        return True
    if not isinstance(given, str) or not given:
        return False
    try:
        _, salt, digest = stored.split("$")
        got = hashlib.scrypt(given.encode(), salt=bytes.fromhex(salt), dklen=32, **_SCRYPT)
    except (ValueError, TypeError):
        return False
    return hmac.compare_digest(got.hex(), digest)


class SharedMixin:
    # ------------------------------------------------------------ the link
    def _link(self, s, token) -> tuple[SharedLink, Playlist]:
        from slatekit.crud import now

        link = s.scalars(select(SharedLink).where(SharedLink.token == str(token))).first()
        if link is None or (link.expires_at and link.expires_at < now()):
            raise NotFound(ZOU_404)
        pl = s.get(Playlist, link.playlist_id)
        if pl is None:
            raise NotFound(ZOU_404)
        return link, pl

    def _check_share_password(self, s, token, query) -> None:
        """Zou asks a protected link's password (``?password=``) on the
        playlist, its context and its comments; a wrong one is a 404."""
        link = s.scalars(select(SharedLink).where(SharedLink.token == str(token))).first()
        if link is not None and not password_matches(link.password_hash, (query or {}).get("password")):
            raise NotFound(ZOU_404)

    def _positioned(self, s, pl: Playlist) -> list[PreviewFile]:
        ids = []
        for e in pl.shots or []:
            try:
                ids.append(str(uuid.UUID(str(e.get("preview_file_id")))))
            except (ValueError, TypeError, AttributeError):
                continue
        return list(s.scalars(select(PreviewFile).where(PreviewFile.id.in_(ids)))) if ids else []

    def _shared_task_ids(self, s, pl: Playlist) -> list[str]:
        return sorted({pf.task_id for pf in self._positioned(s, pl) if pf.task_id})

    def _shared_pf(self, s, pl: Playlist, preview_file_id) -> PreviewFile:
        """A preview the link shows: positioned in the playlist, or another
        position of a positioned revision (same task and revision)."""
        try:
            pf = s.get(PreviewFile, str(uuid.UUID(str(preview_file_id))))
        except ValueError:
            pf = None
        if pf is None:
            raise NotFound(ZOU_404)
        for main in self._positioned(s, pl):
            if main.id == pf.id or (main.task_id == pf.task_id and main.revision == pf.revision):
                return pf
        raise Forbidden(ZOU_403)

    def _shared_playlist_doc(self, s, pl: Playlist) -> dict:
        """The playlist as a link shares it (Zou's enrichment): each shot
        with its entity ``id``, ``name`` and ``parent_name``, the positioned
        preview's annotations and the other positions of its revision, task
        type and status colour; the project's name and fps inlined; the
        revision switcher's lists emptied (a link shares one revision)."""
        doc = self._pl_full(s, pl, with_annotations=True)
        ref = s.get(ProjectRef, pl.project_id) if pl.project_id else None
        doc["project_fps"] = ref.fps if ref is not None else None
        doc["project_name"] = ref.name if ref is not None else None
        positioned = {pf.id: pf for pf in self._positioned(s, pl)}
        siblings: dict = {}
        if positioned:
            keys = {(pf.task_id, pf.revision) for pf in positioned.values()}
            for other in s.scalars(select(PreviewFile).where(
                    PreviewFile.task_id.in_({k[0] for k in keys})).order_by(PreviewFile.position)):
                if (other.task_id, other.revision) in keys:
                    siblings.setdefault((other.task_id, other.revision), []).append(other)
        task_ids = sorted({pf.task_id for pf in positioned.values() if pf.task_id})
        info = {}
        if task_ids:
            try:
                info = self.rpc_out.call("tasks", "shared_shots_info", task_ids=task_ids, timeout=10) or {}
            except Exception:  # noqa: BLE001 - names are a nicety; the player still plays
                info = {}
        for shot in doc.get("shots") or []:
            if shot.get("entity_id"):
                shot["id"] = shot["entity_id"]  # Zou: a shared shot's id is its entity's
            shot["preview_files"] = {}
            pf = positioned.get(shot.get("preview_file_id"))
            if pf is None:
                continue
            shot["preview_file_annotations"] = pf.annotations
            shot["preview_file_previews"] = [
                {"id": o.id, "revision": o.revision, "position": o.position, "extension": o.extension,
                 "status": o.status, "width": o.width, "height": o.height, "duration": o.duration,
                 "task_id": o.task_id, "annotations": o.annotations}
                for o in siblings.get((pf.task_id, pf.revision), []) if o.id != pf.id]
            shot.update(info.get(pf.task_id) or {})
        return doc

    def _guest_of(self, link: SharedLink, guest_id, message: str) -> dict:
        """The guest, when it was created from this link; else Zou's bare 403."""
        try:
            guest = self.rpc_out.call("auth", "get_guest", guest_id=guest_id, timeout=10)
        except Exception as exc:  # noqa: BLE001
            if _remote_kind(exc) in ("NotFound", "Invalid"):
                raise _bare(Forbidden, message) from None
            raise
        if (guest.get("data") or {}).get("share_link_id") != link.id:
            raise _bare(Forbidden, message)
        return guest

    def _can_comment(self, link: SharedLink, what="Comments are disabled for this link") -> None:
        if getattr(link, "can_comment", True) is False:
            raise _bare(Forbidden, what)

    # ------------------------------------------------------------ guests
    @rpc(**expected)
    def shared_guest(self, token, query=None, body=None):
        """POST /shared/playlists/<token>/guest: the guest named by
        ``guest_id`` when it belongs to this link (``created`` false: 200),
        else the link's guest of these names, or a new one (201)."""
        data = _validate(body, {"first_name": ("str", False, "Guest"), "last_name": ("str", False, ""),
                                "guest_id": ("uuid", False, None)})
        with self.store.session() as s:
            link, _ = self._link(s, token)
            link_id = link.id
        if data["guest_id"]:
            try:
                guest = self.rpc_out.call("auth", "get_guest", guest_id=data["guest_id"], timeout=10)
                if (guest.get("data") or {}).get("share_link_id") == link_id:
                    return {"created": False, "person": guest}
            except Exception as exc:  # noqa: BLE001 - unknown or another link's: a new guest then
                if _remote_kind(exc) not in ("NotFound", "Invalid"):
                    raise
        made = self.rpc_out.call("auth", "create_guest", share_link_id=link_id,
                                 first_name=data["first_name"] or "Guest", last_name=data["last_name"] or "",
                                 timeout=10)
        return {"created": True, "person": made["person"]}

    # ------------------------------------------------------------ comments
    @rpc(**expected)
    def shared_comments(self, token, query=None, body=None):
        with self.store.session() as s:
            _, pl = self._link(s, token)
            self._check_share_password(s, token, query)
            task_ids = self._shared_task_ids(s, pl)
        return self.rpc_out.call("tasks", "shared_task_comments", task_ids=task_ids, timeout=10) if task_ids else []

    @rpc(**expected)
    def shared_post_comment(self, token, query=None, body=None):
        with self.store.session() as s:
            link, pl = self._link(s, token)
            self._check_share_password(s, token, query)
            self._can_comment(link)
            data = _validate(body, {"guest_id": ("uuid", True, None), "task_id": ("uuid", True, None),
                                    "task_status_id": ("uuid", True, None), "text": ("str", False, ""),
                                    "checklist": ("list", False, None)})
            task_ids = self._shared_task_ids(s, pl)
        guest = self._guest_of(link, data["guest_id"], "Guest not part of this shared playlist")
        if data["task_id"] not in task_ids:
            raise _bare(Forbidden, "Task not part of this shared playlist")
        return self.rpc_out.call("tasks", "guest_create_comment", task_id=data["task_id"], guest=guest,
                                 task_status_id=data["task_status_id"], text=data["text"] or "",
                                 checklist=data["checklist"] or [], timeout=20)

    def _guest_write(self, token, body, query, spec=None):
        """Link, comment switch, ``guest_id`` (body, else query string) and
        the link's task ids, for the writes on a guest's own comment."""
        merged = dict(query or {})
        if isinstance(body, dict):
            merged.update(body)
        with self.store.session() as s:
            link, pl = self._link(s, token)
            self._can_comment(link)
            data = _validate(merged, {"guest_id": ("uuid", True, None), **(spec or {})})
            task_ids = self._shared_task_ids(s, pl)
        self._guest_of(link, data["guest_id"], "Forbidden")
        return data, task_ids

    @rpc(**expected)
    def shared_update_comment(self, token, comment_id, query=None, body=None):
        data, task_ids = self._guest_write(token, body, None, {
            "text": ("str", False, None), "checklist": ("list", False, None),
            "task_status_id": ("uuid", False, None)})
        changes = {k: data[k] for k in ("text", "checklist", "task_status_id") if data.get(k) is not None}
        return self.rpc_out.call("tasks", "guest_update_comment", comment_id=comment_id, guest_id=data["guest_id"],
                                 task_ids=task_ids, changes=changes, timeout=20)

    @rpc(**expected)
    def shared_delete_comment(self, token, comment_id, query=None, body=None):
        data, task_ids = self._guest_write(token, body, query)
        out = self.rpc_out.call("tasks", "guest_delete_comment", comment_id=comment_id, guest_id=data["guest_id"],
                                task_ids=task_ids, timeout=20)
        self._drop_files(out.get("keys") or [])
        return None

    def _drop_files(self, keys) -> None:
        for key in keys:
            if isinstance(key, str) and key.startswith("attachments/"):
                try:
                    storage.delete(key)
                except Exception:  # noqa: BLE001 - a leftover file is not worth failing the delete
                    pass

    @rpc(**expected)
    def shared_add_attachments(self, token, comment_id, guest_id=None, uploads=None):
        """The gateway streamed the files to ``tmp/`` keys; they move to
        ``attachments/`` and the tasks service records them on the comment."""
        uploads = [u for u in (uploads or []) if isinstance(u, dict) and storage.is_upload_key(u.get("key"))]
        try:
            data, task_ids = self._guest_write(token, {"guest_id": guest_id}, None)
        except Invalid:
            raise _bare(Forbidden, "Forbidden") from None
        files = []
        try:
            for up in uploads:
                if not storage.exists(up["key"]):
                    raise Invalid("Upload not found in storage")
                dest = storage.key("attachments", str(uuid.uuid4()))
                storage.move(up["key"], dest)
                files.append({"key": dest, "name": _file_name(up.get("name")), "size": int(up.get("size") or 1),
                              "mimetype": up.get("mimetype") or _mimetype(up.get("name"))})
            return self.rpc_out.call("tasks", "guest_add_attachments", comment_id=comment_id,
                                     guest_id=data["guest_id"], task_ids=task_ids, files=files, timeout=20)
        except BaseException:
            self._drop_files([f["key"] for f in files])
            raise

    @rpc(**expected)
    def shared_delete_attachment(self, token, comment_id, attachment_file_id, query=None, body=None):
        data, task_ids = self._guest_write(token, body, query)
        out = self.rpc_out.call("tasks", "guest_delete_attachment", comment_id=comment_id,
                                guest_id=data["guest_id"], task_ids=task_ids,
                                attachment_file_id=attachment_file_id, timeout=20)
        self._drop_files([out.get("key")])
        return None

    @rpc(**expected)
    def shared_attachment_info(self, token, attachment_file_id, file_name=None):
        """Which stored file an attachment download streams."""
        with self.store.session() as s:
            _, pl = self._link(s, token)
            task_ids = self._shared_task_ids(s, pl)
        try:
            att = self.rpc_out.call("tasks", "shared_attachment", attachment_file_id=attachment_file_id,
                                    task_ids=task_ids, timeout=10)
        except Exception as exc:  # noqa: BLE001
            if _remote_kind(exc) in ("NotFound", "Invalid"):
                raise NotFound(ZOU_404) from None
            raise
        mimetype = (att.get("mimetype") or "").split(";")[0].strip().lower()
        if not re.match(r"^[a-z0-9.+-]+/[a-z0-9.+-]+$", mimetype) or mimetype in ("text/html", "image/svg+xml"):
            mimetype = "application/octet-stream"  # the uploader's word: nothing that renders in our origin
        # Always a download (issue 6, as /data/attachment-files): <img> tags
        # ignore the disposition, so the shared page still shows pictures.
        return {"key": att["key"], "content_type": mimetype, "filename": att.get("name") or "attachment",
                "attachment": True}

    # ------------------------------------------------------------ annotations
    @rpc(**expected)
    def shared_annotations(self, token, query=None, body=None):
        with self.store.session() as s:
            link, pl = self._link(s, token)
            self._can_comment(link, "Annotations are disabled")
        data = _validate(body, {"guest_id": ("uuid", True, None), "preview_file_id": ("uuid", True, None),
                                "additions": ("list", False, None), "updates": ("list", False, None),
                                "deletions": ("list", False, None)})
        guest = self._guest_of(link, data["guest_id"], "Guest not part of this shared playlist")
        with self.store.begin() as s:
            _, pl = self._link(s, token)
            pf = self._shared_pf(s, pl, data["preview_file_id"])
            pf = s.get(PreviewFile, pf.id, with_for_update=True)
            pf.annotations = annot.merge(pf.annotations or [], data["additions"] or [], data["updates"] or [],
                                         data["deletions"] or [])
            from slatekit.crud import now

            pf.updated_at = now()
            s.flush()
            self._emit_pf(s, "preview-file:annotation-update", pf, person_id=guest["id"],
                          updated_at=row_dict(pf)["updated_at"])
            return self._pf_dump(pf)

    # ------------------------------------------------------------ files
    @rpc(**expected)
    def shared_file_info(self, token, preview_file_id, variant, extension=None):
        """The original in a given extension, or the download, of a preview
        the link shows (Zou's ``…/<id>.<extension>`` and ``…/download``)."""
        with self.store.session() as s:
            _, pl = self._link(s, token)
            pf = self._shared_pf(s, pl, preview_file_id)
            name = pf.name or pf.id
            kind = processing.kind_of(pf.extension or "")
            if variant == "extension":
                ext = str(extension or "").lower()
                if ext not in ALLOWED_EXTENSIONS:
                    raise Invalid(f"Extension not allowed: {ext}", {"data": None})
                if ext == "png":
                    key = storage.key("original", pf.id, "png")
                elif pf.source_key and (pf.extension or "") == ext:
                    key = pf.source_key
                else:
                    raise NotFound(ZOU_404)
                attachment = False
            else:
                ext = pf.extension or "png"
                if pf.is_movie or kind == "movie":
                    key, ext = storage.key("original", pf.id, "mp4"), "mp4"
                elif ext == "png":
                    key = storage.key("original", pf.id, "png")
                else:
                    key = pf.source_key
                attachment = True
            if not key:
                raise NotFound(ZOU_404)
            from .service import CONTENT_TYPES

            return {"key": key, "content_type": CONTENT_TYPES.get(ext, "application/octet-stream"),
                    "filename": f"{name}.{ext}", "attachment": attachment, "status": pf.status}

    @rpc(**expected)
    def shared_person_thumbnail_info(self, token, person_id):
        """An avatar the page of the link shows: an author of a comment it
        lists (or of a reply to one), when that person has an avatar."""
        with self.store.session() as s:
            _, pl = self._link(s, token)
            task_ids = self._shared_task_ids(s, pl)
            try:
                pid = str(uuid.UUID(str(person_id)))
            except ValueError:
                raise NotFound(ZOU_404) from None
            shown = self.rpc_out.call("tasks", "shared_task_comments", task_ids=task_ids, timeout=10) \
                if task_ids else []
            authors = {c.get("person_id") for c in shown}
            authors |= {r.get("person_id") for c in shown for r in (c.get("replies") or []) if isinstance(r, dict)}
            if pid not in authors or s.get(Thumbnail, ("persons", pid)) is None:
                raise NotFound(ZOU_404)
            return {"key": storage.key("avatars", pid, "png"), "content_type": "image/png"}

    # ------------------------------------------------------------ messages
    def _manager_playlist(self, s, playlist_id) -> Playlist:
        pl = self._playlist(s, playlist_id)
        if self.caller.role == "admin":
            return pl
        if self.caller.role != "manager":
            raise Forbidden(ZOU_403)
        self._check_read(s, pl.project_id)
        return pl

    @rpc(**expected)
    def notify_clients(self, playlist_id, query=None, body=None):
        """POST /data/playlists/<id>/notify-clients: a ``playlist-ready``
        notification (and mail, for those who enabled it) to each client of
        the project, maybe only of a studio or a department. The recipients
        are chosen here; the notifications service writes and sends them."""
        data = _validate(body or {}, {"studio_id": ("uuid", False, None), "department_id": ("uuid", False, None)})
        with self.store.session() as s:
            pl = self._manager_playlist(s, playlist_id)
            project_id, pl_id = pl.project_id, pl.id
        team = self.rpc_out.call("assets", "get_project_team", project_id=project_id, timeout=10) or []
        roles = {m["person_id"]: m.get("role") for m in team if isinstance(m, dict) and m.get("person_id")}
        people = self.rpc_out.call("auth", "persons_by_ids", person_ids=list(roles), timeout=10) if roles else []
        recipients = []
        for p in people:
            if p.get("is_bot") or p.get("is_guest") or p.get("preview_project_id"):
                continue
            if (roles.get(p["id"]) or p.get("role")) != "client":
                continue
            if data["studio_id"] and p.get("studio_id") != data["studio_id"]:
                continue
            if data["department_id"] and data["department_id"] not in (p.get("departments") or []):
                continue
            recipients.append(p["id"])
        with self.store.begin() as s:
            self.store.emit(s, "playlist:notify-clients", {
                "playlist_id": pl_id, "author_id": self.caller.user_id, "recipient_ids": sorted(recipients),
                "studio_id": data["studio_id"], "department_id": data["department_id"]}, project_id=project_id)
        return {"status": "success"}

    @rpc(**expected)
    def invite_share(self, playlist_id, token, query=None, body=None):
        """POST /data/playlists/<id>/share/<token>/invite: mail the link to
        addresses and to persons (their address looked up in auth); returns
        ``{"sent": [...]}``. Mail goes out through the notifications
        service (SMTP when ``SMTP_HOST`` is set)."""
        with self.store.session() as s:
            pl = self._manager_playlist(s, playlist_id)
            link = s.scalars(select(SharedLink).where(SharedLink.token == str(token))).first()
            if link is None or link.playlist_id != pl.id:
                raise NotFound(ZOU_404)
            data = _validate(body or {}, {"emails": ("list", False, []), "person_ids": ("list", False, []),
                                          "message": ("str", False, None)})
            pl_name, project_id = pl.name, pl.project_id
        recipients: dict[str, str] = {}
        for raw in data["emails"] or []:
            email = _checked_email(raw)
            recipients.setdefault(email.lower(), email)
        person_ids = []
        for raw in data["person_ids"] or []:
            try:
                person_ids.append(str(uuid.UUID(str(raw))))
            except ValueError:
                raise Invalid("Validation error.", {"data": {"errors": [
                    {"field": "person_ids", "message": "Input should be a valid UUID"}]}}) from None
        people = self.rpc_out.call("auth", "persons_by_ids", person_ids=person_ids + [self.caller.user_id],
                                   timeout=10)
        author = next((p for p in people if p["id"] == self.caller.user_id), {})
        for p in people:
            if p["id"] in person_ids and p.get("email"):
                email = _checked_email(p["email"])
                recipients[email.lower()] = email
        protocol = config.get("DOMAIN_PROTOCOL") or "http"
        domain = config.get("DOMAIN_NAME") or "localhost:8080"
        url = f"{protocol}://{domain}/playlists/shared/{token}"
        with self.store.session() as s:
            ref = s.get(ProjectRef, project_id) if project_id else None
            project = {"name": ref.name if ref is not None else None}
        who = author.get("full_name") or "Someone"
        subject = f"[Kitsu] {who} invites you to review {pl_name}"
        text = f"{who} invites you to review the playlist {pl_name}"
        if project.get("name"):
            text += f" of {project['name']}"
        text += f":\n\n{url}\n"
        if data["message"]:
            text += f"\n{data['message']}\n"
        sent = list(recipients.values())
        if sent:
            self.rpc_out.call("notifications", "send_share_invitations", emails=sent, subject=subject, text=text,
                              timeout=30)
        return {"sent": sent}


def _checked_email(raw) -> str:
    email = str(raw or "").strip()
    if "@" not in email:
        raise _bare(Invalid, "An email address must have an @-sign.")
    if not _EMAIL.match(email) or len(email) > 254:
        raise _bare(Invalid, f"The email address is not valid: {email}")
    return email


def _file_name(name) -> str:
    base = str(name or "file").replace("\\", "/").rsplit("/", 1)[-1]
    return "".join(c for c in base if c.isprintable() and c not in '"<>')[:250] or "file"


def _mimetype(name) -> str:
    import mimetypes

    return mimetypes.guess_type(_file_name(name))[0] or "application/octet-stream"
