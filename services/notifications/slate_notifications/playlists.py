"""Messages about playlists for people outside the team: ``playlist-ready``
notifications for a project's clients (the previews service picks the
recipients and publishes ``playlist:notify-clients``) and review invitations
of shared links (``send_share_invitations``, an internal RPC the previews
service calls; mail through the same SMTP settings as notifications).
"""

from __future__ import annotations

import logging

from nameko.rpc import rpc
from slatekit import config
from slatekit.consumer import subscribe
from slatekit.errors import SLATE_ERRORS, Invalid

from . import channels

log = logging.getLogger(__name__)
expected = {"expected_exceptions": SLATE_ERRORS}
MAX_INVITATIONS = 200


class PlaylistMessagesMixin:
    @subscribe("playlist:notify-clients")
    def on_playlist_notify_clients(self, event):
        data = event.get("data") or {}
        playlist_id = data.get("playlist_id")
        recipients = [r for r in (data.get("recipient_ids") or []) if isinstance(r, str)]
        if not playlist_id or not recipients:
            return
        sent: list = []
        with self.store.begin() as s:
            if not self.store.claim(s, event):
                return
            for person_id in recipients:
                self._notify(s, sent, person_id, "playlist-ready", f"{playlist_id}:{event.get('event_id')}",
                             event.get("project_id"), author_id=data.get("author_id"), playlist_id=playlist_id)
        if sent:
            channels.dispatch(self, sent)

    @rpc(**expected)
    def send_share_invitations(self, emails, subject, text):
        """Mail a review invitation to each address, now (the caller answers
        with the list it sent to). Without ``SMTP_HOST`` the mail is logged."""
        if not isinstance(emails, list) or len(emails) > MAX_INVITATIONS:
            raise Invalid("Too many recipients")
        for to in emails:
            if not isinstance(to, str) or "@" not in to or "\n" in to or "\r" in to:
                raise Invalid("Invalid recipient")
        subject = str(subject or "").replace("\n", " ").replace("\r", " ")[:200]
        for to in emails:
            if config.get("SMTP_HOST"):
                channels.send_mail(to, subject, str(text or ""))
            else:
                log.info("share invitation (no SMTP_HOST) to=%s subject=%s", to, subject)
        return {"sent": len(emails)}
