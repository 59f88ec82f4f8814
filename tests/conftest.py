"""Cross-service fixtures: the whole suite started as real processes.

``suite`` starts every service (``python -m slatekit.run``) and the gateway
(gunicorn) on this run's database and vhost, creates an admin, and yields a
handle to drive it over HTTP and to kill/restart processes in fault tests.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
import requests

ROOT = Path(__file__).resolve().parents[1]
ADMIN_EMAIL = "admin@example.com"
ADMIN_PASSWORD = "admin-test-password"


def _die_with_parent() -> None:
    """Children get SIGKILL when the test process dies, even killed: no orphan
    service keeps its database connections or consumes the next run's queues."""
    try:
        import ctypes

        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
    except OSError:
        pass


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def service_names() -> list[str]:
    return sorted(
        p.name for p in (ROOT / "services").iterdir() if (p / f"slate_{p.name}" / "service.py").exists()
    )


class Suite:
    def __init__(self, env: dict, log_dir: Path):
        self.env = env
        self.log_dir = log_dir
        self.procs: dict[str, subprocess.Popen] = {}
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        # The events service's socket.io stream (its own process; the gateway relays /socket.io to it).
        self.stream_port = free_port()
        self.stream_url = f"http://127.0.0.1:{self.stream_port}"
        self.env["STREAM_URL"] = self.stream_url

    def _spawn(self, name: str, args: list[str], cwd: Path = ROOT, extra_env: dict | None = None):
        env = dict(os.environ)
        env.update(self.env)
        env.update(extra_env or {})
        log = open(self.log_dir / f"{name}.log", "ab")
        proc = subprocess.Popen(
            args, cwd=cwd, env=env, stdout=log, stderr=subprocess.STDOUT, preexec_fn=_die_with_parent
        )
        self.procs[name] = proc
        return proc

    def start_service(self, name: str) -> None:
        self._spawn(
            name,
            [sys.executable, "-m", "slatekit.run", f"slate_{name}.service:Service"],
            extra_env={"HEALTH_PORT": str(free_port())},
        )

    def start_gateway(self) -> None:
        self._spawn(
            "gateway",
            [str(Path(sys.executable).parent / "gunicorn"), "-c", "gunicorn.conf.py", "slate_gateway.wsgi:app"],
            cwd=ROOT / "gateway",
            extra_env={"GATEWAY_BIND": f"127.0.0.1:{self.port}", "GATEWAY_WORKERS": "2"},
        )

    def start_stream(self) -> None:
        self._spawn("stream", [sys.executable, "-m", "slate_events.stream"],
                    extra_env={"STREAM_PORT": str(self.stream_port)})

    def wait_stream(self, timeout: float = 60) -> None:
        deadline = time.time() + timeout
        while time.time() < deadline:
            try:
                if requests.get(self.stream_url + "/readyz", timeout=2).ok:
                    return
            except requests.RequestException:
                pass
            time.sleep(0.2)
        raise RuntimeError(f"event stream did not come up; logs in {self.log_dir}")

    def kill(self, name: str, sig=signal.SIGKILL) -> None:
        proc = self.procs.get(name)
        if proc and proc.poll() is None:
            proc.send_signal(sig)
            proc.wait(timeout=30)

    def wait_ready(self, service: str = "auth", timeout: float = 60) -> None:
        deadline = time.time() + timeout
        last = None
        while time.time() < deadline:
            try:
                r = requests.get(self.url + "/status", timeout=5)
                if r.ok and r.json().get("database-up"):
                    return
                last = r.text
            except requests.RequestException as exc:
                last = exc
            time.sleep(0.3)
        raise RuntimeError(f"suite not ready: {last}; logs in {self.log_dir}")

    def wait_rpc(self, service: str, timeout: float = 60) -> None:
        from slatekit.rpc_client import RpcPool

        pool = RpcPool(self.env["AMQP_URI"])
        deadline = time.time() + timeout
        try:
            while time.time() < deadline:
                try:
                    pool.call(service, "ping", {}, {}, timeout=3)
                    return
                except Exception:  # noqa: BLE001
                    time.sleep(0.3)
        finally:
            pool.close()
        raise RuntimeError(f"{service} did not come up; logs in {self.log_dir}")

    def stop(self) -> None:
        for proc in self.procs.values():
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
        for proc in self.procs.values():
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                proc.kill()

    # -------------------------------------------------------------- HTTP helpers
    def login(self, email=ADMIN_EMAIL, password=ADMIN_PASSWORD) -> requests.Session:
        s = requests.Session()
        r = s.post(self.url + "/api/auth/login", json={"email": email, "password": password}, timeout=15)
        assert r.status_code == 200, r.text
        s.headers["Authorization"] = "Bearer " + r.json()["access_token"]
        return s

    def make_person(self, admin: requests.Session, role="user", password="secret-pass-1", **extra) -> dict:
        n = os.urandom(4).hex()
        body = {"first_name": "P" + n, "last_name": "Test", "email": f"p{n}@example.com", "role": role,
                "password": password}
        body.update(extra)
        r = admin.post(self.url + "/data/persons", json=body, timeout=15)
        assert r.status_code == 201, r.text
        return r.json()


@pytest.fixture(scope="session")
def suite(slate_env, tmp_path_factory):
    log_dir = Path(os.environ.get("SLATE_TEST_LOG_DIR") or tmp_path_factory.mktemp("suite-logs"))
    s = Suite(dict(slate_env), log_dir)
    try:
        for name in service_names():
            s.start_service(name)
        s.start_gateway()
        if "events" in service_names():
            s.start_stream()
        for name in service_names():
            s.wait_rpc(name)
        s.wait_ready()
        if "events" in service_names():
            s.wait_stream()
        from slatekit.rpc_client import RpcPool

        pool = RpcPool(slate_env["AMQP_URI"])
        pool.call("auth", "set_password", {"email": ADMIN_EMAIL, "password": ADMIN_PASSWORD}, {"role": "admin"}, timeout=30)
        pool.close()
        yield s
    finally:
        s.stop()


@pytest.fixture(scope="session")
def admin(suite) -> requests.Session:
    return suite.login()
