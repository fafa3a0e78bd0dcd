"""Tests for zoobot.schemas: construction, validation, probabilities and the round trip."""

import copy
import dataclasses
import pickle
import subprocess
import sys

import numpy as np
import pytest

from zoobot.schemas import Schema, SchemaError

PAIRS = {
    "smooth-or-featured": ["_smooth", "_featured-or-disk", "_artifact"],
    "disk-edge-on": ["_yes", "_no"],
    "bar": ["_strong", "_weak", "_no"],
    "merging": ["_none", "_merger"],
}
DEPENDENCIES = {
    "smooth-or-featured": None,
    "disk-edge-on": "smooth-or-featured_featured-or-disk",
    "bar": "disk-edge-on_no",
    "merging": None,
}


@pytest.fixture
def schema() -> Schema:
    return Schema(PAIRS, DEPENDENCIES)


def test_label_cols_follow_question_order(schema):
    assert schema.label_cols == [
        "smooth-or-featured_smooth",
        "smooth-or-featured_featured-or-disk",
        "smooth-or-featured_artifact",
        "disk-edge-on_yes",
        "disk-edge-on_no",
        "bar_strong",
        "bar_weak",
        "bar_no",
        "merging_none",
        "merging_merger",
    ]
    assert [a.text for a in schema.answers] == schema.label_cols
    assert [a.index for a in schema.answers] == list(range(10))
    assert [q.text for q in schema.questions] == list(PAIRS)


def test_question_index_groups_are_inclusive_like_zoobot(schema):
    assert schema.question_index_groups == [(0, 2), (3, 4), (5, 7), (8, 9)]
    named = schema.named_index_groups
    assert named[schema.get_question("bar")] == (5, 7)
    outputs = np.arange(10)
    first, last = schema.question_index_groups[2]
    assert list(outputs[first : last + 1]) == [5, 6, 7]


def test_links_between_questions_and_answers(schema):
    bar = schema.get_question("bar")
    assert bar.asked_after is schema.get_answer("disk-edge-on_no")
    assert schema.get_answer("disk-edge-on_no").next_question is bar
    assert schema.get_answer("disk-edge-on_yes").next_question is None
    assert schema.get_question("smooth-or-featured").asked_after is None
    assert schema.get_answer("bar_weak").question is bar
    assert [a.suffix for a in bar.answers] == ["_strong", "_weak", "_no"]
    assert [a.short_text for a in bar.answers] == ["strong", "weak", "no"]
    assert (bar.start_index, bar.end_index) == (5, 7)
    assert schema.get_answer("disk-edge-on_no").pretty_text == "Disk Edge On No"


def test_next_question_is_the_last_follower_as_in_zoobot():
    schema = Schema(
        {"a": ["_x", "_y"], "b": ["_1"], "c": ["_1"]},
        {"a": None, "b": "a_x", "c": "a_x"},
    )
    answer = schema.get_answer("a_x")
    assert [q.text for q in answer.next_questions] == ["b", "c"]
    assert answer.next_question.text == "c"


def test_edges_list_every_branch(schema):
    assert schema.edges() == [
        ("smooth-or-featured_featured-or-disk", "disk-edge-on"),
        ("disk-edge-on_no", "bar"),
    ]


def test_validate_columns_reports_missing_answer_columns(schema):
    columns = schema.label_cols[:3] + ["bar_strong", "id_str", "file_loc"]
    assert schema.validate_columns(columns) == [
        "disk-edge-on_yes",
        "disk-edge-on_no",
        "bar_weak",
        "bar_no",
        "merging_none",
        "merging_merger",
    ]
    assert schema.validate_columns(schema.label_cols) == []


def test_joint_p_multiplies_down_the_tree(schema):
    probs = np.array(
        [
            # smooth featured artifact | yes no | strong weak no | none merger
            [0.2, 0.7, 0.1, 0.4, 0.6, 0.5, 0.25, 0.25, 0.9, 0.1],
            [0.5, 0.5, 0.0, 0.0, 1.0, 0.0, 0.0, 1.0, 0.3, 0.7],
        ]
    )
    # bar_weak: 0.7 (featured) x 0.6 (not edge-on) x 0.25 (weak) = 0.105
    np.testing.assert_allclose(schema.joint_p(probs, "bar_weak"), [0.105, 0.0])
    np.testing.assert_allclose(schema.joint_p(probs, "disk-edge-on_no"), [0.42, 0.5])
    # the first question: its own fraction
    np.testing.assert_allclose(schema.joint_p(probs, "smooth-or-featured_smooth"), [0.2, 0.5])
    np.testing.assert_allclose(schema.prob_asked(probs, "bar"), [0.42, 0.5])
    np.testing.assert_allclose(schema.prob_asked(probs, "merging"), [1.0, 1.0])


def test_joint_p_refuses_the_wrong_shape(schema):
    with pytest.raises(SchemaError, match=r"shape \(galaxies, 10\).*got shape \(10,\)"):
        schema.joint_p(np.ones(10), "bar_weak")
    with pytest.raises(SchemaError, match=r"got shape \(4, 9\)"):
        schema.joint_p(np.ones((4, 9)), "bar_weak")


def test_unknown_names_raise_with_suggestions(schema):
    with pytest.raises(SchemaError, match="No question named 'bars'.*Did you mean 'bar'"):
        schema.get_question("bars")
    with pytest.raises(SchemaError, match="No answer column named 'bar_strng'.*'bar_strong'"):
        schema.get_answer("bar_strng")
    assert isinstance(SchemaError("x"), ValueError)


def test_schema_is_immutable(schema):
    with pytest.raises(AttributeError, match="immutable"):
        schema.label_cols = []
    with pytest.raises(dataclasses.FrozenInstanceError):
        schema.questions[0].text = "other"
    with pytest.raises(dataclasses.FrozenInstanceError):
        schema.answers[0].index = 5
    # edits to the returned dicts or the input dicts do not reach the schema
    schema.question_answer_pairs["bar"].append("_extra")
    pairs = {q: list(a) for q, a in PAIRS.items()}
    built = Schema(pairs, DEPENDENCIES)
    pairs["bar"].append("_extra")
    assert "bar_extra" not in schema.label_cols + built.label_cols


def test_equal_schemas_compare_and_hash_equal(schema):
    same = Schema(dict(PAIRS), dict(DEPENDENCIES))
    assert same == schema and hash(same) == hash(schema)
    reordered = Schema(dict(reversed(PAIRS.items())), DEPENDENCIES)
    assert reordered != schema


def test_schema_survives_pickle_and_deepcopy(schema):
    assert pickle.loads(pickle.dumps(schema)) == schema
    assert copy.deepcopy(schema) == schema


def test_zoobot_style_extra_dependencies_are_ignored():
    # Zoobot 2.x shares one dependencies dict between campaigns, with entries for other trees
    dependencies = {**DEPENDENCIES, "bar-dr8": "disk-edge-on-dr8_no", "merging-dr8": None}
    assert Schema(PAIRS, dependencies) == Schema(PAIRS, DEPENDENCIES)
    assert "bar-dr8" not in Schema(PAIRS, dependencies).dependencies


def test_single_question_needs_no_dependency():
    schema = Schema({"ring": ["_yes", "_no"]}, {})
    assert schema.label_cols == ["ring_yes", "ring_no"]
    assert schema.question_index_groups == [(0, 1)]


# Validation on construction


def test_dependency_naming_an_unknown_answer():
    with pytest.raises(SchemaError, match="asked after 'disk-edge-on_maybe'.*no question has that"):
        Schema(PAIRS, {**DEPENDENCIES, "bar": "disk-edge-on_maybe"})
    with pytest.raises(SchemaError, match="Did you mean 'smooth-or-featured_featured-or-disk'"):
        Schema(PAIRS, {**DEPENDENCIES, "disk-edge-on": "smooth-or-featured_featured"})


def test_dependency_for_an_unknown_question():
    dependencies = {k: v for k, v in DEPENDENCIES.items() if k != "bar"}
    dependencies["barr"] = "disk-edge-on_no"
    with pytest.raises(SchemaError, match="'bar' have no entry in dependencies.*mention 'barr'.*not in question_"):
        Schema(PAIRS, dependencies)


def test_question_missing_from_dependencies():
    dependencies = {k: v for k, v in DEPENDENCIES.items() if k != "merging"}
    with pytest.raises(SchemaError, match="'merging' have no entry in dependencies.*or None"):
        Schema(PAIRS, dependencies)


def test_dependencies_forming_a_loop():
    with pytest.raises(SchemaError, match=r"loop \(a -> b -> a"):
        Schema({"a": ["_x", "_y"], "b": ["_x", "_y"]}, {"a": "b_x", "b": "a_y"})
    with pytest.raises(SchemaError, match=r"loop \(a -> a"):
        Schema({"a": ["_x", "_y"]}, {"a": "a_x"})


def test_question_with_no_answers():
    with pytest.raises(SchemaError, match="Question 'bar' has no answers"):
        Schema({**PAIRS, "bar": []}, DEPENDENCIES)


def test_duplicate_answer_columns():
    with pytest.raises(SchemaError, match="'bar_no' appears twice"):
        Schema({**PAIRS, "bar": ["_no", "_weak", "_no"]}, DEPENDENCIES)
    # columns can also collide across questions
    with pytest.raises(SchemaError, match="'a_b_c' appears twice.*'a'.*'a_b'"):
        Schema({"a": ["_b_c"], "a_b": ["_c"]}, {"a": None, "a_b": None})


def test_empty_or_malformed_pairs():
    with pytest.raises(SchemaError, match="no questions"):
        Schema({}, {})
    with pytest.raises(SchemaError, match="must be a list of answer suffixes"):
        Schema({"ring": "_yes"}, {"ring": None})
    with pytest.raises(SchemaError, match="non-empty text"):
        Schema({"ring": ["_yes", ""]}, {"ring": None})


# Round trip


def test_dict_round_trip_is_readable(schema):
    d = schema.to_dict()
    assert d["questions"][1] == {
        "name": "disk-edge-on",
        "answers": ["yes", "no"],
        "asked_after": "smooth-or-featured_featured-or-disk",
    }
    assert Schema.from_dict(d) == schema


def test_from_dict_accepts_zoobot_style(schema):
    d = {"question_answer_pairs": PAIRS, "dependencies": DEPENDENCIES}
    assert Schema.from_dict(d) == schema


def test_from_dict_accepts_suffixes_and_full_columns(schema):
    d = schema.to_dict()
    d["questions"][0]["answers"] = ["_smooth", "smooth-or-featured_featured-or-disk", "artifact"]
    assert Schema.from_dict(d) == schema


def test_yaml_and_json_round_trip(schema):
    text = schema.to_yaml()
    assert text.startswith("# Galaxy Zoo decision tree")
    assert Schema.from_yaml(text) == schema
    assert Schema.from_json(schema.to_json()) == schema


def test_unusual_suffixes_round_trip_through_zoobot_style():
    odd = Schema({"ring": ["yes", "no"], "q": ["__x"]}, {"ring": None, "q": "ringyes"})
    assert [a.short_text for a in odd.questions[0].answers] == ["yes", "no"]
    assert odd.questions[1].answers[0].short_text == "x"  # the question's separators go, not the name
    assert "question_answer_pairs" in odd.to_dict()
    assert Schema.from_yaml(odd.to_yaml()) == odd
    assert Schema.from_json(odd.to_json()) == odd


def test_hand_written_yaml_with_unquoted_yes_no_and_numbers():
    text = """
questions:
  - name: smooth-or-featured
    answers: [smooth, featured-or-disk, artifact]
  - name: disk-edge-on
    answers: [yes, no]
    asked_after: smooth-or-featured_featured-or-disk
  - name: spiral-arm-count
    answers: [1, 2, more-than-2]
    asked_after: disk-edge-on_no
"""
    schema = Schema.from_yaml(text)
    assert schema.label_cols[3:] == [
        "disk-edge-on_yes",
        "disk-edge-on_no",
        "spiral-arm-count_1",
        "spiral-arm-count_2",
        "spiral-arm-count_more-than-2",
    ]
    assert schema.get_question("smooth-or-featured").asked_after is None


def test_module_docstring_example_loads():
    import zoobot.schemas

    doc = zoobot.schemas.__doc__
    example = doc[doc.index("    questions:") : doc.index("Load it with")]
    schema = Schema.from_yaml("\n".join(line[4:] for line in example.splitlines()))
    assert schema.label_cols[-1] == "spiral-arm-count_more-than-3"


def test_invalid_yaml_says_where():
    text = "questions:\n- name: ring\n  answers: [yes, no\n"
    with pytest.raises(SchemaError, match=r"not valid YAML at line \d+, column \d+"):
        Schema.from_yaml(text)
    with pytest.raises(SchemaError, match="empty"):
        Schema.from_yaml("")


def test_invalid_json_says_where():
    with pytest.raises(SchemaError, match="not valid JSON at line 1"):
        Schema.from_json('{"questions": [')


@pytest.mark.parametrize(
    "text, message",
    [
        ("- ring", "mapping with a 'questions' list"),
        ("name: ring", "found keys \\['name'\\]"),
        ("questions: []", "non-empty list"),
        ("questions:\n- answers: [a]", "number 1 needs a 'name'"),
        ("questions:\n- name: ring", "'ring' needs 'answers'"),
        ("questions:\n- name: ring\n  answers: [a]\n  asked-after: null", "unknown key.*'asked-after'"),
        ("questions:\n- name: ring\n  answers: [a, 1.5]", "must be text, got 1.5"),
        ("questions:\n- name: ring\n  answers: [a, true]", "got True.*quotes"),
        ("questions:\n- name: ring\n  answers: [a]\n- name: ring\n  answers: [b]", "appears twice"),
        ("questions:\n- name: ring\n  answers: []", "has no answers"),
        ("questions:\n- name: ring\n  answers: [a]\n  asked_after: 3", "must be an answer column"),
    ],
)
def test_malformed_yaml_trees(text, message):
    with pytest.raises(SchemaError, match=message):
        Schema.from_yaml(text)


def test_importing_schemas_and_trees_does_not_import_torch():
    code = "import sys, zoobot.schemas, zoobot.trees; print('torch' in sys.modules)"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "False"
