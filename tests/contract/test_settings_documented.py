"""Every environment variable the code reads is documented.

Scans the code of the kit, the gateway and the services for the names it
reads (``config.get*("X")``, ``settings.get*("X")``, ``os.environ.get("X")``,
``os.environ["X"]``, ``os.getenv("X")``) and checks each one has a row in the
generated ``docs/specs/configuration.md`` (from ``slatekit.config.SETTINGS``
and ``slate_gateway.settings.SETTINGS``).
"""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
CODE_DIRS = [ROOT / "libs/slatekit/slatekit", ROOT / "gateway/slate_gateway",
             *sorted((ROOT / "services").glob("*/slate_*"))]
READ = re.compile(
    r"""(?:config\.get(?:_float|_int|_bool)?|settings\.get(?:_bool|_int)?|os\.environ\.get|os\.getenv)\(\s*["']([A-Z][A-Z0-9_]+)["']"""
    r"""|os\.environ\[\s*["']([A-Z][A-Z0-9_]+)["']\s*\]"""
)
# Read by the code but not Slate settings: set by the platform or by our own tooling.
NOT_SETTINGS = {"PATH", "HOME", "TMPDIR", "PYTHONPATH"}


def names_read() -> dict[str, str]:
    found: dict[str, str] = {}
    for d in CODE_DIRS:
        for path in d.rglob("*.py"):
            if "tests" in path.relative_to(ROOT).parts:
                continue
            for m in READ.finditer(path.read_text()):
                found.setdefault(m.group(1) or m.group(2), str(path.relative_to(ROOT)))
    return found


def test_the_scan_sees_settings():
    names = names_read()
    assert "SECRET_KEY" in names or "AMQP_URI" in names
    assert len(names) > 30


def test_every_setting_read_is_documented():
    documented = set(re.findall(r"^\| `([A-Z][A-Z0-9_<>]+)` \|", (ROOT / "docs/specs/configuration.md").read_text(), re.M))
    missing = {n: where for n, where in names_read().items() if n not in documented and n not in NOT_SETTINGS}
    assert not missing, (
        "settings read by the code but missing from docs/specs/configuration.md "
        f"(add them to slatekit.config.SETTINGS and run `make docs`): {missing}"
    )
