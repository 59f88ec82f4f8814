"""The live event stream: socket.io namespace ``/events`` (Kitsu, gazu.events).

Run as its own process: ``python -m slate_events.stream`` (eventlet WSGI on
``STREAM_PORT``, default 8090). The gateway relays ``/socket.io`` and
``/api/socket.io`` long-polling requests here (``stream_proxy``).

- Authentication: the access JWT from the handshake's ``Authorization``
  header, its ``access_token_cookie``, or the ``{"token": …}`` auth payload
  (Zou 1.0.97). Revoked sessions (logout) and inactive people are refused.
- Scoping (R27): a socket joins ``person:<id>``, ``global`` and one room per
  project it belongs to (admins: ``all-projects``). Project events go to
  ``project:<id>`` + ``all-projects``; ``notification:*`` to the person only.
- Feed: a durable queue ``slate.events.stream`` bound to ``slate.events``
  with ``#``, shared by the replicas (each event is taken by one); emits go
  through python-socketio's ``KombuManager`` so every replica delivers to its
  own sockets. Team and role changes come on a per-replica exclusive queue and
  move the replica's own sockets between rooms at once.
- Review rooms (``preview-room:*``): relayed between the sockets of a room as
  Zou's event stream does; the room state lives in Redis so replicas share it.
"""

from __future__ import annotations

import eventlet

eventlet.monkey_patch()  # noqa: E402

import contextlib  # noqa: E402
import datetime as dt  # noqa: E402
import json  # noqa: E402
import logging  # noqa: E402
import os  # noqa: E402
import signal  # noqa: E402
import socket  # noqa: E402
import time  # noqa: E402
import uuid  # noqa: E402
from collections import deque  # noqa: E402
from http.cookies import SimpleCookie  # noqa: E402

import engineio.exceptions  # noqa: E402
import engineio.payload  # noqa: E402
import engineio.socket  # noqa: E402
import jwt  # noqa: E402
import redis  # noqa: E402
import socketio  # noqa: E402
from kombu import Connection, Queue, binding  # noqa: E402
from slatekit import config, db, logs  # noqa: E402
from slatekit.events import EVENTS_EXCHANGE  # noqa: E402
from slatekit.rpc_client import RpcPool  # noqa: E402
from sqlalchemy import select  # noqa: E402
from sqlalchemy.exc import OperationalError, SQLAlchemyError  # noqa: E402

from . import domain  # noqa: E402
from .models import ProjectMember  # noqa: E402

log = logging.getLogger("slate.stream")
NAMESPACE = "/events"
FEED_QUEUE = "slate.events.stream"
MEMBERSHIP_KEYS = ("project:new", "project:update", "project:delete", "project:team-member-added",
                   "project:team-member-removed", "project:team-member-role-changed", "person:update",
                   "person:delete")
REVIEW_RELAYS = ("preview-room:add-annotation", "preview-room:remove-annotation", "preview-room:update-annotation",
                 "preview-room:change-version", "preview-room:panzoom-changed",
                 "preview-room:comparison-panzoom-changed")
ROOM_FIELDS = ("playlist_id", "user_id", "local_id", "is_playing", "is_repeating", "is_laser_mode",
               "is_annotations_displayed", "is_zoom_enabled", "is_waveform_displayed", "current_entity_id",
               "current_entity_index", "current_preview_file_id", "current_preview_file_index", "handle_in",
               "handle_out")
COMPARING_FIELDS = {"enable", "task_type", "revision", "mode", "comparison_preview_index"}

# Long-polling answers are capped: python-engineio clients (gazu.events)
# refuse a payload of more than 16 packets ("Unexpected packet from server"),
# drop the session and lose the burst, while engineio's server packs every
# queued packet into one answer. The rest waits for the next poll. Posts from
# clients are not capped by either client (Kitsu's or gazu's), so the server
# accepts more than python-engineio's 16 packets in one (still bounded by
# max_http_buffer_size). See docs/adr/0008-event-stream.md.
MAX_PACKETS_PER_POLL = 16
engineio.payload.Payload.max_decode_packets = 500


class _CappedPollSocket(engineio.socket.Socket):
    def poll(self):
        queue_empty = self.server.get_queue_empty_exception()
        try:
            packets = [self.queue.get(timeout=self.server.ping_interval + self.server.ping_timeout)]
            self.queue.task_done()
        except queue_empty:
            raise engineio.exceptions.QueueEmpty() from None
        if packets == [None]:
            return []
        while len(packets) < MAX_PACKETS_PER_POLL:
            try:
                pkt = self.queue.get(block=False)
            except queue_empty:
                break
            self.queue.task_done()
            if pkt is None:  # closing: leave the marker for the next poll
                self.queue.put(None)
                break
            packets.append(pkt)
        return packets


engineio.socket.Socket = _CappedPollSocket  # engineio.Server creates its sockets from this name


class _CoalescingWebSocket:
    """eventlet's websocket as engineio's writer sees it: the frames of one
    batch are packed one by one and written with one ``sendall`` when the
    writer comes back for more (``flush``), instead of one write per frame.
    At 200 events/s to 50 sockets the per-frame write was the stream's
    largest cost (docs/adr/0011)."""

    def __init__(self, ws):
        self._ws = ws
        self.pending: list[bytes] = []
        self.batching = False
        self.writes = 0  # sendall calls (tests check the coalescing)

    def send(self, message, **kw):
        if not self.batching or kw:
            self.writes += 1
            return self._ws.send(message, **kw)
        self.pending.append(self._ws._pack_message(message))

    def flush(self) -> None:
        if self.pending:
            data, self.pending = b"".join(self.pending), []
            self.writes += 1
            self._ws._send(data)

    def close(self, *args, **kw):
        try:
            self.flush()
        except OSError:
            pass
        return self._ws.close(*args, **kw)

    def __getattr__(self, name):
        return getattr(self._ws, name)


class _StreamSocket(_CappedPollSocket):
    """Engine.IO socket whose websocket writer coalesces each batch of frames."""

    ws_out = None

    def _websocket_handler(self, ws):
        if hasattr(ws, "_pack_message") and hasattr(ws, "_send"):  # eventlet's RFC 6455 websocket
            ws = self.ws_out = _CoalescingWebSocket(ws)
        return super()._websocket_handler(ws)

    def poll(self):
        # After the upgrade only the websocket writer polls: write what it
        # packed from the last batch before waiting for the next one.
        out = self.ws_out
        if out is not None and self.upgraded:
            out.batching = True
            try:
                out.flush()
            except OSError:
                return []  # the writer ends and closes the websocket
        return super().poll()


engineio.socket.Socket = _StreamSocket


class _StreamManager(socketio.KombuManager):
    """KombuManager with one producer kept per connection. python-socketio
    builds a Producer for every emit, and each new Producer declares the
    exchange: a broker round trip paid by the feed for every event before the
    next one could go out."""

    _cached_publish = None

    def _producer_publish(self, connection):
        if self._cached_publish is None:
            producer = connection.Producer(exchange=self._exchange(), **self.producer_options)
            self._cached_publish = connection.ensure(producer, producer.publish)
        return self._cached_publish

    def _publish(self, data):
        try:
            self._producer_publish(self.publisher_connection)(self.json.dumps(data))
        except Exception:  # noqa: BLE001 - start over with a new producer (python-socketio retries once)
            self._cached_publish = None
            super()._publish(data)


class Stream:
    def __init__(self, amqp_uri: str | None = None):
        self.amqp_uri = amqp_uri or config.amqp_uri()
        cors = [o.strip() for o in (config.get("CORS_ORIGINS") or "").split(",") if o.strip()] or None
        self.manager = _StreamManager(self.amqp_uri, channel=f"slate-stream-{_vhost_tag(self.amqp_uri)}")
        self.sio = socketio.Server(
            async_mode="eventlet",
            client_manager=self.manager,
            cors_allowed_origins=cors,  # None: same origin only (the gateway keeps the Host header)
            ping_interval=float(os.environ.get("STREAM_PING_INTERVAL", "25")),
            ping_timeout=float(os.environ.get("STREAM_PING_TIMEOUT", "20")),
            max_http_buffer_size=1_000_000,
        )
        self.rpc = RpcPool(self.amqp_uri)
        self.engine = db.engine_for("events")
        self.redis = redis.Redis.from_url(config.get("REDIS_URL"), socket_timeout=2, socket_connect_timeout=2)
        self.local: dict[str, dict] = {}  # sid -> {"user_id", "role"} of this replica's sockets
        # Team changes this replica saw on its own feed, newest per (person,
        # project), kept a minute: the events service's membership table is
        # fed by another consumer and may lag, and a socket placed from a
        # stale table would miss a project it was just added to.
        self.recent_membership: dict[tuple[str, str], tuple[bool, float]] = {}
        self.stats = {"connections": 0, "emitted": 0, "refused": 0}
        # Seconds from an event's occurred_at to its arrival on the feed and
        # to the end of its emit (handed to every socket's queue), last events.
        self.lag = {"feed_lag_ms": deque(maxlen=5000), "emit_lag_ms": deque(maxlen=5000)}
        self.running = True
        self.ready = False
        self._register()
        self.app = socketio.WSGIApp(self.sio, self._http, socketio_path="socket.io")

    # ---------------------------------------------------------------- HTTP
    def _http(self, environ, start_response):
        path = environ.get("PATH_INFO", "/")
        if path in ("/", "/healthz"):
            body, status = {"name": "Zou Event stream"}, "200 OK"
        elif path == "/readyz":
            body = {"ready": self.ready}
            status = "200 OK" if self.ready else "503 Service Unavailable"
        elif path == "/stats":
            body, status = dict(self.stats, nb_connections=len(self.local), **self.lag_summary()), "200 OK"
        else:
            body, status = {"error": True, "message": "Resource not found"}, "404 NOT FOUND"
        data = json.dumps(body).encode()
        start_response(status, [("Content-Type", "application/json"), ("Content-Length", str(len(data)))])
        return [data]

    # ---------------------------------------------------------------- auth
    def _token(self, environ, auth) -> str | None:
        header = environ.get("HTTP_AUTHORIZATION") or ""
        if header.lower().startswith("bearer ") and header[7:].strip():
            return header[7:].strip()
        cookie = environ.get("HTTP_COOKIE")
        if cookie:
            jar = SimpleCookie()
            try:
                jar.load(cookie)
            except Exception:  # noqa: BLE001 - a malformed cookie is no token
                jar = {}
            if "access_token_cookie" in jar:
                return jar["access_token_cookie"].value
        if isinstance(auth, dict) and isinstance(auth.get("token"), str):
            return auth["token"]
        return None

    def authenticate(self, environ, auth) -> dict:
        token = self._token(environ, auth)
        if not token:
            raise ConnectionRefusedError("Missing Authorization Header")
        try:
            claims = jwt.decode(token, config.secret_key(), algorithms=["HS256"],
                                options={"require": ["exp", "sub", "jti", "type"]})
        except jwt.ExpiredSignatureError:
            raise ConnectionRefusedError("Token has expired") from None
        except jwt.PyJWTError:
            raise ConnectionRefusedError("Invalid token") from None
        if claims.get("type") != "access":
            raise ConnectionRefusedError("Only access tokens are allowed")
        if claims.get("sid"):
            try:
                if self.redis.exists(f"slate:revoked:{claims['sid']}"):
                    raise ConnectionRefusedError("Token has been revoked")
            except redis.RedisError:
                raise ConnectionRefusedError("Token store unavailable") from None
        try:
            principal = self.rpc.call("auth", "get_principal", {"person_id": claims["sub"]}, {}, timeout=5)
        except Exception:  # noqa: BLE001
            raise ConnectionRefusedError("User not found") from None
        if not principal.get("active"):
            raise ConnectionRefusedError("User is inactive")
        return {"user_id": claims["sub"], "role": principal.get("role") or "user"}

    RECENT_SECONDS = 60.0
    YIELD_EVERY_SECONDS = 0.005

    def projects_of(self, person_id: str) -> list[str]:
        for delay in (0.3, 1.0, None):  # a busy database (no free connection) is often busy for a moment
            try:
                with self.engine.connect() as conn:
                    projects = {r[0] for r in conn.execute(
                        select(ProjectMember.project_id).where(ProjectMember.person_id == person_id))}
                break
            except OperationalError:
                if delay is None:
                    raise
                eventlet.sleep(delay)
        now = time.monotonic()
        for (pid, project_id), (member, seen) in list(self.recent_membership.items()):
            if now - seen > self.RECENT_SECONDS:
                self.recent_membership.pop((pid, project_id), None)
            elif pid == person_id:
                (projects.add if member else projects.discard)(project_id)
        return sorted(projects)

    def _remember(self, person_id, project_id, member: bool) -> None:
        if person_id and project_id:
            self.recent_membership[(person_id, project_id)] = (member, time.monotonic())

    def place(self, sid: str, who: dict) -> None:
        """Put a socket in exactly the rooms its person may see."""
        wanted = domain.rooms_of(who["role"], who["user_id"], self.projects_of(who["user_id"]))
        current = set(self.sio.rooms(sid, namespace=NAMESPACE)) - {sid}
        for room in current - wanted:
            if not room.startswith("review:"):
                self.sio.leave_room(sid, room, namespace=NAMESPACE)
        for room in wanted - current:
            self.sio.enter_room(sid, room, namespace=NAMESPACE)

    # ---------------------------------------------------------------- socket handlers
    def _register(self):
        sio = self.sio

        @sio.on("connect", namespace=NAMESPACE)
        def connect(sid, environ, auth=None):
            try:
                who = self.authenticate(environ, auth)
            except ConnectionRefusedError:
                self.stats["refused"] += 1
                raise
            self.local[sid] = who
            sio.save_session(sid, who, namespace=NAMESPACE)
            try:
                self.place(sid, who)
            except SQLAlchemyError:
                # Answer the client (it retries) instead of leaving its connect unanswered.
                self.local.pop(sid, None)
                log.warning("socket refused: the database is unavailable")
                raise ConnectionRefusedError("The event stream is unavailable, please retry") from None
            self.stats["connections"] += 1
            log.info("socket connected", extra={"person_id": who["user_id"]})

        @sio.on("disconnect", namespace=NAMESPACE)
        def disconnect(sid, *args):
            who = self.local.pop(sid, None)
            log.info("socket disconnected: %s", args[0] if args else "", extra={"person_id": (who or {}).get("user_id")})
            if who:
                for room in list(self.sio.rooms(sid, namespace=NAMESPACE)):
                    if room.startswith("review:"):
                        self._leave_review(room[len("review:"):], who["user_id"])

        @sio.on("preview-room:open-playlist", namespace=NAMESPACE)
        def open_playlist(sid, data):
            who, room_id = self._review_args(sid, data)
            if who is None:
                return
            sio.enter_room(sid, f"review:{room_id}", namespace=NAMESPACE)
            with self._room_lock(room_id):
                room = self._room(room_id)
                self._save_room(room_id, room)
                self._people_updated(room_id, room["people"])

        @sio.on("preview-room:close-playlist", namespace=NAMESPACE)
        def close_playlist(sid, data):
            who, room_id = self._review_args(sid, data)
            if who is not None:
                sio.leave_room(sid, f"review:{room_id}", namespace=NAMESPACE)

        @sio.on("preview-room:join", namespace=NAMESPACE)
        def join(sid, data):
            who, room_id = self._review_args(sid, data)
            if who is None:
                return
            sio.enter_room(sid, f"review:{room_id}", namespace=NAMESPACE)
            with self._room_lock(room_id):
                room = self._room(room_id)
                if not room["people"]:
                    self._apply_status(room, data)
                if who["user_id"] not in room["people"]:
                    room["people"].append(who["user_id"])
                room["playlist_id"] = room_id
                self._save_room(room_id, room)
                self._people_updated(room_id, room["people"])
            sio.emit("preview-room:room-updated", room, room=f"review:{room_id}", namespace=NAMESPACE)

        @sio.on("preview-room:leave", namespace=NAMESPACE)
        def leave(sid, data):
            who, room_id = self._review_args(sid, data)
            if who is not None:
                self._leave_review(room_id, who["user_id"])

        @sio.on("preview-room:room-updated", namespace=NAMESPACE)
        def room_updated(sid, data, only_newcomer=False):
            who, room_id = self._review_args(sid, data)
            if who is None:
                return
            with self._room_lock(room_id):
                room = self._apply_status(self._room(room_id), data)
                self._save_room(room_id, room)
            sio.emit("preview-room:room-updated", {"only_newcomer": only_newcomer, **room},
                     room=f"review:{room_id}", namespace=NAMESPACE)

        for name in REVIEW_RELAYS:
            def relay(sid, data, _name=name):
                who, room_id = self._review_args(sid, data)
                if who is None:
                    return
                if f"review:{room_id}" not in self.sio.rooms(sid, namespace=NAMESPACE):
                    return  # only members of a room may drive it
                sio.emit(_name, data, room=f"review:{room_id}", namespace=NAMESPACE)

            sio.on(name, relay, namespace=NAMESPACE)

    # ---------------------------------------------------------------- review rooms
    def _review_args(self, sid, data):
        who = self.local.get(sid)
        if who is None or not isinstance(data, dict):
            return None, None
        room_id = data.get("playlist_id")
        if not isinstance(room_id, str) or not room_id or len(room_id) > 64:
            return None, None
        return who, room_id

    def _room(self, room_id: str) -> dict:
        try:
            raw = self.redis.get(f"slate:review-room:{room_id}")
        except redis.RedisError:
            raw = None
        if raw:
            return json.loads(raw)
        return {"playlist_id": None, "user_id": None, "local_id": None, "people": [], "is_playing": False,
                "current_entity_id": None, "current_entity_index": None, "current_preview_file_id": None,
                "current_preview_file_index": None, "current_frame": 0, "is_repeating": None,
                "is_annotations_displayed": False, "is_zoom_enabled": False, "is_waveform_displayed": False,
                "is_laser_mode": None, "handle_in": None, "handle_out": None, "speed": None,
                "comparing": {"enable": False, "task_type": None, "revision": None, "mode": "sidebyside",
                              "comparison_preview_index": 0}}

    def _save_room(self, room_id: str, room: dict) -> None:
        try:
            if room["people"]:
                self.redis.set(f"slate:review-room:{room_id}", json.dumps(room), ex=86400)
            else:
                self.redis.delete(f"slate:review-room:{room_id}")
        except redis.RedisError:
            log.warning("review room state not saved (Redis unavailable)")

    @staticmethod
    def _apply_status(room: dict, data: dict) -> dict:
        for key in ROOM_FIELDS:
            room[key] = data.get(key, False if key.startswith("is_") and key not in ("is_repeating", "is_laser_mode") else None)
        room["playlist_id"] = data.get("playlist_id", "")
        if "current_frame" in data:
            room["current_frame"] = data["current_frame"]
        if isinstance(data.get("comparing"), dict):
            room["comparing"] = {k: v for k, v in data["comparing"].items() if k in COMPARING_FIELDS}
        if isinstance(data.get("speed"), (int, float)):
            room["speed"] = data["speed"]
        return room

    def _people_updated(self, room_id: str, people: list) -> None:
        self.sio.emit("preview-room:room-people-updated", {"people": people, "playlist_id": room_id, "id": room_id},
                      room=f"review:{room_id}", namespace=NAMESPACE)

    def _leave_review(self, room_id: str, user_id: str) -> None:
        with self._room_lock(room_id):
            room = self._room(room_id)
            room["people"] = [p for p in room["people"] if p != user_id]
            self._save_room(room_id, room)
            self._people_updated(room_id, room["people"])

    @contextlib.contextmanager
    def _room_lock(self, room_id: str):
        """A room's state is read, changed and written back to Redis: one change
        at a time per room across replicas, or two people joining at once
        would each write a room holding only themselves."""
        lock = self.redis.lock(f"slate:review-room-lock:{room_id}", timeout=5, blocking_timeout=3)
        try:
            held = lock.acquire()
        except redis.RedisError:
            held = False  # Redis down: the state is not saved either
        try:
            yield
        finally:
            if held:
                try:
                    lock.release()
                except redis.RedisError:
                    pass

    # ---------------------------------------------------------------- feeds
    def emit_event(self, event: dict) -> None:
        if not isinstance(event, dict) or not event.get("name"):
            return
        received = time.time()
        rooms = domain.rooms_for(event)
        if rooms:
            self.sio.emit(event["name"], domain.socket_payload(event), to=rooms, namespace=NAMESPACE)
            self.stats["emitted"] += 1
        occurred = _timestamp(event.get("occurred_at"))
        if occurred is not None:
            self.lag["feed_lag_ms"].append(received - occurred)
            self.lag["emit_lag_ms"].append(time.time() - occurred)

    def lag_summary(self) -> dict:
        out = {}
        for key, values in self.lag.items():
            ordered = sorted(values)
            if ordered:
                def at(p, ordered=ordered):
                    return round(ordered[min(len(ordered) - 1, int(p * (len(ordered) - 1) + 0.5))] * 1000, 2)

                out[key] = {"n": len(ordered), "p50": at(0.5), "p99": at(0.99), "max": at(1.0)}
        return out

    def on_membership(self, event: dict) -> None:
        """Move this replica's sockets when a team or a role changes."""
        name = event.get("name")
        data = event.get("data") or {}
        record = event.get("record") or {}
        if name in ("person:update", "person:delete"):
            person_id = record.get("id") or data.get("person_id")
            for sid, who in list(self.local.items()):
                if who["user_id"] != person_id:
                    continue
                if name == "person:delete" or record.get("active") is False:
                    self.sio.disconnect(sid, namespace=NAMESPACE)
                    continue
                if record.get("role"):
                    who["role"] = record["role"]
                self.place(sid, who)
            return
        project_id = data.get("project_id") or record.get("id")
        if not project_id:
            return
        room = f"project:{project_id}"
        team = None
        if name in ("project:new", "project:update") and isinstance(record.get("team"), list):
            team = {t.get("id") if isinstance(t, dict) else t for t in record["team"]}
            for person_id in team:
                self._remember(person_id, project_id, True)
            for pid, proj in list(self.recent_membership):
                if proj == project_id and pid not in team:
                    self._remember(pid, project_id, False)
        if name == "project:team-member-added":
            self._remember(data.get("person_id"), project_id, True)
        elif name == "project:team-member-removed":
            self._remember(data.get("person_id"), project_id, False)
        for sid, who in list(self.local.items()):
            if who["role"] in domain.SEES_ALL:
                continue
            member = None
            if name == "project:team-member-added" and data.get("person_id") == who["user_id"]:
                member = True
            elif name == "project:team-member-removed" and data.get("person_id") == who["user_id"]:
                member = False
            elif name == "project:delete":
                member = False
            elif team is not None:
                member = who["user_id"] in team
            if member is True:
                self.sio.enter_room(sid, room, namespace=NAMESPACE)
            elif member is False:
                self.sio.leave_room(sid, room, namespace=NAMESPACE)

    def _consume(self, queue_factory, handler, what: str) -> None:
        """Consume a queue forever; reconnect on broker errors."""
        while self.running:
            try:
                with Connection(self.amqp_uri, heartbeat=30) as conn:
                    conn.ensure_connection(max_retries=3)
                    channel = conn.channel()
                    EVENTS_EXCHANGE.declare(channel=channel)
                    queue = queue_factory()(channel)
                    queue.declare()

                    last_yield = [time.monotonic()]

                    def on_message(body, message, last_yield=last_yield):
                        try:
                            event = body if isinstance(body, dict) else json.loads(body)
                            handler(event)
                        except Exception:  # noqa: BLE001 - one bad event must not stop the stream
                            log.exception("stream could not relay an event")
                        message.ack()
                        # With a backlog the feed never blocks on its socket, so the
                        # sockets' writers would wait for the whole backlog: let them
                        # write every few ms (they send what they have in one write).
                        if time.monotonic() - last_yield[0] > self.YIELD_EVERY_SECONDS:
                            eventlet.sleep(0)
                            last_yield[0] = time.monotonic()

                    with conn.Consumer(queues=[queue], callbacks=[on_message], accept=["json"], prefetch_count=200):
                        self.ready = True
                        while self.running:
                            try:
                                conn.drain_events(timeout=1)
                            except TimeoutError:
                                conn.heartbeat_check()
            except Exception as exc:  # noqa: BLE001
                self.ready = False
                log.warning("stream %s feed error, reconnecting: %r", what, exc)
                eventlet.sleep(1)

    def feed_queue(self) -> Queue:
        # Shared by the replicas; a short TTL because stale live events are of
        # no use (offline clients replay from /data/events/last).
        return Queue(FEED_QUEUE, exchange=EVENTS_EXCHANGE, routing_key="#", durable=True,
                     queue_arguments={"x-message-ttl": int(os.environ.get("STREAM_QUEUE_TTL_MS", "60000")),
                                      "x-max-length": 100000})

    def membership_queue(self) -> Queue:
        return Queue(f"slate.events.stream.members.{uuid.uuid4().hex[:10]}",
                     bindings=[binding(EVENTS_EXCHANGE, routing_key=k) for k in MEMBERSHIP_KEYS],
                     exclusive=True, auto_delete=True)

    def start_feeds(self) -> None:
        # python-socketio starts the manager's listener only at the first
        # connection, and the listener binds its queue on its own greenthread:
        # emits made before that are dropped by the broker. Start it now and
        # let it bind before relaying anything (readiness waits for the feed).
        if not self.sio.manager_initialized:
            self.sio.manager_initialized = True
            self.manager.initialize()
        eventlet.sleep(float(os.environ.get("STREAM_MANAGER_WARMUP", "1.0")))
        eventlet.spawn_n(self._consume, self.membership_queue, self.on_membership, "membership")
        eventlet.spawn_n(self._consume, self.feed_queue, self.emit_event, "events")


def _timestamp(value) -> float | None:
    """POSIX time of an envelope's ``occurred_at`` (naive UTC ISO), or None."""
    if not isinstance(value, str):
        return None
    try:
        return dt.datetime.fromisoformat(value).replace(tzinfo=dt.UTC).timestamp()
    except ValueError:
        return None


def _vhost_tag(uri: str) -> str:
    from urllib.parse import unquote, urlsplit

    vhost = unquote(urlsplit(uri).path.lstrip("/")) or "root"
    return "".join(c if c.isalnum() else "-" for c in vhost)[:60]


def main() -> None:
    logs.setup("events-stream")
    config.secret_key()
    port = int(os.environ.get("STREAM_PORT", "8090"))
    host = os.environ.get("STREAM_HOST", "127.0.0.1")
    stream = Stream()
    stream.start_feeds()
    listener = eventlet.listen((host, port))
    # Accepted sockets inherit it (Linux): no Nagle wait behind the client's
    # delayed ACK between two small websocket frames of a live stream.
    listener.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def stop(signum, frame):
        # Clients reconnect (to another replica) and replay what they missed
        # from /data/events/last; nothing here needs draining.
        stream.running = False
        log.info("event stream stopping (signal %s)", signum)
        logging.shutdown()
        os._exit(0)

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    log.info("event stream listening on %s:%s", host, port)
    eventlet.wsgi.server(listener, stream.app, log_output=False, max_size=4000, keepalive=True)


if __name__ == "__main__":
    import eventlet.wsgi  # noqa: F401

    main()
