from slate_files import paths


def test_default_tree_builds_a_lowercase_shot_working_path():
    tree = paths.named_tree("default")
    values = {"Project": "Big Buck", "Sequence": "SQ01", "Shot": "SH010", "TaskType": "Animation"}
    assert paths.folder_path(tree, "working", "shot", values) == "/simple/productions/big_buck/shots/sq01/sh010/animation"
    assert paths.file_name(tree, "working", "shot", values) == "big_buck_sq01_sh010_animation"


def test_names_cannot_add_path_segments():
    tree = paths.named_tree("default")
    values = {"Project": "../../etc", "AssetType": "a/b", "Asset": "x", "TaskType": "t"}
    path = paths.folder_path(tree, "working", "asset", values)
    assert "/../" not in path and path.count("/") == 7


def test_working_name_appends_name_and_padded_revision():
    assert paths.working_name("p_sh010_anim", "main", 3, "blend") == "p_sh010_anim_main_v003.blend"


def test_guess_from_path_reads_tokens_back():
    tree = paths.named_tree("default")
    found = paths.guess_from_path(tree, "/simple/productions/proj/shots/sq01/sh010/animation/file.blend")
    assert found["kind"] == "shot" and found["values"]["Shot"] == "sh010"
