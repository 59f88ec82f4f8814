"""The path builder, pinned to what Zou 1.0.97 answers for the same trees
(values taken from scripts/zou_compare/files.py runs against the reference)."""

import pytest
from slate_files import paths
from slatekit.errors import Invalid

ASSET_ID = "54bec9bf-15c3-4d4a-b3a9-bc2fac6fc249"


def shot_values(**extra):
    seq = {"name": paths.sequence_name("Seq2"), "id": "s"}
    values = {"Project": {"name": "Files Cmp 1"}, "Shot": {"name": "SH010"}, "Asset": {"name": "SH010"},
              "Sequence": seq, "Episode": "e001", "TaskType": {"name": "Anim 1"},
              "Software": {"name": "3ds Max"}, "OutputType": {"name": "cache 1"},
              "Name": "main", "OutputFile": "main", "WorkingFile": "main", "Representation": "",
              "Version": "001", "Revision": "001"}
    values.update(extra)
    return values


def asset_values(**extra):
    values = {"Project": {"name": "Files Cmp 1"}, "Asset": {"name": "Hero Lamp 1", "id": ASSET_ID},
              "AssetType": {"name": "Props 1"}, "TaskType": {"name": "Modeling 1"}, "Sequence": "",
              "Episode": "e001", "Software": {"name": "Maya1"}, "OutputType": {"name": "cache 1"},
              "Name": "main", "OutputFile": "main", "WorkingFile": "main", "Representation": "",
              "Version": "001", "Revision": "001"}
    values.update(extra)
    return values


def test_default_tree_is_zous_shipped_tree():
    tree = paths.named_tree("default")
    # Zou's quirks are part of the contract: no <Sequence> in the shot
    # working file name, the <OuputType> typo, the "scene" preview folder.
    assert tree["working"]["file_name"]["shot"] == "<Project>_<Shot>_<TaskType>"
    assert tree["output"]["file_name"]["sequence"] == "<Project>_<Sequence>_<OuputType>_<OutputFile>"
    assert tree["preview"]["folder_path"]["scene"] == "<Project>/scene/<Scene>/<TaskType>"
    assert "instance" in paths.named_tree("simple")["output"]["folder_path"]


def test_default_tree_shot_working_path_pads_seq_names():
    tree = paths.named_tree("default")
    v = shot_values()
    assert paths.folder_path(tree, "working", "shot", v) == "/simple/productions/files_cmp_1/shots/s002/sh010/anim_1"
    assert paths.file_name(tree, "working", "shot", v) == "files_cmp_1_sh010_anim_1"
    assert paths.file_name(tree, "preview", "shot", v) == "files_cmp_1_s002_sh010_anim_1"


def test_sequence_rule():
    assert paths.sequence_name("Seq2") == "S002"
    assert paths.sequence_name("Seq 12") == "S 12"
    assert paths.sequence_name("SQ01") == "SQ01"


def test_output_paths_default_tree():
    tree = paths.named_tree("default")
    v = asset_values(Name="Hi Res", OutputFile="Hi Res")
    assert paths.folder_path(tree, "output", "asset", v) == \
        "/simple/productions/export/files_cmp_1/assets/props_1/hero_lamp_1/cache_1"
    assert paths.file_name(tree, "output", "asset", v) == "files_cmp_1_props_1_hero_lamp_1_cache_1_hi_res"
    assert paths.file_name(tree, "output", "asset", v, nb_elements=4) == \
        "files_cmp_1_props_1_hero_lamp_1_cache_1_hi_res_[1-4]"


def test_separator_replaces_template_slashes_only():
    tree = paths.named_tree("default")
    folder = paths.folder_path(tree, "output", "shot", shot_values(), "\\")
    # The mountpoint and the root are kept as written, as Zou does.
    assert folder == "/simple\\productions/export\\files_cmp_1\\shots\\s002\\sh010\\cache_1"


def test_unknown_token_mode_and_missing_tree_are_400s():
    tree = paths.named_tree("default")
    with pytest.raises(Invalid, match="Unknown data type: OuputType."):
        paths.file_name(tree, "output", "sequence", shot_values())
    with pytest.raises(Invalid, match="Mode nope cannot be found on given tree."):
        paths.folder_path(tree, "nope", "shot", shot_values())
    with pytest.raises(Invalid, match="No tree can be found for given project."):
        paths.folder_path(None, "working", "shot", shot_values())


CUSTOM = {
    "working": {"mountpoint": "/mnt/Work", "root": "Prod",
                "folder_path": {"shot": "<Project>/<Episode>/<Sequence>/<Shot>/<TaskType>/v<Revision>",
                                "asset": "<Project>/Assets/<AssetType>/<Asset>/<TaskType>/<Software>",
                                "style": "as-is"},
                "file_name": {"shot": "<Project>_<Sequence>_<Shot>_<TaskType>_<Name>_v<Revision>",
                              "asset": "<Asset>_<TaskType>_<WorkingFile>_v<Version>", "style": "uppercase"}},
    "output": {"mountpoint": "/mnt/Out", "root": "",
               "folder_path": {"asset": "<Project>/<AssetType>/<Asset>/<TaskType>/<OutputType>/<Representation>",
                               "style": "lowercase"},
               "file_name": {"asset": "<Asset.id>_<OutputType>_<Name>_<Revision>", "style": "lowercase"}},
}


def test_custom_tree_styles_padding_and_ids():
    v = shot_values(Name="Anim Main", Revision="004", Software={"name": "3ds Max"})
    assert paths.folder_path(CUSTOM, "working", "shot", v) == "/mnt/Work/Prod/files_cmp_1/e001/s002/sh010/anim_1/v004"
    assert paths.file_name(CUSTOM, "working", "shot", v) == "FILES_CMP_1_S002_SH010_ANIM_1_ANIM_MAIN_V004"
    a = asset_values(Software={"name": "3ds Max"}, WorkingFile="Anim Main", Version="004")
    # "as-is" keeps the template's case; values are slugified (lowercase) anyway.
    assert paths.folder_path(CUSTOM, "working", "asset", a) == \
        "/mnt/Work/Prod/files_cmp_1/Assets/props_1/hero_lamp_1/modeling_1/3ds_max"
    assert paths.file_name(CUSTOM, "working", "asset", a) == "HERO_LAMP_1_MODELING_1_ANIM_MAIN_V004"
    o = asset_values(Name="Hi", Representation="ABC", Revision="002")
    # No root: mountpoint + sep; an id token stays verbatim.
    assert paths.folder_path(CUSTOM, "output", "asset", o) == "/mnt/Out/files_cmp_1/props_1/hero_lamp_1/modeling_1/cache_1/abc"
    assert paths.file_name(CUSTOM, "output", "asset", o) == f"{ASSET_ID}_cache_1_hi_002"


def test_edits_and_concepts_use_the_asset_template():
    assert paths.template_kind("Edit") == "asset" and paths.template_kind("Concept") == "asset"
    assert paths.template_kind("Shot") == "shot"


def test_slugify_like_python_slugify():
    # Checked against python-slugify in the reference Zou's environment.
    cases = {"Hero Lamp": "hero_lamp", "d'été & Co__x": "d_ete_co_x", "ÆØß straße": "aeoss_strasse",
             "a,b 1,000": "a_b_1000", "&amp; x &#65; y": "x_a_y", "  --weird__ ": "weird", "3ds Max": "3ds_max",
             "Ünïcödé—dash": "unicode_dash"}
    assert {k: paths.slugify(k) for k in cases} == cases


def test_names_cannot_add_path_segments():
    tree = paths.named_tree("default")
    v = asset_values(Project={"name": "../../etc"}, AssetType={"name": "a/b"})
    path = paths.folder_path(tree, "working", "asset", v)
    assert path == "/simple/productions/etc/assets/a_b/hero_lamp_1/modeling_1"


def test_guess_candidates_read_tokens_back():
    tree = paths.named_tree("default")
    found = list(paths.guess_candidates(tree, "/simple/productions/proj/shots/s002/sh010/anim_1"))
    assert ("shot", {"Project": "proj", "Sequence": "s002", "Shot": "sh010", "TaskType": "anim 1"}) in \
        [(k, dict(v)) for k, _, v in found]
    assert list(paths.guess_candidates(tree, "/elsewhere/x")) == []
