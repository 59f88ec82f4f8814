#!/usr/bin/env python3
"""Tiny stand-in for the Zou endpoints the benchmarks use (harness self-test).

Serves, on a loopback address only and with the standard library only:

* ``POST /auth/login``       -> ``{"login": true, "access_token": ...}``
                                (400 on bad credentials)
* ``GET  /auth/authenticated`` -> ``{"authenticated": true, ...}`` (401 w/o token)
* ``GET  /data/persons``     -> JSON list of persons
* ``POST /data/persons``     -> 201; mimics Zou's active-user limit
                                (``--user-limit``, 400 "User limit reached.")

Usage::

    python bench/fake_server.py --port 5999 &
    ADMIN_PASSWORD=pw python bench/bench_auth.py --slate http://127.0.0.1:5999 \\
        --email admin@example.com --duration 1 --concurrency 1,4
"""

from __future__ import annotations

import argparse
import json
import secrets
import threading
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


class FakeState:
    def __init__(self, email: str, password: str, user_limit: int) -> None:
        self.email = email
        self.password = password
        self.user_limit = user_limit
        self.tokens: set[str] = set()
        self.lock = threading.Lock()
        self.persons: list[dict[str, Any]] = [
            {
                "id": str(uuid.uuid4()),
                "first_name": "Super",
                "last_name": "Admin",
                "email": email,
                "active": True,
                "role": "admin",
            }
        ]


def make_handler(state: FakeState) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        disable_nagle_algorithm = True  # avoid 40 ms delayed-ACK stalls on keep-alive

        def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - stdlib signature
            pass

        def _send(self, status: int, body: Any) -> None:
            data = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def _body(self) -> dict[str, Any]:
            length = int(self.headers.get("Content-Length") or 0)
            raw = self.rfile.read(length) if length else b"{}"
            try:
                body = json.loads(raw or b"{}")
            except ValueError:
                return {}
            return body if isinstance(body, dict) else {}

        def _authed(self) -> bool:
            auth = self.headers.get("Authorization", "")
            return auth.startswith("Bearer ") and auth[7:] in state.tokens

        def do_GET(self) -> None:  # noqa: N802 - stdlib name
            if self.path == "/":
                return self._send(200, {"api": "Fake", "version": "0"})
            if not self._authed():
                return self._send(401, {"msg": "Missing Authorization Header"})
            if self.path == "/auth/authenticated":
                return self._send(200, {"authenticated": True, "user": state.persons[0]})
            if self.path == "/data/persons":
                with state.lock:
                    persons = list(state.persons)
                return self._send(200, persons)
            return self._send(404, {"error": True, "message": "404 Not Found"})

        def do_POST(self) -> None:  # noqa: N802 - stdlib name
            body = self._body()
            if self.path == "/auth/login":
                if body.get("email") == state.email and body.get("password") == state.password:
                    token = secrets.token_hex(16)
                    with state.lock:
                        state.tokens.add(token)
                    return self._send(200, {"login": True, "access_token": token})
                return self._send(400, {"login": False, "message": "Wrong email or password."})
            if self.path == "/data/persons":
                if not self._authed():
                    return self._send(401, {"msg": "Missing Authorization Header"})
                with state.lock:
                    if any(p["email"] == body.get("email") for p in state.persons):
                        return self._send(400, {"error": True, "message": "Email already in use."})
                    active = bool(body.get("active", True))
                    if active and sum(p["active"] for p in state.persons) >= state.user_limit:
                        return self._send(400, {"error": True, "message": "User limit reached."})
                    person = {"id": str(uuid.uuid4()), **body, "active": active}
                    state.persons.append(person)
                return self._send(201, person)
            return self._send(404, {"error": True, "message": "404 Not Found"})

    return Handler


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--host", default="127.0.0.1", choices=["127.0.0.1", "localhost", "::1"])
    p.add_argument("--port", type=int, default=5999)
    p.add_argument("--email", default="admin@example.com")
    p.add_argument("--password", default="pw")
    p.add_argument("--user-limit", type=int, default=100)
    args = p.parse_args()
    state = FakeState(args.email, args.password, args.user_limit)
    server = ThreadingHTTPServer((args.host, args.port), make_handler(state))
    server.daemon_threads = True
    print(f"fake server on http://{args.host}:{args.port}", flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()


if __name__ == "__main__":
    main()
