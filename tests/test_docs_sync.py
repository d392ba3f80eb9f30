"""The documentation says what the code does: codes, commands, options, the checksum.

docs/ is written by hand; these tests fail when the code and the docs drift apart.
"""

from __future__ import annotations

import hashlib
import json
import re
from pathlib import Path
from typing import Any

import typer.main

from foundation_util import checksum_of, drafts_of
from schemactl.checksum import canonical_entity
from schemactl.cli import app
from schemactl.diagnostics import CODES
from schemactl.naming import PG_TYPES, TYPE_ALIASES, shorten, table_name

REPO = Path(__file__).resolve().parent.parent
DOCS = REPO / "docs"
CODE_RE = re.compile(r"\bSC\d{3}\b")


def read(name: str) -> str:
    return (DOCS / name).read_text(encoding="utf-8")


def sections(text: str, level: str = "## ") -> dict[str, str]:
    """Heading text -> body, for headings of exactly this level."""
    out: dict[str, str] = {}
    title = None
    for line in text.splitlines():
        if line.startswith(level):
            title = line[len(level) :].strip()
            out[title] = ""
        elif title is not None:
            if line.startswith("#" * (len(level) - 1) + " ") and not line.startswith(level):
                title = None  # a higher-level heading ends the section
                continue
            out[title] += line + "\n"
    return out


# --- diagnostics --------------------------------------------------------------------------


def test_every_code_is_documented_and_every_documented_code_exists() -> None:
    documented = set(CODE_RE.findall(read("diagnostics.md")))
    assert sorted(set(CODES) - documented) == [], "codes missing from docs/diagnostics.md"
    assert sorted(documented - set(CODES)) == [], "docs/diagnostics.md lists unknown codes"


def test_every_code_has_its_own_heading_with_meaning_and_fix() -> None:
    text = read("diagnostics.md")
    headings = re.findall(r"^#{2,3} (SC\d{3}) — (.+)$", text, flags=re.M)
    assert sorted(code for code, _ in headings) == sorted(CODES)
    bodies = {**sections(text, "### "), **sections(text, "## ")}
    for code, title in headings:
        body = bodies[f"{code} — {title}"]
        assert "**Meaning.**" in body and "**Fix.**" in body, code


def test_every_code_used_in_the_source_is_in_the_table() -> None:
    used: set[str] = set()
    for path in (REPO / "src" / "schemactl").rglob("*.py"):
        if path.name != "diagnostics.py":
            used |= set(re.findall(r"[\"'](SC\d{3})[\"']", path.read_text(encoding="utf-8")))
    assert sorted(used - set(CODES)) == []


# --- the command line ---------------------------------------------------------------------


def commands() -> dict[str, Any]:
    group: Any = typer.main.get_command(app)
    registered = {
        c.name or (c.callback.__name__ if c.callback else "").replace("_", "-")
        for c in app.registered_commands
    }
    assert registered == set(group.commands)
    return dict(group.commands)


def command_sections() -> dict[str, str]:
    out = {}
    for title, body in sections(read("cli.md")).items():
        m = re.fullmatch(r"`schemactl ([a-z-]+)`", title)
        if m:
            out[m.group(1)] = body
    return out


def option_rows(body: str) -> set[str]:
    """Options named in the first column of the section's tables."""
    rows = set()
    for line in body.splitlines():
        m = re.match(r"\| `(-[^` ]+)", line)
        if m:
            rows.add(m.group(1))
        for extra in re.findall(r"`(-[a-z])`, `(--[a-z-]+)", line[:40]):
            rows.update(extra)
    return rows


def test_every_command_has_a_section_and_no_section_is_stale() -> None:
    assert sorted(command_sections()) == sorted(commands())


def test_every_command_parameter_is_documented() -> None:
    docs = command_sections()
    for name, cmd in commands().items():
        body = docs[name]
        documented = option_rows(body)
        for p in cmd.params:
            if getattr(p, "hidden", False):
                continue
            if p.param_type_name == "option":
                for opt in p.opts:
                    assert f"`{opt}" in body, f"{name}: {opt} not in docs/cli.md"
                    assert opt in documented, f"{name}: {opt} has no row in its table"
            else:
                word = re.match(r"[A-Za-z_]+", p.metavar or p.name.upper())
                assert word is not None
                stem = word.group(0).upper().rstrip("S")
                assert re.search(rf"\b{stem}S?\b", body), f"{name}: argument {stem}"
        known = {opt for p in cmd.params for opt in p.opts if p.param_type_name == "option"}
        assert documented <= known, f"{name}: docs/cli.md documents {documented - known}"


def test_global_options_are_documented() -> None:
    group: Any = typer.main.get_command(app)
    body = sections(read("cli.md"))["Global options"]
    documented = option_rows(body)
    for p in group.params:
        if getattr(p, "hidden", False):
            continue
        for opt in p.opts:
            assert opt in documented, f"global option {opt} not in docs/cli.md"
    known = {opt for p in group.params for opt in p.opts}
    assert documented <= known


def test_cli_command_overview_table_lists_every_command() -> None:
    head = read("cli.md").split("## Global options")[0]
    for name in commands():
        assert f"(#schemactl-{name})" in head, name


# --- checksum.md --------------------------------------------------------------------------


def test_checksum_worked_example_is_true() -> None:
    text = read("checksum.md")
    example = text.split("## Worked example", 1)[1]
    yaml_text = re.search(r"```yaml\n(.*?)```", example, flags=re.S).group(1)  # type: ignore[union-attr]
    blocks = re.findall(r"```text\n(.*?)\n```", example, flags=re.S)
    compact, stated = blocks[0], blocks[1]
    [draft], diags = drafts_of(yaml_text)
    assert diags == []
    canon = canonical_entity(
        draft.name, None, draft.fields, draft.declared, draft.relations, draft.acl
    )
    assert json.dumps(canon, sort_keys=True, separators=(",", ":"), ensure_ascii=False) == compact
    indented = re.search(r"```json\n(.*?)```", example, flags=re.S).group(1)  # type: ignore[union-attr]
    assert json.loads(indented) == canon
    assert f"one line, {len(compact.encode())} bytes" in example
    assert stated == "sha256:" + hashlib.sha256(compact.encode()).hexdigest()
    assert stated == checksum_of(yaml_text) == draft.checksum
    assert text.startswith("# The structural checksum\n\nEvery entity gets a checksum such as")
    assert stated in text.split("## The algorithm")[0]


# --- format.md ----------------------------------------------------------------------------


def test_types_table_matches_the_code() -> None:
    text = read("format.md")
    table = text.split("### Types", 1)[1].split("\n\n", 2)[1]
    rows = [line for line in table.splitlines() if line.startswith("| `")]
    seen: dict[str, tuple[set[str], str]] = {}
    for row in rows:
        cells = [c.strip() for c in row.strip("|").split("|")]
        canon = cells[0].strip("`")
        aliases = {a.lower() for a in re.findall(r"`([^`]+)`", cells[1])}
        pg = re.findall(r"`([^`]+)`", cells[2])[0]
        seen[canon] = (aliases | {canon}, pg)
    assert sorted(seen) == sorted(PG_TYPES)
    for canon, (spellings, pg) in seen.items():
        assert spellings == {k for k, v in TYPE_ALIASES.items() if v == canon}, canon
        assert pg.split("(")[0] == PG_TYPES[canon], canon


def test_documented_shortened_name_is_the_real_one() -> None:
    text = read("format.md")
    entity = "Extraordinarily" + "Long" * 12 + "Name"
    assert "`Extraordinarily` + `Long` × 12 + `Name`" in text
    assert f"`{shorten(table_name(entity, 'snake_plural'))}` (63 bytes)" in text


def test_documented_plurals_are_the_real_ones() -> None:
    text = read("format.md")
    for word, plural in re.findall(r"`([a-z]+)` → `([a-z]+)`", text):
        if word in ("category", "day", "address", "box", "person", "child", "man", "woman"):
            assert table_name(word.capitalize(), "snake_plural") == plural, word
