"""Architecture rules: no service imports another, the kit imports no service,
and only services import their own packages."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def imported_modules(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(), filename=str(path))
    out = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            out.update(a.name.split(".")[0] for a in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            out.add(node.module.split(".")[0])
    return out


def packages() -> dict[str, Path]:
    pkgs = {}
    for svc in (ROOT / "services").iterdir():
        pkg = svc / f"slate_{svc.name}"
        if pkg.is_dir():
            pkgs[pkg.name] = svc
    pkgs["slate_gateway"] = ROOT / "gateway"
    return pkgs


def test_no_service_imports_another_service_or_the_gateway():
    pkgs = packages()
    offenders = []
    for own, root in pkgs.items():
        for py in root.rglob("*.py"):
            if ".venv" in py.parts:
                continue
            for mod in imported_modules(py):
                if mod in pkgs and mod != own:
                    offenders.append(f"{py.relative_to(ROOT)} imports {mod}")
    assert offenders == []


def test_the_kit_imports_no_service():
    pkgs = packages()
    offenders = [
        f"{py.relative_to(ROOT)} imports {mod}"
        for py in (ROOT / "libs").rglob("*.py")
        for mod in imported_modules(py)
        if mod in pkgs
    ]
    assert offenders == []


def test_rule_detects_a_cross_import(tmp_path):
    bad = tmp_path / "x.py"
    bad.write_text("from slate_tasks.models import Task\nimport slate_auth\n")
    assert {"slate_tasks", "slate_auth"} <= imported_modules(bad)
