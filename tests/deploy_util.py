"""Helpers for the database command tests (apply, status/drift, check --shadow).

Everything goes through the real CLI in a subprocess (``python -m schemactl``), against
real PostgreSQL databases from the ``pg_db`` / ``pg_server`` fixtures, on a copy of
``examples/`` whose migrations were scanned and approved once per test module (the
``project`` fixture; ``db_url`` is a database with what examples/ expects).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import psycopg
import pytest
from psycopg import sql

REPO = Path(__file__).resolve().parent.parent
EXAMPLES = REPO / "examples"


def env(**extra: str) -> dict[str, str]:
    """The environment for a schemactl subprocess: no DATABASE_URL unless given."""
    out = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "SCHEMACTL_ACTOR")}
    out.pop("SCHEMACTL_SHADOW_URL", None)
    out.update({"NO_COLOR": "1", "COLUMNS": "200", "SCHEMACTL_PROGRESS": "plain"})
    out.update(extra)
    return out


def command(root: Path, *args: str) -> list[str]:
    return [sys.executable, "-m", "schemactl", "--no-color", "--root", str(root), *args]


def cli(
    root: Path, *args: str, timeout: float = 180, **extra_env: str
) -> subprocess.CompletedProcess[str]:
    """Run schemactl; a traceback on either stream fails the test."""
    proc = subprocess.run(
        command(root, *args),
        env=env(**extra_env),
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    assert "Traceback" not in proc.stdout + proc.stderr, proc.stdout + proc.stderr
    return proc


def cli_json(
    root: Path, *args: str, timeout: float = 180, **extra_env: str
) -> tuple[int, dict[str, Any], str]:
    """(exit code, the one JSON document on stdout, stderr)."""
    proc = cli(root, "--json", *args, timeout=timeout, **extra_env)
    doc: dict[str, Any] = json.loads(proc.stdout)
    assert doc["exit_code"] == proc.returncode
    return proc.returncode, doc, proc.stderr


def codes(doc: dict[str, Any]) -> list[str]:
    return [d["code"] for d in doc["diagnostics"]]


def messages(doc: dict[str, Any], code: str) -> list[str]:
    return [d["message"] for d in doc["diagnostics"] if d["code"] == code]


# ----------------------------------------------------------------------------- projects


def scan_and_approve(root: Path) -> Path:
    """``schemactl scan`` then ``approve all`` in ``root``, both of which must succeed."""
    for args in (("scan",), ("approve", "all", "--by", "t")):
        proc = cli(root, *args)
        assert proc.returncode == 0, proc.stdout + proc.stderr
    return root


def approved_examples(dest: Path) -> Path:
    """A copy of examples/ with every migration scanned and approved."""
    shutil.copytree(EXAMPLES, dest)
    return scan_and_approve(dest)


def read_registry(root: Path) -> dict[str, Any]:
    """The whole registry as one view (see ``registry_util.registry_data``)."""
    from registry_util import registry_data

    return registry_data(root)


def write_registry(root: Path, data: dict[str, Any]) -> None:
    from registry_util import write_registry as write

    write(root, data)


def approved(root: Path) -> list[dict[str, Any]]:
    """Approved records in application order (ids sort in that order)."""
    return [m for m in read_registry(root)["migrations"] if m["status"] == "approved"]


def approved_ids(root: Path) -> list[str]:
    return [m["id"] for m in approved(root)]


def expected_tables(root: Path) -> dict[str, set[str]]:
    """schema -> tables, from the approved baseline of the registry."""
    out: dict[str, set[str]] = {}
    for entry in read_registry(root)["baseline"].values():
        d = entry["definition"]
        out.setdefault(d["namespace"], set()).add(d["table"])
    return out


# ----------------------------------------------------------------------------- database


def prepare(url: str) -> None:
    """What examples/ expects to exist already: the external public.users table."""
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("CREATE TABLE public.users (id text PRIMARY KEY)")


def tables(url: str, schemas: set[str] | None = None) -> dict[str, set[str]]:
    """schema -> ordinary tables, from pg_catalog (every user schema when not given)."""
    with psycopg.connect(url, autocommit=True) as conn:
        rows = conn.execute(
            """SELECT n.nspname, c.relname FROM pg_class c
               JOIN pg_namespace n ON n.oid = c.relnamespace
               WHERE c.relkind = 'r'
                 AND n.nspname NOT IN ('pg_catalog', 'information_schema', 'pg_toast')"""
        ).fetchall()
    out: dict[str, set[str]] = {}
    for schema, table in rows:
        if schemas is None or schema in schemas:
            out.setdefault(schema, set()).add(table)
    return out


def schemas(url: str) -> set[str]:
    with psycopg.connect(url, autocommit=True) as conn:
        rows = conn.execute("SELECT nspname FROM pg_namespace").fetchall()
    return {r[0] for r in rows}


def history(url: str) -> list[tuple[str, str, str]]:
    """(id, package, sql_checksum) rows of schemactl.history, by id; [] without the table."""
    with psycopg.connect(url, autocommit=True) as conn:
        exists = conn.execute("SELECT to_regclass('schemactl.history')").fetchone()
        if exists is None or exists[0] is None:
            return []
        rows = conn.execute(
            "SELECT id, package, sql_checksum FROM schemactl.history ORDER BY id"
        ).fetchall()
    return [(r[0], r[1], r[2]) for r in rows]


def history_full(url: str) -> list[tuple[Any, ...]]:
    with psycopg.connect(url, autocommit=True) as conn:
        return list(conn.execute("SELECT * FROM schemactl.history ORDER BY id").fetchall())


def rewind(url: str, root: Path, keep: int) -> list[dict[str, Any]]:
    """Make the database look as if only the first ``keep`` approved migrations were
    applied: drop the schemas of the others and delete their history rows.  Returns the
    migrations that are now unapplied."""
    later = approved(root)[keep:]
    with psycopg.connect(url, autocommit=True) as conn:
        for m in later:
            conn.execute(
                sql.SQL("DROP SCHEMA IF EXISTS {} CASCADE").format(
                    sql.Identifier(m.get("namespace", m["package"]))
                )
            )
            conn.execute("DELETE FROM schemactl.history WHERE id = %s", (m["id"],))
    return later


# ----------------------------------------------------------------------------- fixtures
# Registered for every test module by conftest.py.


@pytest.fixture(scope="module")
def approved_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """examples/ with every migration scanned and approved, once per module: copy it."""
    return approved_examples(tmp_path_factory.mktemp("approved") / "examples")


@pytest.fixture
def project(approved_template: Path, tmp_path: Path) -> Path:
    """This test's own copy of the approved examples/ (a module may define its own)."""
    dest = tmp_path / "project"
    shutil.copytree(approved_template, dest)
    return dest


@pytest.fixture
def db_url(pg_db: str) -> str:
    """A fresh database as examples/ expects it: with the external public.users table."""
    prepare(pg_db)
    return pg_db


# ----------------------------------------------------------------------------- waiting


def wait_for(predicate: Any, timeout: float = 30, what: str = "condition") -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.05)
    pytest.fail(f"timed out waiting for {what}")
