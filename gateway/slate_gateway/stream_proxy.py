"""Relay of socket.io (``/socket.io``, ``/api/socket.io``) to the events stream process.

Kitsu (same origin) and ``gazu.events`` (event host = the API URL, with or
without ``/api``) connect to the gateway unchanged; every request goes to
``STREAM_URL`` (the ``slate_events.stream`` process) with a leading ``/api``
stripped, the ``Host`` header kept (the stream's same-origin check) and the
credentials forwarded (``Authorization`` header, ``access_token_cookie``):

- Long-polling (``GET``/``POST``): one fresh upstream connection per request
  (a client's long-poll GET and its POST run at the same time and must never
  share one), the answer streamed back with the stream's Content-Length.
- WebSocket (``GET`` with ``Upgrade: websocket``): under gunicorn the
  handshake is forwarded, the ``101`` relayed, and the bytes of both sides are
  piped on the client's socket until either side closes or is silent longer
  than ``STREAM_PROXY_TIMEOUT`` (engine.io pings every 25 s). Without
  gunicorn's socket (another WSGI server) the upgrade is refused with a 400
  and clients stay on polling.

Each long poll and each websocket holds a gateway thread, so at most half the
worker's threads (``GATEWAY_THREADS``) may be held by the stream at once; past
that the relay answers 503 and the API keeps its threads. Many clients belong
on an ingress route to the stream service itself. See
docs/adr/0008-event-stream.md.
"""

from __future__ import annotations

import http.client
import json
import logging
import os
import selectors
import socket
import threading
import time
from urllib.parse import parse_qs, urlsplit

log = logging.getLogger("slate.gateway.stream")

HOP_BY_HOP = {"connection", "keep-alive", "proxy-authenticate", "proxy-authorization", "te", "trailers",
              "transfer-encoding", "upgrade", "content-length", "host"}
FORWARDED_HEADERS = ("HTTP_AUTHORIZATION", "HTTP_COOKIE", "HTTP_ORIGIN", "HTTP_USER_AGENT", "HTTP_ACCEPT",
                     "HTTP_X_REQUEST_ID", "HTTP_REFERER")
WEBSOCKET_HEADERS = ("HTTP_SEC_WEBSOCKET_KEY", "HTTP_SEC_WEBSOCKET_VERSION", "HTTP_SEC_WEBSOCKET_EXTENSIONS",
                     "HTTP_SEC_WEBSOCKET_PROTOCOL")
MAX_BODY = 1_000_000
MAX_HEAD = 65_536
TIMEOUT = float(os.environ.get("STREAM_PROXY_TIMEOUT", "60"))
CONNECT_TIMEOUT = 5.0
# Long polls and websockets in flight in this worker, at most half its threads.
HELD = threading.BoundedSemaphore(max(1, int(os.environ.get("GATEWAY_THREADS", "16")) // 2))


def _target():
    url = urlsplit(os.environ.get("STREAM_URL") or "http://127.0.0.1:8090")
    return url.hostname or "127.0.0.1", url.port or 80


def _error(start_response, status: str, message: str, extra=()):
    body = json.dumps({"error": True, "message": message}).encode()
    start_response(status, [("Content-Type", "application/json"), ("Content-Length", str(len(body))), *extra])
    return [body]


def _busy(start_response):
    return _error(start_response, "503 SERVICE UNAVAILABLE",
                  "Too many event stream connections through the gateway; try again later", [("Retry-After", "5")])


def _header_name(key: str) -> str:
    return key[5:].replace("_", "-").title()


def _forwarded_for(environ) -> str:
    forwarded = environ.get("HTTP_X_FORWARDED_FOR")
    remote = environ.get("REMOTE_ADDR") or ""
    return f"{forwarded}, {remote}" if forwarded else remote


def _sid(query: str) -> str:
    return (parse_qs(query).get("sid") or [""])[0]


def _log(method, path, sid, transport, status, bytes_in, bytes_out, started):
    log.info("stream relay %s %s %s %s sid=%s in=%d out=%d", method, path, status, transport, sid, bytes_in,
             bytes_out, extra={"method": method, "path": path, "sid": sid, "transport": transport, "status": status,
                    "bytes_in": bytes_in, "bytes_out": bytes_out,
                    "duration_ms": round((time.perf_counter() - started) * 1000, 2)})


def proxy(environ, start_response):
    path = environ.get("PATH_INFO") or "/"
    if path.startswith("/api/"):
        path = path[4:]
    query = environ.get("QUERY_STRING") or ""
    method = environ.get("REQUEST_METHOD", "GET")
    if (environ.get("HTTP_UPGRADE") or "").lower() == "websocket":
        return _websocket(environ, start_response, path, query)
    if "transport=websocket" in query:  # a websocket URL without the upgrade handshake
        return _error(start_response, "400 BAD REQUEST", "The websocket transport needs an Upgrade request.")
    if method not in ("GET", "POST", "OPTIONS"):
        return _error(start_response, "405 METHOD NOT ALLOWED", "The method is not allowed for the requested URL.")
    try:
        length = int(environ.get("CONTENT_LENGTH") or 0)
    except ValueError:
        length = 0
    if length > MAX_BODY:
        return _error(start_response, "413 REQUEST ENTITY TOO LARGE", "Request body is too large")
    body = environ["wsgi.input"].read(length) if length else b""
    # A GET of an open session is a long poll: it holds this thread until the
    # stream has packets or pings (≤ its ping interval).
    held = method == "GET" and "sid=" in query
    if held and not HELD.acquire(blocking=False):
        return _busy(start_response)
    started = time.perf_counter()
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
                conn.putheader(_header_name(key), environ[key])
        if environ.get("CONTENT_TYPE"):
            conn.putheader("Content-Type", environ["CONTENT_TYPE"])
        conn.putheader("X-Forwarded-For", _forwarded_for(environ))
        conn.putheader("Content-Length", str(len(body)))
        conn.endheaders(body)
        resp = conn.getresponse()
    except (OSError, http.client.HTTPException) as exc:
        conn.close()
        if held:
            HELD.release()
        log.warning("stream relay: the stream did not answer %s %s: %r", method, path, exc)
        return _error(start_response, "503 SERVICE UNAVAILABLE", "The event stream is not available")
    headers = [(k, v) for k, v in resp.getheaders() if k.lower() not in HOP_BY_HOP]
    data_len = resp.getheader("Content-Length")
    if data_len is not None:
        headers.append(("Content-Length", data_len))
    start_response(f"{resp.status} {resp.reason}", headers)

    def stream():
        sent = 0
        try:
            while True:
                chunk = resp.read(65536)
                if not chunk:
                    break
                sent += len(chunk)
                yield chunk
        except (OSError, http.client.HTTPException) as exc:
            log.warning("stream relay: answer to %s %s cut after %d bytes: %r", method, path, sent, exc)
        finally:
            conn.close()
            if held:
                HELD.release()
            _log(method, path, _sid(query), "polling", resp.status, len(body), sent, started)

    return stream()


# ---------------------------------------------------------------------- websocket
def _read_head(sock) -> tuple[bytes, bytes]:
    """The upstream's status line and headers, and whatever came after them."""
    buf = b""
    while b"\r\n\r\n" not in buf:
        if len(buf) > MAX_HEAD:
            raise ValueError("response head too large")
        chunk = sock.recv(4096)
        if not chunk:
            raise ConnectionError("the stream closed during the handshake")
        buf += chunk
    head, _, rest = buf.partition(b"\r\n\r\n")
    return head, rest


def _parse_head(head: bytes) -> tuple[int, str, list[tuple[str, str]]]:
    lines = head.decode("latin-1").split("\r\n")
    parts = lines[0].split(" ", 2)
    status, reason = int(parts[1]), (parts[2] if len(parts) > 2 else "")
    headers = []
    for line in lines[1:]:
        name, sep, value = line.partition(":")
        if sep:
            headers.append((name.strip(), value.strip()))
    return status, reason, headers


def _websocket(environ, start_response, path, query):
    client = environ.get("gunicorn.socket")
    if client is None or environ.get("REQUEST_METHOD") != "GET":
        return _error(start_response, "400 BAD REQUEST",
                      "WebSocket is not available through this server; use the polling transport.")
    if not HELD.acquire(blocking=False):
        return _busy(start_response)
    started = time.perf_counter()
    sid = _sid(query)
    upstream = None
    try:
        host, port = _target()
        try:
            upstream = socket.create_connection((host, port), timeout=CONNECT_TIMEOUT)
            lines = [f"GET {path}{'?' + query if query else ''} HTTP/1.1",
                     f"Host: {environ.get('HTTP_HOST') or f'{host}:{port}'}",
                     "Upgrade: websocket", "Connection: Upgrade",
                     f"X-Forwarded-For: {_forwarded_for(environ)}"]
            lines += [f"{_header_name(k)}: {environ[k]}" for k in WEBSOCKET_HEADERS + FORWARDED_HEADERS
                      if environ.get(k)]
            upstream.sendall(("\r\n".join(lines) + "\r\n\r\n").encode("latin-1"))
            upstream.settimeout(TIMEOUT)
            head, rest = _read_head(upstream)
            status, reason, headers = _parse_head(head)
        except (OSError, ValueError, IndexError, UnicodeError) as exc:
            log.warning("stream relay: websocket handshake with the stream failed: %r", exc)
            return _error(start_response, "503 SERVICE UNAVAILABLE", "The event stream is not available")
        if status != 101:  # refused (bad sid, origin…): relay the answer as it is
            body = rest
            length = next((int(v) for k, v in headers if k.lower() == "content-length" and v.isdigit()), None)
            try:
                while length is not None and len(body) < min(length, MAX_BODY):
                    chunk = upstream.recv(65536)
                    if not chunk:
                        break
                    body += chunk
            except OSError:
                pass
            body = body[:length] if length is not None else b""
            out = [(k, v) for k, v in headers if k.lower() not in HOP_BY_HOP]
            start_response(f"{status} {reason}", out + [("Content-Length", str(len(body)))])
            _log("GET", path, sid, "websocket", status, 0, len(body), started)
            return [body]
        from .app import close_connection_after

        close_connection_after(environ)  # the connection ends with the websocket
        out = [("Upgrade", "websocket"), ("Connection", "Upgrade")]
        out += [(k, v) for k, v in headers if k.lower().startswith("sec-websocket-")]
        write = start_response("101 Switching Protocols", out)
        write(b"")  # sends the head; a 101 has no body
        sent, received = _pipe(client, upstream, rest)
        _log("GET", path, sid, "websocket", 101, received, sent, started)
        return []
    finally:
        if upstream is not None:
            upstream.close()
        HELD.release()


def _pipe(client, upstream, pending: bytes) -> tuple[int, int]:
    """Copy bytes both ways until a side closes or both are silent for TIMEOUT."""
    sent = received = 0
    sel = selectors.DefaultSelector()
    try:
        client.settimeout(TIMEOUT)  # a client that stops reading must not hold the thread for ever
        if pending:
            client.sendall(pending)
            sent += len(pending)
        sel.register(client, selectors.EVENT_READ, upstream)
        sel.register(upstream, selectors.EVENT_READ, client)
        while True:
            ready = sel.select(timeout=TIMEOUT)
            if not ready:
                return sent, received
            for key, _ in ready:
                data = key.fileobj.recv(65536)
                if not data:
                    return sent, received
                key.data.sendall(data)
                if key.fileobj is client:
                    received += len(data)
                else:
                    sent += len(data)
    except OSError:
        return sent, received
    finally:
        sel.close()
