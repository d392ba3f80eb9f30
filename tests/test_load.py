"""The hardened YAML loader: positions, scalar typing, and every refusal (unit level)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from schemactl import load
from schemactl.load import (
    MAX_DEPTH,
    MAX_INT_DIGITS,
    YList,
    YMap,
    load_bytes,
    load_file,
    load_text,
    position,
)

DOC = """\
entities:
  - name: Thing        # a comment
    fields:
      id: {type: cuid, primary: true}
      title:
        type: string
        maxLength: 200
"""


def codes(text: str) -> list[str]:
    return [d.code for d in load_text(text, "f.yaml").diagnostics]


def value(text: str) -> object:
    loaded = load_text(f"v: {text}\n", "f.yaml")
    assert loaded.diagnostics == (), loaded.diagnostics
    return loaded.data["v"]


def test_uses_libyaml_when_present() -> None:
    import yaml

    assert hasattr(yaml, "CBaseLoader") == load.LIBYAML
    assert load.LIBYAML, "PyYAML is expected to be built with libyaml in this environment"


def test_positions_of_every_node() -> None:
    data = load_text(DOC, "f.yaml").data
    assert isinstance(data, YMap) and data.pos == (1, 1)
    ents = data["entities"]
    assert isinstance(ents, YList)
    assert ents.item_pos(0) == (2, 5)
    ent = ents[0]
    assert ent.key_pos("name") == (2, 5)
    assert ent.value_pos("name") == (2, 11)
    fields = ent["fields"]
    assert fields.key_pos("title") == (5, 7)
    assert fields["id"].pos == (4, 11)
    assert fields["id"].value_pos("primary") == (4, 33)
    assert fields["title"].value_pos("maxLength") == (7, 20)
    # position() walks a path; key=True gives the key's place, and it stops at what exists
    assert position(data, ("entities", 0, "fields", "title", "maxLength")) == (7, 20)
    assert position(data, ("entities", 0, "fields", "title"), key=True) == (5, 7)
    assert position(data, ("entities", 0, "fields", "nope", "type")) == fields.pos
    assert position(data, ("entities", 9)) == ents.pos
    assert position(data, ()) == (1, 1)


def test_plain_data_and_comments_ignored() -> None:
    data = load_text(DOC, "f.yaml").data
    assert data == {
        "entities": [
            {
                "name": "Thing",
                "fields": {
                    "id": {"type": "cuid", "primary": True},
                    "title": {"type": "string", "maxLength": 200},
                },
            }
        ]
    }


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("~", None),
        ("null", None),
        ("", None),
        ("true", True),
        ("False", False),
        ("42", 42),
        ("-7", -7),
        ("1.5", 1.5),
        ("1e3", 1000.0),
        ("'1.0'", "1.0"),
        ('"true"', "true"),
        ("'yes'", "yes"),
        ("hello world", "hello world"),
        ("!!str 12", "12"),
        ("|\n  block\n", "block\n"),
        ("9" * MAX_INT_DIGITS, int("9" * MAX_INT_DIGITS)),
    ],
)
def test_scalars(text: str, expected: object) -> None:
    got = value(text)
    assert got == expected and type(got) is type(expected)


@pytest.mark.parametrize(
    "word", ["yes", "No", "ON", "off", "0755", "0o17", "0x1F", "1_000", "1:30", ".inf"]
)
def test_yaml11_ambiguities_are_reported(word: str) -> None:
    loaded = load_text(f"v: {word}\n", "f.yaml")
    assert [d.code for d in loaded.diagnostics] == ["SC107"]
    assert loaded.data is None
    d = loaded.diagnostics[0]
    assert (d.line, d.column) == (1, 4)
    assert f"'{word}'" in d.message and f"'{word}'" in (d.hint or "")


def test_yaml11_word_as_key() -> None:
    loaded = load_text("entities: []\noff: 1\n", "f.yaml")
    [d] = loaded.diagnostics
    assert (d.code, d.line, d.column) == ("SC107", 2, 1)


def test_quoted_yaml11_words_are_fine() -> None:
    assert load_text("'on': 'yes'\nv: '0755'\n", "f.yaml").diagnostics == ()


def test_too_many_digits() -> None:
    [d] = load_text("v: " + "1" * (MAX_INT_DIGITS + 1) + "\n", "f.yaml").diagnostics
    assert (d.code, d.line, d.column) == ("SC109", 1, 4)


def test_depth_limit_boundary() -> None:
    ok = "v: " + "[" * (MAX_DEPTH - 1) + "]" * (MAX_DEPTH - 1) + "\n"
    assert load_text(ok, "f.yaml").diagnostics == ()
    deep = "v: " + "[" * MAX_DEPTH + "]" * MAX_DEPTH + "\n"
    assert codes(deep) == ["SC105"]


def test_deep_block_nesting() -> None:
    text = "".join("  " * i + "k:\n" for i in range(200)) + "  " * 200 + "v\n"
    [d] = load_text(text, "f.yaml").diagnostics
    assert d.code == "SC105" and d.line == MAX_DEPTH + 1  # the 33rd open mapping


def test_hundred_thousand_brackets_do_not_recurse() -> None:
    assert codes("[" * 100_000) == ["SC105"]


def test_every_duplicate_key_is_reported() -> None:
    loaded = load_text("a: 1\nb: 2\na: 3\nb: 4\n", "f.yaml")
    assert [(d.code, d.line) for d in loaded.diagnostics] == [("SC103", 3), ("SC103", 4)]
    assert loaded.data is None


def test_anchor_alias_and_merge_key_refused() -> None:
    assert codes("a: &x 1\n") == ["SC104"]
    assert codes("a: *x\n") == ["SC104"]  # refused before it is resolved
    assert codes("a: &x {k: 1}\nb:\n  <<: *x\n") == ["SC104"]


@pytest.mark.parametrize(
    "tag", ["!!python/object:os.system", "!!python/name:os.system", "!custom", "!!binary", "!!set"]
)
def test_tags_refused(tag: str) -> None:
    loaded = load_text(f"v: {tag} x\n", "f.yaml")
    [d] = loaded.diagnostics
    assert (d.code, d.line, d.column) == ("SC104", 1, 4)


def test_non_string_and_complex_keys() -> None:
    [d] = load_text("1: a\n", "f.yaml").diagnostics
    assert (d.code, d.message) == ("SC200", "key 1 is not a string")
    [d] = load_text("? [a, b]\n: c\n", "f.yaml").diagnostics
    assert d.code == "SC200"


def test_second_document_refused() -> None:
    [d] = load_text("entities: []\n---\nentities: []\n", "f.yaml").diagnostics
    assert (d.code, d.line) == ("SC102", 2)


def test_malformed_yaml_has_a_position() -> None:
    [d] = load_text("a: [1, 2\nb: 3\n", "f.yaml").diagnostics
    assert d.code == "SC102" and d.line == 2 and d.message.startswith("malformed YAML")


def test_control_characters() -> None:
    [d] = load_text("a: \x07\n", "f.yaml").diagnostics
    assert d.code == "SC102"


@pytest.mark.parametrize("text", ["", "   \n\n", "# only a comment\n", "---\n", "~\n"])
def test_empty(text: str) -> None:
    assert codes(text) == ["SC106"]


def test_bom_is_accepted_and_latin1_is_not() -> None:
    assert load_bytes(b"\xef\xbb\xbfv: 1\n", "f.yaml").data == {"v": 1}
    [d] = load_bytes(b"v: 1\nw: \xff\n", "f.yaml").diagnostics
    assert (d.code, d.line, d.column) == ("SC101", 2, 4)
    [d] = load_bytes("v: 1\n".encode("utf-16"), "f.yaml").diagnostics
    assert d.code == "SC101"


def test_load_file_size_limit(tmp_path: Path) -> None:
    p = tmp_path / "e.yaml"
    p.write_bytes(b"v: 1\n" + b"#" * 100)
    assert load_file(str(p), "e.yaml", max_bytes=105).data == {"v": 1}
    [d] = load_file(str(p), "e.yaml", max_bytes=104).diagnostics
    assert (d.code, d.file, d.line) == ("SC100", "e.yaml", None)


def test_load_file_unreadable(tmp_path: Path) -> None:
    [d] = load_file(str(tmp_path), "dir").diagnostics
    assert (d.code, d.file) == ("SC110", "dir")
    [d] = load_file(str(tmp_path / "missing.yaml"), "missing.yaml").diagnostics
    assert d.code == "SC110"


@pytest.mark.skipif(not hasattr(os, "symlink"), reason="no symlinks")
def test_load_file_symlink_loop(tmp_path: Path) -> None:
    os.symlink("b", tmp_path / "a")
    os.symlink("a", tmp_path / "b")
    [d] = load_file(str(tmp_path / "a"), "a").diagnostics
    assert d.code == "SC111"


def test_failed_load_returns_no_data_but_keeps_all_diagnostics() -> None:
    loaded = load_text("a: yes\nb: no\nc: [\n", "f.yaml")
    assert loaded.data is None
    assert [d.code for d in loaded.diagnostics] == ["SC107", "SC107", "SC102"]


def test_y_and_n_are_text_so_fields_may_be_called_x_and_y() -> None:
    loaded = load_text("fields:\n  x: 1\n  y: n\n  Y: N\n", "f.yaml")
    assert loaded.diagnostics == ()
    assert loaded.data == {"fields": {"x": 1, "y": "n", "Y": "N"}}
