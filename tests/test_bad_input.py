"""SPEC §11: every kind of bad input, one test each, through the command line.

Each test asserts the exact diagnostic code, the file and (where one exists) the line, exit
code 1, no traceback in either output format, and that nothing in the project changed.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest

from foundation_util import json_doc, make_project, run_cli, tree_hash, write_package
from schemactl.load import MAX_FILE_BYTES

FILE = "packages/pkg/seed/schema/entities.yaml"
META = "packages/pkg/seed/metadata.json"

GOOD = """\
entities:
  - name: Thing
    fields:
      id: {type: cuid, primary: true}
"""


def pos(text: str, needle: str) -> tuple[int, int]:
    """1-based (line, column) of the first occurrence of ``needle`` in ``text``."""
    i = text.index(needle)
    return text.count("\n", 0, i) + 1, i - (text.rfind("\n", 0, i) + 1) + 1


def project(tmp_path: Path, text: str | bytes, **more: str) -> Path:
    return make_project(tmp_path / "proj", {"pkg": text, **more})


def bad(
    root: Path,
    code: str,
    *,
    file: str | None = FILE,
    at: tuple[int, int] | None = None,
    line: int | None = None,
    only: bool = True,
) -> dict[str, Any]:
    """Run `validate` (JSON and text); return the first error diagnostic with ``code``."""
    before = tree_hash(root)
    res = run_cli(root, "--json", "validate")
    assert res.exit_code == 1, res.output
    after_first = tree_hash(root)
    assert "Traceback" not in res.output
    doc = json_doc(res)
    errors = [d for d in doc["diagnostics"] if d["severity"] == "error"]
    if only:
        assert {d["code"] for d in errors} == {code}, errors
    hits = [d for d in errors if d["code"] == code]
    assert hits, errors
    d = hits[0]
    assert d["file"] == file
    if at is not None:
        assert (d["line"], d["column"]) == at
    if line is not None:
        assert d["line"] == line
    text = run_cli(root, "validate")
    assert text.exit_code == 1
    assert "Traceback" not in text.output
    loc = file if d["line"] is None else f"{file}:{d['line']}:{d['column']}"
    assert f"{loc}: error {code} " in text.stdout
    # nothing of the project changed, not even a folder
    assert after_first == before, "validate must not write anything"
    assert tree_hash(root) == before
    assert not (root / ".schemactl" / "registry.json").exists()
    return d


# --- reading the file ---------------------------------------------------------------------


def test_malformed_yaml(tmp_path: Path) -> None:
    root = project(
        tmp_path,
        "entities:\n  - name: Thing\n    fields: {id: {type: cuid, primary: true}\n",
    )
    d = bad(root, "SC102", at=(4, 1))  # where libyaml gives up: the end of the input
    assert "malformed YAML" in d["message"]


def test_alias_bomb(tmp_path: Path) -> None:
    lines = ['a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
    for prev, name in zip("abcdefgh", "bcdefghi", strict=True):
        lines.append(f"{name}: &{name} [" + ",".join([f"*{prev}"] * 9) + "]")
    text = "\n".join(lines) + "\nentities: []\n"
    d = bad(project(tmp_path, text), "SC104", at=pos(text, "&a"))
    assert "anchor &a" in d["message"]


def test_alias_inside_entities(tmp_path: Path) -> None:
    text = (
        "entities:\n  - name: Thing\n    fields:\n      id: &k {type: cuid, primary: true}\n"
        "      other: *k\n"
    )
    bad(project(tmp_path, text), "SC104", at=pos(text, "&k"))


def test_deep_nesting(tmp_path: Path) -> None:
    root = project(tmp_path, "entities: " + "[" * 100_000 + "\n")
    d = bad(root, "SC105", line=1)
    assert "nesting deeper than" in d["message"]


def test_file_over_size_limit(tmp_path: Path) -> None:
    text = GOOD + "#" * (MAX_FILE_BYTES - len(GOOD)) + "\n"
    assert len(text.encode()) == MAX_FILE_BYTES + 1
    root = project(tmp_path, text)
    d = bad(root, "SC100")
    assert d["line"] is None
    assert str(MAX_FILE_BYTES) in d["message"]


def test_file_at_size_limit_is_read(tmp_path: Path) -> None:
    text = GOOD + "#" * (MAX_FILE_BYTES - len(GOOD) - 1) + "\n"
    assert len(text.encode()) == MAX_FILE_BYTES
    root = project(tmp_path, text)
    assert run_cli(root, "validate").exit_code == 0


def test_not_utf8(tmp_path: Path) -> None:
    root = project(tmp_path, b"entities:\n  - name: Caf\xe9\n")
    d = bad(root, "SC101", at=(2, 14))  # the offending byte
    assert "0xe9" in d["message"]


def test_duplicate_keys(tmp_path: Path) -> None:
    text = (
        "entities:\n  - name: Thing\n    fields:\n      id: {type: cuid, primary: true}\n"
        "      id: {type: string, primary: true}\n"
    )
    d = bad(project(tmp_path, text), "SC103", at=pos(text, "id: {type: string"))
    assert "duplicate key 'id' (first at line 4)" in d["message"]


@pytest.mark.parametrize(
    ("text", "code", "token"),
    [
        ("on: push\n" + GOOD, "SC107", "on"),
        (GOOD.replace("primary: true", "primary: true, unique: yes"), "SC107", "yes"),
        (GOOD.replace("    fields:", "    version: 1.0\n    fields:"), "SC108", "1.0"),
        (GOOD.replace("cuid, primary: true", "int, primary: true, default: 0755"), "SC107", "0755"),
    ],
    ids=["on-key", "yes-value", "version-float", "octal"],
)
def test_yaml_11_surprises(tmp_path: Path, text: str, code: str, token: str) -> None:
    d = bad(project(tmp_path, text), code, at=pos(text, token))
    assert token in d["message"]
    assert token in d["hint"]


def test_empty_file(tmp_path: Path) -> None:
    root = project(tmp_path, "")
    d = bad(root, "SC106", at=(1, 1))
    assert "empty" in d["message"]


def test_comment_only_file(tmp_path: Path) -> None:
    root = project(tmp_path, "# nothing yet\n\n   # still nothing\n")
    bad(root, "SC106", at=(1, 1))


def test_huge_integer(tmp_path: Path) -> None:
    text = GOOD.replace("cuid, primary: true", "bigint, primary: true, max: " + "9" * 400)
    d = bad(project(tmp_path, text), "SC109", at=pos(text, "999"))
    assert "400 digits" in d["message"]


def test_yaml_python_tag(tmp_path: Path) -> None:
    text = 'entities:\n  - !!python/object/apply:os.system ["echo pwned"]\n'
    d = bad(project(tmp_path, text), "SC104", at=pos(text, "!!python"))
    assert "python/object/apply:os.system" in d["message"]


# --- the JSON Schema ----------------------------------------------------------------------


def test_wrong_types(tmp_path: Path) -> None:
    text = GOOD + '      title: {type: string, maxLength: "5"}\n'
    d = bad(project(tmp_path, text), "SC200", at=pos(text, '"5"'))
    assert d["message"] == (
        "entities[0].fields.title.maxLength must be an integer, not the string '5'"
    )


def test_unknown_keys_with_did_you_mean(tmp_path: Path) -> None:
    text = GOOD + (
        "      title:\n        type: string\n        requried: true\n        max_length: 20\n"
    )
    root = project(tmp_path, text)
    bad(root, "SC201", at=pos(text, "requried"))
    doc = json_doc(run_cli(root, "--json", "validate"))
    found = [(d["line"], d["column"], d["message"], d["hint"]) for d in doc["diagnostics"]]
    assert found == [
        (
            *pos(text, "requried"),
            "unknown key 'requried' in entities[0].fields.title",
            "did you mean 'required'?",
        ),
        (
            *pos(text, "max_length"),
            "unknown key 'max_length' in entities[0].fields.title",
            "did you mean 'maxLength'?",
        ),
    ]


def test_unknown_field_type(tmp_path: Path) -> None:
    text = GOOD + "      title: {type: strng}\n"
    d = bad(project(tmp_path, text), "SC203", at=pos(text, "strng"))
    assert d["message"] == "unknown field type 'strng' in entities[0].fields.title.type"
    assert d["hint"].startswith("did you mean 'string'?")


# --- semantic checks ----------------------------------------------------------------------


def test_missing_primary_key(tmp_path: Path) -> None:
    text = GOOD.replace("cuid, primary: true", "cuid")
    d = bad(project(tmp_path, text), "SC300", at=pos(text, "id:"))  # the `fields` value
    assert d["message"] == "entity Thing has no primary key"
    assert d["entity"] == "Thing"
    assert "primary: true" in d["hint"]


def test_relation_to_unknown_entity(tmp_path: Path) -> None:
    text = GOOD + (
        "  - name: Tenant\n    fields:\n      id: {type: cuid, primary: true}\n"
        "  - name: Member\n    fields:\n      id: {type: cuid, primary: true}\n"
        "      tenantId: {type: cuid, required: true}\n"
        "    relations:\n      - {name: tenant, type: belongsTo, entity: Tenat, field: tenantId}\n"
    )
    d = bad(project(tmp_path, text), "SC307", at=pos(text, "{name: tenant"))
    assert "unknown entity 'Tenat'" in d["message"]
    assert d["hint"].startswith("did you mean 'Tenant'?")
    assert "[external.Tenat]" in d["hint"]


def test_relation_to_unknown_field(tmp_path: Path) -> None:
    text = GOOD + (
        "  - name: Member\n    fields:\n      id: {type: cuid, primary: true}\n"
        "      thingId: {type: cuid, required: true}\n"
        "    relations:\n      - {name: thing, type: belongsTo, entity: Thing, field: thingID}\n"
    )
    d = bad(project(tmp_path, text), "SC308", at=pos(text, "thingID"))
    assert d["message"] == "relation thing uses unknown field 'thingID'"
    assert d["hint"] == "did you mean 'thingId'?"


def test_relation_references_unknown_field_of_target(tmp_path: Path) -> None:
    text = GOOD + (
        "  - name: Member\n    fields:\n      id: {type: cuid, primary: true}\n"
        "      thingId: {type: cuid, required: true}\n"
        "    relations:\n"
        "      - {name: thing, type: belongsTo, entity: Thing, field: thingId, references: idd}\n"
    )
    d = bad(project(tmp_path, text), "SC308", at=pos(text, "{name: thing"))
    assert d["message"] == "relation thing: Thing has no field 'idd'"
    assert d["hint"] == "did you mean 'id'?"


@pytest.mark.parametrize(
    ("snippet", "token", "needle"),
    [
        (
            '  - name: "x; DROP TABLE y"\n    fields:\n      id: {type: cuid, primary: true}\n',
            '"x; DROP',
            "entity name 'x; DROP TABLE y'",
        ),
        (
            "  - name: Quote\n    fields:\n      id: {type: cuid, primary: true}\n"
            '      a"b: {type: string}\n',
            'a"b',
            "field name 'a\"b'",
        ),
        (
            '  - name: Bobby\n    table: "Robert\'); DROP"\n    fields:\n'
            "      id: {type: cuid, primary: true}\n",
            '"Robert',
            'table name "Robert\'); DROP"',
        ),
        (
            "  - name: Col\n    fields:\n      id: {type: cuid, primary: true}\n"
            '      x: {type: string, column: "x; DROP TABLE y"}\n',
            '"x; DROP',
            "column name 'x; DROP TABLE y'",
        ),
        (
            "  - name: Ix\n    fields:\n      id: {type: cuid, primary: true}\n"
            '    indexes:\n      - {fields: [id], name: "ix--1;"}\n',
            '"ix--1;"',
            "index name 'ix--1;'",
        ),
    ],
    ids=["entity-sql", "field-quote", "table-sql", "column-sql", "index-semicolon"],
)
def test_bad_identifiers(tmp_path: Path, snippet: str, token: str, needle: str) -> None:
    text = GOOD + snippet
    d = bad(project(tmp_path, text), "SC301", at=pos(text, token))
    assert needle in d["message"]
    assert "identifier" in d["message"]
    assert d["hint"]


@pytest.mark.parametrize(
    ("snippet", "token"),
    [
        (
            "  - name: Long\n    table: " + "t" * 64 + "\n    fields:\n"
            "      id: {type: cuid, primary: true}\n",
            "t" * 64,
        ),
        (
            "  - name: Long\n    fields:\n      id: {type: cuid, primary: true, column: "
            + "c" * 64
            + "}\n",
            "c" * 64,
        ),
        (
            "  - name: Long\n    fields:\n      id: {type: cuid, primary: true}\n"
            "    indexes:\n      - {fields: [id], name: " + "i" * 64 + "}\n",
            "i" * 64,
        ),
    ],
    ids=["table", "column", "index"],
)
def test_overlong_identifiers(tmp_path: Path, snippet: str, token: str) -> None:
    text = GOOD + snippet
    d = bad(project(tmp_path, text), "SC302", at=pos(text, token))
    assert "is 64 bytes" in d["message"]


def test_63_byte_table_name_is_fine(tmp_path: Path) -> None:
    text = (
        GOOD
        + "  - name: Long\n    table: "
        + "t" * 63
        + "\n    fields:\n"
        + ("      id: {type: cuid, primary: true}\n")
    )
    assert run_cli(project(tmp_path, text), "validate").exit_code == 0


@pytest.mark.parametrize(
    ("field", "needle"),
    [
        ("{type: int, default: abc}", "default 'abc' is not an integer (int)"),
        ("{type: boolean, default: 1}", "default 1 does not fit type boolean"),
        ("{type: uuid, default: nope}", "default 'nope' is not a UUID"),
        ("{type: string, enum: [a, b], default: c}", "default 'c' is not one of its enum"),
        ("{type: string, maxLength: 2, default: abc}", "default 'abc' is longer than maxLength 2"),
        ("{type: int, default: 2147483648}", "default 2147483648 is out of range for int"),
        ("{type: date, default: '2024-13-01'}", "is not an ISO date"),
        ("{type: json, default: '{oops'}", "is not valid JSON"),
    ],
    ids=["int-abc", "bool-1", "uuid-nope", "enum", "maxlength", "int-range", "date", "json"],
)
def test_defaults_that_do_not_fit(tmp_path: Path, field: str, needle: str) -> None:
    d = bad(project(tmp_path, GOOD + f"      value: {field}\n"), "SC304", line=5)
    assert needle in d["message"]
    assert d["hint"]
    if "enum" in field:
        assert d["hint"] == "one of its enum values: a, b"


# --- discovery: symlinks and paths --------------------------------------------------------

needs_symlinks = pytest.mark.skipif(not hasattr(os, "symlink"), reason="no symlinks")


@needs_symlinks
def test_symlink_loop_package_dir(tmp_path: Path) -> None:
    root = project(tmp_path, GOOD)
    os.symlink("loop", root / "packages" / "loop")
    d = bad(root, "SC111", file="packages/loop")
    assert "symlink loop" in d["message"]


@needs_symlinks
def test_symlink_loop_schema_path(tmp_path: Path) -> None:
    root = project(tmp_path, GOOD)
    pkg = write_package(root, "looped", None, metadata={"schema": {"path": "schema/a.yaml"}})
    os.symlink("b.yaml", pkg / "seed" / "schema" / "a.yaml")
    os.symlink("a.yaml", pkg / "seed" / "schema" / "b.yaml")
    d = bad(root, "SC111", file="packages/looped/seed/metadata.json")
    assert "symlink loop" in d["message"]
    assert d["package"] == "looped"


def test_schema_path_outside_the_package(tmp_path: Path) -> None:
    root = project(tmp_path, GOOD)
    (root / "x.yaml").write_text(GOOD, encoding="utf-8")
    write_package(root, "escape", None, metadata={"schema": {"path": "../../x.yaml"}})
    d = bad(root, "SC504", file="packages/escape/seed/metadata.json")
    assert "'../../x.yaml' points outside the package" in d["message"]


@needs_symlinks
def test_package_dir_symlinked_outside_root(tmp_path: Path) -> None:
    root = project(tmp_path, GOOD)
    outside = tmp_path / "elsewhere"
    (outside / "seed" / "schema").mkdir(parents=True)
    (outside / "seed" / "schema" / "entities.yaml").write_text(GOOD, encoding="utf-8")
    os.symlink(outside, root / "packages" / "ext")
    d = bad(root, "SC111", file="packages/ext")
    assert "points outside the root" in d["message"]


@needs_symlinks
def test_entities_file_symlinked_outside_package(tmp_path: Path) -> None:
    root = project(tmp_path, GOOD)
    (tmp_path / "secret.yaml").write_text(GOOD, encoding="utf-8")
    pkg = write_package(root, "sneaky", None)
    os.symlink(tmp_path / "secret.yaml", pkg / "seed" / "schema" / "entities.yaml")
    d = bad(root, "SC504", file="packages/sneaky/seed/schema/entities.yaml")
    assert "outside the package" in d["message"]


# --- configuration ------------------------------------------------------------------------


def test_config_unknown_key(tmp_path: Path) -> None:
    root = make_project(tmp_path / "proj", {"pkg": GOOD}, config='pakages = ["packages/*"]\n')
    before = tree_hash(root)
    res = run_cli(root, "--json", "validate")
    assert res.exit_code == 2
    doc = json_doc(res)
    [d] = doc["diagnostics"]
    assert (d["code"], d["hint"]) == ("SC501", "did you mean 'packages'?")
    assert "schemactl.toml" in d["message"] and "pakages" in d["message"]
    text = run_cli(root, "validate")
    assert text.exit_code == 2
    assert "Traceback" not in text.output
    assert "error SC501: schemactl.toml: unknown key 'pakages'" in text.stderr
    assert "did you mean 'packages'?" in text.stderr
    assert tree_hash(root) == before  # the config stopped everything


def test_bad_input_never_hides_good_packages(tmp_path: Path) -> None:
    """One broken package is reported; the others are still validated and listed."""
    root = project(tmp_path, "entities: [", good=GOOD)
    doc = json_doc(run_cli(root, "--json", "validate"))
    assert [p["id"] for p in doc["packages"]] == ["good", "pkg"]
    assert [e["name"] for e in doc["packages"][0]["entities"]] == ["Thing"]
    assert [d["code"] for d in doc["diagnostics"]] == ["SC102"]
