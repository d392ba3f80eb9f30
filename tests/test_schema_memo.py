"""The JSON Schema memo gives exactly what validating every instance would."""

from __future__ import annotations

from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from schemactl import schema_check
from schemactl.schema_check import _INT_RANGES, _TYPE_ONLY, _TYPE_ONLY_ITEMS, published_schema


def test_memo_keys_drop_only_values_whose_schema_checks_the_type() -> None:
    defs = published_schema()["$defs"]
    seen = set()
    for kind in ("field", "namedField", "index", "relation", "acl"):
        for key, sub in defs[kind]["properties"].items():
            if key in _TYPE_ONLY:
                assert set(sub) <= {"type", "description"}, (kind, key, sub)
                seen.add(key)
            if key in _TYPE_ONLY_ITEMS:
                assert set(sub) <= {"type", "minItems", "items", "description"}, (kind, key)
                assert set(sub["items"]) <= {"type"}, (kind, key, sub)
                seen.add(key)
    assert seen == _TYPE_ONLY | _TYPE_ONLY_ITEMS  # every masked key is checked here


def test_memo_keys_keep_the_range_verdict_of_integers_whose_schema_checks_a_range() -> None:
    defs = published_schema()["$defs"]
    seen = set()
    for kind in ("field", "namedField", "index", "relation", "acl"):
        for key, sub in defs[kind]["properties"].items():
            if key in _INT_RANGES:
                assert set(sub) <= {"type", "minimum", "maximum", "description"}, (kind, key)
                assert sub["type"] == "integer"
                assert _INT_RANGES[key] == (sub.get("minimum"), sub.get("maximum")), (kind, key)
                seen.add(key)
    assert seen == set(_INT_RANGES)


scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-5, 5),
    st.sampled_from([999, 1000, 1001, 2**70, 1.0, 0.0, 1.5]),  # ranges' edges, whole floats
    st.floats(allow_nan=False),
    st.text(max_size=4),
)
field_like = st.dictionaries(
    st.sampled_from(
        [
            "type",
            "name",
            "description",
            "default",
            "column",
            "required",
            "maxLength",
            "precision",
            "scale",
            "enum",
            "renamedFrom",
            "bogus",
        ]
    ),
    st.one_of(scalars, st.lists(scalars, max_size=3)),
    max_size=6,
)


relation_like = st.dictionaries(
    st.sampled_from(["name", "type", "entity", "target", "field", "foreignKey", "onDelete"]),
    st.one_of(scalars, st.sampled_from(["belongsTo", "hasMany", "Cascade"])),
    max_size=5,
)
index_like = st.dictionaries(
    st.sampled_from(["fields", "unique", "name"]),
    st.one_of(scalars, st.lists(scalars, max_size=3)),
    max_size=3,
)
acl_like = st.dictionaries(
    st.sampled_from(["read", "create", "rowLevel", "other"]),
    st.one_of(scalars, st.lists(scalars, max_size=3)),
    max_size=3,
)


@settings(max_examples=200, deadline=None)
@given(
    st.one_of(
        st.tuples(st.just("relation"), st.lists(relation_like, min_size=1, max_size=6)),
        st.tuples(st.just("index"), st.lists(index_like, min_size=1, max_size=6)),
        st.tuples(st.just("acl"), st.lists(acl_like, min_size=1, max_size=6)),
    )
)
def test_memo_matches_plain_validation_for_relations_indexes_acl(
    case: tuple[str, list[dict[str, Any]]],
) -> None:
    kind, items = case
    validator = schema_check._validators()[kind]
    for item in items:
        plain = [e.message for e in validator.iter_errors(item)]
        assert [e.message for e in schema_check._errors(kind, item)] == plain


@settings(max_examples=300, deadline=None)
@given(st.lists(field_like, min_size=1, max_size=8), st.sampled_from(["field", "namedField"]))
def test_memoised_validation_matches_plain_validation(
    items: list[dict[str, Any]], kind: str
) -> None:
    validator = schema_check._validators()[kind]
    for item in items:
        plain = [e.message for e in validator.iter_errors(item)]
        memo = [e.message for e in schema_check._errors(kind, item)]
        assert memo == plain
