"""Conflicts across packages (SPEC §5) and derived names (SPEC §6)."""

from __future__ import annotations

from pathlib import Path

import pytest

from foundation_util import drafts_of, make_project, write_package
from schemactl.config import Config
from schemactl.diagnostics import Diagnostic
from schemactl.naming import MAX_IDENT, derived, plural, shorten, snake, table_name
from schemactl.project import ProjectResult, load_project

TAG = """\
entities:
  - name: Tag
    fields:
      id: {type: cuid, primary: true}
      label: {type: string, required: true, maxLength: 40}
"""


def file_of(pkg: str) -> str:
    return f"packages/{pkg}/seed/schema/entities.yaml"


def load(root: Path) -> ProjectResult:
    return load_project(root)


def errors(pr: ProjectResult) -> list[Diagnostic]:
    return [d for d in pr.diagnostics if d.severity == "error"]


def only(pr: ProjectResult, code: str) -> Diagnostic:
    errs = [d for d in pr.diagnostics if d.severity != "note"]
    assert [d.code for d in errs] == [code], errs
    return errs[0]


# --- the same entity in several packages --------------------------------------------------


def test_sc400_same_entity_different_definitions(tmp_path: Path) -> None:
    other = (
        "# blog's copy\n\n"
        + TAG.replace("maxLength: 40", "maxLength: 80").replace("required: true, ", "")
        + "      color: {type: string}\n"
    )
    root = make_project(tmp_path, {"cms": TAG, "blog": other})
    d = only(load(root), "SC400")
    assert (d.file, d.line, d.column, d.package, d.entity) == (
        file_of("blog"),
        4,
        11,
        "blog",
        "Tag",
    )
    assert d.message == (
        f"entity Tag is defined differently by blog ({file_of('blog')}:4:11); "
        f"cms ({file_of('cms')}:2:11) — blog vs cms: fields only in blog: color; "
        "field label: maxLength 80 vs 40, notNull absent vs True"
    )
    assert d.hint


def test_sc400_three_packages_one_diagnostic(tmp_path: Path) -> None:
    root = make_project(
        tmp_path,
        {
            "a": TAG,
            "b": TAG.replace("maxLength: 40", "maxLength: 41"),
            "c": TAG.replace("maxLength: 40", "maxLength: 42"),
        },
    )
    d = only(load(root), "SC400")
    for pkg in "abc":
        assert file_of(pkg) in d.message
    assert "a vs b: field label: maxLength 40 vs 41" in d.message
    assert "a vs c: field label: maxLength 40 vs 42" in d.message


def test_sc400_names_relation_acl_index_and_table_differences(tmp_path: Path) -> None:
    b = TAG.replace(
        "      label:",
        "    table: labels\n    acl:\n      read: [admin]\n    fields:\n      label:",
    ).replace("    fields:\n      id", "    fields:\n      id", 1)
    b = (
        "entities:\n  - name: Tag\n    table: labels\n    fields:\n"
        "      id: {type: cuid, primary: true}\n"
        "      label: {type: string, required: true, maxLength: 40}\n"
        "    indexes:\n      - {fields: [label]}\n"
        "    relations:\n      - {name: self, type: hasMany, entity: Tag}\n"
        "    acl:\n      read: [admin]\n"
    )
    d = only(load(make_project(tmp_path, {"a": TAG, "b": b})), "SC400")
    assert d.message.endswith("a vs b: indexes differ; relations differ; acl differ; table differ")


def test_sc401_identical_copies_are_compatible(tmp_path: Path) -> None:
    copy = "# same structure, different layout\nentities:\n  - name: Tag\n    version: '2'\n" + (
        "    description: the shared tag\n    fields:\n      - {name: label, type: String, "
        "maxLength: 40, required: true}\n      - {name: id, type: cuid, primary: true}\n"
    )
    pr = load(make_project(tmp_path, {"zeta": TAG, "alpha": copy}))
    assert errors(pr) == []
    [note] = pr.diagnostics
    assert (note.severity, note.code, note.package) == ("note", "SC401", "alpha")
    assert note.message.endswith("alpha owns the table")
    assert file_of("alpha") in note.message and file_of("zeta") in note.message
    assert pr.project.package("alpha").owned == ("Tag",)  # type: ignore[union-attr]
    assert pr.project.package("zeta").owned == ()  # type: ignore[union-attr]
    assert pr.project.entity_owner("Tag").package == "alpha"  # type: ignore[union-attr]


def test_sc401_owner_from_config(tmp_path: Path) -> None:
    root = make_project(tmp_path, {"zeta": TAG, "alpha": TAG}, config='[owners]\nTag = "zeta"\n')
    pr = load(root)
    assert errors(pr) == []
    [note] = pr.diagnostics
    assert note.message.endswith("zeta owns the table") and note.package == "zeta"
    assert pr.project.entity_owner("Tag").package == "zeta"  # type: ignore[union-attr]


def test_owner_config_naming_a_package_that_does_not_define_it(tmp_path: Path) -> None:
    root = make_project(tmp_path, {"zeta": TAG, "alpha": TAG}, config='[owners]\nTag = "nope"\n')
    d = only(load(root), "SC502")
    assert d.message == "[owners] Tag = 'nope', but package 'nope' does not define Tag"
    assert d.hint == "defined by: alpha"


def test_relation_to_a_shared_entity_points_at_its_owner(tmp_path: Path) -> None:
    post = (
        "entities:\n  - name: Post\n    fields:\n      id: {type: cuid, primary: true}\n"
        "      tagId: {type: cuid}\n    relations:\n"
        "      - {name: tag, type: belongsTo, entity: Tag, field: tagId}\n"
    )
    root = make_project(tmp_path, {"zeta": TAG, "alpha": TAG, "blog": post})
    pr = load(root)
    assert errors(pr) == []
    [fk] = pr.project.package("blog").entities[0].foreign_keys  # type: ignore[union-attr]
    assert (fk.ref_namespace, fk.ref_table, fk.ref_package) == ("alpha", "tags", "alpha")


# --- packages and namespaces --------------------------------------------------------------


def test_sc402_duplicate_package_id(tmp_path: Path) -> None:
    root = make_project(tmp_path, {})
    write_package(root, "one", TAG, metadata={"packageId": "shared"})
    write_package(root, "two", TAG, metadata={"packageId": "shared"})
    d = only(load(root), "SC402")
    assert d.message == "packages packages/one and packages/two both have packageId 'shared'"
    assert d.file == "packages/two/seed/metadata.json"


def test_sc403_duplicate_namespace_from_metadata(tmp_path: Path) -> None:
    root = make_project(tmp_path, {"one": TAG})
    write_package(root, "two", TAG, metadata={"schema": {"namespace": "one"}})
    d = only(load(root), "SC403")
    assert d.message == "packages one and two both use namespace 'one'"
    assert d.file == "packages/two/seed/metadata.json"


def test_sc403_duplicate_namespace_from_config(tmp_path: Path) -> None:
    root = make_project(
        tmp_path, {"one": TAG, "two": TAG}, config='[namespaces]\none = "app"\ntwo = "app"\n'
    )
    d = only(load(root), "SC403")
    assert d.file == file_of("two")


def test_sc404_two_tables_one_name(tmp_path: Path) -> None:
    text = (
        TAG
        + "  - name: Label\n    table: tags\n    fields:\n"
        + ("      id: {type: cuid, primary: true}\n")
    )
    d = only(load(make_project(tmp_path, {"cms": text})), "SC404")
    assert d.message == (f"entities Tag ({file_of('cms')}:2:11) and Label both use table cms.tags")
    assert (d.line, d.entity) == (6, "Label")


def test_same_table_name_in_two_namespaces_is_fine(tmp_path: Path) -> None:
    other = TAG.replace("name: Tag", "name: Label").replace(
        "    fields:", "    table: tags\n    fields:"
    )
    assert errors(load(make_project(tmp_path, {"cms": TAG, "blog": other}))) == []


def test_sc405_user_id_and_user_id(tmp_path: Path) -> None:
    text = TAG + "      userId: {type: string}\n      user_id: {type: string}\n"
    d = only(load(make_project(tmp_path, {"cms": text})), "SC405")
    assert d.message == "fields userId and user_id both map to column user_id"
    assert (d.file, d.line, d.column) == (file_of("cms"), 7, 7)


def test_sc406_user_written_index_names_collide(tmp_path: Path) -> None:
    text = TAG.replace(
        "maxLength: 40}", "maxLength: 40}\n    indexes:\n      - {fields: [label], name: by_label}"
    ) + (
        "  - name: Label\n    fields:\n      id: {type: cuid, primary: true}\n"
        "      label: {type: string}\n    indexes:\n      - {fields: [label], name: by_label}\n"
    )
    d = only(load(make_project(tmp_path, {"cms": text})), "SC406")
    assert (
        d.message == "index name 'by_label' of Label collides with the index of Tag in "
        "namespace cms"
    )


def test_sc406_derived_names_collide(tmp_path: Path) -> None:
    """idx_<table>_<columns> is ambiguous: table a_b on c vs table a on (b, c)."""
    text = (
        "entities:\n  - name: AB\n    table: a_b\n    fields:\n"
        "      id: {type: cuid, primary: true}\n      c: {type: string, index: true}\n"
        "  - name: A\n    table: a\n    fields:\n      id: {type: cuid, primary: true}\n"
        "      b: {type: string}\n      c: {type: string}\n    indexes:\n      - {fields: [b, c]}\n"
    )
    d = only(load(make_project(tmp_path, {"x": text})), "SC406")
    assert "'idx_a_b_c'" in d.message


def test_sc406_index_named_like_a_table(tmp_path: Path) -> None:
    text = TAG + "    indexes:\n      - {fields: [label], name: tags}\n"
    d = only(load(make_project(tmp_path, {"cms": text})), "SC406")
    assert d.message == "index name 'tags' of Tag collides with the table of Tag in namespace cms"


# --- derived names ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("entity", "table"),
    [
        ("AuditLog", "audit_logs"),
        ("Category", "categories"),
        ("Address", "addresses"),
        ("Person", "people"),
        ("Status", "statuses"),
        ("Day", "days"),
        ("Box", "boxes"),
        ("Branch", "branches"),
        ("Metadata", "metadata"),
        ("IRCChannel", "irc_channels"),
        ("User", "users"),
        ("Order", "orders"),
        ("FileTag", "file_tags"),
    ],
)
def test_snake_plural_tables(entity: str, table: str) -> None:
    assert table_name(entity, "snake_plural") == table


def test_table_and_column_styles() -> None:
    assert table_name("AuditLog", "snake") == "audit_log"
    assert table_name("AuditLog", "preserve") == "AuditLog"
    assert snake("tenantId") == "tenant_id" and snake("createdAtUTC") == "created_at_utc"
    assert plural("child") == "children"


def test_naming_config_applies(tmp_path: Path) -> None:
    root = make_project(
        tmp_path, {"cms": TAG}, config='[naming]\ntables = "snake"\ncolumns = "preserve"\n'
    )
    pr = load(root)
    [tag] = pr.project.package("cms").entities  # type: ignore[union-attr]
    assert tag.table == "tag"


def test_reserved_words_are_fine(tmp_path: Path) -> None:
    text = (
        "entities:\n  - name: Order\n    fields:\n      id: {type: cuid, primary: true}\n"
        "      user: {type: string}\n      timestamp: {type: datetime}\n"
        "      order: {type: int}\n"
    )
    pr = load(make_project(tmp_path, {"user": text}))
    assert pr.diagnostics == []
    [order] = pr.project.package("user").entities  # type: ignore[union-attr]
    assert order.table == "orders"
    assert [f.column for f in order.fields] == ["id", "user", "timestamp", "order"]


def test_shorten_is_deterministic_and_fits() -> None:
    name = "idx_" + "x" * 100
    short = shorten(name)
    assert len(short.encode()) == MAX_IDENT
    assert short == shorten(name)
    assert short.startswith("idx_xxx") and short[-9] == "_"
    assert shorten("y" * 63) == "y" * 63
    assert shorten("a" * 64) != shorten("a" * 65)  # the suffix hashes the full name


def test_long_derived_names_in_a_project(tmp_path: Path) -> None:
    entity = "Extraordinarily" + "Long" * 12 + "Name"
    text = (
        f"entities:\n  - name: {entity}\n    fields:\n      id: {{type: cuid, primary: true}}\n"
        "      someRatherLongFieldName: {type: string, index: true, maxLength: 9}\n"
        "      anotherRatherLongFieldName: {type: string, unique: true}\n"
    )
    pr = load(make_project(tmp_path, {"cms": text}))
    assert pr.diagnostics == []
    [e] = pr.project.package("cms").entities  # type: ignore[union-attr]
    names = [e.table, e.pk_name, *(ix.name for ix in e.indexes), *(c.name for c in e.checks)]
    assert all(len(n.encode()) <= MAX_IDENT for n in names), names
    assert len(set(names)) == len(names)
    assert e.table == shorten(table_name(entity, "snake_plural"))
    assert e.indexes[0].name == derived("idx", e.table, ("some_rather_long_field_name",))
    again = load(make_project(tmp_path / "again", {"cms": text}))
    assert again.project.packages[0].entities[0] == e  # same names on every run


def test_long_user_written_index_name_is_an_error() -> None:
    text = TAG + "    indexes:\n      - {fields: [label], name: " + "i" * 64 + "}\n"
    _, diags = drafts_of(text, Config(root=Path(".")))
    [d] = diags
    assert d.code == "SC302"
