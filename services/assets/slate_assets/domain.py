"""Rules of the assets service in plain Python: no nameko, no session."""

from __future__ import annotations

import re

# Entity types that are not asset types (Zou's init-data names).
SHOT, SEQUENCE, EPISODE, SCENE, EDIT, CONCEPT, CONCEPT_FOLDER = (
    "Shot", "Sequence", "Episode", "Scene", "Edit", "Concept", "ConceptFolder",
)
SPECIAL_TYPES = (SHOT, SEQUENCE, EPISODE, SCENE, EDIT, CONCEPT, CONCEPT_FOLDER, "Camera", "Style")
DEFAULT_ASSET_TYPES = ("Character", "Environment", "FX", "Prop")
# entity type name -> Zou's event prefix and id key
EVENT_PREFIX = {
    SHOT: "shot", SEQUENCE: "sequence", EPISODE: "episode", SCENE: "scene",
    EDIT: "edit", CONCEPT: "concept", CONCEPT_FOLDER: "concept-folder",
}
PRODUCTION_TYPES = ("short", "featurefilm", "tvshow", "shots", "assets", "nft", "video-game")
PROJECT_ROLES = ("user", "supervisor", "manager", "client", "vendor")
METADATA_TYPES = ("string", "number", "list", "taglist", "boolean", "checklist", "date")
METADATA_ENTITY_TYPES = ("Asset", "Shot", "Edit", "Episode", "Sequence", "Project", "Task", "Concept")


def type_name(entity_type_name: str | None) -> str:
    """Zou's ``type`` of an entity row: its special type or ``Asset``."""
    if entity_type_name in SPECIAL_TYPES:
        return entity_type_name
    return "Asset"


def event_prefix(entity_type_name: str | None) -> str:
    return EVENT_PREFIX.get(entity_type_name, "asset")


def slugify_field_name(name: str) -> str:
    """Zou's field_name of a metadata descriptor: lower case, underscores."""
    slug = re.sub(r"[^a-z0-9]+", "_", (name or "").strip().lower()).strip("_")
    return slug or "field"


def effective_role(global_role: str | None, project_role: str | None) -> str | None:
    """An admin keeps the global role; others take the per-project override."""
    if global_role == "admin":
        return "admin"
    return project_role or global_role


def shot_frames(data: dict | None, nb_frames: int | None) -> dict:
    """frame_in / frame_out / fps as Zou exposes them on a shot."""
    data = data or {}
    return {"frame_in": data.get("frame_in"), "frame_out": data.get("frame_out"), "fps": data.get("fps")}


def rename_data_key(data: dict | None, old: str, new: str) -> dict | None:
    """A descriptor renamed: its stored values follow to the new key."""
    if not data or old not in data or old == new:
        return data
    out = dict(data)
    out[new] = out.pop(old)
    return out


def drop_data_key(data: dict | None, key: str) -> dict | None:
    if not data or key not in data:
        return data
    out = dict(data)
    out.pop(key)
    return out


def casting_label(label) -> str:
    if label in (None, ""):
        return ""
    if not isinstance(label, str):
        raise ValueError("label")
    return label[:80]
