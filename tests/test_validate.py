"""Semantic validation: every SC3xx code, with its place, and the model it builds."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from foundation_util import drafts_of, make_project, write_package
from schemactl.diagnostics import Diagnostic
from schemactl.project import ProjectResult, load_project

FILE = "packages/pkg/seed/schema/entities.yaml"

THING = """\
entities:
  - name: Thing
    fields:
      id: {type: cuid, primary: true}
"""

EXTERNALS = """\
[external.User]
table = "public.users"
key = "id"
type = "string"
"""


def project(tmp_path: Path, text: str, *, config: str | None = None, **more: str) -> ProjectResult:
    root = make_project(tmp_path / "proj", {"pkg": text, **more}, config=config)
    return load_project(root)


def errors(diags: list[Diagnostic]) -> list[tuple[str, str]]:
    return [(d.code, d.message) for d in diags if d.severity == "error"]


def only(diags: list[Diagnostic], code: str) -> Diagnostic:
    """The single error; it must carry ``code``."""
    errs = [d for d in diags if d.severity == "error"]
    assert [d.code for d in errs] == [code], errs
    return errs[0]


def field_error(spec: str, code: str) -> Diagnostic:
    """A Thing with one more field ``value: <spec>``; exactly one error, with ``code``."""
    _, diags = drafts_of(THING + f"      value: {spec}\n")
    d = only(diags, code)
    assert d.line == 5 and d.entity == "Thing" and d.package == "pkg"
    return d


def test_clean_document_builds_the_model() -> None:
    drafts, diags = drafts_of(
        THING
        + "      tenantId: {type: String, required: true, index: true}\n"
        + "      price: {type: decimal, precision: 10, scale: 2, default: '9.99'}\n"
        + "      createdAt: {type: timestamp, required: true, default: now}\n"
        + "    table: stuff\n"
    )
    assert diags == []
    [d] = drafts
    assert (d.name, d.table, d.table_override, d.primary_key) == ("Thing", "stuff", True, ("id",))
    by = {f.name: f for f in d.fields}
    assert by["tenantId"].type == "string" and by["tenantId"].column == "tenant_id"
    assert not by["tenantId"].nullable and by["price"].nullable
    assert by["createdAt"].type == "datetime" and by["createdAt"].default_now
    assert by["createdAt"].default is None
    assert [ix.name for ix in d.indexes] == ["idx_stuff_tenant_id"]
    assert d.checksum.startswith("sha256:") and len(d.checksum) == 71


# --- SC300 primary key --------------------------------------------------------------------


def test_sc300_no_primary_key() -> None:
    _, diags = drafts_of(THING.replace("cuid, primary: true", "cuid"))
    d = only(diags, "SC300")
    assert (d.line, d.column) == (4, 7)
    assert d.hint == "mark the key field with `primary: true` (e.g. id)"


def test_composite_primary_key_is_ordered_by_field_name() -> None:
    drafts, diags = drafts_of(
        "entities:\n  - name: Member\n    fields:\n"
        "      userId: {type: string, primary: true}\n"
        "      groupId: {type: string, primary: true}\n"
    )
    assert diags == []
    assert drafts[0].primary_key == ("groupId", "userId")


def test_primary_key_need_not_be_called_id() -> None:
    drafts, diags = drafts_of(
        "entities:\n  - name: Credential\n    fields:\n"
        "      username: {type: string, primary: true}\n"
    )
    assert diags == [] and drafts[0].primary_key == ("username",)


# --- SC301 / SC302 identifiers ------------------------------------------------------------


def test_sc301_entity_name_not_pascal_case() -> None:
    _, diags = drafts_of(THING.replace("Thing", "audit_log"))
    d = only(diags, "SC301")
    assert d.message == "entity name 'audit_log' is not a PascalCase identifier"
    assert d.hint == "did you mean 'AuditLog'?"


@pytest.mark.parametrize(
    ("snippet", "needle"),
    [
        (
            "    relations:\n      - {name: 'a b', type: hasMany, entity: Thing}\n",
            "relation name 'a b'",
        ),
        ("    acl:\n      read: ['admin; DROP']\n", "ACL role 'admin; DROP'"),
        ("      old: {type: string, renamedFrom: 'x\"y'}\n", "renamedFrom 'x\"y'"),
        ("    indexes:\n      - {fields: [id], name: Idx_Upper}\n", "index name 'Idx_Upper'"),
    ],
    ids=["relation", "acl-role", "renamed-from", "index-uppercase"],
)
def test_sc301_other_identifiers(snippet: str, needle: str) -> None:
    _, diags = drafts_of(THING + snippet)
    d = only(diags, "SC301")
    assert needle in d.message


def test_sc302_user_written_names_over_63_bytes() -> None:
    _, diags = drafts_of(THING.replace("    fields:", "    table: " + "x" * 64 + "\n    fields:"))
    d = only(diags, "SC302")
    assert d.message.startswith("table name 'xxx")
    assert "is 64 bytes; PostgreSQL truncates names over 63" in d.message


def test_derived_names_over_63_bytes_are_shortened_not_errors() -> None:
    name = "Very" + "Long" * 20 + "Entity"
    drafts, diags = drafts_of(THING.replace("Thing", name))
    assert diags == []
    [d] = drafts
    assert len(d.table.encode()) == 63
    assert d.table.startswith("very_long_long_") and d.table[-9] == "_"
    again, _ = drafts_of(THING.replace("Thing", name))
    assert again[0].table == d.table  # deterministic


# --- SC303 .. SC306 fields ----------------------------------------------------------------


def test_sc303_required_and_nullable() -> None:
    d = field_error("{type: string, required: true, nullable: true}", "SC303")
    assert d.message == "field value is both required and nullable"
    assert d.column == 55  # at `nullable`'s value


def test_sc303_nullable_primary_key() -> None:
    _, diags = drafts_of(THING.replace("primary: true", "primary: true, nullable: true"))
    assert only(diags, "SC303").message == "primary key field id cannot be nullable"


def test_nullability_rules() -> None:
    drafts, diags = drafts_of(
        THING
        + "      a: {type: string}\n      b: {type: string, required: true}\n"
        + "      c: {type: string, nullable: true}\n      d: {type: string, required: false}\n"
        + "      e: {type: string, nullable: false}\n"
    )
    assert diags == []
    nullable = {f.name: f.nullable for f in drafts[0].fields}
    assert nullable == {"id": False, "a": True, "b": False, "c": True, "d": True, "e": False}


@pytest.mark.parametrize(
    ("spec", "needle"),
    [
        ("{type: int, min: 0, default: -1}", "is below min 0"),
        ("{type: float, max: 1, default: 2.5}", "is above max 1"),
        ("{type: bytes, default: abc}", "bytes fields take no default"),
        ("{type: datetime, default: yesterday}", "is not `now` or an ISO 8601 timestamp"),
        ("{type: decimal, default: ten}", "is not a number (decimal)"),
        ("{type: string, default: 5}", "is not a string (quote it: '5')"),
        ("{type: bigint, default: 1.5}", "is not an integer (bigint)"),
    ],
)
def test_sc304_defaults(spec: str, needle: str) -> None:
    d = field_error(spec, "SC304")
    assert needle in d.message
    assert d.hint


def test_defaults_that_fit() -> None:
    drafts, diags = drafts_of(
        THING
        + "      a: {type: int, default: 3, min: 0, max: 5}\n"
        + "      b: {type: boolean, default: false}\n"
        + "      c: {type: uuid, default: '00000000-0000-0000-0000-000000000000'}\n"
        + "      d: {type: string, enum: [xs, ys], default: ys}\n"
        + "      e: {type: json, default: '{\"k\": [1]}'}\n"
        + "      f: {type: date, default: '2024-02-29'}\n"
        + "      g: {type: datetime, default: '2024-02-29T10:00:00+00:00'}\n"
        + "      h: {type: float, default: 1}\n"
        + "      i: {type: int, enum: [1, 2], default: 2}\n"
    )
    assert diags == []
    defaults = {f.name: f.default for f in drafts[0].fields}
    assert defaults["a"] == 3 and defaults["b"] is False and defaults["d"] == "ys"


@pytest.mark.parametrize(
    ("spec", "needle"),
    [
        ("{type: decimal, precision: 4, scale: 6}", "scale 6 exceeds precision 4"),
        ("{type: decimal, scale: 2}", "scale needs a precision"),
        ("{type: string, precision: 4}", "precision/scale apply only to decimal"),
    ],
)
def test_sc305_decimal(spec: str, needle: str) -> None:
    assert needle in field_error(spec, "SC305").message


@pytest.mark.parametrize(
    ("spec", "needle"),
    [
        ("{type: int, maxLength: 3}", "maxLength applies only to string fields"),
        ("{type: string, min: 1}", "min applies only to numeric fields"),
        ("{type: int, min: 5, max: 1}", "min 5 is greater than max 1"),
        ("{type: int, max: 1.5}", "max 1.5 is not an integer"),
        ("{type: boolean, enum: [a]}", "enum applies to string and integer fields"),
        ("{type: string, enum: [a, 1]}", "enum values of a string field must be strings"),
        ("{type: int, enum: [1, a]}", "enum values of an integer field must be integers"),
        ("{type: string, enum: [abc], maxLength: 2}", "an enum value is longer than maxLength"),
        ("{type: string, generated: true}", "`generated` works only for cuid, uuid, int, bigint"),
    ],
)
def test_sc306_constraints(spec: str, needle: str) -> None:
    assert needle in field_error(spec, "SC306").message


# --- relations: SC307 .. SC310, SC314 -----------------------------------------------------

MEMBER = """\
  - name: Member
    fields:
      id: {type: cuid, primary: true}
      thingId: {type: %s}
    relations:
      - {name: thing, type: belongsTo, entity: %s, field: thingId%s}
"""


def member(typ: str = "cuid, required: true", target: str = "Thing", extra: str = "") -> str:
    return THING + MEMBER % (typ, target, extra)


def test_relation_resolves_to_a_foreign_key(tmp_path: Path) -> None:
    pr = project(tmp_path, member(extra=", onDelete: Cascade"))
    assert pr.diagnostics == []
    m = pr.project.package("pkg").entities[1]  # type: ignore[union-attr]
    [fk] = m.foreign_keys
    assert (fk.name, fk.columns, fk.ref_table, fk.ref_columns, fk.on_delete) == (
        "fk_members_thing_id",
        ("thing_id",),
        "things",
        ("id",),
        "Cascade",
    )


def test_sc307_unknown_entity(tmp_path: Path) -> None:
    d = only(project(tmp_path, member(target="Thign")).diagnostics, "SC307")
    assert d.message == "relation thing of Member targets unknown entity 'Thign'"
    assert d.hint is not None and d.hint.startswith("did you mean 'Thing'?")
    assert (d.file, d.line, d.entity) == (FILE, 10, "Member")


def test_external_entity_is_a_known_target(tmp_path: Path) -> None:
    pr = project(tmp_path, member("string, required: true", "User"), config=EXTERNALS)
    assert pr.diagnostics == []
    [fk] = pr.project.package("pkg").entities[1].foreign_keys  # type: ignore[union-attr]
    assert (fk.ref_namespace, fk.ref_table, fk.ref_columns, fk.ref_package) == (
        "public",
        "users",
        ("id",),
        None,
    )


def test_sc307_inverse_side_target_must_exist(tmp_path: Path) -> None:
    text = THING + "    relations:\n      - {name: posts, type: hasMany, target: Post}\n"
    assert only(project(tmp_path, text).diagnostics, "SC307")


def test_sc308_index_on_unknown_field() -> None:
    _, diags = drafts_of(THING + "    indexes:\n      - {fields: [idd]}\n")
    d = only(diags, "SC308")
    assert (d.message, d.hint, d.line) == (
        "index refers to unknown field 'idd'",
        "did you mean 'id'?",
        6,
    )


def test_sc308_inverse_relation_to_unknown_field_of_target(tmp_path: Path) -> None:
    text = (
        THING
        + "    relations:\n      - {name: members, type: hasMany, entity: Member, field: thingID}\n"
        + MEMBER % ("cuid", "Thing", "")
    )
    d = only(project(tmp_path, text).diagnostics, "SC308")
    assert d.message == "relation members: Member has no field 'thingID'"
    assert (d.hint, d.line, d.entity) == ("did you mean 'thingId'?", 6, "Thing")


def test_sc309_key_type_mismatch(tmp_path: Path) -> None:
    d = only(project(tmp_path, member("int, required: true")).diagnostics, "SC309")
    assert d.message == ("relation thing: field thingId is int (integer) but Thing.id is text")
    assert d.line == 10


def test_sc309_external_key_type(tmp_path: Path) -> None:
    pr = project(tmp_path, member("int", "User"), config=EXTERNALS)
    assert "User.id (external) is text" in only(pr.diagnostics, "SC309").message


def test_sc309_decimal_precision_must_match(tmp_path: Path) -> None:
    text = THING.replace("cuid, primary: true", "decimal, precision: 10, primary: true") + (
        MEMBER % ("decimal, precision: 12", "Thing", "")
    )
    d = only(project(tmp_path, text).diagnostics, "SC309")
    assert "numeric(12,0)" in d.message and "numeric(10,0)" in d.message


def test_string_and_cuid_keys_are_compatible(tmp_path: Path) -> None:
    assert project(tmp_path, member("string")).diagnostics == []


@pytest.mark.parametrize("key", ["onDelete", "onUpdate"])
def test_sc310_set_null_on_not_null(tmp_path: Path, key: str) -> None:
    pr = project(tmp_path, member(extra=f", {key}: SetNull"))
    d = only(pr.diagnostics, "SC310")
    assert d.message == f"relation thing: {key} SetNull but field thingId is NOT NULL"
    assert d.hint is not None and "nullable: true" in d.hint


def test_set_null_on_nullable_is_fine(tmp_path: Path) -> None:
    assert project(tmp_path, member("cuid", extra=", onDelete: SetNull")).diagnostics == []


def test_sc314_references_a_field_that_is_not_a_key(tmp_path: Path) -> None:
    text = (
        THING + "      code: {type: string}\n" + MEMBER % ("string", "Thing", ", references: code")
    )
    d = only(project(tmp_path, text).diagnostics, "SC314")
    assert d.message == "relation thing: Thing.code is neither the primary key nor unique"
    ok = text.replace("code: {type: string}", "code: {type: string, unique: true}")
    assert project(tmp_path / "ok", ok).diagnostics == []


def test_sc314_composite_key_target_needs_references(tmp_path: Path) -> None:
    text = THING.replace("primary: true}", "primary: true}\n      k: {type: cuid, primary: true}")
    d = only(project(tmp_path, text + MEMBER % ("cuid", "Thing", "")).diagnostics, "SC314")
    assert "composite primary key" in d.message


def test_sc202_belongs_to_needs_a_field() -> None:
    _, diags = drafts_of(THING + "    relations:\n      - {name: up, type: belongsTo, entity: X}\n")
    d = only(diags, "SC202")
    assert d.hint == "e.g. field: upId"


def test_both_aliases_at_once_is_an_error() -> None:
    _, diags = drafts_of(
        THING + "    relations:\n      - {name: up, type: hasMany, entity: X, target: X}\n"
    )
    assert "both `entity` and `target`" in only(diags, "SC200").message


# --- SC311 duplicates ---------------------------------------------------------------------


def test_sc311_entity_twice_in_a_file() -> None:
    _, diags = drafts_of(THING + THING.removeprefix("entities:\n"))
    d = only(diags, "SC311")
    assert (d.line, d.message) == (
        5,
        "entity Thing is defined twice in this file (first as entity #1)",
    )


def test_sc311_field_twice_in_list_shape() -> None:
    _, diags = drafts_of(
        "entities:\n  - name: Thing\n    fields:\n      - {name: id, type: cuid, primary: true}\n"
        "      - {name: id, type: string}\n"
    )
    assert (only(diags, "SC311").line) == 5


def test_sc311_relation_and_index_duplicates() -> None:
    _, diags = drafts_of(
        THING + "    relations:\n      - {name: r, type: hasMany, entity: X}\n"
        "      - {name: r, type: hasMany, entity: Z}\n"
    )
    assert only(diags, "SC311").message == "relation r is declared twice"
    _, diags = drafts_of(THING + "    indexes:\n      - {fields: [id, id]}\n")
    assert only(diags, "SC311").message == "index lists a field twice"


def test_sc311_same_index_twice_is_a_warning() -> None:
    drafts, diags = drafts_of(
        THING + "      t: {type: string}\n    indexes:\n      - {fields: [t]}\n"
        "      - {fields: [t]}\n"
    )
    [d] = diags
    assert (d.severity, d.code, d.line) == ("warning", "SC311", 8)  # the second one
    assert [ix.name for ix in drafts[0].indexes] == ["idx_things_t"]


def test_field_index_flag_and_same_explicit_index_make_one_index() -> None:
    drafts, diags = drafts_of(
        THING + "      t: {type: string, index: true}\n      u: {type: string, unique: true}\n"
        "    indexes:\n      - {fields: [t]}\n      - {fields: [u], unique: true}\n"
    )
    assert diags == []
    assert [(ix.name, ix.unique) for ix in drafts[0].indexes] == [
        ("idx_things_t", False),
        ("uq_things_u", True),
    ]


# --- SC312 pinned checksum ----------------------------------------------------------------


def test_sc312_pinned_checksum(tmp_path: Path) -> None:
    [draft], _ = drafts_of(THING)
    computed = draft.checksum
    wrong = "sha256:" + "0" * 64
    pinned = THING.replace("    fields:", f"    checksum: {wrong}\n    fields:")
    d = only(project(tmp_path / "a", pinned).diagnostics, "SC312")
    assert (d.file, d.line, d.entity) == (FILE, 3, "Thing")
    assert d.message == "pinned checksum of Thing does not match its definition"
    assert d.hint == f"the computed checksum is {computed}; pin that, or set checksum: null"
    right = pinned.replace(wrong, computed)
    assert project(tmp_path / "b", right).diagnostics == []
    null = pinned.replace(wrong, "null")
    assert project(tmp_path / "c", null).diagnostics == []


def test_malformed_pinned_checksum_is_a_schema_error() -> None:
    _, diags = drafts_of(THING.replace("    fields:", "    checksum: md5:abc\n    fields:"))
    assert only(diags, "SC200").line == 3


# --- SC313 metadata entity list -----------------------------------------------------------


def test_sc313_metadata_entities_mismatch(tmp_path: Path) -> None:
    root = make_project(tmp_path / "proj", {})
    write_package(
        root,
        "pkg",
        THING + "  - name: Extra\n    fields:\n      id: {type: cuid, primary: true}\n",
        metadata={"packageId": "pkg", "schema": {"entities": ["Thing", "Gone"]}},
    )
    d = only(load_project(root).diagnostics, "SC313")
    assert d.file == "packages/pkg/seed/metadata.json"
    assert d.message == (
        "packages/pkg/seed/metadata.json schema.entities differs from "
        f"{FILE}: listed but not defined: Gone; defined but not listed: Extra"
    )
    meta = root / "packages/pkg/seed/metadata.json"
    meta.write_text(json.dumps({"schema": {"entities": ["Extra", "Thing"]}}), encoding="utf-8")
    assert load_project(root).diagnostics == []


# --- SC405 column collision inside an entity ----------------------------------------------


def test_sc405_two_fields_one_column() -> None:
    _, diags = drafts_of(THING + "      userId: {type: string}\n      user_id: {type: string}\n")
    d = only(diags, "SC405")
    assert d.message == "fields userId and user_id both map to column user_id"
    assert (d.line, d.column) == (6, 7)


def test_sc405_column_override_collision() -> None:
    _, diags = drafts_of(THING + "      other: {type: string, column: id}\n")
    assert only(diags, "SC405").message == "fields id and other both map to column id"


def test_every_error_has_file_line_column() -> None:
    """A sweep over many broken fields: every diagnostic is placed, none at 0 or None."""
    specs = [
        "{type: int, default: x}",
        "{type: string, required: true, nullable: true}",
        "{type: decimal, precision: 1, scale: 2}",
        "{type: int, maxLength: 1}",
    ]
    text = THING + "".join(f"      f{i}: {s}\n" for i, s in enumerate(specs))
    _, diags = drafts_of(text)
    assert len(diags) == len(specs)
    assert [d.line for d in diags] == [5, 6, 7, 8]
    assert all(d.file and d.column and d.column > 1 for d in diags)
    assert errors(diags)
