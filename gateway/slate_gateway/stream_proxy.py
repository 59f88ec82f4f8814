"""Relay of the socket.io long-polling transport to the events stream process.

The gateway is a WSGI app under gunicorn gthread: it cannot hold websockets,
so the upgrade to websocket is refused (socket.io clients then stay on
long-polling, which works through any HTTP proxy) and each polling request
is forwarded to ``STREAM_URL`` (the ``slate_events.stream`` process), a
leading ``/api`` stripped, the ``Host`` header kept (the stream's same-origin
check), and the response streamed back. A poll is held at most the stream's
ping interval, well inside the timeout here. See docs/adr/0008-event-stream.md.
"""

from __future__ import annotations

import http.client
import json
import os
from urllib.parse import urlsplit

HOP_BY_HOP = {"connection", "keep-alive", "proxy-authenticate", "proxy-authorization", "te", "trailers",
              "transfer-encoding", "upgrade", "content-length", "host"}
FORWARDED_HEADERS = ("HTTP_AUTHORIZATION", "HTTP_COOKIE", "HTTP_ORIGIN", "HTTP_USER_AGENT", "HTTP_ACCEPT",
                     "HTTP_X_REQUEST_ID", "HTTP_REFERER")
MAX_BODY = 1_000_000
TIMEOUT = float(os.environ.get("STREAM_PROXY_TIMEOUT", "60"))


def _target():
    url = urlsplit(os.environ.get("STREAM_URL") or "http://127.0.0.1:8090")
    return url.hostname or "127.0.0.1", url.port or 80


def _error(start_response, status: str, message: str):
    body = json.dumps({"error": True, "message": message}).encode()
    start_response(status, [("Content-Type", "application/json"), ("Content-Length", str(len(body)))])
    return [body]


def proxy(environ, start_response):
    path = environ.get("PATH_INFO") or "/"
    if path.startswith("/api/"):
        path = path[4:]
    query = environ.get("QUERY_STRING") or ""
    if (environ.get("HTTP_UPGRADE") or "").lower() == "websocket" or "transport=websocket" in query:
        return _error(start_response, "400 BAD REQUEST",
                      "WebSocket is not available through the API gateway; use the polling transport.")
    method = environ.get("REQUEST_METHOD", "GET")
    if method not in ("GET", "POST", "OPTIONS"):
        return _error(start_response, "405 METHOD NOT ALLOWED", "The method is not allowed for the requested URL.")
    try:
        length = int(environ.get("CONTENT_LENGTH") or 0)
    except ValueError:
        length = 0
    if length > MAX_BODY:
        return _error(start_response, "413 REQUEST ENTITY TOO LARGE", "Request body is too large")
    body = environ["wsgi.input"].read(length) if length else b""
    host, port = _target()
    conn = http.client.HTTPConnection(host, port, timeout=TIMEOUT)
    try:
        try:
            conn.connect()
        except OSError:  # a busy stream's backlog: one retry before 503
            conn.close()
            conn = http.client.HTTPConnection(host, port, timeout=TIMEOUT)
            conn.connect()
        conn.putrequest(method, path + ("?" + query if query else ""), skip_host=True, skip_accept_encoding=True)
        conn.putheader("Host", environ.get("HTTP_HOST") or f"{host}:{port}")
        for key in FORWARDED_HEADERS:
            if environ.get(key):
                conn.putheader(key[5:].replace("_", "-").title(), environ[key])
        if environ.get("CONTENT_TYPE"):
            conn.putheader("Content-Type", environ["CONTENT_TYPE"])
        forwarded = environ.get("HTTP_X_FORWARDED_FOR")
        remote = environ.get("REMOTE_ADDR") or ""
        conn.putheader("X-Forwarded-For", f"{forwarded}, {remote}" if forwarded else remote)
        conn.putheader("Content-Length", str(len(body)))
        conn.endheaders(body)
        resp = conn.getresponse()
    except (OSError, http.client.HTTPException):
        conn.close()
        return _error(start_response, "503 SERVICE UNAVAILABLE", "The event stream is not available")
    headers = [(k, v) for k, v in resp.getheaders() if k.lower() not in HOP_BY_HOP]
    data_len = resp.getheader("Content-Length")
    if data_len is not None:
        headers.append(("Content-Length", data_len))
    start_response(f"{resp.status} {resp.reason}", headers)

    def stream():
        try:
            while True:
                chunk = resp.read(65536)
                if not chunk:
                    break
                yield chunk
        except (OSError, http.client.HTTPException):
            return
        finally:
            conn.close()

    return stream()
