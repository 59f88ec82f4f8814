"""Run one nameko service from env config: ``python -m slatekit.run slate_auth.service:AuthService``.

Same as ``nameko run`` but configured from env (12-factor), JSON logs, its
health port (``HEALTH_PORT``, or ``HEALTH_PORT_BASE`` + the service's index)
and a bounded graceful stop on SIGTERM (readiness turns false at once, work in
flight drains, then exit).
"""

from __future__ import annotations

import eventlet

eventlet.monkey_patch()  # noqa: E402 - must come first

import importlib  # noqa: E402
import logging  # noqa: E402
import os  # noqa: E402
import signal  # noqa: E402
import sys  # noqa: E402

from nameko.runners import ServiceRunner  # noqa: E402

from . import config, logs  # noqa: E402

SERVICE_PORTS = {"auth": 1, "assets": 2, "tasks": 3, "files": 4, "previews": 5, "imports": 6, "events": 7, "notifications": 8}
GRACE_SECONDS = 25


def load(path: str):
    module, _, attr = path.partition(":")
    return getattr(importlib.import_module(module), attr)


def main(argv: list[str] | None = None) -> None:
    argv = argv or sys.argv[1:]
    from . import rpc_semantics

    rpc_semantics.install()  # before the service class is bound to a container
    cls = load(argv[0])
    logs.setup(cls.name)
    config.secret_key()
    cfg = config.nameko_config(cls.name)
    port = os.environ.get("HEALTH_PORT") or str(int(config.get("HEALTH_PORT_BASE") or 8100) + SERVICE_PORTS.get(cls.name, 50))
    cfg["WEB_SERVER_ADDRESS"] = f"127.0.0.1:{port}" if not os.environ.get("HEALTH_BIND_ALL") else f"0.0.0.0:{port}"
    runner = ServiceRunner(cfg)
    runner.add_service(cls)
    log = logging.getLogger("slate.run")

    def shutdown(signum, frame):
        log.info("stopping %s (signal %s)", cls.name, signum)
        eventlet.spawn_n(_stop, runner, log)

    signal.signal(signal.SIGTERM, shutdown)
    signal.signal(signal.SIGINT, shutdown)
    runner.start()
    log.info("%s started; health on port %s", cls.name, port)
    if os.environ.get("SLATE_EXIT_WITH_PARENT") == "1":  # set by slatekit.testing
        # A test run that is killed (timeout, Ctrl-C twice) never stops its
        # services: without this they stay behind holding database connections.
        eventlet.spawn_n(_exit_with_parent, os.getppid(), runner, log)
    runner.wait()


def _exit_with_parent(parent: int, runner, log) -> None:
    while os.getppid() == parent:
        eventlet.sleep(1.0)
    log.warning("parent process %s is gone; stopping", parent)
    _stop(runner, log)
    os._exit(0)


def _stop(runner, log):
    try:
        with eventlet.Timeout(GRACE_SECONDS):
            runner.stop()
    except eventlet.Timeout:
        log.warning("graceful stop timed out; killing")
        runner.kill()


if __name__ == "__main__":
    main()
