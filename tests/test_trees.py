"""Tests for zoobot.trees (the named Galaxy Zoo trees) and the Zoobot 2.x import paths."""

import pytest

from zoobot import trees
from zoobot.schemas import Schema, SchemaError
from zoobot.trees import describe_schema, detect_schema, get_schema, list_schemas

SIZES = {
    "decals_dr5": (10, 34),
    "decals_dr8": (10, 34),
    "decals_dr12": (10, 30),
    "desi": (10, 34),
    "gz2": (10, 30),
    "gz2_unsuffixed": (10, 30),
    "gz_candels": (11, 32),
    "gz_hubble": (12, 34),
    "cosmic_dawn": (13, 45),
    "cosmic_dawn_unsuffixed": (13, 45),
    "euclid": (13, 46),
    "euclid_unsuffixed": (13, 46),
    "gz_rings": (1, 2),
    "gz_ukidss": (10, 30),
    "jwst": (12, 39),
    "decals_all_campaigns": (30, 98),
    "gz_evo": (76, 239),
    "gz_hubble_v2": (9, 28),
    "gz_evo_v1_public": (63, 194),
    "gz_evo_v2": (86, 279),
    "gz_evo_v2_public": (60, 188),
}


def test_every_named_tree_is_listed_with_its_size():
    assert sorted(list_schemas()) == sorted(SIZES)


@pytest.mark.parametrize("name", sorted(SIZES))
def test_named_tree_builds_with_expected_size(name):
    schema = get_schema(name)
    n_questions, n_answers = SIZES[name]
    assert len(schema.questions) == n_questions
    assert len(schema.label_cols) == n_answers
    assert len(schema.question_index_groups) == n_questions
    assert f"{n_questions} questions, {n_answers} answers" in describe_schema(name)
    assert Schema.from_yaml(schema.to_yaml()) == schema


def test_decals_dr5_has_galaxy_datasets_names():
    schema = get_schema("decals_dr5")
    assert schema.label_cols[:5] == [
        "smooth-or-featured-dr5_smooth",
        "smooth-or-featured-dr5_featured-or-disk",
        "smooth-or-featured-dr5_artifact",
        "disk-edge-on-dr5_yes",
        "disk-edge-on-dr5_no",
    ]
    assert schema.label_cols[-1] == "merging-dr5_merger"
    assert schema.get_question("bar-dr5").asked_after.text == "disk-edge-on-dr5_no"
    assert schema.get_question("spiral-winding-dr5").asked_after.text == "has-spiral-arms-dr5_yes"
    assert schema.get_question("merging-dr5").asked_after is None


def test_suffixed_variants_share_one_tree():
    dr5, dr8, desi = get_schema("decals_dr5"), get_schema("decals_dr8"), get_schema("desi")
    assert [c.replace("-dr5", "-dr8") for c in dr5.label_cols] == dr8.label_cols
    assert [c.replace("-dr5", "") for c in dr5.label_cols] == desi.label_cols
    assert desi.dependencies["bar"] == "disk-edge-on_no"
    gz2, plain = get_schema("gz2"), get_schema("gz2_unsuffixed")
    assert [c.replace("-gz2", "") for c in gz2.label_cols] == plain.label_cols
    assert plain.label_cols[0] == "smooth-or-featured_smooth"
    euclid = get_schema("euclid")
    assert euclid.label_cols[-1] == "artifact-euclid_ghost"
    assert get_schema("cosmic_dawn").get_question("artifact-cd").asked_after.text == ("problem-cd_artifact")


def test_schemas_are_built_on_request_and_shared():
    assert get_schema("gz2") is get_schema("gz2")
    assert get_schema("decals_dr5_ortho") is get_schema("decals_dr5")
    assert get_schema("decals_unsuffixed") is get_schema("desi")


def test_unknown_name_lists_the_known_ones():
    with pytest.raises(SchemaError, match="Unknown schema 'decals_dr6'.*decals_dr5.*gz_rings"):
        get_schema("decals_dr6")


def test_detect_schema_prefers_the_largest_full_match():
    dr5 = get_schema("decals_dr5").label_cols
    assert detect_schema(dr5 + ["id_str", "file_loc"]) == "decals_dr5"
    assert detect_schema(get_schema("gz_evo").label_cols) == "gz_evo"
    all_decals = get_schema("decals_all_campaigns").label_cols
    assert detect_schema(all_decals) == "decals_all_campaigns"
    # identical columns: the first registered name wins
    assert detect_schema(get_schema("desi").label_cols) == "desi"
    assert detect_schema(["ring_yes", "ring_no", "ra", "dec"]) == "gz_rings"


def test_detect_schema_returns_none_without_a_full_match():
    assert detect_schema(get_schema("decals_dr5").label_cols[:-1]) is None
    assert detect_schema(["id_str", "file_loc"]) is None


def test_zoobot_label_metadata_import_path():
    from zoobot.shared import label_metadata

    assert label_metadata.decals_dr5_ortho_pairs is trees.decals_dr5_ortho_pairs
    schema = Schema(label_metadata.decals_dr5_ortho_pairs, label_metadata.decals_ortho_dependencies)
    assert schema == get_schema("decals_dr5")
    # galaxy-datasets' gz2 dependencies mention a question its pairs leave out; still builds
    assert Schema(label_metadata.gz2_ortho_pairs, label_metadata.gz2_ortho_dependencies) == (get_schema("gz2"))
    assert label_metadata.gz2_ortho_label_cols == get_schema("gz2").label_cols
    assert label_metadata.decals_dr5_ortho_questions[0] == "smooth-or-featured-dr5"
    assert Schema(label_metadata.decals_pairs, label_metadata.decals_dependencies) == (get_schema("desi"))
    assert Schema(label_metadata.gz2_pairs, label_metadata.gz2_dependencies) == (get_schema("gz2_unsuffixed"))
    with pytest.raises(AttributeError):
        label_metadata.not_a_tree_label_cols  # noqa: B018


def test_zoobot_schemas_import_path():
    from zoobot.shared import schemas as shared
    from zoobot.shared.schemas import Answer, Question  # noqa: F401
    from zoobot.shared.schemas import SchemaError as SharedError

    assert shared.Schema is Schema and SharedError is SchemaError
    assert shared.decals_dr5_ortho_schema is get_schema("decals_dr5")
    assert shared.cosmic_dawn_schema.label_cols[0] == "smooth-or-featured_smooth"
    assert shared.gz_jwst_schema is get_schema("jwst")
    with pytest.raises(AttributeError):
        shared.not_a_schema  # noqa: B018


TREE_MODULES = ["decals", "gz2", "hst", "cosmic_dawn", "jwst", "rings", "gz_evo"]
# Our own views of Zoobot's dicts: per-campaign DECaLS dependencies (Zoobot shares one dict between them) and
# the unsuffixed trees the suffixed ones are made from.
OWN_DICTS = {
    "decals_dr12_ortho_dependencies": ("decals_ortho_dependencies", None),
    "decals_dr5_ortho_dependencies": ("decals_ortho_dependencies", None),
    "decals_dr8_ortho_dependencies": ("decals_ortho_dependencies", None),
    "gz2_pairs": ("gz2_ortho_pairs", "-gz2"),
    "gz2_dependencies": ("gz2_ortho_dependencies", "-gz2"),
    "hubble_pairs": ("hubble_ortho_pairs", "-hubble"),
    "hubble_v2_pairs": ("hubble_v2_ortho_pairs", "-hubble"),
    "candels_pairs": ("candels_ortho_pairs", "-candels"),
}


def _tree_dicts():
    import importlib

    for module_name in TREE_MODULES:
        module = importlib.import_module(f"zoobot.trees.{module_name}")
        for name, value in vars(module).items():
            if name.endswith(("_pairs", "_dependencies")) and isinstance(value, dict) and not name.startswith("_"):
                yield name, value


def _items(d):
    return [(key, list(value) if isinstance(value, list | tuple) else value) for key, value in d.items()]


def test_every_tree_dict_is_zoobots_item_for_item_in_order():
    """The raw dicts (Zoobot's label_metadata names) hold exactly Zoobot 2.9's questions, answers and
    dependencies, in its order, however this package writes them down."""
    import json
    from pathlib import Path

    recorded = json.loads((Path(__file__).parent / "fixtures/zoobot/2.9/schemas.json").read_text())
    zoobots = [_items(tree[kind]) for tree in recorded.values() for kind in ("question_answer_pairs", "dependencies")]
    dicts = dict(_tree_dicts())
    assert len(dicts) >= 40
    for name, value in dicts.items():
        if name not in OWN_DICTS:
            assert _items(value) in zoobots, name
            continue
        whole, suffix = OWN_DICTS[name]
        if suffix is None:  # one campaign's part of the shared dict, in the same order
            assert _items(value) == [(q, dicts[whole][q]) for q in value], name
            assert all(q.endswith(name.split("_")[1]) for q in value), name
        else:  # the suffixed tree without its suffix
            plain = [(q.removesuffix(suffix), _items(dicts[whole])[i][1]) for i, q in enumerate(dicts[whole])]
            if name.endswith("_dependencies"):
                plain = [(q, p.replace(suffix + "_", "_") if p else p) for q, p in plain]
            assert _items(value) == plain, name
