"""Small generated media and a gazu world for the files/previews e2e tests."""

from __future__ import annotations

import io
import subprocess
import time
import uuid
from pathlib import Path

import gazu

from tests.conftest import ADMIN_EMAIL, ADMIN_PASSWORD


def png_bytes(width=320, height=180, color=(200, 40, 40)) -> bytes:
    from PIL import Image

    buf = io.BytesIO()
    Image.new("RGB", (width, height), color).save(buf, "PNG")
    return buf.getvalue()


def make_png(path: Path, width=320, height=180) -> Path:
    path.write_bytes(png_bytes(width, height))
    return path


def make_clip(path: Path, audio: bool, seconds: float = 0.5, size="320x240", rate=24) -> Path:
    """A few-frame testsrc clip (with a sine track when ``audio``)."""
    cmd = ["ffmpeg", "-y", "-v", "error", "-f", "lavfi", "-i", f"testsrc=size={size}:rate={rate}:duration={seconds}"]
    if audio:
        cmd += ["-f", "lavfi", "-i", f"sine=frequency=440:duration={seconds}", "-c:a", "aac", "-shortest"]
    cmd += ["-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p", str(path)]
    subprocess.run(cmd, check=True, timeout=60)
    return path


def gazu_client(suite):
    client = gazu.client.create_client(suite.url + "/api")
    gazu.log_in(ADMIN_EMAIL, ADMIN_PASSWORD, client=client)
    return client


def gazu_world(suite, attempts: int = 3) -> dict:
    """Project, asset type, asset, task type, task and a comment, through gazu.
    Retried on a transient failure of a neighbour (a shared, busy machine):
    these tests are about what comes after."""
    for attempt in range(attempts):
        try:
            return _gazu_world(suite)
        except Exception:  # noqa: BLE001
            if attempt == attempts - 1:
                raise
            time.sleep(1)


def _gazu_world(suite) -> dict:
    c = gazu_client(suite)
    n = uuid.uuid4().hex[:6]
    project = gazu.project.new_project(f"Prev {n}", client=c)
    asset_type = gazu.asset.new_asset_type(f"Props {n}", client=c)
    asset = gazu.asset.new_asset(project, asset_type, f"Lamp {n}", client=c)
    task_type = gazu.task.new_task_type(f"Modeling {n}", client=c)
    task = gazu.task.new_task(asset, task_type, client=c)
    status = gazu.task.get_task_status_by_short_name("wip", client=c) or gazu.task.all_task_statuses(client=c)[0]
    comment = gazu.task.add_comment(task, status, "first version", client=c)
    return {"client": c, "project": project, "asset": asset, "task_type": task_type, "task": task,
            "comment": comment, "status": status}
