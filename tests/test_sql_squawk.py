"""squawk (the PostgreSQL migration linter) over every ALTER migration of the evolution
cases and golden fixtures.

The rules schemactl deliberately does not satisfy are listed in IGNORED, each explained in
docs/squawk.md; every other rule must pass.  Both directions are checked, so the list stays
exactly the rules that fire: a new finding fails, and so does an ignore that is no longer
needed.
"""

from __future__ import annotations

import itertools
import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from evolution_cases import CASES
from pg import skip_or_fail
from schemactl.plan import plan_package
from schemactl.sql import render_down, render_up
from schemactl.sql.render import touches_existing_tables
from test_sql_golden import CASES as GOLDEN_CASES
from test_sql_golden import _load_case

DOCS = Path(__file__).resolve().parent.parent / "docs" / "squawk.md"

# rule -> one-line reason (the full reasoning is in docs/squawk.md)
IGNORED = {
    "require-statement-timeout": "a rewrite of a big table may legitimately run long",
    "constraint-missing-not-valid": "NOT VALID + VALIDATE share the migration's transaction",
    "require-concurrent-index-creation": "CONCURRENTLY cannot run inside a transaction",
    "require-concurrent-index-deletion": "CONCURRENTLY cannot run inside a transaction",
    "disallowed-unique-constraint": "USING INDEX needs a concurrent index build first",
    "adding-not-nullable-field": "NOT NULL is the change the user asked for",
    "adding-required-field": "flagged destructive; needs --allow-destructive",
    "adding-serial-primary-key-field": "a changed primary key is the change asked for",
    "changing-column-type": "the type change is the change asked for",
    "ban-drop-column": "flagged destructive; needs --allow-destructive",
    "ban-drop-table": "flagged destructive; needs --allow-destructive",
    "ban-drop-constraint": "constraints are dropped to be replaced or because removed",
    "ban-drop-default": "the default removal is the change asked for",
    "ban-drop-not-null": "the relaxation is the change asked for",
    "renaming-column": "renames come only from explicit renamedFrom hints",
    "renaming-table": "renames come only from an explicit table change",
    "renaming-object": "derived constraint/index names follow renamed tables and columns",
    "prefer-bigint-over-int": "int maps to integer (SPEC §3); use bigint in the YAML",
    "adding-field-with-default": "a volatile default (gen_random_uuid) is the change asked for",
    "ban-alter-identity": "turning `generated` on or off is the change asked for",
    "ban-drop-schema": "only the down.sql of a package's first migration drops its schema",
}


def _squawk() -> str:
    exe = shutil.which("squawk") or str(Path(sys.executable).parent / "squawk")
    if not Path(exe).exists():
        skip_or_fail("squawk not installed: pip install squawk-cli (the [test] extra)")
    return exe


def _alter_migrations(tmp_path: Path) -> list[Path]:
    scripts: list[str] = []
    for make in CASES.values():
        versions = make()
        for old, new in itertools.pairwise(versions):
            for ns in sorted(old.keys() | new.keys()):
                ops = plan_package(old.get(ns, []), new.get(ns, []), namespace=ns)
                scripts += [render_up(ops), render_down(ops)]
    for case in GOLDEN_CASES:
        _, _, plans = _load_case(case, tmp_path / case)
        for plan in plans:
            if touches_existing_tables(plan.ops):
                scripts.append(render_up(plan.ops))
            scripts.append(render_down(plan.ops))
    out = []
    for i, text in enumerate(s for s in scripts if s):
        path = tmp_path / f"m{i:03d}.sql"
        path.write_text(text)
        out.append(path)
    return out


def _findings(paths: list[Path], exclude: list[str]) -> list[dict[str, object]]:
    cmd = [_squawk(), "--assume-in-transaction", "--pg-version", "15", "--reporter", "json"]
    if exclude:
        cmd.append("--exclude=" + ",".join(exclude))
    proc = subprocess.run(cmd + [str(p) for p in paths], capture_output=True, text=True)
    assert proc.returncode in (0, 1), proc.stderr
    return json.loads(proc.stdout or "[]")


def test_squawk_passes_with_exactly_the_documented_exceptions(tmp_path: Path) -> None:
    paths = _alter_migrations(tmp_path)
    assert len(paths) > 20
    remaining = _findings(paths, sorted(IGNORED))
    assert remaining == [], "\n".join(
        f"{f['rule_name']}: {f['message']} ({Path(str(f['file'])).read_text()})" for f in remaining
    )
    fired = {str(f["rule_name"]) for f in _findings(paths, [])}
    assert fired == set(IGNORED), f"no longer needed: {set(IGNORED) - fired}"


def test_every_ignored_rule_is_documented() -> None:
    if not DOCS.is_file():
        pytest.fail(f"{DOCS} missing")
    text = DOCS.read_text()
    for rule in IGNORED:
        assert f"`{rule}`" in text, f"{rule} not explained in docs/squawk.md"
