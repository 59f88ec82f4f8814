"""F13: a previews worker killed mid-transcode never leaves a preview
``processing``: every preview ends ``ready`` (re-leased and retried) or
``broken`` with a reason, within its job limits.

Default: 3 uploads, one kill. ``SLATE_FAULT_LONG=1``: 20 uploads, a kill
every few seconds while jobs run.
"""

from __future__ import annotations

import os
import sys
import time

import gazu
import pytest
from sqlalchemy import create_engine, text

from tests.conftest import free_port
from tests.e2e.media_helpers import gazu_world, make_clip

pytestmark = [pytest.mark.fault, pytest.mark.e2e]
LEASE = "4"


def restart_previews(suite):
    suite.kill("previews")
    suite._spawn("previews", [sys.executable, "-m", "slatekit.run", "slate_previews.service:Service"],
                 extra_env={"HEALTH_PORT": str(free_port()), "PREVIEW_JOB_LEASE_SECONDS": LEASE})
    suite.wait_rpc("previews")


def running_jobs(engine, ids):
    with engine.connect() as conn:
        return conn.execute(text("SELECT target_id, attempts FROM previews.job WHERE status = 'running' "
                                 "AND target_id::text = ANY(:ids)"), {"ids": ids}).all()


def test_killed_worker_leaves_no_preview_processing(suite, admin, slate_env, tmp_path):
    long = bool(os.environ.get("SLATE_FAULT_LONG"))
    uploads, kills = (20, 4) if long else (3, 1)
    restart_previews(suite)  # short leases for this run
    world = gazu_world(suite)
    c = world["client"]
    clip = make_clip(tmp_path / "clip.mp4", audio=True, seconds=4 if long else 2, size="640x360")
    ids = []
    for _ in range(uploads):
        pf = gazu.task.add_preview(world["task"], world["comment"], str(clip), client=c)
        ids.append(pf["id"])
    engine = create_engine(slate_env["DATABASE_URL"].replace("postgresql+psycopg:", "postgresql+psycopg2:").replace("postgresql://", "postgresql+psycopg2://"))
    killed = set()
    try:
        for _ in range(kills):
            deadline = time.monotonic() + 120
            while not (rows := running_jobs(engine, ids)):
                assert time.monotonic() < deadline, "no job started"
                time.sleep(0.1)
            time.sleep(0.5)  # mid-transcode
            killed.update(str(r.target_id) for r in running_jobs(engine, ids))
            restart_previews(suite)
        deadline = time.monotonic() + (600 if long else 180)
        states: dict = {}
        while True:
            for pid in ids:
                r = admin.get(f"{suite.url}/data/preview-files/{pid}")
                if r.status_code == 200:  # a 503 while the machine is busy: ask again
                    states[pid] = r.json()
            if len(states) == len(ids) and all(s["status"] != "processing" for s in states.values()):
                break
            assert time.monotonic() < deadline, {k: v.get("status") for k, v in states.items()}
            time.sleep(0.5)
        for pid, state in states.items():
            assert state["status"] in ("ready", "broken")
            if state["status"] == "broken":
                assert state["data"]["error"]
        assert killed, "the kill did not hit a running transcode"
        with engine.connect() as conn:
            retried = conn.execute(text("SELECT attempts FROM previews.job WHERE target_id::text = ANY(:ids)"),
                                   {"ids": list(killed)}).scalars().all()
        assert all(a >= 2 for a in retried), retried
        assert all(states[k]["status"] == "ready" for k in killed)
    finally:
        engine.dispose()
