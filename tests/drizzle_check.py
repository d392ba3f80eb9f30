"""Run drizzle-kit and tsc on generated Drizzle modules (the npm packages of tests/prisma).

``drizzle_kit_sql(modules)`` writes the modules into a temporary project, runs
``drizzle-kit generate`` (dialect postgresql, every module a schema file) and returns the
statements of the migration it wrote.  ``tsc_check(modules)`` type-checks them with
``tsc --noEmit`` under ``strict``.  Both need ``node`` and ``npm ci`` in tests/prisma
(``.ci/run`` does that); without them the calling test is skipped, or failed under CI.

``assert_same_tables(server, project)`` is the proof of docs/drizzle.md: schemactl's SQL
in one fresh database, drizzle-kit's SQL from our modules in another, equal catalogs.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from factories import apply_sql, catalog, diff_catalogs
from pg import PgServer, skip_or_fail
from schemactl.drizzle import render_drizzle
from schemactl.model import Project
from schemactl.sql import render_project
from schemactl.sql.quote import ident, qualified

NPM_DIR = Path(__file__).resolve().parent / "prisma"
NODE_MODULES = NPM_DIR / "node_modules"
DRIZZLE_KIT = NODE_MODULES / "drizzle-kit" / "bin.cjs"
TSC = NODE_MODULES / "typescript" / "bin" / "tsc"

CONFIG = """\
import { defineConfig } from "drizzle-kit";

export default defineConfig({
  dialect: "postgresql",
  schema: "./schema/*.ts",
  out: "./drizzle",
});
"""

TSCONFIG = """\
{
  "compilerOptions": {
    "strict": true,
    "noEmit": true,
    "noUnusedLocals": true,
    "noUncheckedIndexedAccess": true,
    "exactOptionalPropertyTypes": true,
    "target": "ES2022",
    "module": "ESNext",
    "moduleResolution": "Bundler",
    "skipLibCheck": true
  },
  "include": ["schema/*.ts"]
}
"""

BREAKPOINT = "--> statement-breakpoint"


def _node() -> str:
    node = shutil.which("node")
    if node is None:
        skip_or_fail("node is not on PATH: needed to run drizzle-kit and tsc")
    for tool in (DRIZZLE_KIT, TSC):
        if not tool.is_file():
            skip_or_fail(f"{tool} is missing: run `npm ci` in {NPM_DIR}")
    return node


@contextmanager
def _project(modules: dict[str, str]) -> Iterator[Path]:
    with tempfile.TemporaryDirectory(prefix="schemactl-drizzle-") as tmp:
        root = Path(tmp)
        (root / "schema").mkdir()
        for name, text in modules.items():
            (root / "schema" / name).write_text(text, encoding="utf-8")
        (root / "drizzle.config.ts").write_text(CONFIG, encoding="utf-8")
        (root / "tsconfig.json").write_text(TSCONFIG, encoding="utf-8")
        os.symlink(NODE_MODULES, root / "node_modules", target_is_directory=True)
        yield root


def _run(root: Path, *argv: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [_node(), *argv],
        cwd=root,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
        env={**os.environ, "NO_COLOR": "1", "FORCE_COLOR": "0"},
    )


def drizzle_kit_sql(modules: dict[str, str]) -> list[str]:
    """The statements drizzle-kit generates from ``modules`` (file name -> text).

    Raises ``RuntimeError`` with drizzle-kit's output when it fails or writes no SQL.
    """
    _node()
    with _project(modules) as root:
        proc = _run(root, str(DRIZZLE_KIT), "generate", "--config=drizzle.config.ts")
        sql_files = sorted((root / "drizzle").glob("*.sql"))
        if proc.returncode != 0 or len(sql_files) != 1:
            raise RuntimeError(
                f"drizzle-kit generate failed (exit {proc.returncode}, "
                f"{len(sql_files)} SQL files):\n{proc.stdout}{proc.stderr}"
            )
        script = sql_files[0].read_text(encoding="utf-8")
    return [s.strip() for s in script.split(BREAKPOINT) if s.strip()]


def tsc_check(modules: dict[str, str]) -> tuple[bool, str]:
    """``(True, "")`` when ``tsc --noEmit`` (strict) accepts the modules, else ``(False,
    diagnostics)``.  A crash of tsc itself raises ``RuntimeError``."""
    _node()
    with _project(modules) as root:
        proc = _run(root, str(TSC), "-p", "tsconfig.json")
    output = proc.stdout + proc.stderr
    if proc.returncode not in (0, 1, 2):
        raise RuntimeError(f"tsc failed with exit code {proc.returncode}:\n{output}")
    return proc.returncode == 0, output


# --------------------------------------------------------------------------- the proof


def _create_externals(url: str, tables: set[tuple[str, str, str, str]]) -> None:
    statements = []
    for ns, table, key, pg_type in sorted(tables):
        statements.append(f"CREATE SCHEMA IF NOT EXISTS {ident(ns)}")
        statements.append(
            f"CREATE TABLE {qualified(ns, table)} ({ident(key)} {pg_type} PRIMARY KEY)"
        )
    apply_sql(url, statements)


def _externals(project: Project) -> set[tuple[str, str, str, str]]:
    """The tables outside the project its foreign keys reference (key typed like the FK)."""
    from schemactl.sql.columns import pg_type

    owned = {(e.namespace, e.table) for p in project.packages for e in p.owned_entities()}
    out = set()
    for p in project.packages:
        for e in p.owned_entities():
            by_col = {f.column: f for f in e.fields}
            for fk in e.foreign_keys:
                if (fk.ref_namespace, fk.ref_table) not in owned:
                    col = by_col[fk.columns[0]]
                    out.add((fk.ref_namespace, fk.ref_table, fk.ref_columns[0], pg_type(col)))
    return out


def _structure(url: str, schemas: list[str]) -> dict[str, Any]:
    """The catalog of ``schemas`` without comments (drizzle has no COMMENT ON), plus the
    identity sequences' parameters."""
    import psycopg

    cat = catalog(url, schemas=schemas)
    cat["tables"] = dict.fromkeys(cat["tables"])
    cat["columns"] = {k: v[:4] for k, v in cat["columns"].items()}
    with psycopg.connect(url) as conn:
        rows = conn.execute(
            "SELECT n.nspname, c.relname, format_type(s.seqtypid, NULL), s.seqstart,"
            " s.seqincrement, s.seqmin, s.seqmax, s.seqcache, s.seqcycle"
            " FROM pg_sequence s JOIN pg_class c ON c.oid = s.seqrelid"
            " JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = ANY(%s)",
            (schemas,),
        ).fetchall()
    cat["sequences"] = {(r[0], r[1]): r[2:] for r in rows}
    return cat


def assert_same_tables(server: PgServer, project: Project) -> dict[str, str]:
    """Apply schemactl's SQL to one database and drizzle-kit's SQL (generated from our
    modules) to another; their catalogs must be equal.  Returns the modules."""
    modules = render_drizzle(project)
    assert modules
    externals = _externals(project)
    schemas = sorted({p.namespace for p in project.packages if p.owned})
    statements = drizzle_kit_sql(modules)
    with server.fresh_database() as ours, server.fresh_database() as theirs:
        _create_externals(ours, externals)
        _create_externals(theirs, externals)
        apply_sql(ours, render_project(project))
        apply_sql(theirs, statements)
        a, b = _structure(ours, schemas), _structure(theirs, schemas)
        assert a["tables"], "nothing was created"
        diff = diff_catalogs(a, b)
        assert diff == [], "schemactl's SQL vs drizzle-kit's:\n" + "\n".join(diff)
        # and drizzle-kit created nothing outside the packages' schemas (no stubs)
        ext = sorted({ns for ns, *_ in externals} - set(schemas))
        if ext:
            assert diff_catalogs(catalog(ours, schemas=ext), catalog(theirs, schemas=ext)) == []
    return modules
