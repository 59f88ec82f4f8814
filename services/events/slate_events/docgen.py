"""Regenerate the event-name table of docs/specs/events.md from the code:
``python -m slate_events.docgen``. The names are the literal first argument
of every ``emit(...)``/``_emit_*(...)`` call under services/*/slate_*/; the
families built at run time (``<model>:new`` …) are documented by hand above
the table. ``tests/e2e/test_events_spec.py`` checks the document."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[3]
DOC = ROOT / "docs" / "specs" / "events.md"
BEGIN, END = "<!-- names:begin -->", "<!-- names:end -->"
EMIT = re.compile(r'(?:\.emit|_emit[a-z_]*)\(\s*[a-z_]+,\s*"([^"{}]+)"')


def emitted_names() -> dict[str, set[str]]:
    out: dict[str, set[str]] = {}
    for py in sorted((ROOT / "services").glob("*/slate_*/*.py")):
        service = py.parent.parent.name
        for m in EMIT.finditer(py.read_text(errors="replace")):
            out.setdefault(m.group(1), set()).add(service)
    return out


def table() -> str:
    rows = ["| event | published by |", "|---|---|"]
    for name, services in sorted(emitted_names().items()):
        rows.append(f"| `{name}` | {', '.join(sorted(services))} |")
    return "\n".join(rows)


def render(text: str) -> str:
    head, _, rest = text.partition(BEGIN)
    _, _, tail = rest.partition(END)
    return f"{head}{BEGIN}\n{table()}\n{END}{tail}"


def main() -> None:
    DOC.write_text(render(DOC.read_text()))
    print(f"updated {DOC}")


if __name__ == "__main__":
    main()
