"""File tree and path generation, in plain Python (no nameko, no session).

Behaves like Zou's file tree service, to the character: a tree has one section
per mode (``working``, ``output``, ``preview``...), each with a
``mountpoint``, a ``root`` and per-kind templates (``shot``, ``asset``,
``sequence``, ``scene``, ``episode``, ``instance``, ``instance_asset``) for
the folder path and the file name, plus a ``style`` (``lowercase``,
``uppercase``, anything else leaves the case alone).

Rendering rules (checked against Zou 1.0.97, see the README):

- a token is ``<Type>`` or ``<Type.field>``; ``field`` is one of ``name``,
  ``short_name``, ``number``, ``id`` (anything else reads ``name``); an
  unknown ``Type`` is a malformed tree;
- every value is slugified (ASCII, lowercase, runs of other characters
  become ``_``) then styled, except an ``id`` which stays verbatim;
- a token whose value is missing (``None``) stays in the output as written;
- folder: ``mountpoint + sep + root + sep`` (no root: ``mountpoint + sep``)
  then the template with its ``/`` turned into ``sep``; the mountpoint and
  the root are kept as written;
- file name: rendered with lowercase values, then slugified as a whole and
  styled (version-4 UUIDs are kept verbatim); an output covering several
  elements gets ``_[1-N]``;
- ``<Sequence>`` names containing ``Seq`` become ``S`` + the rest padded to
  3 digits (``Seq2`` -> ``s002``); ``<Episode>`` falls back to ``e001``;
  ``<OutputType>`` is lowercased; ``<Revision>``/``<Version>`` are padded to
  3 digits; ``<Name>``, ``<OutputFile>`` and ``<WorkingFile>`` are the name.
"""

from __future__ import annotations

import copy
import html.entities
import re
import unicodedata

from slatekit.errors import Invalid

ALLOWED_FIELDS = {"short_name", "name", "number", "id"}
TOKENS = {"Project", "Task", "TaskType", "Department", "Shot", "TemporalEntity", "TemporalEntityType", "AssetType",
          "Sequence", "Episode", "Asset", "Software", "OutputType", "Scene", "Instance", "Representation", "Name",
          "OutputFile", "WorkingFile", "Version", "Revision"}
UUID4 = re.compile(r"[a-f0-9]{8}-[a-f0-9]{4}-4[a-f0-9]{3}-[89aAbB][a-f0-9]{3}-[a-f0-9]{12}")
_TOKEN = re.compile(r"<([\w\.]*)>")


# Zou's MalformedFileTreeException: a 400 with the message. An alias, not a
# subclass: errors cross RabbitMQ by class name and only the kit's are known.
MalformedTree = Invalid


DEFAULT_TREE = {'working': {'mountpoint': '/simple',
             'root': 'productions',
             'folder_path': {'shot': '<Project>/shots/<Sequence>/<Shot>/<TaskType>',
                             'asset': '<Project>/assets/<AssetType>/<Asset>/<TaskType>',
                             'sequence': '<Project>/sequences/<Sequence>/<TaskType>',
                             'scene': '<Project>/scenes/<Sequence>/<Scene>/<TaskType>',
                             'episode': '<Project>/episodes/<Episode>/<TaskType>',
                             'style': 'lowercase'},
             'file_name': {'shot': '<Project>_<Shot>_<TaskType>',
                           'asset': '<Project>_<AssetType>_<Asset>_<TaskType>',
                           'sequence': '<Project>_<Sequence>_<TaskType>',
                           'scene': '<Project>_<Sequence>_<Scene>_<TaskType>',
                           'episode': '<Project>_<Episode>_<TaskType>',
                           'style': 'lowercase'}},
 'output': {'mountpoint': '/simple',
            'root': 'productions/export',
            'folder_path': {'shot': '<Project>/shots/<Sequence>/<Shot>/<OutputType>',
                            'asset': '<Project>/assets/<AssetType>/<Asset>/<OutputType>',
                            'sequence': '<Project>/sequences/<Sequence>/<OutputType>',
                            'scene': '<Project>/scenes/<Sequence>/<Scene>/<OutputType>',
                            'episode': '<Project>/episodes/<Episode>/<OutputType>',
                            'style': 'lowercase'},
            'file_name': {'shot': '<Project>_<Sequence>_<Shot>_<OutputType>_<OutputFile>',
                          'asset': '<Project>_<AssetType>_<Asset>_<OutputType>_<OutputFile>',
                          'sequence': '<Project>_<Sequence>_<OuputType>_<OutputFile>',
                          'scene': '<Project>_<Sequence>_<Scene>_<OutputType>_<OutputFile>',
                          'episode': '<Project>_<Episode>_<OutputType>_<OutputFile>',
                          'style': 'lowercase'}},
 'preview': {'mountpoint': '/simple',
             'root': 'productions/previews',
             'folder_path': {'shot': '<Project>/shots/<Sequence>/<Shot>/<TaskType>',
                             'asset': '<Project>/assets/<AssetType>/<Asset>/<TaskType>',
                             'sequence': '<Project>/sequences/<Sequence>/<TaskType>',
                             'scene': '<Project>/scene/<Scene>/<TaskType>',
                             'episode': '<Project>/episodes/<Episode>/<TaskType>',
                             'style': 'lowercase'},
             'file_name': {'shot': '<Project>_<Sequence>_<Shot>_<TaskType>',
                           'asset': '<Project>_<AssetType>_<Asset>_<TaskType>',
                           'sequence': '<Project>_<Sequence>_<TaskType>',
                           'scene': '<Project>_<Scene>_<TaskType>',
                           'episode': '<Project>_<Episode>_<TaskType>',
                           'style': 'lowercase'}}}
SIMPLE_TREE = {'working': {'mountpoint': '/simple',
             'root': 'productions',
             'folder_path': {'shot': '<Project>/shots/<Sequence>/<Shot>/<TaskType>/<Software>',
                             'asset': '<Project>/assets/<AssetType>/<Asset>/<TaskType>/<Software>',
                             'sequence': '<Project>/sequences/<Sequence>/<TaskType>/<Software>',
                             'scene': '<Project>/scenes/<Sequence>/<Scene>/<TaskType>/<Software>',
                             'episode': '<Project>/episodes/<Episode>/<TaskType>/<Software>',
                             'style': 'lowercase'},
             'file_name': {'shot': '<Project>_<Sequence>_<Shot>_<TaskType>_<Name>_v<Version>',
                           'asset': '<Project>_<AssetType>_<Asset>_<TaskType>_<Name>_v<Version>',
                           'sequence': '<Project>_<Sequence>_<TaskType>_<Name>_v<Version>',
                           'scene': '<Project>_<Scene>_<TaskType>_<Name>_v<Version>',
                           'episode': '<Project>_<Episode>_<TaskType>_<Name>_v<Version>',
                           'style': 'lowercase'}},
 'output': {'mountpoint': '/simple',
            'root': 'productions/export',
            'folder_path': {'shot': '<Project>/shots/<Sequence>/<Shot>/<TaskType>/<OutputType>',
                            'asset': '<Project>/assets/<AssetType>/<Asset>/<TaskType>/<OutputType>',
                            'sequence': '<Project>/sequences/<Sequence>/<TaskType>/<OutputType>',
                            'scene': '<Project>/scenes/<Sequence>/<Scene>/<TaskType>/<OutputType>',
                            'episode': '<Project>/episodes/<Episode>/<TaskType>/<OutputType>',
                            'instance_asset': '<Project>/assets/<TemporalEntityType>/<TemporalEntity>/<TaskType>/<OutputType>/<AssetType>/<Asset>/instance_<Instance.number>/<Representation>',
                            'instance': '<Project>/<TemporalEntityType>/<Sequence>/<TemporalEntity>/<TaskType>/<OutputType>/<AssetType>/<Asset>/instance_<Instance.number>/<Representation>',
                            'style': 'lowercase'},
            'file_name': {'shot': '<Project>_<Sequence>_<Shot>_<TaskType>_<OutputType>_<Name>_v<Version>',
                          'asset': '<Project>_<AssetType>_<Asset>_<TaskType>_<OutputType>_<Name>_v<Version>',
                          'sequence': '<Project>_<Sequence>_<TaskType>_<OutputType>_<Name>_v<Version>',
                          'scene': '<Project>_<Scene>_<TaskType>_<OutputType>_<Name>_v<Version>',
                          'episode': '<Project>_<Episode>_<TaskType>_<OutputType>_<Name>_v<Version>',
                          'instance_asset': '<Project>_<TemporalEntityType>_<TemporalEntity>_<TaskType>_<OutputType>_<Name>_<Instance.name>_v<Version>',
                          'instance': '<Project>_<Sequence>_<TemporalEntity>_<TaskType>_<OutputType>_<Name>_<Instance.name>_v<Version>',
                          'style': 'lowercase'}},
 'preview': {'mountpoint': '/simple',
             'root': 'productions/previews',
             'folder_path': {'shot': '<Project>/shots/<Sequence>/<Shot>/<TaskType>',
                             'asset': '<Project>/assets/<AssetType>/<Asset>/<TaskType>',
                             'sequence': '<Project>/sequences/<Sequence>/<TaskType>',
                             'scene': '<Project>/scenes/<Sequence>/<Scene>/<TaskType>',
                             'episode': '<Project>/episodes/<Episode>/<TaskType>',
                             'style': 'lowercase'},
             'file_name': {'shot': '<Project>_<Sequence>_<Shot>_<TaskType>',
                           'asset': '<Project>_<AssetType>_<Asset>_<TaskType>',
                           'sequence': '<Project>_<Sequence>_<TaskType>',
                           'scene': '<Project>_<Scene>_<TaskType>',
                           'episode': '<Project>_<Episode>_<TaskType>',
                           'style': 'lowercase'}}}

TREES = {"default": DEFAULT_TREE, "simple": SIMPLE_TREE}


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


# ---------------------------------------------------------------- slugify
# python-slugify's defaults (what Zou uses): transliterate to ASCII, lowercase,
# drop quotes, turn every run of other characters into one separator.
_TRANSLIT = {"ß": "ss", "æ": "ae", "Æ": "AE", "œ": "oe", "Œ": "OE", "ø": "o", "Ø": "O", "đ": "d", "Đ": "D",
             "ð": "d", "Ð": "D", "þ": "th", "Þ": "TH", "ł": "l", "Ł": "L", "ı": "i"}
_ENTITY = re.compile("&(" + "|".join(html.entities.name2codepoint) + ");")
_DECIMAL = re.compile(r"&#(\d+);")
_HEX = re.compile(r"&#x([\da-fA-F]+);")


def slugify(value, separator: str = "_") -> str:
    text = str(value)
    text = re.sub(r"[']+", "-", text)
    text = "".join(_TRANSLIT.get(ch) or ("-" if unicodedata.category(ch) == "Pd" else ch) for ch in text)
    text = unicodedata.normalize("NFKD", text).replace("\u2044", "/")
    text = text.encode("ascii", "ignore").decode("ascii")
    text = _ENTITY.sub(lambda m: chr(html.entities.name2codepoint[m.group(1)]), text)
    text = _DECIMAL.sub(lambda m: chr(int(m.group(1))) if int(m.group(1)) < 0x110000 else "", text)
    text = _HEX.sub(lambda m: chr(int(m.group(1), 16)) if int(m.group(1), 16) < 0x110000 else "", text)
    text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode("ascii")
    text = text.lower()
    text = re.sub(r"[']+", "", text)
    text = re.sub(r"(?<=\d),(?=\d)", "", text)
    text = re.sub(r"[^-a-zA-Z0-9]+", "-", text)
    text = re.sub(r"-{2,}", "-", text).strip("-")
    return text.replace("-", separator) if separator != "-" else text


def apply_style(value: str, style) -> str:
    if style == "uppercase":
        return value.upper()
    if style == "lowercase":
        return value.lower()
    return value


# ---------------------------------------------------------------- templates
def template_kind(kind: str) -> str:
    """Which template an entity kind uses: anything that is not a shot,
    sequence, scene or episode (an edit, a concept) uses the asset one."""
    kind = (kind or "").lower()
    return kind if kind in ("shot", "sequence", "scene", "episode", "instance", "instance_asset") else "asset"


def _section(tree, mode: str) -> dict:
    if not isinstance(tree, dict) or not tree:
        raise MalformedTree("No tree can be found for given project.")
    if mode not in tree:
        raise MalformedTree(f"Mode {mode} cannot be found on given tree.")
    section = tree[mode]
    if not isinstance(section, dict) or "mountpoint" not in section or "root" not in section:
        raise MalformedTree(f"Can't find given mode ({mode}) in given tree.")
    return section


def root_path(tree, mode: str, sep: str) -> str:
    section = _section(tree, mode)
    mountpoint, root = section["mountpoint"], section["root"]
    return f"{mountpoint}{sep}{root}{sep}" if root else f"{mountpoint}{sep}"


def _templates(tree, mode: str, part: str) -> dict:
    templates = _section(tree, mode).get(part)
    if not isinstance(templates, dict):
        raise MalformedTree(f"Can't find given mode ({mode}) in given tree.")
    return templates


def template_for(tree, mode: str, part: str, kind: str) -> tuple[str, str]:
    templates = _templates(tree, mode, part)
    template = templates.get(template_kind(kind))
    if not isinstance(template, str):
        raise MalformedTree("")
    return template, templates.get("style", "")


def render(template: str, values: dict, style="lowercase") -> str:
    """Fill every ``<Type>`` / ``<Type.field>`` of a template.

    ``values`` maps a token type to a dict of fields (``name``, ``id``...),
    or to a plain value used whatever the field; ``None`` (or a type absent
    from ``values``) leaves the token as written."""
    out = template
    for variable in _TOKEN.findall(template):
        data_type, _, field = variable.partition(".")
        field = field if field in ALLOWED_FIELDS else "name"
        if data_type not in TOKENS:
            raise MalformedTree(f"Unknown data type: {data_type}.")
        data = values.get(data_type)
        if isinstance(data, dict):
            data = data.get(field, data.get("name"))
        if data is None:
            continue
        data = str(data)
        if field != "id":
            data = apply_style(slugify(data), style)
        out = out.replace(f"<{variable}>", data)
    return out


def folder_path(tree, mode: str, kind: str, values: dict, sep: str = "/") -> str:
    root = root_path(tree, mode, sep)
    template, style = template_for(tree, mode, "folder_path", kind)
    body = render(template, values, style).replace("/", sep)
    if root == "":
        return body
    return root + body if body else root


def file_name(tree, mode: str, kind: str, values: dict, nb_elements: int = 1) -> str:
    template, style = template_for(tree, mode, "file_name", kind)
    name = render(template, values)
    uuids = UUID4.findall(name)
    name = apply_style(slugify(name), style)
    for uuid in uuids:
        name = name.replace(apply_style(slugify(uuid), style), uuid)
    if nb_elements and int(nb_elements) > 1:
        name += f"_[1-{int(nb_elements)}]"
    return name


def sequence_name(name) -> str:
    """Zou's <Sequence> rule: a name holding "Seq" becomes S + padded rest."""
    name = "" if name is None else str(name)
    if "Seq" in name:
        return f"S{name[3:].zfill(3)}"
    return name


def revision_text(revision) -> str:
    return str(revision).zfill(3)


# ---------------------------------------------------------------- guess
def extract_values(elements: list, template_elements: list) -> dict | None:
    """Token -> value read at the same position of a path (``v<Version>``
    against ``v003`` gives ``003``); ``None`` when a literal folder differs."""
    found: dict = {}
    for i, template_element in enumerate(template_elements[:len(elements)]):
        token = re.search(r"(?P<prefix>\w*)<(?P<token>\w*)>(?P<suffix>\w*)", template_element)
        if token is None:
            if template_element == elements[i]:
                continue
            return None
        value = elements[i].replace("_", " ")
        value = value[len(token.group("prefix")):len(value) - len(token.group("suffix"))]
        found.setdefault(token.group("token"), value)
    return found


def guess_candidates(tree, file_path: str, sep: str = "/"):
    """(kind, template elements, values) for every template a path matches,
    mode by mode, in the tree's order."""
    if not isinstance(tree, dict) or not tree:
        raise MalformedTree("No tree can be found for given project.")
    for mode in tree:
        section = tree[mode] if isinstance(tree[mode], dict) else {}
        folders = section.get("folder_path") if isinstance(section.get("folder_path"), dict) else {}
        style = folders.get("style", "")
        root = apply_style(root_path(tree, mode, sep), style)
        styled = apply_style(file_path, style)
        if not styled.startswith(root):
            continue
        styled = styled[len(root):]
        for kind, template in folders.items():
            if not isinstance(template, str):
                continue
            template_elements = template.split(sep)
            values = extract_values(styled.split(sep), template_elements)
            if values:
                yield kind, template_elements, values
