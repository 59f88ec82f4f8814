"""The stream's emit path, on a real eventlet websocket server (no broker, no
database): the websocket writer coalesces a burst into few socket writes
without losing, reordering or corrupting a packet, and a lone event after a
quiet spell still leaves at once (nothing waits for the next batch).
The socket.io manager's publisher keeps one producer instead of declaring
the exchange for every emit."""

from __future__ import annotations

import threading
import time

import eventlet
import eventlet.wsgi
import pytest
import socketio
from slate_events import stream  # noqa: F401 - installs the stream's Engine.IO socket class


@pytest.fixture
def server():
    sio = socketio.Server(async_mode="eventlet")
    sio.on("connect", lambda sid, environ, auth=None: True, namespace="/events")
    app = socketio.WSGIApp(sio)
    listener = eventlet.listen(("127.0.0.1", 0))
    gt = eventlet.spawn(eventlet.wsgi.server, listener, app, log_output=False)
    yield sio, f"http://127.0.0.1:{listener.getsockname()[1]}"
    gt.kill()
    listener.close()


def _client(url, got, lock):
    client = socketio.Client(reconnection=False)

    @client.on("tick", namespace="/events")
    def on_tick(data):
        with lock:
            got.append((time.monotonic(), data))

    client.connect(url, namespaces=["/events"], transports=["websocket"], wait_timeout=10)
    return client


def _server_socket(sio):
    [eio_socket] = list(sio.eio.sockets.values())
    return eio_socket


def test_a_burst_is_written_in_few_writes_complete_and_in_order(server):
    sio, url = server
    got, lock = [], threading.Lock()
    client = _client(url, got, lock)
    try:
        sock = _server_socket(sio)
        assert isinstance(sock, stream._StreamSocket)
        eventlet.sleep(0.2)
        out = sock.ws_out
        assert out is not None
        before = out.writes
        payload = {"text": "é" * 300}  # multi-byte, > 125 bytes: extended length header
        for i in range(300):
            sio.emit("tick", {"i": i, **payload}, namespace="/events")
        deadline = time.monotonic() + 10
        while len(got) < 300 and time.monotonic() < deadline:
            eventlet.sleep(0.05)
        assert [d["i"] for _, d in got] == list(range(300))
        assert all(d["text"] == payload["text"] for _, d in got)
        # 300 frames; engineio hands the writer at most 16 packets at a time
        assert out.writes - before <= 300 // 16 + 2, out.writes - before
    finally:
        client.disconnect()


def test_a_lone_event_after_a_quiet_spell_leaves_at_once(server):
    sio, url = server
    got, lock = [], threading.Lock()
    client = _client(url, got, lock)
    try:
        sio.emit("tick", {"i": 0}, namespace="/events")
        deadline = time.monotonic() + 5
        while len(got) < 1 and time.monotonic() < deadline:
            eventlet.sleep(0.01)
        eventlet.sleep(0.5)
        t0 = time.monotonic()
        sio.emit("tick", {"i": 1}, namespace="/events")
        while len(got) < 2 and time.monotonic() < t0 + 5:
            eventlet.sleep(0.005)
        assert [d["i"] for _, d in got] == [0, 1]
        assert got[1][0] - t0 < 0.2, "the frame waited for the next batch"
    finally:
        client.disconnect()


def test_the_manager_publisher_declares_the_exchange_once(monkeypatch):
    calls = []

    class FakeProducer:
        def __init__(self, exchange=None, **kw):
            calls.append("declare")
            self.publish = lambda body: calls.append("publish")

    class FakeConnection:
        def Producer(self, **kw):  # noqa: N802 - kombu's name
            return FakeProducer(**kw)

        def ensure(self, obj, fn):
            return fn

    manager = stream._StreamManager.__new__(stream._StreamManager)
    manager.channel = "slate-stream-test"
    manager.exchange_options = {}
    manager.producer_options = {}
    manager.publisher_connection = FakeConnection()
    import json

    manager.json = json
    for i in range(5):
        manager._publish({"method": "emit", "i": i})
    assert calls.count("declare") == 1 and calls.count("publish") == 5
