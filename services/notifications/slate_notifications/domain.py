"""Who gets notified, in plain Python (Zou's rules, observed and re-stated).

- A comment notifies the task's assignees, its subscribers and the
  subscribers of its sequence for its task type, except the author
  (type ``comment``, ``change`` = the comment changed the status); the people
  it mentions, directly or through a department of the project's team, get a
  ``mention`` notification (except the author).
- A reply notifies the same people plus everyone who replied to the comment
  and the comment's author, except the reply's author (type ``reply``);
  mentions in the reply get ``reply-mention``.
- An assignation notifies the assignee unless they assigned themselves.
"""

from __future__ import annotations

import ipaddress
import socket
from urllib.parse import urlsplit

from slatekit.errors import Invalid


def comment_recipients(assignees, task_subscribers, sequence_subscribers, author_id) -> list[str]:
    out = dict.fromkeys([*assignees, *task_subscribers, *sequence_subscribers])
    out.pop(author_id, None)
    return [p for p in out if p]


def reply_recipients(assignees, task_subscribers, sequence_subscribers, replies, comment_author_id,
                     reply_author_id) -> list[str]:
    out = dict.fromkeys([*assignees, *task_subscribers, *sequence_subscribers,
                         *[r.get("person_id") for r in replies or [] if isinstance(r, dict)]])
    out.pop(reply_author_id, None)
    if reply_author_id != comment_author_id and comment_author_id:
        out[comment_author_id] = None
    return [p for p in out if p]


def mentioned(mentions, department_mentions, team_departments: dict, author_id) -> list[str]:
    """``team_departments``: person id → department ids, for the project's team."""
    out = dict.fromkeys(m for m in mentions or [] if m)
    for dep in department_mentions or []:
        for person_id, deps in team_departments.items():
            if dep in (deps or []):
                out[person_id] = None
    out.pop(author_id, None)
    return list(out)


def dedup_key(kind: str, person_id: str, ref: str) -> str:
    return f"{kind}:{person_id}:{ref}"


# ---------------------------------------------------------------- chat webhooks (SSRF guard)
def check_url(url, allowed_networks=(), resolve=None) -> tuple[str, list[str]]:
    """Refuse non-http(s) URLs and hosts that resolve to loopback, private,
    link-local, reserved or multicast addresses unless allowed by the operator."""
    resolve = resolve or (lambda host, port: sorted({i[4][0] for i in socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)}))
    if not isinstance(url, str) or not url:
        raise Invalid("A webhook URL is required")
    try:
        parts = urlsplit(url)
        port = parts.port or (443 if parts.scheme == "https" else 80)
    except ValueError:
        raise Invalid("Invalid webhook URL") from None
    if parts.scheme not in ("http", "https") or not parts.hostname or parts.username or parts.password:
        raise Invalid("Webhook URLs must be plain http or https")
    try:
        addresses = [str(ipaddress.ip_address(parts.hostname))]
    except ValueError:
        try:
            addresses = resolve(parts.hostname, port)
        except (OSError, UnicodeError):
            raise Invalid("The webhook host does not resolve") from None
    for addr in addresses:
        ip = ipaddress.ip_address(addr)
        if getattr(ip, "ipv4_mapped", None):
            ip = ip.ipv4_mapped
        if any(ip in net for net in allowed_networks):
            continue
        if not ip.is_global or ip.is_private or ip.is_loopback or ip.is_link_local or ip.is_multicast or ip.is_reserved:
            raise Invalid("The webhook URL points at a loopback, private or link-local address")
    return url, addresses


def parse_networks(spec: str | None) -> list:
    return [ipaddress.ip_network(p.strip(), strict=False) for p in (spec or "").split(",") if p.strip()]
