"""Rules of the assets service in plain Python."""

from slate_assets import domain


def test_descriptor_rename_moves_the_stored_value_to_the_new_key():
    assert domain.rename_data_key({"difficulty_level": "hard", "x": 1}, "difficulty_level", "complexity") == {
        "x": 1, "complexity": "hard"}


def test_descriptor_rename_without_value_leaves_data_alone():
    data = {"x": 1}
    assert domain.rename_data_key(data, "a", "b") is data


def test_descriptor_delete_drops_the_key():
    assert domain.drop_data_key({"a": 1, "b": 2}, "a") == {"b": 2}


def test_field_name_is_slugified_like_zou():
    assert domain.slugify_field_name("Difficulty Level") == "difficulty_level"
    assert domain.slugify_field_name("  Frame-Rate (fps) ") == "frame_rate_fps"


def test_special_types_keep_their_name_and_others_are_assets():
    assert domain.type_name("Shot") == "Shot"
    assert domain.type_name("Character") == "Asset"
    assert domain.event_prefix("Character") == "asset"
    assert domain.event_prefix("Sequence") == "sequence"


def test_admin_keeps_global_role_others_take_project_override():
    assert domain.effective_role("admin", "user") == "admin"
    assert domain.effective_role("user", "manager") == "manager"
    assert domain.effective_role("supervisor", None) == "supervisor"
