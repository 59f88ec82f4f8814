"""The generated docs (docs/specs/zou-compat.md, configuration.md) match the code."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def gen_docs():
    spec = importlib.util.spec_from_file_location("gen_docs", ROOT / "scripts" / "gen_docs.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.parametrize("name", ["zou-compat.md", "configuration.md"])
def test_generated_doc_is_up_to_date(name):
    rendered = {p.name: text for p, text in gen_docs().render_all().items()}
    committed = (ROOT / "docs" / "specs" / name).read_text()
    assert committed == rendered[name], f"docs/specs/{name} is out of date: run `make docs` and commit it"


def test_zou_route_list_is_the_shared_reference_copy():
    shared = Path("/work/shared/reference/zou-routes.tsv")
    if not shared.exists():
        pytest.skip("no shared reference on this machine")
    assert (ROOT / "docs" / "reference" / "zou-routes.tsv").read_bytes() == shared.read_bytes()


def test_compat_counts_add_up():
    text = gen_docs().render_compat()
    total = next(line for line in text.splitlines() if line.startswith("| **total**"))
    cells = [int(c.strip(" *")) for c in total.split("|")[2:6]]
    assert cells[0] == cells[1] + cells[2] + cells[3]
    assert cells[0] == 819
