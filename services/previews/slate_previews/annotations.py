"""Merging annotation edits (Zou's update-annotations), in plain Python.

Annotations are a list of frames ``{"time": t, "frame": n, "drawing":
{"objects": [...]}}``; objects carry an ``id``. ``additions`` add objects
to their frame (creating it), ``updates`` replace objects by id, and
``deletions`` (``{"time"|"frame", "objects": [ids]}``) remove them. A frame
left without objects is dropped.
"""

from __future__ import annotations

from slatekit.errors import Invalid

MAX_FRAMES = 10000


def _key(frame: dict):
    if not isinstance(frame, dict):
        raise Invalid("Each annotation must be an object")
    if frame.get("frame") is not None:
        return ("frame", frame["frame"])
    if frame.get("time") is not None:
        return ("time", round(float(frame["time"]), 3))
    raise Invalid("Each annotation needs a time or a frame")


def _objects(frame: dict) -> list:
    drawing = frame.get("drawing") or {}
    objs = drawing.get("objects") if isinstance(drawing, dict) else None
    if objs is None:
        objs = frame.get("objects") or []
    if not isinstance(objs, list):
        raise Invalid("Annotation objects must be a list")
    return objs


def merge(current: list, additions: list, updates: list, deletions: list) -> list:
    for name, value in (("additions", additions), ("updates", updates), ("deletions", deletions)):
        if not isinstance(value, list):
            raise Invalid(f"{name} must be a list")
    frames: dict = {}
    order: list = []
    for frame in current or []:
        k = _key(frame)
        frames[k] = {**frame, "drawing": {**(frame.get("drawing") or {}), "objects": list(_objects(frame))}}
        order.append(k)

    def target(frame):
        k = _key(frame)
        if k not in frames:
            frames[k] = {kk: vv for kk, vv in frame.items() if kk not in ("drawing", "objects")}
            frames[k]["drawing"] = {"objects": []}
            order.append(k)
        return frames[k]["drawing"]["objects"]

    for frame in additions:
        objs = target(frame)
        ids = {o.get("id") for o in objs if isinstance(o, dict)}
        for obj in _objects(frame):
            if isinstance(obj, dict) and obj.get("id") in ids and obj.get("id") is not None:
                continue
            objs.append(obj)
    for frame in updates:
        objs = target(frame)
        for obj in _objects(frame):
            if not isinstance(obj, dict):
                continue
            for i, old in enumerate(objs):
                if isinstance(old, dict) and old.get("id") == obj.get("id"):
                    objs[i] = obj
                    break
            else:
                objs.append(obj)
    for frame in deletions:
        k = _key(frame)
        if k not in frames:
            continue
        ids = {o if isinstance(o, str) else (o or {}).get("id") for o in _objects(frame)}
        frames[k]["drawing"]["objects"] = [o for o in frames[k]["drawing"]["objects"]
                                           if not (isinstance(o, dict) and o.get("id") in ids)]
    out = [frames[k] for k in order if frames[k]["drawing"]["objects"]]
    if len(out) > MAX_FRAMES:
        raise Invalid("Too many annotated frames")
    return out
