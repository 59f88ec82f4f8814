"""File tree and path generation, in plain Python (no nameko, no session).

A file tree has one section per mode (``working``, ``output``, ``preview``),
each with a ``mountpoint``, a ``root`` and per-entity-kind templates for the
folder path and the file name. Templates use Zou's placeholders
(``<Project>``, ``<Sequence>``, ``<Shot>``, ``<AssetType>``, ``<Asset>``,
``<Episode>``, ``<Scene>``, ``<TaskType>``, ``<Task>``, ``<OutputType>``,
``<OutputFile>``, ``<Software>``, ``<Revision>``, ``<Representation>``) and a
``style`` (``lowercase``, ``uppercase`` or as-is).
"""

from __future__ import annotations

import copy
import re

from slatekit.errors import Invalid

KINDS = ("shot", "asset", "sequence", "scene", "episode", "edit")


def _section(mountpoint: str, root: str, leaf: str, shot_file: str) -> dict:
    return {
        "mountpoint": mountpoint,
        "root": root,
        "folder_path": {
            "shot": f"<Project>/shots/<Sequence>/<Shot>/{leaf}",
            "asset": f"<Project>/assets/<AssetType>/<Asset>/{leaf}",
            "sequence": f"<Project>/sequences/<Sequence>/{leaf}",
            "scene": f"<Project>/scenes/<Sequence>/<Scene>/{leaf}",
            "episode": f"<Project>/episodes/<Episode>/{leaf}",
            "edit": f"<Project>/edits/<Edit>/{leaf}",
            "style": "lowercase",
        },
        "file_name": {
            "shot": shot_file,
            "asset": shot_file.replace("<Sequence>_<Shot>", "<AssetType>_<Asset>"),
            "sequence": shot_file.replace("<Sequence>_<Shot>", "<Sequence>"),
            "scene": shot_file.replace("<Shot>", "<Scene>"),
            "episode": shot_file.replace("<Sequence>_<Shot>", "<Episode>"),
            "edit": shot_file.replace("<Sequence>_<Shot>", "<Edit>"),
            "style": "lowercase",
        },
    }


# Our default tree: the layout Zou's "default" tree describes (working files
# by task type, exports by output type, previews by task type).
DEFAULT_TREE = {
    "working": _section("/simple", "productions", "<TaskType>", "<Project>_<Sequence>_<Shot>_<TaskType>"),
    "output": _section("/simple", "productions/export", "<OutputType>",
                       "<Project>_<Sequence>_<Shot>_<OutputType>_<OutputFile>"),
    "preview": _section("/simple", "productions/previews", "<TaskType>",
                        "<Project>_<Sequence>_<Shot>_<TaskType>"),
}
SIMPLE_TREE = {
    mode: {**section, "mountpoint": "/simple", "root": "productions" if mode == "working" else f"productions/{mode}"}
    for mode, section in copy.deepcopy(DEFAULT_TREE).items()
}
TREES = {"default": DEFAULT_TREE, "simple": SIMPLE_TREE}

_TOKEN = re.compile(r"<([A-Za-z]+)>")


def named_tree(name: str) -> dict:
    if name not in TREES:
        raise Invalid(f"File tree {name} does not exist", {"tree_name": name})
    return copy.deepcopy(TREES[name])


def validate_tree(tree) -> dict:
    """A file tree from a client: every mode present is a dict of templates."""
    if not isinstance(tree, dict) or not tree:
        raise Invalid("A file tree is a JSON object with working/output/preview sections")
    for mode, section in tree.items():
        if not isinstance(section, dict):
            raise Invalid(f"File tree section {mode} must be an object")
        for key in ("folder_path", "file_name"):
            if key in section and not isinstance(section[key], dict):
                raise Invalid(f"File tree {mode}.{key} must be an object")
    return tree


def _style(value: str, style: str | None) -> str:
    if style == "lowercase":
        return value.lower()
    if style == "uppercase":
        return value.upper()
    return value


def _clean(value) -> str:
    # Names become path segments: no separators, no parent references.
    text = str(value if value is not None else "")
    text = text.replace("/", "_").replace("\\", "_").strip()
    return "_" if text in ("..", ".") else text.replace(" ", "_")


def render(template: str, values: dict) -> str:
    def sub(m):
        key = m.group(1)
        return _clean(values.get(key, "")) if key in values else ""

    out = _TOKEN.sub(sub, template)
    out = re.sub(r"_+", "_", out)
    out = re.sub(r"/+", "/", out)
    return out.strip("_")


def template_for(tree: dict, mode: str, part: str, kind: str) -> tuple[str, str | None]:
    section = tree.get(mode) or tree.get("working") or {}
    templates = section.get(part) or {}
    template = templates.get(kind) or templates.get("shot") or ""
    return template, templates.get("style")


def folder_path(tree: dict, mode: str, kind: str, values: dict, sep: str = "/") -> str:
    section = tree.get(mode) or tree.get("working") or {}
    template, style = template_for(tree, mode, "folder_path", kind)
    body = _style(render(template, values), style)
    parts = [section.get("mountpoint") or "", section.get("root") or "", body]
    path = "/".join(p.strip("/") for p in parts if p)
    if (section.get("mountpoint") or "").startswith("/"):
        path = "/" + path
    return path.replace("/", sep) if sep != "/" else path


def file_name(tree: dict, mode: str, kind: str, values: dict) -> str:
    template, style = template_for(tree, mode, "file_name", kind)
    return _style(render(template, values), style)


def working_name(base: str, name: str, revision: int, extension: str = "") -> str:
    """Zou appends the file's name and its revision to the template's root."""
    out = f"{base}_{name}_v{int(revision):03d}" if name else f"{base}_v{int(revision):03d}"
    return out + (f".{extension.lstrip('.')}" if extension else "")


def guess_from_path(tree: dict, file_path: str) -> dict:
    """Which template tokens a path fills, trying each kind's working folder."""
    section = tree.get("working") or {}
    prefix = "/".join(p.strip("/") for p in (section.get("mountpoint") or "", section.get("root") or "") if p)
    rel = file_path.strip("/")
    if prefix and rel.lower().startswith(prefix.lower()):
        rel = rel[len(prefix):].strip("/")
    parts = rel.split("/")
    for kind in KINDS:
        template = ((section.get("folder_path") or {}).get(kind)) or ""
        tparts = template.split("/")
        if len(parts) < len(tparts):
            continue
        found = {}
        ok = True
        for t, p in zip(tparts, parts):
            m = _TOKEN.fullmatch(t)
            if m:
                found[m.group(1)] = p
            elif t.lower() != p.lower():
                ok = False
                break
        if ok and found:
            return {"kind": kind, "values": found}
    return {"kind": None, "values": {}}
