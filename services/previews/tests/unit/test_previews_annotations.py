import pytest
from slatekit.errors import Invalid
from slate_previews import annotations


def frame(time, *objs):
    return {"time": time, "drawing": {"objects": list(objs)}}


def test_additions_create_frames_and_skip_known_ids():
    out = annotations.merge([frame(0, {"id": "a"})], [frame(0, {"id": "a"}, {"id": "b"}), frame(1.5, {"id": "c"})], [], [])
    assert out == [frame(0, {"id": "a"}, {"id": "b"}), frame(1.5, {"id": "c"})]


def test_updates_replace_by_id_and_deletions_drop_empty_frames():
    out = annotations.merge([frame(0, {"id": "a", "v": 1}), frame(2, {"id": "z"})],
                            [], [frame(0, {"id": "a", "v": 2})], [{"time": 2, "objects": ["z"]}])
    assert out == [frame(0, {"id": "a", "v": 2})]


def test_malformed_edits_are_invalid():
    with pytest.raises(Invalid):
        annotations.merge([], "nope", [], [])
    with pytest.raises(Invalid):
        annotations.merge([], [{"drawing": {}}], [], [])
